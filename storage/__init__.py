"""Persistence: SQLAlchemy 2 models, repositories, unit of work, Alembic migrations.

Nothing outside this package writes SQL. ``Database(url)`` gives the unit-of-work
factory that ``flows`` expects (see flows/ports.py).
"""
