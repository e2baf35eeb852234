"""How close a package's logits are to the reference's: the numbers `enclave verify` prints and judges.

Per compared position: the RMS of (package - reference) over the vocabulary, in units of the reference logits'
own standard deviation at that position (σ), and whether both pick the same top-1 token. σ makes positions and
models comparable: 0.01 σ is float32 summation noise, 1 σ is a package that talks nonsense.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogitAgreement:
    errors: tuple[float, ...]  # per position, RMS error / σ of the reference
    top1: tuple[bool, ...]  # per position, same argmax

    @property
    def worst(self) -> float:
        return max(self.errors)

    @property
    def median(self) -> float:
        return statistics.median(self.errors)

    @property
    def top1_agreement(self) -> int:
        return sum(self.top1)

    @property
    def positions(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        return (f"worst {self.worst:.3f} σ, median {self.median:.3f} σ, top-1 {self.top1_agreement} of "
                f"{self.positions}")


def compare_logits(package: np.ndarray, reference: np.ndarray) -> LogitAgreement:
    """package and reference: float [positions, vocab] at the same positions."""
    package, reference = np.asarray(package, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if package.shape != reference.shape or package.ndim != 2:
        raise ValueError(f"logits of shape {package.shape} cannot be compared with {reference.shape}")
    rms = np.sqrt(np.mean((package - reference) ** 2, axis=-1))
    sigma = reference.std(axis=-1)
    errors = tuple(float(e) for e in rms / np.where(sigma > 0, sigma, 1.0))
    top1 = tuple(bool(a) for a in np.argmax(package, axis=-1) == np.argmax(reference, axis=-1))
    return LogitAgreement(errors, top1)
