"""Every way opening or reading the history can fail, as one exception family the UI can catch.

Each error carries a one-sentence message that names the file, conversation or message involved, so the
UI can show it as is; subclasses let the UI react differently (ask for a passphrase, offer to open another
file) without parsing text.
"""

from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """Base class: something about the history database or its encryption is wrong."""


class CorruptDatabaseError(StorageError):
    """The file is not a readable SQLite database (damaged, truncated, or another kind of file)."""


class ForeignDatabaseError(StorageError):
    """The file is a valid SQLite database, but it belongs to another application."""


class NewerSchemaError(StorageError):
    """The database was written by a newer Enclave; this version must not touch it."""


class KeyUnavailableError(StorageError):
    """The data key cannot be obtained (keyring entry missing, keyring unreachable)."""


class PassphraseRequiredError(KeyUnavailableError):
    """No OS keyring is usable and no passphrase was given: the UI should ask for one and reopen.

    `new_database` tells the UI whether to ask twice (choosing a passphrase) or once (unlocking).
    """

    def __init__(self, path: Path, new_database: bool) -> None:
        self.path = path
        self.new_database = new_database
        verb = "choose a passphrase to protect" if new_database else "enter the passphrase to unlock"
        super().__init__(
            f"No OS keyring is available, so please {verb} the history in {path} "
            "(headless runs read it from ENCLAVE_PASSPHRASE)."
        )


class KeyringRequiredError(KeyUnavailableError):
    """The organisation's policy (RequireOsKeyring) forbids the passphrase fallback, and no keyring works."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        super().__init__(
            f"Your organization requires the history key to be kept in the OS keyring, and {why.rstrip('.')}, "
            f"so Enclave keeps no history in {path} in this session.")


class WrongKeyError(StorageError):
    """The passphrase or keyring key does not match the one the database was encrypted with."""


class WrongPassphraseError(WrongKeyError):
    """The passphrase (typed, or from ENCLAVE_PASSPHRASE) is wrong: the UI should ask again."""


class TamperedDataError(StorageError):
    """One encrypted value failed authentication: it was modified, damaged, or moved from another row."""

    def __init__(self, message: str, conversation_id: int | None, message_id: int | None = None) -> None:
        self.conversation_id = conversation_id
        self.message_id = message_id
        super().__init__(message)


class NotFoundError(StorageError):
    """A conversation, message or attachment id does not exist (deleted, or never created)."""
