from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Inference"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the receiver and count each request's predictions; nothing is loaded here (not in migrate,
        # not in shell).
        from atlas.http import request_context

        from . import metrics, receivers  # noqa: F401

        if metrics.observe not in request_context.observers:
            request_context.observers.append(metrics.observe)
