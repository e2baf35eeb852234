"""The screenshots in packaging/screenshots are what `python -m app.ui.screenshots OUT` makes, offscreen, with no Qt
warning (a style-sheet or layout mistake prints one, and the command then fails)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "packaging" / "screenshots"

pytestmark = pytest.mark.timeout(600)


def test_the_screenshot_command_makes_every_state_without_a_qt_warning(tmp_path: Path) -> None:
    from app.ui.screenshots import STATES

    out = tmp_path / "shots"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    proc = subprocess.run([sys.executable, "-m", "app.ui.screenshots", str(out)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not list((tmp_path / "tmp").glob("enclave-screenshots-*")), "the command left its scratch folder behind"
    assert "Qt warning" not in proc.stderr
    made = {p.name for p in out.glob("*.png")}
    assert {f"{state}.png" for state in STATES} <= made
    committed = {p.name for p in COMMITTED.glob("*.png")} - {"smoke-tiny.png"}
    assert committed == made, "regenerate packaging/screenshots with python -m app.ui.screenshots packaging/screenshots"
    for name in made:
        fresh, kept = QImage(str(out / name)), QImage(str(COMMITTED / name))
        assert (fresh.width(), fresh.height()) == (kept.width(), kept.height()), name
        assert (COMMITTED / name).stat().st_size < 250_000, f"{name} is too large for the repository"


def test_a_qt_warning_fails_the_command(tmp_path: Path) -> None:
    """The check is real: a window that makes Qt warn (here, a second layout set on a widget) exits 1."""
    script = ("import sys; from app.ui import screenshots\n"
              "shooter = screenshots.Shooter(__import__('pathlib').Path(sys.argv[1]))\n"
              "shooter.install_message_handler()\n"
              "from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget\n"
              "app = QApplication([]); w = QWidget(); QVBoxLayout(w); QVBoxLayout(w)\n"
              "sys.exit(1 if shooter.warnings else 0)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120)
    assert proc.returncode == 1 and "Qt warning" in proc.stderr
