"""Log formatting: `LOG_FORMAT=json` writes one JSON object per line (for log collectors), and every
record made while a request is handled carries that request's X-Request-ID."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Attributes the request line adds (atlas.http.request_context); copied into the JSON object when present.
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "model", "version")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from atlas.http.request_context import current_request_id  # the filter is built before apps are loaded

        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", "-")
        if rid != "-":
            entry["request_id"] = rid
        for field in EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
