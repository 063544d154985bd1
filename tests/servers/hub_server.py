"""A small Hugging Face Hub-compatible HTTP server for tests: model repos, commits, pinned downloads.

It implements what huggingface_hub 2.4 calls for the registry's Hub store, read from its source:

    POST /api/repos/create                          {"name", "organization", ...} -> {"url"}; 409 if it exists
    GET  /api/models/{ns}/{name}[/revision/{rev}]   model info with "sha" and "siblings"
    POST /api/models/{ns}/{name}/preupload/{rev}    every file "regular" (base64 in the commit, no LFS/Xet)
    POST /api/models/{ns}/{name}/commit/{rev}       NDJSON: header, file (base64), deletedFile, deletedFolder
    HEAD/GET /{ns}/{name}/resolve/{rev}/{path}      X-Repo-Commit, ETag, Content-Length; Range on GET

Every commit keeps its own snapshot of the files, so a file fetched at an old sha keeps its old bytes
after later commits. Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound) the way
the Hub sends them, so huggingface_hub raises its own typed errors. With a token configured, every
request must carry `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

_SHA = re.compile(r"^[0-9a-f]{40}$")
_INVALID_TOKEN = "Invalid credentials in Authorization header"


@dataclass
class Commit:
    sha: str
    parent: str | None
    message: str
    files: dict[str, bytes]
    created_at: str


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        if _SHA.match(revision):
            return self.commits.get(revision)
        return None


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class HubState:
    """The repos, behind one lock (requests run on several threads)."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.lock = threading.Lock()
        self._counter = itertools.count(1)

    def create_repo(self, repo_id: str, *, private: bool) -> Repo:
        with self.lock:
            if repo_id in self.repos:
                raise HubError(409, "You already created this model repo")
            repo = Repo(repo_id=repo_id, private=private)
            self.repos[repo_id] = repo
            self._commit(repo, "main", "Initial commit", {".gitattributes": b"*.bin filter=lfs\n"}, None)
            return repo

    def commit(self, repo_id: str, branch: str, message: str, ops: list[dict], parent_commit: str | None) -> Commit:
        with self.lock:
            repo = self.get(repo_id)
            if branch not in repo.branches:
                raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            head = repo.commits[repo.branches[branch]]
            if parent_commit is not None and parent_commit != head.sha:
                raise HubError(412, f"Parent commit {parent_commit} is not the head of {branch} ({head.sha})")
            files = dict(head.files)
            for op in ops:
                path = op["path"]
                if op["kind"] == "file":
                    files[path] = op["content"]
                elif op["kind"] == "deletedFile":
                    if path not in files:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    del files[path]
                else:  # deletedFolder
                    prefix = path.rstrip("/") + "/"
                    files = {name: data for name, data in files.items() if not name.startswith(prefix)}
            return self._commit(repo, branch, message, files, head.sha)

    def get(self, repo_id: str) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def _commit(self, repo: Repo, branch: str, message: str, files: dict[str, bytes], parent: str | None) -> Commit:
        seed = f"{repo.repo_id}\0{parent}\0{message}\0{next(self._counter)}\0".encode()
        digest = hashlib.sha1(seed)
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
        commit = Commit(
            sha=digest.hexdigest(),
            parent=parent,
            message=message,
            files=files,
            created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
        repo.commits[commit.sha] = commit
        repo.branches[branch] = commit.sha
        return commit


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HubHTTPServer

    # --- dispatch --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            body = self._read_body()
            self._check_token()
            segments = [unquote(part) for part in urlsplit(self.path).path.split("/")[1:]]
            self._route(method, segments, body)
        except HubError as exc:
            self._send_json({"error": exc.message}, status=exc.status, code=exc.code, method=method)
        except (KeyError, ValueError, TypeError) as exc:
            self._send_json({"error": f"Bad request: {exc}"}, status=400, method=method)

    def _route(self, method: str, seg: list[str], body: bytes) -> None:
        if seg[:3] == ["api", "repos", "create"] and method == "POST":
            return self._create_repo(json.loads(body or b"{}"))
        if len(seg) >= 4 and seg[:2] == ["api", "models"]:
            repo_id, rest = f"{seg[2]}/{seg[3]}", seg[4:]
            if not rest and method == "GET":
                return self._model_info(repo_id, "main")
            if len(rest) == 2 and rest[0] == "revision" and method == "GET":
                return self._model_info(repo_id, rest[1])
            if len(rest) == 2 and rest[0] == "preupload" and method == "POST":
                return self._preupload(repo_id, json.loads(body))
            if len(rest) == 2 and rest[0] == "commit" and method == "POST":
                return self._commit(repo_id, rest[1], body)
        if len(seg) >= 5 and seg[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(method, f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]))
        raise HubError(404, f"Not found: {method} {self.path}")

    # --- endpoints -------------------------------------------------------------------------------

    def _create_repo(self, payload: dict) -> None:
        if payload.get("type", "model") != "model":
            raise HubError(400, "This test hub only serves model repos")
        name, organization = payload["name"], payload.get("organization") or "user"
        repo_id = f"{organization}/{name}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        try:
            self.server.state.create_repo(repo_id, private=private)
        except HubError as exc:
            if exc.status == 409:
                self._send_json({"error": exc.message, "url": f"{self.server.url}/{repo_id}"}, status=409)
                return
            raise
        self._send_json({"url": f"{self.server.url}/{repo_id}", "name": repo_id, "id": repo_id})

    def _model_info(self, repo_id: str, revision: str) -> None:
        with self.server.state.lock:
            repo = self.server.state.get(repo_id)
            commit = repo.resolve(revision)
            if commit is None:
                raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            info = {
                "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
                "id": repo_id,
                "modelId": repo_id,
                "author": repo_id.split("/")[0],
                "sha": commit.sha,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "tags": [],
                "downloads": 0,
                "likes": 0,
                "lastModified": commit.created_at,
                "createdAt": repo.commits[next(iter(repo.commits))].created_at,
                "siblings": [{"rfilename": name} for name in sorted(commit.files)],
            }
        self._send_json(info)

    def _preupload(self, repo_id: str, payload: dict) -> None:
        with self.server.state.lock:
            self.server.state.get(repo_id)
        files = [
            {"path": item["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
            for item in payload["files"]
        ]
        self._send_json({"files": files, "commitOid": None})

    def _commit(self, repo_id: str, branch: str, body: bytes) -> None:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The commit payload must start with a header line")
        header = lines[0]["value"]
        ops = []
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise HubError(400, f"Unsupported encoding {value.get('encoding')!r}")
                ops.append({"kind": "file", "path": value["path"], "content": base64.b64decode(value["content"])})
            elif key in ("deletedFile", "deletedFolder"):
                ops.append({"kind": key, "path": value["path"]})
            else:
                raise HubError(400, f"This test hub does not accept {key!r} operations (no LFS/Xet storage)")
        commit = self.server.state.commit(repo_id, branch, header["summary"], ops, header.get("parentCommit"))
        self._send_json(
            {
                "success": True,
                "commitOid": commit.sha,
                "commitUrl": f"{self.server.url}/{repo_id}/commit/{commit.sha}",
                "pullRequestUrl": None,
            }
        )

    def _resolve(self, method: str, repo_id: str, revision: str, path: str) -> None:
        with self.server.state.lock:
            repo = self.server.state.get(repo_id)
            commit = repo.resolve(revision)
            if commit is None:
                raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            data = commit.files.get(path)
        if data is None:
            self._send_json(
                {"error": "Entry not found"},
                status=404,
                code="EntryNotFound",
                method=method,
                headers={"X-Repo-Commit": commit.sha},
            )
            return
        headers = {
            "X-Repo-Commit": commit.sha,
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
        }
        status, payload = 200, data
        byte_range = self.headers.get("Range", "")
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", byte_range)
        if method == "GET" and match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            status, payload = 206, data[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{start + len(payload) - 1}/{len(data)}"
        self._send(status, payload, headers, method=method)

    # --- plumbing --------------------------------------------------------------------------------

    def _check_token(self) -> None:
        token = self.server.token
        if token and self.headers.get("Authorization", "") != f"Bearer {token}":
            raise HubError(401, _INVALID_TOKEN)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(
        self,
        payload: dict,
        *,
        status: int = 200,
        code: str = "",
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> None:
        extra = {"Content-Type": "application/json", **(headers or {})}
        if status >= 400:
            extra["X-Error-Message"] = payload.get("error", "")
            if code:
                extra["X-Error-Code"] = code
        self._send(status, json.dumps(payload).encode(), extra, method=method)

    def _send(self, status: int, payload: bytes, headers: dict[str, str], *, method: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: pytest shows failures, not access logs


class HubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None) -> None:
        super().__init__((host, port), HubHandler)
        self.state = HubState()
        self.token = token
        self.url = f"http://{host}:{self.server_address[1]}"


class RunningHub:
    """The server on a background thread: `start()`, then `url`, then `stop()`."""

    def __init__(self, *, token: str | None = None) -> None:
        self.server = HubHTTPServer(token=token)
        self.url = self.server.url
        self.token = token
        self._thread = threading.Thread(target=self.server.serve_forever, name="test-hub", daemon=True)

    def start(self) -> RunningHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)
