"""The registry's tables: model types, their versions, the audit history and what each worker serves."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from .versioning import VERSION_PATTERN

version_validator = RegexValidator(
    VERSION_PATTERN,
    "A version is letters, digits and . _ + - (it becomes a folder name), starting with a letter or digit.",
)


class RegisteredModel(models.Model):
    """A model type (`digit_classifier`, `visual_detector`, ...) and its one active version."""

    name = models.SlugField(max_length=100, unique=True)
    runtime = models.CharField(
        max_length=50,
        help_text="Which loader serves it: a key of settings.ATLAS_RUNTIMES.",
    )
    description = models.TextField(blank=True)
    # The one active pointer: a single column, so one active version by construction. It moves only
    # through models_registry.services, inside a transaction that also writes the audit row.
    active_version = models.ForeignKey(
        "ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("promote_modelversion", "Can promote a model version (make it active)"),
            (
                "rollback_registeredmodel",
                "Can roll a model back to its previous version",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    class Storage(models.TextChoices):
        LOCAL = "local", "Local folder"
        S3 = "s3", "S3-compatible"
        HF = "hf", "Hugging Face Hub"

    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Previously active"
        FAILED = "failed", "Failed verification or load"
        RETIRED = "retired", "Retired"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64, validators=[version_validator])
    storage = models.CharField(max_length=10, choices=Storage.choices, default=Storage.LOCAL)
    location = models.CharField(
        max_length=1024,
        help_text="Key in the store: a path under MODEL_STORE_DIR, an S3 key, or repo_id/filename on the Hub.",
    )
    bucket = models.CharField(max_length=255, blank=True, help_text="S3 bucket; empty for local and hf.")
    revision = models.CharField(
        max_length=255,
        blank=True,
        help_text="Pinned revision: the Hub commit sha, or the S3 VersionId/ETag recorded at registration.",
    )
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    format = models.CharField(max_length=20, help_text="File format: npz, pt, onnx, json, safetensors, ...")
    metrics = models.JSONField(default=dict, blank=True, help_text="Measured, never typed: e.g. accuracy.")
    metadata = models.JSONField(
        default=dict,
        blank=True,
        help_text="Training config, class names, thresholds, ...",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REGISTERED)
    status_detail = models.TextField(blank=True, help_text="Why the last verification or load failed.")
    notes = models.TextField(blank=True)
    golden_set = models.JSONField(
        default=list,
        blank=True,
        help_text='Inputs with the answers they must give: [{"input": {request body}, "expected": {fields}, '
        '"tolerance": 1e-6}]. Promotions and rollouts refuse the version when one is not met.',
    )
    io_signature = models.JSONField(
        default=dict,
        blank=True,
        help_text='Inputs and outputs: {"inputs": [{"name", "datatype", "shape"}], "outputs": [...]} (Open '
        "Inference Protocol datatypes, -1 for a free size); read from the artifact where its format carries it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    # Trust (formats that run code when loaded, e.g. an ultralytics .pt, load only when one holds):
    # a user with `trust_artifact` vouched for it, or an ed25519 signature of its sha256 by a key in
    # settings.ATLAS_TRUSTED_KEYS. Both are audited (ActivationEvent "trust").
    trusted_by = models.CharField(max_length=150, blank=True, help_text="Who marked this artifact trusted.")
    trusted_at = models.DateTimeField(null=True, blank=True)
    signature = models.CharField(
        max_length=200,
        blank=True,
        help_text="Base64 ed25519 signature of the sha256 (hex) by a key in ATLAS_TRUSTED_KEYS.",
    )

    class Meta:
        ordering = ["model__name", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="unique_version_per_model"),
        ]
        permissions = [("trust_artifact", "Can trust a version's artifact to run code when loaded")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.version}"

    @property
    def filename(self) -> str:
        return self.location.rsplit("/", 1)[-1]


class ActivationEvent(models.Model):
    """Append-only audit row, written in the same transaction that moves the active pointer."""

    class Action(models.TextChoices):
        PROMOTE = "promote", "Promote"
        ROLLBACK = "rollback", "Roll back"
        RELOAD = "reload", "Reload"
        RETIRE = "retire", "Retire"
        # Rollouts (models_registry.services.rollouts) and the gates: every step, and every decision the system
        # took by itself, with the figures it decided on in `details`.
        ROLLOUT_START = "rollout_start", "Rollout started"
        ROLLOUT_STEP = "rollout_step", "Rollout step"
        ROLLOUT_ABORT = "rollout_abort", "Rollout aborted"
        ROLLOUT_ROLLBACK = "rollout_rollback", "Rollout rolled back automatically"
        GATE_REFUSED = "gate_refused", "Golden gate refused"
        TRUST = "trust", "Trust"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="history")
    from_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="The figures a decision was taken on.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        src = self.from_version.version if self.from_version else "-"
        dst = self.to_version.version if self.to_version else "-"
        return f"{self.model.name}: {self.action} {src} -> {dst} by {self.actor}"


class WorkerReport(models.Model):
    """What one live worker process serves for one model, refreshed by its heartbeat."""

    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="worker_reports")
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL)
    loaded_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField()

    class Meta:
        ordering = ["host", "pid", "model__name"]
        constraints = [
            models.UniqueConstraint(fields=["host", "pid", "model"], name="one_report_per_worker_model"),
        ]

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} {self.model.name}@{self.version.version if self.version else '-'}"


class PromotionJob(models.Model):
    """A promotion run off the request (REST `Prefer: respond-async`, the admin's background promotion): fetch,
    verify, trial-load and commit in the `worker:` process (the django-tasks task `task_id`), polled at
    /api/v1/registry/jobs/{id}/. Alive while unfinished: queued with its task not yet claimed, or
    `heartbeat_at` within ATLAS_JOB_LEASE_SECONDS (models_registry/services/promotion_jobs.py)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        PROMOTE = "promote", "Promote"
        RELOAD = "reload", "Reload (the active version, in place)"

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="promotion_jobs")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PROMOTE)
    details = models.JSONField(default=dict, blank=True, help_text="Carried to the audit row (reload-models').")
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    force_download = models.BooleanField(default=False)
    expected_from = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The active version when the job was queued: the job moves the pointer only from it.",
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    event = models.ForeignKey(ActivationEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    task_id = models.CharField(max_length=64, blank=True, help_text="The django-tasks task that runs this job.")
    worker = models.CharField(
        max_length=300, blank=True, help_text="host:pid of the worker process that ran it (for people; not liveness)."
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"promotion job {self.pk}: {self.version} ({self.state})"


class DeviceReport(models.Model):
    """What one edge device (a SAIT unit) last said it runs: its telemetry, refreshed on each report."""

    device_id = models.CharField(max_length=200, unique=True)
    model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="device_reports"
    )
    reported_version = models.CharField(max_length=100, blank=True, help_text="The version the device names.")
    version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The registered version the device runs, where its name matches one.",
    )
    telemetry = models.JSONField(default=dict, blank=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["device_id"]

    def __str__(self) -> str:
        return f"{self.device_id} {self.model.name if self.model else '-'}@{self.reported_version or '-'}"


class Rollout(models.Model):
    """A candidate version served beside the active (stable) one, under guardrails; at most one running
    per model. Canary: `percent` of requests answered by the candidate, sticky by route key. Shadow: the
    stable version answers, the candidate sees a copy and its agreement is recorded."""

    class Mode(models.TextChoices):
        CANARY = "canary", "Canary"
        SHADOW = "shadow", "Shadow"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PROMOTING = "promoting", "Promoting the candidate"
        PROMOTED = "promoted", "Promoted"
        ABORTED = "aborted", "Aborted"
        ROLLED_BACK = "rolled_back", "Rolled back automatically"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="rollouts")
    stable = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    candidate = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=10, choices=Mode.choices)
    percent = models.FloatField(default=10.0, help_text="Canary: share of requests the candidate answers (0-100).")
    bake_seconds = models.PositiveIntegerField(default=600, help_text="Clean time after which it promotes.")
    min_requests = models.PositiveIntegerField(
        default=20, help_text="Candidate requests (or shadow comparisons) needed before a guardrail can trip or pass."
    )
    max_error_rate = models.FloatField(null=True, blank=True, help_text="Candidate 5xx share that aborts it.")
    max_p99_ratio = models.FloatField(null=True, blank=True, help_text="Candidate p99 / stable p99 that aborts it.")
    min_agreement = models.FloatField(null=True, blank=True, help_text="Shadow: agreement below this aborts it.")
    min_live_accuracy = models.FloatField(
        null=True,
        blank=True,
        help_text="Canary: the candidate's live accuracy (answers confirmed by feedback) below this, over at least "
        "min_requests feedback, aborts it.",
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    figures = models.JSONField(default=dict, blank=True, help_text="The figures of the last evaluation.")
    reason = models.TextField(blank=True)
    route_header = models.CharField(
        max_length=100,
        default="X-Atlas-Route-Key",
        help_text="Canary: requests with the same value of this header get the same version everywhere.",
    )
    started_by = models.CharField(max_length=150)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model"], condition=models.Q(state="running"), name="one_running_rollout_per_model"
            ),
        ]
        permissions = [("manage_rollout", "Can start and abort rollouts")]

    def __str__(self) -> str:
        return f"{self.model.name}: {self.mode} {self.candidate.version} ({self.state})"


class RolloutWorkerStats(models.Model):
    """One serving worker's counts for a running rollout, flushed by its listener; the rollout's figures
    are their sum over every worker of every replica."""

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="worker_stats")
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    stats = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rollout", "host", "pid"], name="one_stats_row_per_worker"),
        ]

    def __str__(self) -> str:
        return f"rollout {self.rollout_id} on {self.host}:{self.pid}"


class PredictionRecord(models.Model):
    """Which version gave which answer to a request (its X-Request-ID), for the answers feedback applies to
    (threat classify, audio classify, detect, SAIT verify). Buffered by each worker off the response path
    and written by its listener (inference.prediction_log); the newest ATLAS_PREDICTION_RECORDS are kept."""

    request_id = models.CharField(max_length=128, db_index=True)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    predicted = models.CharField(max_length=200, help_text="The answer: a category or class name.")
    confidence = models.FloatField(null=True, blank=True)
    answered_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.request_id}: {self.predicted}"


class PredictionFeedback(models.Model):
    """The correct answer for an earlier prediction (POST /api/v1/training/feedback, /api/v1/sait/feedback),
    linked to the version that answered; a version's live accuracy is its share of `correct` rows."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="feedback")
    prediction_id = models.CharField(
        max_length=200, blank=True, help_text="The answer's X-Request-ID, or the client's prediction id."
    )
    source = models.CharField(max_length=50, blank=True, help_text="source_product: halo, frontline, sait, ...")
    predicted = models.CharField(max_length=200)
    actual = models.CharField(max_length=200)
    correct = models.BooleanField()
    confidence = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="user_correction, correction_metadata, device_id.")
    verified = models.BooleanField(
        default=False,
        help_text="Linked to a recorded answer and sent by a staff user or with the admin token: only verified "
        "feedback counts toward a rollout's live-accuracy guardrail.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Feedback on the same prediction replaces the earlier one: live accuracy counts predictions once.
            models.UniqueConstraint(
                fields=["version", "prediction_id"],
                condition=~models.Q(prediction_id=""),
                name="one_feedback_per_prediction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version}: {self.predicted} -> {self.actual}"
