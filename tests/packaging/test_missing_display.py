"""Without a display the app says so in one sentence and exits 2, instead of Qt aborting the process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.cli.gui import missing_display


@pytest.mark.parametrize("environ", [
    {}, {"QT_QPA_PLATFORM": "xcb"}, {"QT_QPA_PLATFORM": "wayland"}, {"QT_QPA_PLATFORM": "wayland-egl"},
    {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, {"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"},
])
def test_no_display_is_one_sentence(environ: dict[str, str]) -> None:
    message = missing_display(environ, "linux")
    assert message and message.endswith(".") and "\n" not in message
    assert "DISPLAY" in message


@pytest.mark.parametrize("environ", [
    {"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"}, {"QT_QPA_PLATFORM": "offscreen"},
    {"QT_QPA_PLATFORM": "minimal"}, {"QT_QPA_PLATFORM": "xcb:nograb", "DISPLAY": ":1"},
])
def test_display_or_headless_platform_is_fine(environ: dict[str, str]) -> None:
    assert missing_display(environ, "linux") is None


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_always_have_a_window_system(platform: str) -> None:
    assert missing_display({}, platform) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux display variables")
def test_enclave_without_display_exits_2_with_one_line(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "graphical desktop" in result.stderr
