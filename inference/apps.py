from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Inference"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the receiver only; nothing is loaded here (not in migrate, not in shell).
        from . import receivers  # noqa: F401
