"""No network unless the user started something that needs it. No Qt.

    from app import netguard
    netguard.install()                                   # once, at startup (the CLI's main does it)
    with netguard.network_allowed(["huggingface.co", "*.hf.co"], reason="Downloading gpt-oss-20b"):
        ...                                              # the only place a download or a server may connect
    netguard.state().describe()                          # "Offline" for the status bar

See guard.py for which socket operations are refused, why AF_UNIX is allowed, and what it cannot see.
"""

from app.netguard.guard import (GuardState, NetworkBlockedError, add_listener, install, is_installed,
                                network_allowed, state)

__all__ = ["GuardState", "NetworkBlockedError", "add_listener", "install", "is_installed", "network_allowed",
           "state"]
