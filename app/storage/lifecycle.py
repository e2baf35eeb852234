"""The history's lifecycle: retention, deleting everything, changing the passphrase, moving the key.

Every change that removes text or replaces a key ends with `scrub()` (checkpoint, VACUUM, checkpoint) on top of
SQLite's secure_delete, so what was deleted or replaced is gone from the file's free pages and from the WAL, not
just unlinked from the b-tree. Every key change also rotates the data key (every value is re-encrypted), so an
old passphrase or keyring entry that leaked opens nothing written afterwards.
"""

from __future__ import annotations

import time

from app.storage import crypto, keys
from app.storage.database import Database
from app.storage.errors import KeyUnavailableError, StorageError
from app.storage.keys import KeyMode
from app.storage.passphrase import check_passphrase

DAY_S = 86400


class LifecycleMixin(Database):
    """Lifecycle methods of HistoryStore (kept apart so each file stays small)."""

    def delete_older_than(self, days: int, *, now: float | None = None) -> int:
        """Deletes conversations not updated for `days` days (with their messages and attachments); returns how
        many. The deleted text is overwritten on disk before this returns."""
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"retention must be a whole number of days of at least 1, not {days!r}")
        cutoff = (time.time() if now is None else now) - days * DAY_S
        with self._transaction() as conn:
            deleted = conn.execute("DELETE FROM conversations WHERE updated < ?", (cutoff,)).rowcount
        if deleted:
            self.scrub()
        return deleted

    def delete_all(self) -> None:
        """Every conversation, then the file itself and its keyring entry: the next open starts a new, empty history
        (with a new key). The rows are wiped and the file compacted first, so no copy of the text survives in the
        blocks the file leaves behind."""
        with self._lock:
            with self._transaction() as conn:
                conn.execute("DELETE FROM conversations")
            self.scrub()
            meta = self._key_meta()
            self.close()
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            keys.delete_keyring_entry(meta)

    def change_passphrase(self, current: str, new: str) -> None:
        """Passphrase mode: `current` must unlock the history; `new` must pass the strength check."""
        self._require_mode(KeyMode.PASSPHRASE, "change its passphrase")
        keys.verify_passphrase(self._key_meta(), self.db_id, self.path, current, self._key)
        check_passphrase(new)
        self._replace_key(crypto.new_data_key(), lambda key: keys.passphrase_meta(key, self.db_id, new))

    def use_passphrase(self, new: str) -> None:
        """Move the key out of the OS keyring: the history is then protected by `new` alone."""
        self._require_mode(KeyMode.KEYRING, "move its key to a passphrase")
        if self.require_keyring:
            raise StorageError("Your organization requires the history key to be kept in the OS keyring, so it "
                               "cannot be moved to a passphrase.")
        check_passphrase(new)
        self._replace_key(crypto.new_data_key(), lambda key: keys.passphrase_meta(key, self.db_id, new))

    def use_keyring(self, current: str) -> None:
        """Move the key from the passphrase into the OS keyring; `current` must unlock the history."""
        self._require_mode(KeyMode.PASSPHRASE, "move its key to the OS keyring")
        keys.verify_passphrase(self._key_meta(), self.db_id, self.path, current, self._key)
        if not keys.keyring_usable():
            raise KeyUnavailableError(f"No OS keyring is available in this session, so the key of the history in "
                                      f"{self.path} stays protected by its passphrase.")
        self._replace_key(crypto.new_data_key(), lambda key: keys.keyring_meta(key, self.db_id))

    def key_status(self) -> dict[str, object]:
        """Where the key is now and which moves are possible, for the history settings (no secret in it)."""
        return {**keys.describe_key(self._key_meta()), "keyring_usable": keys.keyring_usable(),
                "keyring_required": self.require_keyring}

    def _require_mode(self, mode: KeyMode, action: str) -> None:
        if self.key_mode is not mode:
            raise StorageError(f"The history in {self.path} is protected by the "
                               f"{'OS keyring' if self.key_mode is KeyMode.KEYRING else 'passphrase'}, so Enclave "
                               f"cannot {action}.")
