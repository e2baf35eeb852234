"""The network guard: an audit hook that refuses every Internet socket outside a scope the user started.

Why an audit hook: every Python-level socket operation raises an audit event (PEP 578) before it happens, in
every thread, and a hook cannot be removed once added. The guard refuses, outside a `network_allowed(...)` scope:

* `socket.connect`, `socket.sendto`, `socket.sendmsg` and `socket.bind` on AF_INET/AF_INET6 sockets (and on any
  family other than AF_UNIX);
* name lookups: `socket.getaddrinfo` and `socket.gethostbyname(_ex)` of a host name (an IP literal or None needs
  no lookup), `socket.gethostbyaddr`, `socket.getnameinfo`.

AF_UNIX is always allowed: it never leaves the computer, and the OS keyring on Linux (D-Bus), Qt and asyncio's
self-pipe use it. On Windows `socket.socketpair()` is built from two loopback TCP sockets; those two calls are
recognised by their caller and allowed.

A scope (`with network_allowed(hosts=["huggingface.co", "*.hf.co"], reason="Downloading gpt-oss-20b"):`) is
opened by a download or a server the user started. It is process-wide, because downloads use thread pools, but
narrow: only the listed hosts may be looked up, and connections go only to those hosts, to IP literals listed,
or to addresses that a lookup of a listed host returned while the scope was open. Loopback is not special: a
local server lists "127.0.0.1" in its own scope, so nothing reaches a loopback port while no such scope is open.

What it cannot see: sockets opened by native code that does not go through Python (ONNX Runtime's telemetry,
the Rust networking of `tokenizers`' hub helpers or `hf_xet`, Qt's networking). Those are switched off at their
source (environment variables before import, `Tokenizer.from_file` only) and checked with strace in the tests.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_SOCKET_FILE = socket.__file__
_INTERNET = (socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET))
_LOCAL_FAMILIES = tuple(f for f in (getattr(socket, "AF_UNIX", None),) if f is not None)
_BLOCKED_KEPT = 20  # the most recent refusals kept for `enclave doctor`


class NetworkBlockedError(PermissionError):
    """A socket operation the guard refused; an OSError, so libraries treat it as 'no network'."""


@dataclass
class _Scope:
    hosts: frozenset[str]  # lower-case names, "*.suffix" patterns, or IP literals
    reason: str
    addresses: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = field(default_factory=set)

    def allows_name(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return any(name == h or (h.startswith("*.") and name.endswith(h[1:])) for h in self.hosts)

    def allows_address(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return ip in self.addresses


@dataclass(frozen=True)
class GuardState:
    """What the status bar and `enclave doctor` show."""

    installed: bool
    scopes: tuple[str, ...]  # reasons of the scopes open now
    blocked: int  # operations refused since the guard was installed
    recent_blocked: tuple[str, ...]  # the latest refusals, newest last

    @property
    def offline(self) -> bool:
        return self.installed and not self.scopes

    def describe(self) -> str:
        if not self.installed:
            return "Network guard not installed"
        if not self.scopes:
            return "Offline"
        return "Online: " + "; ".join(self.scopes)


_lock = threading.Lock()
_installed = False
_scopes: tuple[_Scope, ...] = ()  # replaced, never mutated, so the hook reads it without the lock
_blocked: list[str] = []
_blocked_count = 0
_listeners: list[Callable[[GuardState], None]] = []
_original_getaddrinfo = socket.getaddrinfo


def install() -> None:
    """Adds the audit hook (once per process; it cannot be removed). Call it before anything opens a socket."""
    global _installed
    with _lock:
        if _installed:
            return
        sys.addaudithook(_hook)
        socket.getaddrinfo = _recording_getaddrinfo  # type: ignore[assignment]  # learns a scope's addresses
        _installed = True
    _notify()


def is_installed() -> bool:
    return _installed


def state() -> GuardState:
    with _lock:
        return GuardState(_installed, tuple(s.reason for s in _scopes), _blocked_count, tuple(_blocked))


def add_listener(listener: Callable[[GuardState], None]) -> Callable[[], None]:
    """Calls `listener(state)` from whatever thread opens or closes a scope or is refused; returns a remover.

    The listener must be quick and must not touch the network (a Qt client emits a queued signal).
    """
    with _lock:
        _listeners.append(listener)

    def remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return remove


@contextmanager
def network_allowed(hosts: Iterable[str], reason: str) -> Iterator[None]:
    """Lets the listed hosts through while the block runs (all threads), e.g. a download the user started.

    `hosts`: host names ("huggingface.co"), suffix patterns ("*.hf.co") or IP literals ("127.0.0.1").
    `reason`: what the user started, shown in the status bar ("Downloading gpt-oss-20b").
    """
    global _scopes
    names = frozenset(h.strip().lower().rstrip(".") for h in hosts if h and h.strip())
    if not names:
        raise ValueError("network_allowed needs at least one host")
    if not reason.strip():
        raise ValueError("network_allowed needs a reason the user can read")
    scope = _Scope(names, reason.strip(), {ip for ip in map(_ip, names) if ip is not None})
    with _lock:
        _scopes = (*_scopes, scope)
    _notify()
    try:
        yield
    finally:
        with _lock:
            _scopes = tuple(s for s in _scopes if s is not scope)
        _notify()


# ------------------------------------------------------------------------------------------------ the hook

def _hook(event: str, args: tuple) -> None:
    if not event.startswith("socket."):  # the hook sees every audited event (imports, open, exec...)
        return
    check = _CHECKS.get(event)
    if check is None:
        return
    refusal = check(event, args)
    if refusal is None:
        return
    if event in ("socket.bind", "socket.connect") and _inside_socketpair(sys._getframe(1), args):
        return
    _refuse(refusal)


_ACTIONS = {"socket.connect": "a connection to", "socket.bind": "listening on", "socket.sendto": "sending to",
            "socket.sendmsg": "sending to"}


def _check_socket_address(event: str, args: tuple) -> str | None:
    sock, address = args[0], args[1]
    family = getattr(sock, "family", None)
    if family in _LOCAL_FAMILIES or address is None:
        return None  # AF_UNIX, or sendmsg on a socket connected earlier (that connect was checked)
    action = _ACTIONS[event]
    if family not in _INTERNET:
        return f"{action} a socket of family {family!r}"
    if not isinstance(address, tuple) or not address:
        return f"{action} {address!r}"
    host, port = str(address[0]), address[1] if len(address) > 1 else "?"
    shown = f"{action} {host}:{port}" if ":" not in host else f"{action} [{host}]:{port}"
    ip = _ip(host)
    scopes = _scopes
    if ip is not None and any(s.allows_address(ip) for s in scopes):
        return None
    if ip is None and any(s.allows_name(host) for s in scopes):
        return None  # connect(("name", port)) resolves inside C; the name itself is what the scope lists
    return shown


def _check_lookup(event: str, args: tuple) -> str | None:
    host = args[0]
    if host is None or host == "":
        return None
    text = host.decode("idna", "replace") if isinstance(host, bytes) else str(host)
    if _ip(text) is not None:
        return None  # an IP literal needs no lookup; connecting to it is checked on its own
    if any(s.allows_name(text) for s in _scopes):
        return None
    return f"a lookup of {text}"


def _check_reverse(event: str, args: tuple) -> str | None:
    target = args[0]
    host = target[0] if isinstance(target, tuple) and target else target
    ip = _ip(str(host))
    if ip is not None and any(s.allows_address(ip) for s in _scopes):
        return None
    return f"a reverse lookup of {host}"


_CHECKS: dict[str, Callable[[str, tuple], str | None]] = {
    "socket.connect": _check_socket_address,
    "socket.bind": _check_socket_address,
    "socket.sendto": _check_socket_address,
    "socket.sendmsg": _check_socket_address,
    "socket.getaddrinfo": _check_lookup,
    "socket.gethostbyname": _check_lookup,
    "socket.gethostbyaddr": _check_reverse,
    "socket.getnameinfo": _check_reverse,
}


def _refuse(what: str) -> None:
    global _blocked_count
    scopes = _scopes
    if scopes:
        allowed = ", ".join(sorted({h for s in scopes for h in s.hosts}))
        message = (f"Enclave refused {what}: only {allowed} may be reached now "
                   f"({'; '.join(s.reason for s in scopes)}).")
    else:
        message = (f"Enclave is offline and refused {what} (only a download or a server you start may use the "
                   "network).")
    with _lock:
        _blocked_count += 1
        _blocked.append(f"{time.strftime('%H:%M:%S')} {what}")
        del _blocked[:-_BLOCKED_KEPT]
    _notify()
    raise NetworkBlockedError(message)


def _inside_socketpair(frame, args: tuple) -> bool:  # noqa: ANN001 - a frame object
    """Windows builds socket.socketpair() from a loopback listener and a client: allow exactly those calls."""
    if frame is None or frame.f_code.co_name != "socketpair" or frame.f_code.co_filename != _SOCKET_FILE:
        return False
    address = args[1]
    ip = _ip(str(address[0])) if isinstance(address, tuple) and address else None
    return ip is not None and ip.is_loopback


def _recording_getaddrinfo(host, port, *args, **kwargs):  # noqa: ANN001, ANN202 - socket.getaddrinfo's signature
    """socket.getaddrinfo that also remembers, for open scopes listing `host`, the addresses it returned."""
    results = _original_getaddrinfo(host, port, *args, **kwargs)  # the audit hook has checked `host` already
    if host and _scopes:
        text = host.decode("idna", "replace") if isinstance(host, bytes) else str(host)
        found = {ip for *_, sockaddr in results if (ip := _ip(str(sockaddr[0]))) is not None}
        for scope in _scopes:
            if scope.allows_name(text):
                scope.addresses.update(found)
    return results


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _notify() -> None:
    with _lock:
        listeners = list(_listeners)
    if not listeners:
        return
    current = state()
    for listener in listeners:
        try:
            listener(current)
        except Exception:  # noqa: BLE001 - a broken listener must not break the guard or the caller
            pass
