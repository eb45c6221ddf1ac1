"""Emulated platform servers (Telegram Bot API, Slack Web API) on 127.0.0.1 for tests and benchmarks."""
