"""The minimum strength of a passphrase that protects the history (the only secret between a copied file and its
text): long enough, and more than a repetition, a keyboard, alphabet or digit run, or the handful of words every
password list starts with. Length is what Argon2id multiplies, and a few unrelated words are long and memorable.
"""

from __future__ import annotations

MIN_LENGTH = 12
MIN_OWN_CHARACTERS = 6  # what is left after runs, repetitions and the commonest words are taken out
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm", "azertyuiopqsdfghjklmwxcvbn",
         "qwertzuiopasdfghjklyxcvbnm")
_COMMON = ("passphrase", "password", "passwort", "motdepasse", "contraseña", "enclave", "letmein", "welcome",
           "iloveyou", "admin", "secret", "monkey", "dragon", "football", "baseball", "sunshine", "princess",
           "master", "shadow", "login", "changeme")
_ADVICE = "a few unrelated words make a strong one"


class WeakPassphraseError(ValueError):
    """The passphrase chosen is too weak; the message says why in one sentence."""


def passphrase_problem(passphrase: str) -> str | None:
    """Why `passphrase` is too weak to protect the history, or None when it is acceptable."""
    if len(passphrase.strip()) < MIN_LENGTH:
        return f"The passphrase must be at least {MIN_LENGTH} characters long; {_ADVICE}."
    if _own_characters(passphrase) < MIN_OWN_CHARACTERS:
        return (f"The passphrase is mostly a common word, a repetition or a run on the keyboard, the alphabet or "
                f"the digits; {_ADVICE}.")
    return None


def check_passphrase(passphrase: str) -> None:
    """Raises WeakPassphraseError with the reason."""
    problem = passphrase_problem(passphrase)
    if problem:
        raise WeakPassphraseError(problem)


def _own_characters(passphrase: str) -> int:
    text = "".join(passphrase.casefold().split())
    for word in _COMMON:
        text = text.replace(word, " ")
    runs = [r * 2 for r in _RUNS] + [r[::-1] * 2 for r in _RUNS]
    own, at = 0, 0
    while at < len(text):
        if text[at] == " ":
            at += 1
            continue
        span = next((n for n in range(len(text) - at, 2, -1) if _patterned(text[at:at + n], runs)), 0)
        if span:
            at += span
        else:
            own += 1
            at += 1
    return own


def _patterned(chunk: str, runs: list[str]) -> bool:
    """A stretch of a run (abc, 321, qwe...) or the same few characters over and over (aaaa, abab)."""
    if " " in chunk:
        return False
    if any(chunk in run for run in runs):
        return True
    return any(len(chunk) >= 2 * size and chunk == (chunk[:size] * len(chunk))[:len(chunk)] for size in (1, 2, 3))
