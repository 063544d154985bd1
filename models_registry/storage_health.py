"""Whether the default store answers, within a bound: admin health must answer inside the request timeout.

A store that accepts connections and never answers (an S3 endpoint behind a dead proxy, a Hub that
hangs) would hold a sync worker for boto3's or httpx's own timeouts and retries, past gunicorn's 60 s.
The check runs on a thread and is waited for ATLAS_STORAGE_CHECK_SECONDS; past that the store counts as
unreachable. One check at a time per process: while one is still hanging, the next health request says so
instead of starting another thread.
"""

from __future__ import annotations

import threading

from django.conf import settings

from .storage import StorageError, get_store

_in_flight: threading.Thread | None = None
_guard = threading.Lock()


def storage_reachable() -> tuple[bool, str]:
    """(reachable, error) of the default store, answered within ATLAS_STORAGE_CHECK_SECONDS."""
    global _in_flight
    timeout = settings.ATLAS_STORAGE_CHECK_SECONDS
    outcome: list[str] = []
    with _guard:
        if _in_flight is not None and _in_flight.is_alive():
            return False, f"The storage check started earlier has not answered yet (waiting up to {timeout:g} s)."
        store = get_store()

        def check() -> None:
            try:
                store.check()
            except StorageError as exc:
                outcome.append(str(exc))
            except Exception as exc:  # a health check reports, it never raises
                outcome.append(f"{type(exc).__name__}: {exc}")
            else:
                outcome.append("")

        _in_flight = threading.Thread(target=check, name="atlas-storage-check", daemon=True)
        _in_flight.start()
        thread = _in_flight
    thread.join(timeout)
    if thread.is_alive():
        return False, f"The {store.kind} store did not answer within {timeout:g} s."
    return outcome[0] == "", outcome[0]
