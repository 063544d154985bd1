"""Messages that reach a client name files, never the server's folders.

An error from a loader or a store often quotes a full path (onnxruntime: "Load model from
/srv/atlas/var/cache/ab/ab12….onnx failed"). `without_paths` keeps the file's name and drops the folders,
so no answer (API bodies, health, a version's status_detail) tells a caller how the machine is laid out.
"""

from __future__ import annotations

import re

# An absolute path: a "/" that does not follow a word, "/", ":" or "." (so URLs like s3://b/k and
# relative keys stay whole), then folders ending in "/". The last part, the file name, is kept.
_FOLDERS = re.compile(r"(?<![\w/:.~-])/(?:[^\s/'\"`<>()\[\],;]+/)+")


def without_paths(text: str) -> str:
    return _FOLDERS.sub("", text)
