"""A Hugging Face Hub on 127.0.0.1 that serves the HTTP endpoints huggingface_hub really calls for a download.

- `GET /api/models/{repo}/revision/{rev}`: revision info (`sha`), with `X-Error-Code: RepoNotFound` /
  `RevisionNotFound` like the Hub;
- `GET /api/models/{repo}/tree/{rev}?recursive=true`: the file listing, paginated with a `Link: <...>;
  rel="next"` header, LFS files carrying `lfs {oid, size, pointerSize}` (oid = SHA-256);
- `HEAD /{repo}/resolve/{rev}/{path}`: `X-Repo-Commit`, `ETag` (git blob id, or the SHA-256 of an LFS file,
  also as `X-Linked-Etag`), `X-Linked-Size`, `Content-Length`; LFS files can redirect to a "CDN" path (302);
- `GET` of a file with `Range: bytes=N-` (206 + `Content-Range`).

It counts every body byte it sends per file (`sent`), logs every request (`requests`) and can misbehave on
purpose: serve different bytes than it lists (`corrupt`), stop after N bytes of a file until released
(`pause_after`), or require a token (`require_token`). Used by the library tests; runs in a thread.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_MIN_SIZE = 1024  # files at least this big are LFS files (the Hub's rule is about content type; any works)


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubRepo:
    repo_id: str
    commit: str
    files: dict[str, Path]  # path in repo -> file on disk
    branches: dict[str, str] = field(default_factory=dict)  # "main" -> commit

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.files[path].read_bytes()).hexdigest()


def repo_from_folder(repo_id: str, folder: Path, commit: str, extra: dict[str, Path] | None = None) -> HubRepo:
    """A repository whose files are those of `folder` (plus `extra`, e.g. `original/...` copies)."""
    files = {p.relative_to(folder).as_posix(): p for p in sorted(Path(folder).rglob("*")) if p.is_file()}
    files.update(extra or {})
    return HubRepo(repo_id, commit, files, {"main": commit})


class HubServer:
    def __init__(self, repos: list[HubRepo], *, page_size: int = 5) -> None:
        self.repos = {r.repo_id: r for r in repos}
        self.page_size = page_size
        self.sent: dict[str, int] = {}  # path -> body bytes sent (all GETs together)
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self.peers: set[tuple[str, int]] = set()  # client (address, port) of every connection
        self.corrupt: dict[str, bytes] = {}  # path -> bytes served instead of the listed content
        self.pause_after: dict[str, int] = {}  # path -> stop after this many bytes of the file (absolute offset)
        self.paused = threading.Event()  # set when a transfer reached its pause point
        self.release = threading.Event()  # set to let paused transfers finish (or end them)
        self.require_token: str | None = None
        self.cdn_redirect = True
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # quiet
                return

            def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
                server._handle(self, head=True)

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self, head=False)

        from app import netguard

        with netguard.network_allowed(["127.0.0.1"], reason="the test Hub on loopback"):
            self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self.cdn_httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # another origin, like a real CDN
        self.httpd.daemon_threads = True
        self.cdn_httpd.daemon_threads = True
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self.httpd, self.cdn_httpd)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self.cdn_httpd.server_address[1]}"

    def __enter__(self) -> HubServer:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.release.set()
        for server in (self.httpd, self.cdn_httpd):
            server.shutdown()
            server.server_close()

    def content(self, repo: HubRepo, path: str) -> bytes:
        return self.corrupt.get(path) or repo.files[path].read_bytes()

    def gets_of(self, path: str) -> list[dict[str, str]]:
        return [h for m, p, h in self.requests if m == "GET" and p.endswith("/" + path)]

    # ------------------------------------------------------------------ dispatch
    def _handle(self, h: BaseHTTPRequestHandler, *, head: bool) -> None:
        url = urlsplit(h.path)
        path = unquote(url.path)
        with self._lock:
            self.requests.append(("HEAD" if head else "GET", path, {k.lower(): v for k, v in h.headers.items()}))
            self.peers.add(h.client_address)
        if self.require_token and h.headers.get("authorization") != f"Bearer {self.require_token}":
            if not path.startswith("/cdn/"):
                return self._error(h, 401, "", "Invalid credentials in Authorization header", head)
        if path.startswith("/api/models/"):
            return self._api(h, path[len("/api/models/"):], parse_qs(url.query))
        if path.startswith("/cdn/"):
            _, _, repo_id_a, repo_id_b, commit, *rest = path.split("/")
            return self._file(h, f"{repo_id_a}/{repo_id_b}", commit, "/".join(rest), head, cdn=True)
        parts = path.lstrip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._file(h, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]), head, cdn=False)
        self._error(h, 404, "", "not found", head)

    def _repo(self, h, repo_id: str, revision: str, head: bool) -> tuple[HubRepo, str] | None:
        repo = self.repos.get(repo_id)
        if repo is None:
            self._error(h, 404, "RepoNotFound", "Repository not found", head)
            return None
        commit = repo.branches.get(revision, revision)
        if commit != repo.commit:
            self._error(h, 404, "RevisionNotFound", "Invalid rev id", head)
            return None
        return repo, commit

    def _api(self, h, rest: str, query: dict[str, list[str]]) -> None:
        if "/revision/" in rest:
            repo_id, revision = rest.split("/revision/", 1)
            found = self._repo(h, repo_id, revision, False)
            if found:
                repo, commit = found
                siblings = [{"rfilename": p} for p in repo.files]
                self._json(h, {"id": repo.repo_id, "modelId": repo.repo_id, "sha": commit, "siblings": siblings,
                               "private": False, "gated": False, "disabled": False, "tags": [], "downloads": 0})
            return
        if "/tree/" in rest:
            repo_id, tail = rest.split("/tree/", 1)
            found = self._repo(h, repo_id, tail.split("/", 1)[0], False)
            if found:
                self._tree(h, found[0], int(query.get("cursor", ["0"])[0]), repo_id, tail)
            return
        self._error(h, 404, "", "not found", False)

    def _tree(self, h, repo: HubRepo, start: int, repo_id: str, tail: str) -> None:
        entries: list[dict] = []
        folders = sorted({"/".join(p.split("/")[:i]) for p in repo.files for i in range(1, p.count("/") + 1)})
        for folder in folders:
            entries.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
        for path, file in repo.files.items():
            data = file.read_bytes()
            entry = {"type": "file", "size": len(data), "path": path}
            if len(data) >= LFS_MIN_SIZE:
                entry["oid"] = git_blob_id(b"pointer " + path.encode())
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            else:
                entry["oid"] = git_blob_id(data)
            entries.append(entry)
        page = entries[start:start + self.page_size]
        headers = {}
        if start + self.page_size < len(entries):
            headers["Link"] = f'<{self.url}/api/models/{repo_id}/tree/{tail}?recursive=true&cursor=' \
                              f'{start + self.page_size}>; rel="next"'
        self._json(h, page, headers)

    def _file(self, h, repo_id: str, revision: str, path: str, head: bool, *, cdn: bool) -> None:
        found = self._repo(h, repo_id, revision, head)
        if not found:
            return
        repo, commit = found
        if path not in repo.files:
            return self._error(h, 404, "EntryNotFound", f"{path} does not exist", head)
        listed = repo.files[path].read_bytes()
        data = self.content(repo, path)
        lfs = len(listed) >= LFS_MIN_SIZE
        etag = hashlib.sha256(listed).hexdigest() if lfs else git_blob_id(listed)
        common = {"X-Repo-Commit": commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if lfs and not cdn and self.cdn_redirect:
            h.send_response(302)
            for k, v in {**common, "X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(listed)),
                         "Location": f"{self.cdn_url}/cdn/{repo_id}/{commit}/{path}", "Content-Length": "0"}.items():
                h.send_header(k, v)
            h.end_headers()
            return
        start = 0
        range_header = h.headers.get("Range")
        if range_header and range_header.startswith("bytes="):
            start = int(range_header[len("bytes="):].split("-", 1)[0])
        if start > len(data):
            return self._error(h, 416, "", "range not satisfiable", head)
        body = data[start:]
        h.send_response(206 if range_header else 200)
        for k, v in common.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        if range_header:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.end_headers()
        if head:
            return
        self._send_body(h, path, body, start)

    def _send_body(self, h, path: str, body: bytes, start: int) -> None:
        stop = self.pause_after.get(path)
        offset, piece = 0, 64 * 1024
        try:
            while offset < len(body):
                end = min(len(body), offset + piece)
                if stop is not None and start + offset < stop <= start + end:
                    end = stop - start
                chunk = body[offset:end]
                h.wfile.write(chunk)
                h.wfile.flush()
                with self._lock:
                    self.sent[path] = self.sent.get(path, 0) + len(chunk)
                offset = end
                if stop is not None and start + offset == stop:
                    self.paused.set()
                    self.release.wait(60)
                    h.close_connection = True  # the pause ends this response: the client sees a short body
                    return
        except (BrokenPipeError, ConnectionResetError):
            return

    def _json(self, h, data, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _error(self, h, status: int, code: str, message: str, head: bool) -> None:
        body = json.dumps({"error": message}).encode()
        h.send_response(status)
        if code:
            h.send_header("X-Error-Code", code)
        h.send_header("X-Error-Message", message)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)
