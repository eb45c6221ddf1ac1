"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest

from storage.database import Database
from storage.migrate import current_revision, head_revision, schema_drift

pytestmark = pytest.mark.usefixtures("backend")


async def test_migrated_schema_matches_models(database: Database) -> None:
    assert await current_revision(database.engine) == head_revision()
    assert await schema_drift(database.engine) == []
