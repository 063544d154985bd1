"""Fixtures shared by the whole suite. Server fixtures (SeaweedFS, the hub-compatible server,
gunicorn) live in tests/servers/ and are registered here as plugins."""

pytest_plugins: list[str] = []
