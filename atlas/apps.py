from django.apps import AppConfig


class AtlasConfig(AppConfig):
    """The project itself, first of INSTALLED_APPS: its ready() does at start what the settings only describe
    (atlas/startup.py)."""

    name = "atlas"
    verbose_name = "Atlas"

    def ready(self) -> None:
        from atlas import startup

        startup.prepare()
