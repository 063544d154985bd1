import django_stubs_ext
from django.apps import AppConfig

# Django's generic classes (ModelAdmin[M], ModelForm[M], ...) subscriptable at run time, as mypy reads them:
# patched when django.setup() imports this, the first app's config, before it imports any app's module.
django_stubs_ext.monkeypatch()


class AtlasConfig(AppConfig):
    """The project itself, first of INSTALLED_APPS: its ready() does at start what the settings only describe
    (atlas/startup.py)."""

    name = "atlas"
    verbose_name = "Atlas"

    def ready(self) -> None:
        from atlas import startup

        startup.prepare()
