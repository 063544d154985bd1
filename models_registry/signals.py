"""The one signal of the registry. It exists because the registry must not know who loads models.

`model_activated` is sent explicitly by the promote and rollback services after their transaction
commits (never from post_save), and re-sent by each worker's broadcast listener when another process
moved a pointer. Arguments:
- model_name: str
- version: the ModelVersion now active
- action: "promote" | "rollback" | "reload"
- predictor: the object already trial-loaded and warmed in this process, or None (a receiver loads it)
- force_download: bool, drop the cached file before loading
"""

from django.dispatch import Signal

model_activated = Signal()
