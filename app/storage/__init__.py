"""Conversation history in SQLite, message contents encrypted at rest (AES-256-GCM). No Qt.

Entry point: `HistoryStore.open(path=None, passphrase=None)`. See store.py for the history model,
keys.py for where the data key lives, schema.py for how foreign or damaged files are refused.
"""

from app.storage.database import UNSET, default_database_path
from app.storage.errors import (CorruptDatabaseError, ForeignDatabaseError, KeyringRequiredError, KeyUnavailableError,
                                NewerSchemaError, NotFoundError, PassphraseRequiredError, StorageError,
                                TamperedDataError, WrongKeyError, WrongPassphraseError)
from app.storage.keys import PASSPHRASE_ENV, KeyMode
from app.storage.passphrase import WeakPassphraseError, passphrase_problem
from app.storage.models import (REASONING_EFFORTS, Attachment, Conversation, Message, MessageStatus, Role,
                                SearchHit)
from app.storage.store import HistoryStore

__all__ = [
    "UNSET", "default_database_path", "CorruptDatabaseError", "ForeignDatabaseError", "KeyringRequiredError",
    "KeyUnavailableError", "WeakPassphraseError", "passphrase_problem",
    "NewerSchemaError", "NotFoundError", "PassphraseRequiredError", "StorageError", "TamperedDataError",
    "WrongKeyError", "WrongPassphraseError", "PASSPHRASE_ENV", "KeyMode", "REASONING_EFFORTS", "Attachment",
    "Conversation", "Message", "MessageStatus", "Role", "SearchHit", "HistoryStore",
]
