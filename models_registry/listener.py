"""The serving side of the broadcast (models_registry.broadcast sends it): `ActivationListener` is one daemon
thread per serving worker. It LISTENs on PostgreSQL and wakes on a notification; everywhere it also polls the
registry every ATLAS_RELOAD_POLL_SECONDS, the whole mechanism on SQLite and a safety net for a dropped connection
on PostgreSQL. When the registry's active version differs from what the process has loaded, it re-sends
`model_activated` locally. It also writes the worker's heartbeat and prunes the reports of workers that are gone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from . import selectors
from .broadcast import CHANNEL
from .models import RegisteredModel
from .services import worker_reports
from .signals import model_activated

logger = logging.getLogger(__name__)

LISTEN_RETRY_SECONDS = 30
# How often each listener deletes the reports of workers that are gone (worker_reports.worker_reports_prune).
PRUNE_REPORTS_SECONDS = 300


def _listen_connection() -> psycopg.Connection:
    """A dedicated autocommit connection with the same parameters as Django's (TLS options included)."""
    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    params.setdefault("connect_timeout", 5)
    # TCP keepalives: a LISTEN connection silently dropped by a NAT or a failover is noticed in about a
    # minute (then the listener reconnects; the poll covers the gap) instead of the kernel's two hours.
    params.update(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
    conn = psycopg.connect(**params, autocommit=True)
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


class ActivationListener(threading.Thread):
    """Keeps this process on the registry's active versions.

    `loaded()` returns what this process serves now: model name -> version id (None if nothing);
    `serves(name)` whether it serves that model at all (the others are left to other replicas).
    """

    def __init__(
        self,
        *,
        loaded: Callable[[], dict[str, int | None]],
        serves: Callable[[str], bool] | None = None,
        on_tick: Callable[[], None] | None = None,
        on_wake: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="atlas-activation-listener", daemon=True)
        self._loaded = loaded
        self._serves = serves or (lambda name: True)
        self._on_tick = on_tick  # after each sync: the serving side's rollout work (inference.rollout_sync)
        # after each sync, whether or not the registry answered: work that needs no database (the metrics' flush)
        self._on_wake = on_wake
        self._stopping = threading.Event()
        self._last_heartbeat = 0.0
        self._last_prune = time.monotonic()  # serving.ensure_started prunes once at start
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.use_listen = settings.ATLAS_LISTEN_NOTIFY and connection.vendor == "postgresql"
        self.registry_unreachable = False  # logged once per outage, not at every poll

    def stop(self, *, wait: float | None = None) -> None:
        """Ask the thread to end; with `wait`, give it that many seconds to finish its current sync.

        Waiting matters wherever the process goes on (a test, a reload): a listener that outlives its stop
        still queries the database and logs, racing whatever runs next."""
        self._stopping.set()
        if wait is not None and self.is_alive() and threading.current_thread() is not self:
            self.join(wait)

    def run(self) -> None:
        try:
            self._run()
        finally:
            connection.close()  # this thread's own Django connection: not left open for the server to reap

    def _run(self) -> None:
        poll = settings.ATLAS_RELOAD_POLL_SECONDS
        listen_again_at = 0.0
        while not self._stopping.is_set():
            if self.use_listen and time.monotonic() >= listen_again_at:
                try:
                    self._listen_loop(poll)
                except Exception as exc:  # connection lost or refused: poll meanwhile, try LISTEN later
                    listen_again_at = time.monotonic() + LISTEN_RETRY_SECONDS
                    logger.warning(
                        "LISTEN unavailable (%s); polling every %.1f s, trying LISTEN again in %d s",
                        exc,
                        poll,
                        LISTEN_RETRY_SECONDS,
                    )
            self.sync()
            self._stopping.wait(poll)

    def _listen_loop(self, poll: float) -> None:
        with _listen_connection() as conn:
            self.sync()  # catch up on anything committed before LISTEN took effect
            while not self._stopping.is_set():
                for _notify in conn.notifies(timeout=poll, stop_after=1):
                    pass
                self.sync()

    def sync(self) -> None:
        """Compare the registry with what is loaded here; re-send `model_activated` for each difference."""
        try:
            close_old_connections()
            active = selectors.active_version_ids()
            if self.registry_unreachable:
                self.registry_unreachable = False
                logger.warning("the registry answers again: resyncing")
            loaded = self._loaded()
            for name, version_id in active.items():
                if version_id is not None and loaded.get(name) != version_id and self._serves(name):
                    version = selectors.version_by_id(pk=version_id)
                    model_activated.send(
                        sender=RegisteredModel,
                        model_name=name,
                        version=version,
                        action="reload",
                        predictor=None,
                        force_download=False,
                    )
            if self._on_tick is not None:
                self._on_tick()
            now = time.monotonic()
            if now - self._last_heartbeat >= settings.ATLAS_WORKER_HEARTBEAT_SECONDS:
                worker_reports.worker_reports_heartbeat(host=self.host, pid=self.pid)
                self._last_heartbeat = now
            if now - self._last_prune >= PRUNE_REPORTS_SECONDS:
                self._last_prune = now
                worker_reports.worker_reports_prune(host=self.host)
        except DatabaseError as exc:  # an outage: what is loaded keeps serving; the next tick tries again
            if not self.registry_unreachable:
                logger.warning("the registry is unreachable (%s): serving what is loaded, retrying", exc)
            self.registry_unreachable = True
        except Exception:  # the listener must outlive any one failure; the next tick tries again
            logger.exception("activation sync failed")
        finally:
            if connection.vendor == "sqlite":
                connection.close()
            if self._on_wake is not None:
                self._on_wake()
