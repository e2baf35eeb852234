"""The app icon's containers hold every size each platform asks for, read back by Pillow (not by our writer)."""

from __future__ import annotations

from importlib import resources

import pytest

PIL = pytest.importorskip("PIL.Image")


def test_ico_has_windows_sizes() -> None:
    with resources.as_file(resources.files("resources.icons").joinpath("enclave.ico")) as path:
        image = PIL.open(path)
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(image.ico.sizes())


def test_icns_has_retina_sizes() -> None:
    with resources.as_file(resources.files("resources.icons").joinpath("enclave.icns")) as path:
        image = PIL.open(path)
        sizes = {(w, h) for w, h, _scale in image.info["sizes"]}
        assert {(16, 16), (32, 32), (128, 128), (256, 256), (512, 512)} <= sizes
        image.size = (512, 512)
        assert image.load() is not None


def test_png_is_256_square() -> None:
    with resources.as_file(resources.files("resources.icons").joinpath("enclave.png")) as path:
        assert PIL.open(path).size == (256, 256)
