"""Talking to the Hugging Face Hub (or a mirror of it) through huggingface_hub: the only place Enclave goes online.

Everything here runs inside `hub_session`, which a user-started download opens and closes:
- offline mode (HF_HUB_OFFLINE=1, set at startup) is lifted for the session only, by switching the value that
  huggingface_hub read into `huggingface_hub.constants` at import; telemetry stays off;
- the endpoint is the mirror from the settings, else HF_ENDPOINT, else the Hub; the proxy is the one from the
  settings, else the environment's (HTTPS_PROXY, ...); both are passed to huggingface_hub explicitly, so what
  the session uses is exactly what the user (or the policy) chose;
- Xet is off: every file comes over plain HTTP(S) with Range requests, the one transfer whose resume (no byte
  fetched twice) and hashing the app controls. The Hub still serves every file that way.
huggingface_hub gives the pieces (revision info, tree listing, HEAD metadata, the shared HTTP client and its
error mapping); its snapshot_download cannot resume after a kill and never checks hashes, so the transfer
itself is `fetch_to` below.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.library.errors import Cancelled, LibraryError
from app.library.progress import Meter

DEFAULT_ENDPOINT = "https://huggingface.co"
CONNECT_TIMEOUT_S = 20.0
READ_TIMEOUT_S = 60.0
RESUME_ATTEMPTS = 8  # dropped connections survived per file (each resumes where the last stopped)
_SYNC_EVERY = 64 * 1024 * 1024  # fsync the partial file this often, so a power cut loses little
_session_lock = threading.Lock()


@dataclass(frozen=True)
class DownloadPolicy:
    """What the organisation's policy (app.policy) says about downloads."""

    downloads_allowed: bool = True
    endpoint: str | None = None
    proxy: str | None = None


def download_policy() -> DownloadPolicy:
    from app.policy import current_policy

    policy = current_policy()
    return DownloadPolicy(policy.downloads_allowed, policy.hub_endpoint, policy.proxy)


# Where the Hub itself sends downloads (its CDN and storage hosts): allowed through the network guard only when
# the endpoint is the Hub. A mirror's own host is all a mirror download may reach.
HUB_HOSTS = ("huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co")


@dataclass(frozen=True)
class HubAccess:
    """Where and how to reach the Hub for one download."""

    endpoint: str
    proxy: str | None
    token: str | None = None

    @property
    def is_mirror(self) -> bool:
        return self.endpoint.rstrip("/") != DEFAULT_ENDPOINT


def env_proxy(url: str) -> str | None:
    """The environment's proxy for `url`, unless NO_PROXY exempts its host.

    A mirror reached over plain http uses HTTP_PROXY, or HTTPS_PROXY when that is the only one set (managed
    machines often set just one).
    """
    host = urlsplit(url).hostname or ""
    if host and urllib.request.proxy_bypass_environment(host):
        return None
    names = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
    if url.startswith("http://"):
        names = ("HTTP_PROXY", "http_proxy", *names)
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def resolve_access(endpoint: str | None, proxy: str | None, token: str | None) -> HubAccess:
    """Settings first, then the environment; a policy's endpoint and proxy win over both."""
    policy = download_policy()
    chosen = (policy.endpoint or endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    if not chosen.startswith(("http://", "https://")):
        raise LibraryError(f"The Hub address {chosen!r} is not an http:// or https:// URL.")
    chosen_proxy = policy.proxy or proxy or env_proxy(chosen)
    if chosen_proxy and not chosen_proxy.startswith(("http://", "https://", "socks5://")):
        raise LibraryError(f"The proxy {chosen_proxy!r} is not an http://, https:// or socks5:// URL.")
    return HubAccess(endpoint=chosen, proxy=chosen_proxy or None, token=token or None)


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    lfs_sha256: str | None  # the Hub's SHA-256 of an LFS file
    git_oid: str  # git blob id (for LFS files: of the pointer)


class HubClient:
    """Calls on one repository, valid inside `hub_session`."""

    def __init__(self, access: HubAccess) -> None:
        from huggingface_hub import HfApi

        self.access = access
        self.api = HfApi(endpoint=access.endpoint, token=access.token or False, library_name="enclave")

    def resolve(self, repo: str, revision: str) -> str:
        """The commit a revision (branch, tag or commit) points to."""
        with _hub_errors(repo, revision, self.access):
            info = self.api.model_info(repo, revision=revision)
        if not info.sha:
            raise LibraryError(f"{self.access.endpoint} did not say which commit {repo}@{revision} is.")
        return info.sha

    def list_files(self, repo: str, commit: str) -> dict[str, RemoteFile]:
        from huggingface_hub.hf_api import RepoFile

        with _hub_errors(repo, commit, self.access):
            items = list(self.api.list_repo_tree(repo, revision=commit, recursive=True))
        return {i.path: RemoteFile(i.path, int(i.size), i.lfs.sha256 if i.lfs else None, i.blob_id)
                for i in items if isinstance(i, RepoFile)}

    def file_location(self, repo: str, commit: str, path: str) -> tuple[str, int | None, str | None, str | None]:
        """HEAD of one file: (URL to GET, size, etag, commit) — the URL may be a CDN the Hub redirects to."""
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        url = hf_hub_url(repo, path, revision=commit, endpoint=self.access.endpoint)
        with _hub_errors(repo, commit, self.access, path):
            meta = get_hf_file_metadata(url, token=self.access.token or False, endpoint=self.access.endpoint,
                                        timeout=CONNECT_TIMEOUT_S, retry_on_errors=True)
        return meta.location, meta.size, meta.etag, meta.commit_hash

    def fetch_to(self, url: str, partial: Path, size: int, meter: Meter, *, on_bytes=None) -> None:
        """Appends the rest of the file at `url` to `partial` until it holds `size` bytes.

        Each request asks for `Range: bytes=<what is on disk>-`, so neither a kill, a dropped connection nor a
        reboot makes a byte come twice; every byte received is written (and counted) at once. A server that
        ignores Range (200 instead of 206) would re-send from zero: refused rather than silently doubled.
        """
        import httpx2
        from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

        from app.netguard import NetworkBlockedError

        headers = build_hf_headers(token=self.access.token or False, library_name="enclave")
        if urlsplit(url).netloc != urlsplit(self.access.endpoint).netloc:
            headers.pop("authorization", None)  # a signed CDN URL: the token never leaves the Hub
        headers["Accept-Encoding"] = "identity"
        attempts = 0
        while True:
            have = partial.stat().st_size if partial.exists() else 0
            if have == size:
                return
            if have > size:
                raise LibraryError(f"{partial}: holds more bytes than the file has; delete it and download again.")
            request_headers = {**headers, "Range": f"bytes={have}-"}
            try:
                with _client().stream("GET", url, headers=request_headers,
                                      timeout=httpx2.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)) as response:
                    if response.status_code >= 400:
                        response.read()
                        with _hub_errors("", "", self.access, partial.name):
                            hf_raise_for_status(response)
                    _check_range(response, have, size, partial)
                    with open(partial, "ab") as out:
                        synced = have
                        for chunk in response.iter_raw():
                            out.write(chunk)
                            out.flush()
                            if on_bytes is not None:
                                on_bytes(chunk)
                            meter.add(len(chunk))
                            have += len(chunk)
                            if have - synced >= _SYNC_EVERY:
                                os.fsync(out.fileno())
                                synced = have
                        os.fsync(out.fileno())
                if have != size:
                    raise httpx2.RemoteProtocolError("the server closed the connection early")
                return
            except NetworkBlockedError as exc:  # the network guard refused a host outside the download's scope
                raise LibraryError(f"The download of {partial.name} was sent to a host it may not reach ({exc}); "
                                   "what was downloaded so far is kept.") from exc
            except OSError as exc:
                raise LibraryError(_write_sentence(exc, partial)) from exc
            except (httpx2.TransportError, httpx2.RemoteProtocolError) as exc:
                if isinstance(exc, httpx2.ProxyError):
                    raise LibraryError(f"The proxy {self.access.proxy} refused the connection ({exc}).") from exc
                attempts += 1
                if attempts > RESUME_ATTEMPTS:
                    raise LibraryError(_network_sentence(exc, self.access)) from exc
                meter.check_cancel()
                time.sleep(min(8.0, 0.5 * 2 ** (attempts - 1)))  # back off before resuming


def _check_range(response, have: int, size: int, partial: Path) -> None:
    if have == 0 and response.status_code == 200:
        return
    if response.status_code != 206:
        raise LibraryError(f"The server answered {response.status_code} to a request for the rest of {partial.name} "
                           "(it ignores Range requests), so the download cannot resume without fetching it again.")
    content_range = response.headers.get("Content-Range", "")
    start = content_range.removeprefix("bytes ").split("-", 1)[0]
    if not start.isdigit() or int(start) != have:
        raise LibraryError(f"The server sent {partial.name} from the wrong offset ({content_range!r} for byte {have}).")


def _write_sentence(exc: OSError, partial: Path) -> str:
    import errno

    problem = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))
    kept = partial.stat().st_size if partial.exists() else 0
    return (f"Cannot write {partial}: {problem}; the {kept:,} bytes downloaded so far are kept, free some space and "
            "run the download again to resume.")


def _network_sentence(exc: Exception, access: HubAccess) -> str:
    via = f" through the proxy {access.proxy}" if access.proxy else ""
    return f"Cannot reach {access.endpoint}{via}: {exc or type(exc).__name__}. What was downloaded so far is kept."


@contextmanager
def _hub_errors(repo: str, revision: str, access: HubAccess, path: str = "") -> Iterator[None]:
    """huggingface_hub's exceptions as one sentence each."""
    import httpx2
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except GatedRepoError as exc:
        raise LibraryError(f"{repo} is gated: accept its terms on the Hub and save an access token with "
                           "`enclave models login`.") from exc
    except RepositoryNotFoundError as exc:
        raise LibraryError(f"{access.endpoint} has no model repository {repo!r} (or it is private and needs an "
                           "access token: `enclave models login`).") from exc
    except RevisionNotFoundError as exc:
        raise LibraryError(f"{repo} has no revision {revision!r} on {access.endpoint}.") from exc
    except EntryNotFoundError as exc:
        raise LibraryError(f"{repo}@{revision} has no file {path!r} on {access.endpoint}.") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        if status == 401:
            raise LibraryError(f"{access.endpoint} refused the access token (HTTP 401); save a valid one with "
                               "`enclave models login`.") from exc
        raise LibraryError(f"{access.endpoint} answered HTTP {status} for {repo} {path}".rstrip() + ".") from exc
    except httpx2.ProxyError as exc:
        raise LibraryError(f"The proxy {access.proxy} refused the connection ({exc}).") from exc
    except (httpx2.TransportError, httpx2.RemoteProtocolError) as exc:
        raise LibraryError(_network_sentence(exc, access)) from exc


_active_client = None


def _client():
    if _active_client is None:
        raise RuntimeError("the Hub is only reachable inside hub_session()")
    return _active_client


@contextmanager
def hub_session(access: HubAccess) -> Iterator[HubClient]:
    """The scope of one download: online, telemetry off, Xet off, this endpoint and proxy, then offline again."""
    global _active_client
    policy = download_policy()
    if not policy.downloads_allowed:
        raise LibraryError("Downloading models is turned off by your organisation's policy; ask IT for a model "
                           "folder to import instead.")
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    from app import netguard

    hosts = {urlsplit(access.endpoint).hostname or ""}
    if access.proxy:
        hosts.add(urlsplit(access.proxy).hostname or "")
    if not access.is_mirror:
        hosts.update(HUB_HOSTS)
    reason = f"Downloading a model from {access.endpoint}"
    with _session_lock, netguard.network_allowed(sorted(h for h in hosts if h), reason=reason):
        saved = (constants.HF_HUB_OFFLINE, constants.HF_HUB_DISABLE_TELEMETRY, constants.HF_HUB_DISABLE_XET)

        def factory() -> httpx2.Client:
            return httpx2.Client(event_hooks={"request": [_http.hf_request_event_hook]}, follow_redirects=True,
                                 timeout=None, proxy=access.proxy, trust_env=False)

        constants.HF_HUB_OFFLINE = False
        constants.HF_HUB_DISABLE_TELEMETRY = True
        constants.HF_HUB_DISABLE_XET = True
        _http.set_client_factory(factory)
        _active_client = _http.get_session()
        try:
            yield HubClient(access)
        except Cancelled:
            raise
        finally:
            _active_client = None
            _http.set_client_factory(_http.default_client_factory)
            constants.HF_HUB_OFFLINE, constants.HF_HUB_DISABLE_TELEMETRY, constants.HF_HUB_DISABLE_XET = saved
