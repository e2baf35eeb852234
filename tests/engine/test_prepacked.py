"""The prepacked copy of a CPU package (app.engine.prepacked), on the tiny cpu-int4 package with real ORT sessions.

The copy must compute exactly what the package computes, hold the prepacked weights outside private memory, be
trusted only on the machine and ORT build and for the package it was made for, and be refused with one sentence
(the package still loading, its files untouched) when it is foreign, damaged or truncated.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import onnx
import pytest

from app.engine import session
from app.engine.generator import Generator
from app.engine.prepacked import (
    COPY_DATA,
    COPY_DIR,
    COPY_MODEL,
    KEY_FILE,
    PrepackedError,
    PrepareCancelled,
    cache_root,
    check_copy,
    derive_copy,
    find_copy,
)
from app.engine.providers import CPU, Environment
from app.engine.session import load_model, read_package_facts
from app.package.footprint import private_bytes
from app.package.reader import read_package
from tests.support.session_memory import prepackable_bytes, private_after_load

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies of read-only packages go to the user's cache folder: never the real one here."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(scope="module")
def int4_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported for cpu-int4 (no copy yet). Copy it before changing it."""
    from app.export.context import ExportOptions
    from app.export.exporter import export_model

    out = tmp_path_factory.mktemp("prepacked") / "tiny-cpu-int4"
    export_model(tiny_checkpoint, out, "cpu-int4", options=ExportOptions(context_length=256))
    return out


@pytest.fixture(scope="module")
def prepared(int4_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package with its prepacked copy beside it. Copy it before changing it."""
    folder = Path(shutil.copytree(int4_package, tmp_path_factory.mktemp("prepared") / "pkg"))
    derive_copy(folder, threads=1)
    return folder


def _copy_of(tmp_path: Path, prepared: Path) -> Path:
    return Path(shutil.copytree(prepared, tmp_path / "pkg"))


def _logits(package: Path, **options: object) -> tuple[np.ndarray, str, str]:
    """Prefill of a fixed 40-token prompt and 3 greedy steps; (logits, mapped copy folder, provider reason)."""
    model = load_model(package, threads=1, **options)
    generator = Generator(model)
    rows = [np.array(generator.prefill([int(t) for t in np.random.default_rng(3).integers(1000, 100000, 40)])[0],
                     dtype=np.float32).ravel()]
    for _ in range(3):
        rows.append(np.array(generator.forward([int(np.argmax(rows[-1]))]), dtype=np.float32).ravel())
    return np.stack(rows), model.info.prepacked_copy, model.info.provider_reason


def test_the_copy_computes_the_packages_logits_bit_for_bit(prepared: Path) -> None:
    """Measured: identical bits (prefill and decode) on the tiny cpu-int4 package, so the tolerance is zero."""
    plain, plain_copy, _ = _logits(prepared, use_copy=False)
    mapped, mapped_copy, reason = _logits(prepared)
    assert plain_copy == "" and mapped_copy == str(prepared.absolute() / COPY_DIR)
    assert "weights memory-mapped from the prepacked copy" in reason
    assert np.array_equal(plain, mapped)


def test_a_copy_made_one_weight_at_a_time_computes_the_same_bits(tmp_path: Path, int4_package: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every prepacking node its own part (the tiny package is otherwise one part): the blobs ORT makes for a
    node alone are the ones it makes for the whole graph, so the copy loads them mapped and computes the same."""
    from app.engine import prepack_parts

    package = Path(shutil.copytree(int4_package, tmp_path / "pkg"))
    graph = onnx.load(str(package / "model.onnx"), load_external_data=False).graph
    monkeypatch.setattr(prepack_parts, "PART_BYTES", 1)
    assert len(prepack_parts.parts_of(graph)) >= 10  # 16 prepacked weights in 13 nodes (QMoE has two)
    result = derive_copy(package, threads=1)
    assert 0 < result.probe_error <= 0.1  # against the package read without prepacking: int8 activations differ
    plain, _, _ = _logits(package, use_copy=False)
    mapped, mapped_from, _ = _logits(package)
    assert mapped_from.endswith(COPY_DIR) and np.array_equal(plain, mapped)


def test_a_copy_whose_blobs_ort_does_not_take_is_not_kept(tmp_path: Path, int4_package: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Blobs named under other tensors than their own: ORT finds none of its keys and silently re-packs every
    weight privately; making the copy measures that and keeps nothing."""
    from app.engine import prepack_parts

    package = Path(shutil.copytree(int4_package, tmp_path / "pkg"))
    append = prepack_parts._append_blobs

    def misnamed(saved_file: Path, saved_data: Path, data_file: Path, entries: dict[str, list[str]]) -> None:
        mine: dict[str, list[str]] = {}
        append(saved_file, saved_data, data_file, mine)
        for name, values in mine.items():
            entries[f"{name}.misnamed"] = values

    monkeypatch.setattr(prepack_parts, "_append_blobs", misnamed)
    with pytest.raises(PrepackedError, match="ONNX Runtime did not take the prepacked copy"):
        derive_copy(package, threads=1)
    assert find_copy(read_package_facts(package)).folder is None and not list(package.glob(".prepacked*"))


def test_a_copy_that_computes_otherwise_than_the_package_is_not_kept(tmp_path: Path, int4_package: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """One original weight of the copy changed after its blobs were made (ORT then re-packs that weight from it
    and finds no saved blob: silently private, too small for the memory check): the copy read without
    prepacking no longer gives the package's logits, and nothing is kept."""
    from app.engine import prepack_parts

    package = Path(shutil.copytree(int4_package, tmp_path / "pkg"))
    prepack = prepack_parts.prepack_in_parts

    def then_damage(model_file: Path, *args: object, **kwargs: object) -> int:
        tensors = prepack(model_file, *args, **kwargs)  # type: ignore[arg-type]
        smallest = min((t for t in onnx.load(str(model_file), load_external_data=False).graph.initializer
                        if any(e.key == "prepacked_0" for e in t.external_data)),
                       key=lambda t: int({e.key: e.value for e in t.external_data}["length"]))
        info = {e.key: e.value for e in smallest.external_data}  # a router: 4 KB
        _flip(model_file.parent / COPY_DATA, int(info["offset"]) + int(info["length"]) // 2)
        return tensors

    monkeypatch.setattr(prepack_parts, "prepack_in_parts", then_damage)
    with pytest.raises(PrepackedError, match="computes other logits than the package"):
        derive_copy(package, threads=1)
    assert find_copy(read_package_facts(package)).folder is None and not list(package.glob(".prepacked*"))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RssAnon from /proc (Linux)")
def test_the_copy_keeps_the_prepacked_weights_out_of_private_memory(prepared: Path) -> None:
    """Private memory after load_model (child processes, 1 thread): the copy holds what a load without prepacking
    holds, the package itself that plus the prepacked weights. Measured on the tiny cpu-int4 package: 99.8 MB
    plain, 70.1 MB from the copy, with 26.6 MB of prepackable weights (int8 lm_head 25.7 MB)."""
    prepackable = prepackable_bytes(prepared)
    (plain, plain_copy), (mapped, mapped_copy), (unpacked, _) = (
        private_after_load(prepared, True, use_copy=False), private_after_load(prepared, True, use_copy=True),
        private_after_load(prepared, False, use_copy=False))
    assert plain_copy == "" and mapped_copy.endswith(COPY_DIR)
    assert plain - mapped >= 0.9 * prepackable
    assert mapped - unpacked <= 0.1 * prepackable


@pytest.mark.parametrize(("field", "value", "sentence"), [
    ("onnxruntime", "1.31.0", "was made for another ONNX Runtime version"),
    ("cpu", "GenuineIntel Other CPU | avx avx2", "was made for another CPU"),
    ("machine", "arm64", "was made for another kind of computer"),
    ("package", "0" * 64, "was made for another version of the package"),
    ("format", 2, "is not a prepacked-copy key this Enclave knows"),
    ("extra", "x", "is not a prepacked-copy key this Enclave knows"),
    ("data_size", "85", "has an invalid 'data_size'"),
])
def test_a_copy_whose_key_is_foreign_is_refused_and_the_package_loads(tmp_path: Path, prepared: Path, field: str,
                                                                    value: object, sentence: str) -> None:
    package = _copy_of(tmp_path, prepared)
    key_file = package / COPY_DIR / KEY_FILE
    key = json.loads(key_file.read_text())
    key[field] = value
    key_file.write_text(json.dumps(key))
    lookup = find_copy(read_package_facts(package))
    assert lookup.folder is None and sentence in lookup.refusal and "enclave prepare" in lookup.refusal
    logits, mapped_from, reason = _logits(package)
    assert mapped_from == "" and sentence in reason
    assert np.array_equal(logits, _logits(prepared, use_copy=False)[0])


def _blob_and_original(model_file: Path) -> tuple[int, int]:
    """(an offset inside the first prepacked blob, one inside its original tensor) in the copy's data file."""
    graph = onnx.load(str(model_file), load_external_data=False).graph
    for tensor in graph.initializer:
        info = {e.key: e.value for e in tensor.external_data}
        if "prepacked_0" in info:
            offset, length, _ = info["prepacked_0"].split("|")[1].split(";")
            return int(offset) + int(length) // 2, int(info["offset"]) + int(info["length"]) // 2
    raise AssertionError("the copy holds no prepacked blob")


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x55]))


@pytest.mark.parametrize("damage", ["truncated", "blob", "original", "graph", "not json", "no data"])
def test_a_damaged_or_truncated_copy_is_refused_and_nothing_is_lost(tmp_path: Path, prepared: Path,
                                                                    damage: str) -> None:
    """Truncation, another graph file and a broken key are refused before ORT sees the copy; a damaged prepacked
    blob is refused by ORT itself (it re-packs the originals and compares); a damaged original is only seen by
    the SHA-256 (`verify`): ORT would re-pack it privately and compute with it, as it would from a damaged
    package file, which is why the package's own files are hashed on `verify` too."""
    package = _copy_of(tmp_path, prepared)
    copy = package / COPY_DIR
    blob, original = _blob_and_original(copy / COPY_MODEL)
    verify = False
    expected = {"truncated": "bytes instead of", "blob": "was refused by ONNX Runtime",
                "original": "is damaged (its SHA-256 differs)", "graph": "is not the one it was made with",
                "not json": "cannot be read as JSON", "no data": f"lacks {COPY_MODEL} or {COPY_DATA}"}[damage]
    if damage == "truncated":
        os.truncate(copy / COPY_DATA, (copy / COPY_DATA).stat().st_size - 4096)
    elif damage == "blob":
        _flip(copy / COPY_DATA, blob)
    elif damage == "original":
        _flip(copy / COPY_DATA, original)
        verify = True
    elif damage == "graph":
        (copy / COPY_MODEL).write_bytes((copy / COPY_MODEL).read_bytes() + b"\0")
    elif damage == "not json":
        (copy / KEY_FILE).write_text("{")
    else:
        (copy / COPY_DATA).unlink()
    logits, mapped_from, reason = _logits(package, verify=verify)
    assert mapped_from == "" and expected in reason and "\n" not in reason
    assert np.array_equal(logits, _logits(prepared, use_copy=False)[0])
    read_package(package, verify=True)  # the package's own files are untouched


def test_a_copy_refuses_what_its_graph_file_points_past(tmp_path: Path, prepared: Path) -> None:
    """A prepacked blob entry naming bytes past the end of the data file is refused by the external-data check."""
    package = _copy_of(tmp_path, prepared)
    copy = package / COPY_DIR
    proto = onnx.load(str(copy / COPY_MODEL), load_external_data=False)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "prepacked_0":
                kernel, blob, *rest = entry.value.split("|")
                entry.value = "|".join([kernel, f"{10**12};{blob.split(';')[1]};0", *rest])
                break
        else:
            continue
        break
    onnx.save(proto, str(copy / COPY_MODEL))
    key = json.loads((copy / KEY_FILE).read_text())
    key["model_sha256"] = hashlib.sha256((copy / COPY_MODEL).read_bytes()).hexdigest()  # as if made so
    (copy / KEY_FILE).write_text(json.dumps(key))
    with pytest.raises(PrepackedError, match=r"the prepacked copy is damaged: .*needs 1,000,028,956,798; run `enclave prepare"):
        check_copy(copy, read_package_facts(package))


def test_a_load_refused_for_memory_names_the_copy_and_the_copy_makes_it_fit(
        tmp_path: Path, int4_package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Free RAM between the copy's budget and the package's: refused with `enclave prepare`, which makes the copy
    within that memory (in parts), and loaded after it."""
    package = Path(shutil.copytree(int4_package, tmp_path / "pkg"))
    facts = read_package_facts(package)
    kv = session.kv_cache_bytes(facts, facts.context_length)
    with_copy = private_bytes("cpu-int4", facts.size_bytes, prepacked=True) + kv
    without = private_bytes("cpu-int4", facts.size_bytes) + kv
    free = int(with_copy * 1.1) + (int(without * 1.1) - int(with_copy * 1.1)) // 2
    monkeypatch.setattr(session, "detect_environment", lambda: Environment((CPU,), free_ram=free))
    with pytest.raises(session.LoadError, match=r"too little free RAM.*run `enclave prepare .*pkg` once") as caught:
        load_model(package, threads=1)
    assert "\n" not in str(caught.value)
    derive_copy(package, threads=1)  # made in parts: it fits where the package itself does not
    model = load_model(package, threads=1)
    assert model.info.prepacked_copy.endswith(COPY_DIR)


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("at", "stopped_before"), [
    ("Prepacking the weights, part 2 ", "Prepacking the weights, part 3 "),  # between parts
    ("Running the probe through the copy", "Comparing the copy with the package"),  # between the check's steps
    ("Recording the copy's checksum", "Recording the copy's checksum"),  # between the checksum's reads
])
def test_a_cancelled_copy_stops_at_the_next_step_and_leaves_the_package_as_it_was(
        tmp_path: Path, int4_package: Path, monkeypatch: pytest.MonkeyPatch, at: str, stopped_before: str) -> None:
    """The window's Cancel (and closing it) sets the event; making the copy stops before its next part, step or
    read, removes its partial folder and leaves the package's files byte for byte as they were."""
    from app.engine import prepack_parts
    from app.package.integrity import HASH_CHUNK_BYTES

    monkeypatch.setattr(prepack_parts, "PART_BYTES", 1)  # one node a part: 13 parts on the tiny package
    package = Path(shutil.copytree(int4_package, tmp_path / "pkg"))
    before = _files(package)
    cancel, seen, after_cancel = threading.Event(), [], []

    def progress(step: object) -> None:
        message = step.message  # type: ignore[attr-defined]
        (after_cancel if cancel.is_set() else seen).append(message)
        if message.startswith(at):
            cancel.set()

    with pytest.raises(PrepareCancelled, match=r"was cancelled; no copy was kept and the package is unchanged\.$"):
        derive_copy(package, threads=1, progress=progress, cancel=cancel)
    assert any(m.startswith(at) for m in seen) and not any(m.startswith(stopped_before) for m in after_cancel)
    assert (package / COPY_DIR / COPY_DATA).exists() is False and not list(package.glob(".prepacked*"))
    assert _files(package) == before
    if at.startswith("Recording"):  # the copy's data file takes several reads, so the cancel came before the last
        assert sum(p.stat().st_size for p in int4_package.glob("*.data")) > 2 * HASH_CHUNK_BYTES


def _enclave(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "app.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_enclave_prepare_states_the_disk_makes_the_copy_and_removes_it(tmp_path: Path, int4_package: Path) -> None:
    package = Path(shutil.copytree(int4_package, tmp_path / "pkg"))
    made = _enclave("prepare", str(package), "--threads", "1")
    assert made.returncode == 0, made.stderr
    first, *_, last = made.stdout.strip().splitlines()
    assert first.startswith("The prepacked copy takes about ") and f"in {package / COPY_DIR}" in first
    assert last.startswith(f"Prepared {package / COPY_DIR}") and "100.0% Prepacked copy ready" in made.stderr
    assert find_copy(read_package_facts(package)).folder is not None
    again = _enclave("prepare", str(package))
    assert again.returncode == 0 and again.stdout.startswith("Already prepared")
    cached = _enclave("prepare", str(package), "--in-cache", "--force", "--quiet")
    assert cached.returncode == 0 and cached.stderr == "" and f"in {cache_root()}" in cached.stdout
    removed = _enclave("prepare", str(package), "--remove")
    assert removed.returncode == 0 and not (package / COPY_DIR).exists()
    assert find_copy(read_package_facts(package)).folder is None  # both copies gone
    read_package(package, verify=True)


def test_enclave_prepare_refuses_what_has_no_copy(tmp_path: Path, tiny_checkpoint: Path) -> None:
    refused = _enclave("prepare", str(tiny_checkpoint))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "not an exported model package" in \
        refused.stderr


def test_a_copy_the_disk_cannot_hold_is_refused_before_anything_is_written(tmp_path: Path, int4_package: Path) -> None:
    # the check lives in derive_copy, so the window's offer (EngineHost.prepare) meets it as `enclave prepare` does;
    # the package sits on a small tmpfs in a private mount namespace (as tests/library/test_disk_full.py does)
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-m", "--propagation", "private", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs `unshare -m` (root or user namespaces)")
    disk = tmp_path / "small-disk"
    disk.mkdir()
    package_mb = sum(p.stat().st_size for p in int4_package.iterdir()) / 2**20
    size_mb = int(package_mb * 1.5)  # room for the package, not for a copy of about twice its size
    script = ("import sys\nfrom app.engine.prepacked import PrepackedError, derive_copy\n"
              "try:\n    derive_copy(sys.argv[1], threads=1)\nexcept PrepackedError as exc:\n"
              "    print(exc)\n    sys.exit(2)\n")
    inner = (f"mount -t tmpfs -o size={size_mb}m tmpfs '{disk}' && cp -r '{int4_package}' '{disk}/pkg' && "
             f"'{sys.executable}' -c \"$0\" '{disk}/pkg'; rc=$?; echo; ls -A '{disk}/pkg'; exit $rc")
    result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", inner, script],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    message, listing = result.stdout.strip().split("\n\n")
    assert message.startswith("Not enough free space: this needs ") and "for the prepacked copy in " in message
    assert message.count("\n") == 0 and "Traceback" not in result.stderr
    assert sorted(listing.split()) == sorted(p.name for p in int4_package.iterdir())  # no copy, no partial folder
