"""Every write of the registry. The admin, the REST API and the management commands all call these,
through this package's names (`services.model_version_promote`, ...); each concern has its module:

- `registration`: a new version's bytes into a store and its row (`model_version_register`,
  `model_version_register_stored`, `registered_model_get_or_create`);
- `loading`: fetch + verify sha256 + trial-load + warm-up + golden gate in the calling process
  (`model_version_prepare`, `model_version_load`, `model_version_file`), and what marks a version failed;
- `activation`: the pointer moves (`model_version_promote`, `model_rollback`; `model_version_reload` verifies and
  reloads the active version and never moves it): one durable transaction
  (`select_for_update`, compare-and-set of the pointer, audit row, NOTIFY), then on commit the
  `model_activated` signal. A version that fails any step never becomes active;
- `retirement`: taking a version out of use for good;
- `signing`: vouching for an artifact (trust) and attaching a verified signature;
- `feedback`: the serving workers' record of who answered a request id, and the correct answers clients
  send back for earlier predictions (`prediction_feedback_submit`).

Rollouts (canary, shadow) have their own module, models_registry/services/rollouts.py, built on `activation`.
"""

from __future__ import annotations

from ..errors import PromotionError, RegistryError
from .activation import (
    model_rollback,
    model_version_promote,
    model_version_reload,
    model_version_signature_gate,
    store_bookkeeping_wait,
)
from .feedback import Answer, FeedbackRefused, prediction_feedback_submit, prediction_records_save
from .loading import (
    TRANSIENT_ERRORS,
    model_version_attach_golden,
    model_version_file,
    model_version_load,
    model_version_prepare,
    version_artifact,
)
from .registration import (
    VersionDetails,
    model_version_register,
    model_version_register_stored,
    registered_model_get_or_create,
)
from .retirement import model_version_retire
from .signing import model_version_sign, model_version_trust

__all__ = [
    "Answer",
    "FeedbackRefused",
    "TRANSIENT_ERRORS",
    "PromotionError",
    "RegistryError",
    "VersionDetails",
    "model_rollback",
    "model_version_attach_golden",
    "model_version_file",
    "model_version_load",
    "model_version_prepare",
    "model_version_promote",
    "model_version_register",
    "model_version_register_stored",
    "model_version_reload",
    "model_version_retire",
    "model_version_sign",
    "model_version_signature_gate",
    "model_version_trust",
    "prediction_feedback_submit",
    "prediction_records_save",
    "registered_model_get_or_create",
    "store_bookkeeping_wait",
    "version_artifact",
]
