"""Fuzzed user files (issue 12 §5): real, valid files mutated many ways, fed to each parser.

Each parser gets ``CAMFX_FUZZ_CASES`` cases (200 by default, seeded by ``CAMFX_FUZZ_SEED``):
bit flips, byte overwrites, truncation, header fields set to huge or zero values, inserted and
duplicated chunks, and for JSON files structural edits (numbers of 400 and 5000 digits, NaN,
nesting 200,000 deep, wrong types, missing keys). A case passes when the parser returns a usable
result or raises one of the project's typed errors (one line for the user), within
:data:`CASE_MAX_S`; the whole run must not raise peak memory by more than
:data:`PEAK_RSS_GROWTH_MAX_MB`. A failing case is reported with its number, its seed and the
mutation: the same ``CAMFX_FUZZ_SEED`` replays it.

A longer run: ``CAMFX_FUZZ_CASES=5000 python -m pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import random
import shutil
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from pipelines.audio.inputs import AudioError, read_audio_file
from pipelines.avatar.portrait import read_image as read_portrait
from pipelines.errors import CamfxError, ModelError
from pipelines.inference.model import load_manifest, models_dir, verified_model_path
from pipelines.presets import PRESETS
from pipelines.sources import SourceConfig, open_source
from pipelines.tracking.analysis import read_image as read_photo
from pipelines.userdata import AppSettings, PresetStore, SettingsStore

FUZZ_CASES = int(os.environ.get("CAMFX_FUZZ_CASES", "200"))
FUZZ_SEED = int(os.environ.get("CAMFX_FUZZ_SEED", "20261202"))
FUZZ_TIMEOUT_S = 120 + 0.25 * FUZZ_CASES
"""Per parser; a case takes 1-50 ms, so this grows with CAMFX_FUZZ_CASES for long runs."""
CASE_MAX_S = 10.0
"""One case (decode a small file) takes milliseconds; this bound catches a hang or a loop over
a huge declared size, with room for a loaded 2-core machine."""
PEAK_RSS_GROWTH_MAX_MB = 400.0
"""A header that claims a 30000×30000 picture or a 0xFFFFFFFF-sample WAV must not be
allocated: the whole fuzz run raises this process's peak memory by less than this."""
DATA = Path(__file__).resolve().parent / "data"
ASSETS = Path(__file__).resolve().parent.parent / "pipelines" / "assets"
SMALL_MODELS = ("face_detection_short_range", "iris_landmark")

# Values a header field or a JSON value is set to: the edges where parsers go wrong.
HUGE_FIELDS = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
DEEP = "__DEEP__"
THOUSANDS = "__THOUSANDS__"
JSON_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**63,
    10**400,
    float("inf"),
    float("nan"),
    -1e308,
    "",
    "x" * 5000,
    "../../etc/passwd",
    [],
    {},
    [None] * 3,
    {"": {}},
    DEEP,
    THOUSANDS,
)


@dataclasses.dataclass
class Case:
    number: int
    seed: int
    mutation: str
    data: bytes


def _rng(parser: str, number: int) -> tuple[random.Random, int]:
    seed = FUZZ_SEED * 1_000_003 + sum(map(ord, parser)) * 10_007 + number
    return random.Random(seed), seed


def mutate_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One to three byte-level mutations; the header (first 128 bytes) is hit most often."""
    out = bytearray(data)
    steps = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        if not out:
            out = bytearray(b"\0")
        kind = rng.choice(("flip", "flip", "byte", "truncate", "field", "field", "insert", "dup"))
        header = min(len(out), 128)
        pos = rng.randrange(header) if rng.random() < 0.6 else rng.randrange(len(out))
        if kind == "flip":
            bit = rng.randrange(8)
            out[pos] ^= 1 << bit
            steps.append(f"flip bit {bit} at {pos}")
        elif kind == "byte":
            value = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
            out[pos] = value
            steps.append(f"byte {value:#x} at {pos}")
        elif kind == "truncate":
            cut = rng.randrange(len(out))
            del out[cut:]
            steps.append(f"truncate at {cut}")
        elif kind == "field":
            width = rng.choice((2, 4))
            value = rng.choice(HUGE_FIELDS) & ((1 << (8 * width)) - 1)
            order = rng.choice(("little", "big"))
            out[pos : pos + width] = value.to_bytes(width, order)
            steps.append(f"{width}-byte {order} field {value:#x} at {pos}")
        elif kind == "insert":
            n = rng.choice((1, 4, 64, 4096))
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(n))
            steps.append(f"insert {n} random bytes at {pos}")
        else:
            start = rng.randrange(len(out))
            chunk = out[start : start + rng.choice((8, 64, 1024))]
            out[pos:pos] = chunk
            steps.append(f"copy {len(chunk)} bytes from {start} to {pos}")
    return bytes(out), "; ".join(steps)


def _paths(value: Any) -> list[tuple[Any, ...]]:
    """Every path (keys and indexes) into parsed JSON, the root included."""
    found: list[tuple[Any, ...]] = [()]
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, at = stack.pop()
        children = (
            item.items()
            if isinstance(item, dict)
            else enumerate(item)
            if isinstance(item, list)
            else ()
        )
        for key, child in children:
            found.append((*at, key))
            stack.append((child, (*at, key)))
    return found


def _dumps(value: Any) -> str:
    text = json.dumps(value, indent=1)  # NaN/Infinity come out as JSON's common extension
    text = text.replace(f'"{DEEP}"', "[" * 200_000 + "]" * 200_000)
    return text.replace(f'"{THOUSANDS}"', "7" * 5000)


def mutate_json(value: Any, rng: random.Random) -> tuple[bytes, str]:
    """A structural edit of parsed JSON (70 %), or a byte-level mutation of its text."""
    if rng.random() < 0.3:
        return mutate_bytes(_dumps(value).encode(), rng)
    value = json.loads(json.dumps(value))  # a deep copy
    steps = []
    for _ in range(rng.choice((1, 1, 2))):
        paths = _paths(value)
        at = rng.choice(paths)
        new = copy.deepcopy(rng.choice(JSON_VALUES))  # never the shared list or dict itself
        kind = rng.choice(("set", "set", "set", "delete", "wrap"))
        if not at:
            value = new if kind == "set" else [value]
            steps.append(f"root := {str(new)[:20]!r}")
            continue
        parent = value
        for key in at[:-1]:
            parent = parent[key]
        key = at[-1]
        if kind == "delete":
            del parent[key]
            steps.append(f"delete {at}")
        elif kind == "wrap":
            parent[key] = {"x": parent[key]} if rng.random() < 0.5 else [parent[key]]
            steps.append(f"wrap {at}")
        else:
            parent[key] = new
            steps.append(f"{at} := {str(new)[:20]!r}")
    return _dumps(value).encode(), "; ".join(steps)


def cases(parser: str, originals: list[bytes], mutate: Callable) -> Iterator[Case]:
    for number in range(FUZZ_CASES):
        rng, seed = _rng(parser, number)
        original = originals[number % len(originals)]
        data, mutation = mutate(original, rng)
        yield Case(number, seed, f"original #{number % len(originals)}: {mutation}", data)


def reset_peak_rss() -> float:
    """Start a new peak-memory measure; returns the resident memory now (MB). On Linux the
    process's high-water mark is reset (``/proc/self/clear_refs``), so an allocation shows
    even when an earlier test in this process went higher; elsewhere the peak since start is
    used, which is weaker."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    import psutil

    return float(psutil.Process().memory_info().rss / 2**20)


def peak_rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    try:
        import resource
    except ImportError:  # Windows: psutil's peak working set
        import psutil

        return float(psutil.Process().memory_info().peak_wset / 2**20)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def run_fuzz(parser: str, originals: list[bytes], mutate: Callable, check: Callable) -> dict:
    """Feed every case to ``check(case)``; it returns "ok" or "refused" (a typed error)."""
    rss_before = reset_peak_rss()
    peak_before = max(rss_before, peak_rss_mb())
    outcomes = {"ok": 0, "refused": 0}
    slowest = (0.0, -1)
    for case in cases(parser, originals, mutate):
        t0 = time.monotonic()
        try:
            outcome = check(case)
        except Exception as exc:
            pytest.fail(
                f"{parser} case {case.number} (seed {case.seed}, {case.mutation}) raised "
                f"{type(exc).__name__}: {str(exc)[:300]}",
                pytrace=True,
            )
        elapsed = time.monotonic() - t0
        assert elapsed < CASE_MAX_S, (
            f"{parser} case {case.number} ({case.mutation}) took {elapsed:.1f} s"
        )
        slowest = max(slowest, (elapsed, case.number))
        outcomes[outcome] += 1
    growth = peak_rss_mb() - peak_before
    assert growth < PEAK_RSS_GROWTH_MAX_MB, f"{parser}: peak memory grew {growth:.0f} MB"
    summary = {
        "parser": parser,
        "cases": FUZZ_CASES,
        **outcomes,
        "slowest_s": round(slowest[0], 3),
        "slowest_case": slowest[1],
        "peak_rss_growth_mb": round(growth, 1),
    }
    print(f"fuzz {summary}")
    # Mutations must reach past the first check: some cases are read, some refused.
    if FUZZ_CASES >= 100:
        assert outcomes["refused"] > 0, summary
    return summary


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------ images
@pytest.fixture(scope="module")
def image_originals() -> list[tuple[str, bytes]]:
    photo = cv2.imread(str(DATA / "faces" / "cameraman.jpg"))
    small = cv2.resize(photo, (96, 72), interpolation=cv2.INTER_AREA)
    out = []
    for suffix in (".jpg", ".png", ".webp", ".bmp"):
        ok, buf = cv2.imencode(suffix, small)
        assert ok
        out.append((suffix, buf.tobytes()))
    return out


@pytest.mark.timeout(FUZZ_TIMEOUT_S)
def test_fuzz_images(tmp_path: Path, image_originals: list[tuple[str, bytes]]) -> None:
    suffixes = [s for s, _ in image_originals]
    config = SourceConfig(width=64, height=48, paced=False)

    def check(case: Case) -> str:
        suffix = suffixes[case.number % len(suffixes)]
        path = _write(tmp_path / str(case.number % 8), f"in{suffix}", case.data)
        # The portrait's and `camfx analyze`'s readers take the same files.
        for reader in (read_portrait, read_photo):
            try:
                image = reader(path)
            except CamfxError as exc:
                assert path.name in str(exc)
                continue
            assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
        try:
            source = open_source(str(path), config)
        except CamfxError:
            return "refused"
        try:
            frame = source.read()
            assert frame is not None and frame.image.shape == (48, 64, 3)
            assert frame.image.dtype == np.uint8
        finally:
            source.close()
        return "ok"

    run_fuzz("images", [d for _, d in image_originals], mutate_bytes, check)


# ------------------------------------------------------------------------------ video
@pytest.fixture(scope="module")
def video_originals(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    folder = tmp_path_factory.mktemp("video")
    photo = cv2.resize(cv2.imread(str(DATA / "faces" / "cameraman.jpg")), (64, 48))
    out = []
    for suffix, fourcc in ((".mp4", "mp4v"), (".avi", "MJPG")):
        path = folder / f"clip{suffix}"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (64, 48))
        assert writer.isOpened()
        for i in range(8):
            writer.write(np.roll(photo, 3 * i, axis=1))
        writer.release()
        out.append((suffix, path.read_bytes()))
    return out


@pytest.mark.timeout(FUZZ_TIMEOUT_S)
def test_fuzz_video(tmp_path: Path, video_originals: list[tuple[str, bytes]]) -> None:
    suffixes = [s for s, _ in video_originals]
    config = SourceConfig(width=64, height=48, paced=False, loop=False)

    def check(case: Case) -> str:
        suffix = suffixes[case.number % len(suffixes)]
        path = _write(tmp_path / str(case.number % 8), f"in{suffix}", case.data)
        try:
            source = open_source(str(path), config)
        except CamfxError:
            return "refused"
        try:
            for _ in range(12):  # more than the clip holds: the end comes as EOFError
                try:
                    frame = source.read()
                except EOFError:
                    break
                except CamfxError:
                    return "refused"
                assert frame is not None and frame.image.shape == (48, 64, 3)
        finally:
            source.close()
        return "ok"

    run_fuzz("video", [d for _, d in video_originals], mutate_bytes, check)


# ------------------------------------------------------------------------------ audio
@pytest.fixture(scope="module")
def audio_originals(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    av = pytest.importorskip("av")
    folder = tmp_path_factory.mktemp("audio")
    voice, rate = read_audio_file(ASSETS / "talking_head_speech.wav")
    clip = voice[int(0.5 * rate) : int(0.8 * rate)]
    pcm = (np.clip(clip, -1, 1) * 32767).astype("<i2")
    out = []
    for channels in (1, 2):
        path = folder / f"voice{channels}.wav"
        with wave.open(str(path), "wb") as wf:
            wf.setnchannels(channels)
            wf.setsampwidth(2)
            wf.setframerate(rate)
            wf.writeframes(np.repeat(pcm[:, None], channels, axis=1).tobytes())
        out.append((".wav", path.read_bytes()))
    path = folder / "voice.flac"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    out.append((".flac", path.read_bytes()))
    return out


@pytest.mark.timeout(FUZZ_TIMEOUT_S)
def test_fuzz_audio(tmp_path: Path, audio_originals: list[tuple[str, bytes]]) -> None:
    suffixes = [s for s, _ in audio_originals]

    def check(case: Case) -> str:
        suffix = suffixes[case.number % len(suffixes)]
        path = _write(tmp_path / str(case.number % 8), f"in{suffix}", case.data)
        try:
            data, rate = read_audio_file(path)
        except AudioError as exc:
            assert str(path) in str(exc)
            return "refused"
        assert data.dtype == np.float32 and data.ndim == 1
        assert 1000 <= rate <= 48000
        assert np.isfinite(data).all()
        return "ok"

    run_fuzz("audio", [d for _, d in audio_originals], mutate_bytes, check)


# ------------------------------------------------------------------------------ presets
def _preset_originals() -> list[Any]:
    return [PRESETS.get(name).to_dict() for name in ("studio", "background-color", "natural")]


def _nothing_lost(path: Path, data: bytes) -> None:
    """The user's bytes are still there: in place, or moved aside whole."""
    if path.exists():
        assert path.read_bytes() == data
        return
    kept = [p for p in path.parent.glob(f"{path.name}.broken-*") if p.read_bytes() == data]
    assert kept, f"{path.name} was neither kept nor moved aside"


@pytest.mark.timeout(FUZZ_TIMEOUT_S)
def test_fuzz_presets(tmp_path: Path) -> None:
    def check(case: Case) -> str:
        folder = tmp_path / f"presets{case.number}"
        path = _write(folder, "look.json", case.data)
        store = PresetStore(folder)
        problems = store.load()
        _nothing_lost(path, case.data)
        if store.names():  # loaded; a setting it could not take is a note, the file kept
            assert len(store.names()) == 1
            assert all(p.moved_to is None and p.path.exists() for p in problems)
        else:
            assert len(problems) == 1
        imported = PresetStore(tmp_path / f"imports{case.number}")
        with contextlib.suppress(CamfxError):
            imported.import_file(path if path.exists() else next(folder.glob("look.json.*")))
        shutil.rmtree(folder)
        shutil.rmtree(imported.folder, ignore_errors=True)
        return "refused" if problems and not store.names() else "ok"

    run_fuzz("presets", _preset_originals(), mutate_json, check)


# ------------------------------------------------------------------------------ settings
def _settings_original() -> dict[str, Any]:
    settings = AppSettings(
        preset="user:My look",
        preset_overrides={"builtin:studio": {"background-blur": {"strength": 0.7}}},
        source="camera:0",
        camera_modes={"camera:0": [1280, 720, 30.0]},
        recent_files=["/home/me/clip.mp4"],
        output_size=[1920, 1080],
        fps=25.0,
        virtual_camera=True,
        theme="dark",
        extra={"future_option": [1, 2]},
    )
    return settings.to_dict()


@pytest.mark.timeout(FUZZ_TIMEOUT_S)
def test_fuzz_settings(tmp_path: Path) -> None:
    def check(case: Case) -> str:
        folder = tmp_path / f"cfg{case.number}"
        path = _write(folder, "settings.json", case.data)
        store = SettingsStore(path)
        settings = store.load()
        assert isinstance(settings, AppSettings)
        _nothing_lost(path, case.data)
        # What was read can be saved, and what is saved reads back without a problem.
        store.save(settings)
        again = SettingsStore(path)
        assert again.load() == settings and again.problems == []
        shutil.rmtree(folder)
        return "refused" if store.problems else "ok"

    run_fuzz("settings", [_settings_original()], mutate_json, check)


# ------------------------------------------------------------------------------ manifest
@pytest.mark.timeout(FUZZ_TIMEOUT_S)
def test_fuzz_manifest(tmp_path: Path) -> None:
    manifest = load_manifest()
    original = {"models": [manifest[name] for name in SMALL_MODELS]}
    models = tmp_path / "models"
    models.mkdir()
    for name in SMALL_MODELS:
        shutil.copy(models_dir() / manifest[name]["file"], models / manifest[name]["file"])

    def check(case: Case) -> str:
        (models / "manifest.json").write_bytes(case.data)
        load_manifest.cache_clear()
        try:
            entries = load_manifest(str(models))
        except ModelError as exc:
            assert str(models / "manifest.json") in str(exc)
            return "refused"
        for name in entries:
            try:
                path = verified_model_path(name, str(models))
            except ModelError:
                continue
            assert path.parent == models and path.is_file()
        return "ok"

    try:
        run_fuzz("manifest", [original], mutate_json, check)
    finally:
        load_manifest.cache_clear()
