"""App settings: JSON in the config dir, atomic writes, bad files set aside and bad values reset."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.documents.model import DocumentLimits
from app.engine.chat_request import ChatSettings
from app.engine.sampling import SamplingParams
from app.storage.settings import AppSettings, SettingsError


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.json"


def test_missing_file_gives_defaults_and_writes_nothing(settings_path: Path) -> None:
    settings = AppSettings.load(settings_path)
    assert (settings.last_model, settings.theme, settings.new_chat.reasoning_effort) == ("", "system", "medium")
    assert settings.new_chat == ChatSettings() and settings.document_limits == DocumentLimits()
    assert (settings.new_chat.sampling.temperature, settings.new_chat.max_new_tokens) == (1.0, 2048)
    assert settings.load_warning is None and not settings_path.exists()


def test_round_trip(settings_path: Path) -> None:
    settings = AppSettings.load(settings_path)
    settings.last_model = "/models/gpt-oss-20b-cpu-int4"
    settings.theme = "dark"
    settings.new_chat = ChatSettings(reasoning_effort="high", max_new_tokens=512,
                                     sampling=SamplingParams(temperature=0.7, top_p=0.95, top_k=40, seed=7))
    settings.document_limits = replace(DocumentLimits(), max_pages=50, timeout_s=12.5)
    settings.save()
    loaded = AppSettings.load(settings_path)
    assert loaded == settings and loaded.load_warning is None
    on_disk = json.loads(settings_path.read_text(encoding="utf-8"))
    assert on_disk["settings_version"] == 1 and on_disk["sampling"]["seed"] == 7
    assert on_disk["reasoning_effort"] == "high" and on_disk["sampling"]["max_new_tokens"] == 512
    assert on_disk["document_limits"]["max_pages"] == 50


def test_save_leaves_no_temp_files_and_failed_save_keeps_old_file(settings_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings = AppSettings.load(settings_path)
    settings.theme = "light"
    settings.save()
    settings.theme = "dark"
    settings.save()
    assert [p.name for p in settings_path.parent.iterdir()] == ["settings.json"]
    before = settings_path.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    settings.theme = "system"
    with pytest.raises(SettingsError, match=r"Could not save the settings to .*settings\.json"):
        settings.save()
    assert settings_path.read_bytes() == before
    assert [p.name for p in settings_path.parent.iterdir()] == ["settings.json"]


def test_invalid_json_is_set_aside_not_overwritten(settings_path: Path) -> None:
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text('{"theme": "dark", oops', encoding="utf-8")
    settings = AppSettings.load(settings_path)
    assert settings.theme == "system"
    assert settings.load_warning and "settings.json.invalid" in settings.load_warning
    aside = settings_path.with_name("settings.json.invalid")
    assert aside.read_text(encoding="utf-8") == '{"theme": "dark", oops'
    settings.save()
    assert AppSettings.load(settings_path).load_warning is None
    assert aside.read_text(encoding="utf-8") == '{"theme": "dark", oops'


def test_bad_values_reset_individually(settings_path: Path) -> None:
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text(json.dumps({
        "last_model": "/models/ok", "theme": "neon", "reasoning_effort": "high",
        "sampling": {"temperature": "hot", "top_p": 0.5, "top_k": True, "max_new_tokens": 0, "seed": 1.5,
                     "min_p": 0.05},
        "document_limits": {"max_pages": -1, "timeout_s": 30, "memory_mb": 512.5},
    }), encoding="utf-8")
    settings = AppSettings.load(settings_path)
    assert (settings.last_model, settings.theme, settings.new_chat.reasoning_effort) == ("/models/ok", "system",
                                                                                       "high")
    assert settings.new_chat == ChatSettings(reasoning_effort="high",
                                             sampling=SamplingParams(temperature=1.0, top_p=0.5, min_p=0.05))
    assert settings.document_limits == replace(DocumentLimits(), timeout_s=30.0)
    assert isinstance(settings.document_limits.timeout_s, float)
    warning = settings.load_warning or ""
    for name in ["theme", "sampling.temperature", "sampling.top_k", "sampling.max_new_tokens", "sampling.seed",
                 "document_limits.max_pages", "document_limits.memory_mb"]:
        assert name in warning
    assert "sampling.top_p" not in warning and "last_model" not in warning


def test_unknown_keys_from_a_newer_version_survive_a_save(settings_path: Path) -> None:
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text(json.dumps({"theme": "dark", "future_feature": {"enabled": True}}), encoding="utf-8")
    settings = AppSettings.load(settings_path)
    settings.last_model = "/models/x"
    settings.save()
    on_disk = json.loads(settings_path.read_text(encoding="utf-8"))
    assert on_disk["future_feature"] == {"enabled": True} and on_disk["theme"] == "dark"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_CONFIG_HOME is honoured on Linux only")
def test_default_path_is_in_user_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    settings = AppSettings.load()
    settings.save()
    assert settings.path == tmp_path / "cfg" / "Enclave" / "settings.json" and settings.path.is_file()


def test_sampling_in_the_file_has_the_engines_range(settings_path: Path) -> None:
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text(json.dumps({"sampling": {"temperature": 2.5, "repetition_penalty": 1.5,
                                                      "top_p": 0.9, "seed": 2**40}}), encoding="utf-8")
    settings = AppSettings.load(settings_path)
    sampling = settings.new_chat.sampling
    assert (sampling.temperature, sampling.repetition_penalty, sampling.top_p, sampling.seed) == (1.0, 1.5, 0.9, None)
    warning = settings.load_warning or ""
    assert "sampling.temperature" in warning and "sampling.seed" in warning and "top_p" not in warning


def test_window_preferences_round_trip_and_bad_values_are_named_and_reset(settings_path: Path) -> None:
    from app.storage.settings import EngineSettings, WindowState

    settings = AppSettings.load(settings_path)
    settings.language, settings.export_folder = "de", "/home/user/Exports"
    settings.new_chat = ChatSettings(system_prompt="Answer briefly.", reasoning_effort="low")
    settings.engine = EngineSettings(context_length=16384, cpu_threads=3)
    settings.window = WindowState(sidebar=False, chat_settings=True)
    settings.save()
    loaded = AppSettings.load(settings_path)
    assert (loaded.language, loaded.export_folder, loaded.new_chat.system_prompt) == \
        ("de", "/home/user/Exports", "Answer briefly.")
    assert loaded.engine == EngineSettings(16384, 3) and loaded.window == WindowState(False, True)
    assert loaded.load_warning is None

    settings_path.write_text(json.dumps({
        "language": "klingon", "system_prompt": ["not", "text"],
        "engine": {"context_length": 10**9, "cpu_threads": 2},
        "window": {"sidebar": "yes", "chat_settings": True}}), encoding="utf-8")
    odd = AppSettings.load(settings_path)
    assert (odd.language, odd.new_chat.system_prompt) == ("", "")
    assert odd.engine == EngineSettings(None, 2) and odd.window == WindowState(True, True)  # the good ones stay
    for name in ("language", "system_prompt", "engine.context_length", "window.sidebar"):
        assert name in odd.load_warning
