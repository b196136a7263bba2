"""What the user keeps between runs: their own presets and the app's settings.

Everything lives in one folder, the platform's config dir (``platformdirs``: ``~/.config/camfx``
on Linux, ``%APPDATA%\\camfx`` on Windows, ``~/Library/Application Support/camfx`` on macOS),
or ``$CAMFX_CONFIG_DIR`` when set (tests, portable installs)::

    settings.json            last preset, source, outputs, window options
    presets/<slug>.json      one readable JSON file per user preset

Rules, because these files are the user's work:

* every write is atomic (a temporary file in the same folder, flushed, then ``os.replace``), so
  a crash or a full disk never leaves half a file;
* a file that cannot be read (not JSON, wrong shape, a value out of bounds) is *moved aside* to
  ``NAME.broken-YYYYmmdd-HHMMSS`` and reported in :attr:`PresetStore.problems` (the GUI shows
  these); it is never overwritten, and never silently reset;
* a preset written by a newer camfx, or one that needs a stage this install does not have, is
  left where it is, untouched, and reported: it is not broken, only not usable here;
* files are plain JSON read with :func:`json.loads`: nothing is pickled or evaluated;
* old preset and settings files are upgraded in memory by the ``@migrator`` steps of
  :mod:`pipelines.migrations` when read (the file itself is rewritten only when it is saved);
* *any* failure to parse a file (nesting that exhausts the parser, numbers with hundreds of
  digits, NaN) is such a broken file: no user file can make the app fail on every start;
* a ``settings.json`` written by a newer camfx is copied to ``settings.json.schema-N`` before
  this camfx, which reads what it understands, ever saves over it;
* temporary files that an interrupted save left behind (``.NAME.XXXXXXXX.tmp``) are removed
  when the folder is next read, once they are older than :data:`STALE_TMP_AGE_S`.

This module never imports Qt: the GUI, the command line and the tests share it.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import errno
import json
import logging
import math
import os
import re
import secrets
import shlex
import stat
import string
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from msgspec import Meta

from pipelines import schema
from pipelines.errors import CamfxError, SettingsError
from pipelines.migrations import FileKind, migrate
from pipelines.presets import (
    PRESET_SCHEMA_VERSION,
    PRESETS,
    STAGE_MODULES,
    Preset,
    PresetFile,
    StageSpec,
    ensure_stage_registered,
    known_stage_id,
)
from pipelines.stage import STAGES

log = logging.getLogger(__name__)

APP_NAME = "camfx"
CONFIG_ENV = "CAMFX_CONFIG_DIR"
SETTINGS_FILE = "settings.json"
PRESETS_DIR = "presets"
SETTINGS_SCHEMA_VERSION = 2
"""2: stage ids in one spelling in ``preset_overrides`` (:mod:`pipelines.migrations`)."""
MAX_RECENT_FILES = 10
MAX_FILE_BYTES = 1 << 20
"""Larger files are not presets or settings (and are not read into memory)."""
MAX_NAME_LENGTH = 80
MAX_SAFE_INTEGER = 2**53
"""Every number camfx stores fits a double exactly; larger integers (400 digits) are refused
by name instead of reaching ``float()`` as an OverflowError."""
STALE_TMP_AGE_S = 600.0
"""A save takes milliseconds: a temporary file this old is left over from a killed process,
not one another camfx instance is writing right now."""
_TMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
"""What :func:`_create_temp` names (as ``tempfile.mkstemp`` did): eight random characters."""

BUILTIN = "builtin"
USER = "user"


class UserDataError(CamfxError):
    """A user file could not be written, or an operation on the store is not possible."""


class UnavailablePreset(SettingsError):
    """A valid preset this install cannot use (newer schema, unknown stage). Left in place."""


class PresetChangedOnDisk(SettingsError):
    """A Save would write over a preset file that changed on disk since camfx read it (a hand
    edit, another camfx window): nothing was written, so neither version is lost."""

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(
            f"the file of the preset {name!r} ({path}) changed on disk since camfx read it; "
            "pick the preset again to read it, then try again"
        )
        self.name = name
        self.path = path


# ------------------------------------------------------------------------------ file helpers
def config_dir() -> Path:
    """The folder for settings and presets (created on first write, not here)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False, roaming=True))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as they are) as :func:`atomic_write_bytes` does."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes, *, new_file_mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a part.
    A file there keeps its permissions; one the user made read-only (no write bit) is left as
    it is and refused, where replacing it would have made it writable (0o600) behind their
    back. A new file gets ``new_file_mode`` less the umask: settings stay private (0o600, as
    ``mkstemp`` made them); a picture the user shares asks for 0o666, as ``open`` gives."""
    path = Path(path)
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None
    if mode is not None and not mode & 0o222:
        raise UserDataError(
            f"{path} is read-only, so it was left as it is; make it writable to save"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(path, new_file_mode)
    except OSError as exc:
        raise UserDataError(f"could not write {path}: {exc.strerror or exc}") from exc
    try:
        _write_synced(fd, data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise UserDataError(f"could not write {path}: {exc.strerror or exc}") from exc
        raise
    _fsync_dir(path.parent)


_TMP_LETTERS = string.ascii_lowercase + string.digits + "_"


def _write_synced(fd: int, data: bytes) -> None:
    """Write ``data`` to the open file ``fd`` and close it, on disk before this returns."""
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _create_temp(path: Path, mode: int) -> tuple[int, str]:
    """A new ``.NAME.XXXXXXXX.tmp`` beside ``path`` (:data:`_TMP_NAME`), opened for writing
    with ``mode`` less the umask: ``mkstemp``'s names with a mode of our choosing (``mkstemp``
    always makes 0o600, and reading the umask means setting it, for every thread at once)."""
    for _ in range(100):
        suffix = "".join(secrets.choice(_TMP_LETTERS) for _ in range(8))
        tmp = str(path.parent / f".{path.name}.{suffix}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _reject_constant(name: str) -> Any:
    raise SettingsError(f"holds {name}, which is not a number JSON allows")


def read_json(path: Path) -> Any:
    """Parse a JSON file; every failure is a :class:`SettingsError` saying what is wrong."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SettingsError(f"{path.name} is {size} bytes, too large to be a camfx file")
        # utf-8-sig: Windows Notepad saves UTF-8 with a byte-order mark, which json refused
        # ("Unexpected UTF-8 BOM"): a settings file the user fixed by hand was put aside.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path.name} is not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise SettingsError(f"{path.name} could not be read: {exc.strerror or exc}") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    except SettingsError as exc:
        raise SettingsError(f"{path.name} {exc}") from None
    except RecursionError:
        raise SettingsError(f"{path.name} is nested too deeply to be a camfx file") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise SettingsError(f"{path.name} holds a number with thousands of digits") from None


def unreasonable_number(value: Any, where: str = "") -> str | None:
    """Where in ``value`` (parsed JSON) a number no camfx setting can hold sits, described for
    the user ("camera_modes['camera:0'][0] is a 400-digit number"), or None. Iterative, so any
    nesting that the parser accepted is walked without recursion."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and abs(item) > MAX_SAFE_INTEGER:
            digits = len(str(abs(item))) if abs(item) < 10**4000 else 4000
            return f"{at or 'a value'} is a {digits}-digit number, far out of range"
        if isinstance(item, float) and not math.isfinite(item):
            return f"{at or 'a value'} is {item}, not a finite number"
        if isinstance(item, dict):
            stack.extend((v, f"{at}[{k!r}]") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))
    return None


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters for messages (a 400-digit number is not shown)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        return "a huge number"
    text = repr(value) if not isinstance(value, dict | list) or len(value) < 50 else "[…]"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_stale_temp_files(folder: Path, now: float | None = None) -> list[Path]:
    """Remove ``.NAME.XXXXXXXX.tmp`` files an interrupted save left in ``folder`` (only
    those older than :data:`STALE_TMP_AGE_S`); returns what was removed."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        if not _TMP_NAME.match(path.name):
            continue
        try:
            if not path.is_file() or now - path.stat().st_mtime < STALE_TMP_AGE_S:
                continue
            path.unlink()
        except OSError as exc:
            log.debug("could not remove leftover %s: %s", path, exc)
            continue
        removed.append(path)
    if removed:
        log.info(
            "removed %d leftover temporary file(s) of interrupted saves in %s", len(removed), folder
        )
    return removed


def move_aside(path: Path, now: float | None = None) -> Path:
    """Rename a broken file to ``NAME.broken-YYYYmmdd-HHMMSS`` (never over an existing one)."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{n}")
    os.replace(path, target)
    # Info: each caller names the move to the user in its own words (the window's message bar,
    # the command line's "camfx: warning:" line); a WARNING record printed a raw log line.
    log.info("moved unreadable %s aside to %s", path, target.name)
    return target


@dataclass(frozen=True)
class Problem:
    """A user file that was not loaded, and why; ``moved_to`` is set when it was moved aside."""

    path: Path
    message: str
    moved_to: Path | None = None
    copied_to: Path | None = None
    """Set when the file itself stays in use and a copy of it as it was is kept."""

    def __str__(self) -> str:
        if self.copied_to is not None:
            return (
                f"{self.message}. The file as it was is kept as {self.copied_to.name} "
                f"(in {self.copied_to.parent})."
            )
        if self.moved_to is not None:
            return (
                f"{self.message}. The file was moved aside to {self.moved_to.name} "
                f"(in {self.moved_to.parent}) so nothing is lost; fix it and move it back, "
                "or delete it."
            )
        return f"{self.message}. The file {self.path} was left as it is."


# ------------------------------------------------------------------------------ presets
def migrate_preset_data(data: Any) -> dict[str, Any]:
    """Upgrade preset data of any older schema to the current one."""
    if not isinstance(data, dict):
        raise SettingsError("a preset must be a JSON object with a 'stages' list")
    version = data.get("schema", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise SettingsError(f"preset 'schema' must be a whole number, not {version!r}")
    if version > PRESET_SCHEMA_VERSION:
        raise UnavailablePreset(
            f"made by a newer camfx (preset schema {version}; this version reads up to "
            f"{PRESET_SCHEMA_VERSION}); update camfx to use it"
        )
    data = migrate(FileKind.PRESET, data, version, PRESET_SCHEMA_VERSION)
    if "stages" not in data:
        raise SettingsError(
            "it has no 'stages' list (a preset is a JSON object whose 'stages' lists "
            '{"stage": NAME, "settings": {...}} in order)'
        )
    return data


def validate_preset(preset: Preset) -> None:
    """Check every stage exists and every setting has the right type and is within bounds,
    and that a preset marked to hide the room has a stage that hides it after the mask's."""
    seen: set[str] = set()
    for spec in preset.stages:
        if spec.stage in seen:
            raise SettingsError(f"stage {spec.stage!r} appears twice")
        seen.add(spec.stage)
        try:
            ensure_stage_registered(spec.stage)
        except SettingsError as exc:
            raise UnavailablePreset(
                f"needs the stage {spec.stage!r}, which this camfx does not have"
            ) from exc
        except ImportError as exc:
            raise UnavailablePreset(f"stage {spec.stage!r} could not be loaded: {exc}") from exc
        settings_type = STAGES.get(known_stage_id(spec.stage)).settings_type
        settings_type.from_dict(dict(spec.settings))
    if preset.hides_room:
        _check_hides_the_room(preset)


def _check_hides_the_room(preset: Preset) -> None:
    """A preset that hides the room (``"hides_room": true``) with no stage hiding it (none,
    only the tracker, or the blur before the mask it works with) ran with the room in plain
    view, the frame passed through, and nothing said."""
    types = [STAGES.get(known_stage_id(spec.stage)).settings_type for spec in preset.stages]
    for at, kind in enumerate(types):
        if kind.HIDES_THE_ROOM and (
            not kind.NEEDS_THE_MASK or any(before.MAKES_THE_MASK for before in types[:at])
        ):
            return
    for declared in STAGE_MODULES:  # (said once, on this error: the modules are loaded)
        with contextlib.suppress(SettingsError, ImportError):
            ensure_stage_registered(declared)
    registered = {name: STAGES.get(name).settings_type for name in STAGES.names()}
    masks = " or ".join(sorted(n for n, t in registered.items() if t.MAKES_THE_MASK))
    hiding = sorted(n for n, t in registered.items() if t.HIDES_THE_ROOM)
    with_mask = " or ".join(n for n in hiding if registered[n].NEEDS_THE_MASK)
    needs = [f"{with_mask} after {masks}"] if with_mask else []
    needs += [n for n in hiding if not registered[n].NEEDS_THE_MASK]
    raise SettingsError(
        f'it is marked to hide the room ("hides_room": true) but nothing in it does: it needs '
        f"{', or '.join(needs)}; add it, or take "
        '"hides_room" out'
    )


def name_key(name: str) -> str:
    """What tells preset names apart: case and Unicode's composed and decomposed forms of one
    letter are the same name ("é" typed or pasted as "e" + U+0301 made two presets that look
    the same in the list: qa64)."""
    return unicodedata.normalize("NFC", name).casefold()


def check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise SettingsError("a preset name must be text")
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    if not name:
        raise SettingsError("a preset needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise SettingsError(f"a preset name can have at most {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 32 for c in name):
        raise SettingsError("a preset name cannot contain control characters")
    return name


def preset_from_data(data: Any, *, name: str | None = None) -> Preset:
    """Migrate, parse and validate preset data (from a file or an import)."""
    data = migrate_preset_data(data)
    preset = Preset.from_dict(data)
    final = check_name(name if name is not None else preset.name)
    preset = dataclasses.replace(preset, name=final)
    validate_preset(preset)
    return preset


def read_preset(data: Any) -> tuple[Preset, list[str]]:
    """Preset data of a file, as the window and ``camfx run --preset`` load it: a key this
    camfx does not know is kept (written back on a save) and ignored, as ``settings.json``'s
    are; a setting out of its range or of the wrong type gets its stage's default, with one
    note each (naming the stage, the key and what is allowed). Only what leaves nothing
    usable (not an object, no stages list, a stage twice, a bad name) is an error."""
    data = migrate_preset_data(data)
    preset = Preset.from_dict(data)
    notes: list[str] = []
    unknown_settings: dict[str, dict[str, Any]] = {}
    stages = []
    for spec in preset.stages:
        usable, unknown = _usable_settings(spec, notes)
        if unknown:
            unknown_settings[spec.stage] = unknown
        stages.append(StageSpec(spec.stage, usable))
    known = set(PresetFile.__struct_fields__)
    preset = dataclasses.replace(
        preset,
        name=check_name(preset.name),
        stages=tuple(stages),
        unknown_keys={k: v for k, v in data.items() if k not in known},
        unknown_settings=unknown_settings,
    )
    validate_preset(preset)
    return preset, notes


def _usable_settings(spec: StageSpec, notes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``spec``'s settings its stage takes, and those it does not know; a value it refuses is
    left out (its default runs) with a note. A stage this camfx lacks is left whole, for
    :func:`validate_preset` to report."""
    try:
        ensure_stage_registered(spec.stage)
    except (SettingsError, ImportError):
        return dict(spec.settings), {}
    if not isinstance(spec.settings, dict):
        return dict(spec.settings), {}
    owner = STAGES.get(known_stage_id(spec.stage)).settings_type
    fields = {f.name: f for f in schema.fields_of(owner)}
    usable: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for key, value in spec.settings.items():
        if key not in fields:
            unknown[key] = value
            continue
        try:
            schema.check_field(owner, key, value)
        except SettingsError as exc:
            default = fields[key].default
            # The schema's line says what is allowed: the range, the choices, true or false.
            notes.append(
                f"stage {spec.stage!r}, setting {key!r}: {exc}; its default {default!r} is used"
            )
            continue
        usable[key] = value
    return usable, unknown


def slugify(name: str) -> str:
    """A portable file name stem for a preset name (the real name is kept inside the file)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (slug or "preset")[:60]


def export_file_name(name: str) -> str:
    """The file name an export of preset ``name`` is offered under: the name itself, less
    what no file name may hold on any system (``a/b`` put the file in the app's working
    folder as ``b.json``, qa64; ``\\ : * ? " < > |`` and control characters, and a leading
    dot, which hides it)."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", name).strip(" .-")
    return f"{stem or 'preset'}.json"


def display_name(name: str) -> str:
    """How a built-in preset's name is shown: ``privacy-blur`` → ``Privacy blur``."""
    text = name.replace("-", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


FileStamp = tuple[int, int]
"""A file's (mtime in ns, size): what tells that it changed since it was read or written."""


def file_stamp(path: Path) -> FileStamp | None:
    """``path``'s :data:`FileStamp`, or None when it is gone."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def reserved_name(name: str) -> str | None:
    """The built-in preset whose name or label ``name`` is, case-insensitively, or None: a user
    preset called "studio" listed beside the built-in "Studio", and ``--preset studio`` ran
    the built-in (qa7)."""
    folded = " ".join(name.split()).casefold()
    for builtin in PRESETS.names():
        if folded in (builtin.casefold(), display_name(builtin).casefold()):
            return builtin
    return None


def shadowed_by_builtin(name: str) -> str:
    """What ``--preset NAME`` says when a built-in of that name or label wins over the user
    preset ``name`` (an older one: new ones cannot take such a name)."""
    return (
        f"your preset {name!r} is not used: the built-in of that name is; "
        f"--preset {shlex.quote(preset_key(USER, name))} picks yours"
    )


def user_preset_label(name: str) -> str:
    """How the window lists the user preset ``name``: marked as yours when a built-in has that
    name or label, so the two are not listed alike ("Background blur" twice, qa8 L3)."""
    return f"{name} (yours)" if reserved_name(name) is not None else name


def _create_exclusive(folder: Path, stem: str, data: Any, taken: set[str]) -> Path:
    """Write ``data`` as a new ``stem.json`` (``stem-2.json``… when taken) that no other
    process can have made or be making at that name: the file is written whole to a temporary
    name, then hard-linked to its name, which fails if that name exists. ``os.replace`` (what
    :func:`atomic_write_json` ends with) replaced whatever another camfx had just written."""
    text = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(folder / f"{stem}.json", 0o600)
    except OSError as exc:
        raise UserDataError(f"could not write in {folder}: {exc.strerror or exc}") from exc
    try:
        _write_synced(fd, text)
        n = 1
        while True:
            candidate = folder / (f"{stem}.json" if n == 1 else f"{stem}-{n}.json")
            n += 1
            if candidate.name in taken:
                continue
            try:
                os.link(tmp, candidate)
            except FileExistsError:
                continue
            break
    except OSError as exc:
        raise UserDataError(f"could not write in {folder}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_dir(folder)
    return candidate


def _name_in_file(path: Path) -> str | None:
    """The casefolded ``name`` a preset file holds, or None (unreadable, not a preset)."""
    try:
        data = read_json(path)
    except SettingsError:
        return None
    named = data.get("name") if isinstance(data, dict) else None
    return name_key(" ".join(named.split())) if isinstance(named, str) else None


@dataclass
class UserPreset:
    preset: Preset
    path: Path
    stamp: FileStamp | None = None
    """The file as camfx last read or wrote it (:func:`file_stamp`)."""

    @property
    def name(self) -> str:
        return self.preset.name


class PresetStore:
    """The user's presets, one JSON file each in ``<config>/presets``."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else config_dir() / PRESETS_DIR
        self.problems: list[Problem] = []
        self.unavailable: dict[str, Problem] = {}
        """Presets this camfx cannot use (a stage it lacks, a newer schema), by casefolded
        name, each with the reason: ``--preset NAME`` says why, not "unknown preset"."""
        self._presets: dict[str, UserPreset] = {}
        self._seen: dict[str, FileStamp | None] = {}
        """Each ``*.json`` file left in the folder by the last :meth:`load` (as it was before
        being read) or written by this store since: what :meth:`refresh` compares the folder
        with, so that a file put back, added or edited by hand is listed at the next look."""
        self._loaded = False

    # ---------------------------------------------------------------- reading
    def load(self) -> list[Problem]:
        """(Re)read the folder. Returns the problems found this time (also kept in
        :attr:`problems`); broken files are moved aside before this returns."""
        problems: list[Problem] = []
        presets: dict[str, UserPreset] = {}
        unavailable: dict[str, Problem] = {}
        seen: dict[str, FileStamp | None] = {}
        if self.folder.is_dir():
            clean_stale_temp_files(self.folder)
            for path in self._preset_files():
                # Before reading: a write after it then shows as a change, never the reverse.
                stamp = file_stamp(path)
                seen[path.name] = stamp
                try:
                    data = read_json(path)
                    number = unreasonable_number(data)
                    if number:
                        raise SettingsError(number)
                    preset, notes = read_preset(data)
                except UnavailablePreset as exc:
                    problems.append(Problem(path, f"Preset file {path.name}: {exc}"))
                    named = data.get("name") if isinstance(data, dict) else None
                    key = name_key(named if isinstance(named, str) else path.stem)
                    unavailable[key] = Problem(path, str(exc))
                    continue
                except SettingsError as exc:
                    problems.append(self._broken(path, f"Preset file {path.name}: {exc}"))
                    if problems[-1].moved_to is not None:
                        del seen[path.name]
                    continue
                except Exception as exc:
                    # Whatever else a hand-edited file triggers, it must not stop the app from
                    # starting: it is broken, and moved aside like the others.
                    log.debug("preset %s", path, exc_info=True)
                    problems.append(
                        self._broken(
                            path,
                            f"Preset file {path.name} could not be read "
                            f"({type(exc).__name__}: {_cut(str(exc))})",
                        )
                    )
                    if problems[-1].moved_to is not None:
                        del seen[path.name]
                    continue
                key = name_key(preset.name)
                if key in presets:
                    problems.append(
                        Problem(
                            path,
                            f"Preset file {path.name} has the same name ({preset.name!r}) as "
                            f"{presets[key].path.name}; rename one of them",
                        )
                    )
                    continue
                presets[key] = UserPreset(preset, path, stamp)
                problems.extend(Problem(path, f"Preset file {path.name}: {n}") for n in notes)
        self._presets = presets
        self.unavailable = unavailable
        self._seen = seen
        self._loaded = True
        self.problems = problems
        return problems

    def _broken(self, path: Path, message: str) -> Problem:
        try:
            moved = move_aside(path)
        except OSError as exc:
            return Problem(path, f"{message} (it could not be moved aside: {exc})")
        return Problem(path, message, moved)

    def _preset_files(self) -> builtins.list[Path]:
        return [
            path
            for path in sorted(self.folder.glob("*.json"))
            if not path.name.startswith(".") and path.is_file()
        ]

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.load()

    def folder_changed(self) -> bool:
        """True when a preset file was added, removed or changed in the folder since camfx
        read or wrote it (a hand edit, a broken file fixed and put back, another window)."""
        if not self._loaded:
            return True
        now = {path.name: file_stamp(path) for path in self._preset_files()}
        return now != self._seen

    def refresh(self) -> bool:
        """Re-read the folder when it changed (:meth:`folder_changed`); True when it did.
        The list follows the folder: a preset whose broken file was moved aside is listed
        again once a fixed file is back, without a restart (qa8 H1)."""
        if not self.folder_changed():
            return False
        self.load()
        return True

    def _wrote(self, path: Path) -> None:
        """Camfx's own write of ``path``: no change for :meth:`refresh`."""
        self._seen[path.name] = file_stamp(path)

    def list(self) -> list[UserPreset]:
        self._ensure_loaded()
        return sorted(self._presets.values(), key=lambda p: name_key(p.name))

    def names(self) -> builtins.list[str]:
        return [p.name for p in self.list()]

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return isinstance(name, str) and name_key(name) in self._presets

    def get(self, name: str) -> Preset:
        self._ensure_loaded()
        try:
            return self._presets[name_key(name)].preset
        except KeyError:
            raise SettingsError(f"there is no preset named {name!r}") from None

    def path_of(self, name: str) -> Path:
        self._ensure_loaded()
        return self._presets[name_key(name)].path

    def changed_on_disk(self, name: str) -> bool:
        """True when the file of the user preset ``name`` was changed, replaced or removed
        since camfx read or wrote it (by hand, or by another camfx)."""
        self._ensure_loaded()
        entry = self._presets.get(name_key(name))
        return entry is not None and file_stamp(entry.path) != entry.stamp

    def reload_if_changed(self, name: str) -> bool:
        """Re-read the folder when the file of ``name`` changed on disk (see
        :meth:`changed_on_disk`); True when it did. Picking a preset runs what its file says
        now, not what it said when the window started."""
        if not self.changed_on_disk(name):
            return False
        self.load()
        return True

    # ---------------------------------------------------------------- writing
    def _taken(self, name: str) -> bool:
        return name in self or reserved_name(name) is not None

    def unique_name(self, base: str) -> str:
        """``base``, or ``base (2)``… when a user preset or a built-in has that name."""
        base = check_name(base)
        if not self._taken(base):
            return base
        stem = re.sub(r" \(\d+\)$", "", base)
        n = 2
        while self._taken(f"{stem} ({n})"):
            n += 1
        return f"{stem} ({n})"

    @staticmethod
    def check_new_name(name: str) -> str:
        """``name`` as a new user preset would get it; a built-in's name or label is refused."""
        name = check_name(name)
        builtin = reserved_name(name)
        if builtin is not None:
            raise SettingsError(
                f"{name!r} is the name of the built-in preset {display_name(builtin)!r}; "
                "choose another name"
            )
        return name

    def save(self, preset: Preset, *, overwrite: bool = False) -> Preset:
        """Write ``preset`` (validated). An existing one of that name is replaced only with
        ``overwrite=True``, and only while its file is as camfx last read or wrote it
        (:class:`PresetChangedOnDisk` otherwise: re-read it, or save under a new name). A new
        one is created exclusively, against the folder as it is now: another camfx window's
        preset of that name makes it "already exists", never a second file of one name."""
        self._ensure_loaded()
        preset = dataclasses.replace(preset, name=check_name(preset.name))
        validate_preset(preset)
        key = name_key(preset.name)
        existing = self._presets.get(key)
        if existing is not None and overwrite:
            if file_stamp(existing.path) not in (existing.stamp, None):
                raise PresetChangedOnDisk(existing.name, existing.path)
            atomic_write_json(existing.path, preset.to_dict())
            self._presets[key] = UserPreset(preset, existing.path, file_stamp(existing.path))
            self._wrote(existing.path)
            return preset
        if existing is not None:
            raise SettingsError(f"a preset named {existing.name!r} already exists")
        self.check_new_name(preset.name)
        return self._create(preset)

    def _saved_elsewhere(self, key: str, known: set[str]) -> bool:
        """True when a preset file this store has not read (another camfx window saved it)
        holds the casefolded name ``key``."""
        if not self.folder.is_dir():
            return False
        return any(
            other.name not in known and _name_in_file(other) == key
            for other in self.folder.glob("*.json")
        )

    def _create(self, preset: Preset) -> Preset:
        key = name_key(preset.name)
        known = {p.path.name for p in self._presets.values()}
        taken = SettingsError(
            f"a preset named {preset.name!r} already exists (saved by another camfx window); "
            "choose another name"
        )
        if self._saved_elsewhere(key, known):
            raise taken
        path = _create_exclusive(self.folder, slugify(preset.name), preset.to_dict(), known)
        stamp = file_stamp(path)
        # Another window that saved this name at the same instant also got past the check
        # above: whichever sees the other's file takes its own back. When both see each other,
        # both are refused (and saying so, lose nothing): never two files of one name.
        if self._saved_elsewhere(key, known | {path.name}):
            with contextlib.suppress(OSError):
                path.unlink()
            raise taken
        self._presets[key] = UserPreset(preset, path, stamp)
        self._wrote(path)
        return preset

    def create(self, name: str, stages: Iterable[StageSpec] = (), description: str = "") -> Preset:
        return self.save(Preset(name, tuple(stages), description))

    def rename(self, old: str, new: str) -> Preset:
        self._ensure_loaded()
        entry = self._presets.get(name_key(old))
        if entry is None:
            raise SettingsError(f"there is no preset named {old!r}")
        new = self.check_new_name(new)
        if name_key(new) != name_key(old) and new in self:
            raise SettingsError(f"a preset named {new!r} already exists")
        if file_stamp(entry.path) not in (entry.stamp, None):
            # The rename writes the preset as camfx read it: a hand edit since would be lost.
            raise PresetChangedOnDisk(entry.name, entry.path)
        preset = dataclasses.replace(entry.preset, name=new)
        # Write the new file first, then remove the old one: a failure leaves both, never none.
        if slugify(new) != slugify(entry.name):
            known = {p.path.name for p in self._presets.values()}
            new_path = _create_exclusive(self.folder, slugify(new), preset.to_dict(), known)
        else:
            new_path = entry.path
            atomic_write_json(new_path, preset.to_dict())
        if new_path != entry.path:
            with contextlib.suppress(FileNotFoundError):
                entry.path.unlink()
            self._seen.pop(entry.path.name, None)
        self._wrote(new_path)
        del self._presets[name_key(old)]
        self._presets[name_key(new)] = UserPreset(preset, new_path, file_stamp(new_path))
        return preset

    def duplicate(self, preset: Preset, new_name: str | None = None) -> Preset:
        """Copy a user or built-in preset under a new (unique) name."""
        name = self.unique_name(new_name or f"{display_name(preset.name)} copy")
        if new_name is not None and name != check_name(new_name):
            raise SettingsError(f"a preset named {new_name!r} already exists")
        return self.save(dataclasses.replace(preset, name=name))

    def delete(self, name: str) -> None:
        self._ensure_loaded()
        entry = self._presets.pop(name_key(name), None)
        if entry is None:
            raise SettingsError(f"there is no preset named {name!r}")
        try:
            entry.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            self._presets[name_key(name)] = entry
            raise UserDataError(f"could not delete {entry.path}: {exc.strerror or exc}") from exc
        self._seen.pop(entry.path.name, None)

    def import_file(self, path: Path) -> Preset:
        """Add a preset from a file anywhere. The file itself is only read, never moved."""
        path = Path(path)
        data = read_json(path)
        number = unreasonable_number(data)
        if number:
            raise SettingsError(f"{path.name}: {number}")
        if isinstance(data, dict) and "stages" not in data:
            # Any other JSON object (camfx's own settings.json picked by mistake) became an
            # empty preset named after the file, which silently switched every effect off.
            raise SettingsError(
                f"{path.name} is not a camfx preset (it has no 'stages' list); choose a file "
                "saved with Export preset"
            )
        if isinstance(data, dict) and not data.get("name"):
            data = {**data, "name": path.stem}
        preset = preset_from_data(data)
        return self.save(dataclasses.replace(preset, name=self.unique_name(preset.name)))

    @staticmethod
    def export(preset: Preset, path: Path) -> None:
        atomic_write_json(Path(path), preset.to_dict())


def preset_key(kind: str, name: str) -> str:
    """``builtin:NAME`` or ``user:NAME``: built-in and user presets may share a name."""
    return f"{kind}:{name}"


def split_preset_key(key: str) -> tuple[str, str]:
    kind, sep, name = key.partition(":")
    if not sep or kind not in (BUILTIN, USER):
        return BUILTIN, key
    return kind, name


def find_preset(text: str, store: PresetStore) -> tuple[Preset, list[Problem]]:
    """The preset that ``camfx run --preset TEXT`` names, as the window would run it: a
    built-in name, ``builtin:NAME``, ``user:NAME`` (the window's key), the name of a user
    preset, or the path of a preset ``.json`` file; with the notes on it (settings that got
    their defaults). A built-in name wins over a user preset of the same name (``user:``
    picks that one)."""
    kind, name = split_preset_key(text)
    # One rule for a built-in's name and its label, as new user presets are refused by
    # (reserved_name): "Background blur" ran an older user preset of that label without a
    # word while "studio" warned (qa8 L3).
    builtin = reserved_name(name) if kind == BUILTIN else None
    if builtin is not None:
        store.load()
        if name in store:
            # Said, not silent: the user's own 'studio' lost to the built-in without a word.
            return PRESETS.get(builtin), [
                Problem(store.path_of(name), shadowed_by_builtin(store.get(name).name))
            ]
        return PRESETS.get(builtin), []
    looks_like_path = text.lower().endswith(".json") or os.sep in text or "/" in text
    if kind == BUILTIN and looks_like_path:
        # "~/x.json" in quotes reaches camfx unexpanded, as the README says it may.
        return _preset_file(Path(text).expanduser())
    store.load()
    if name in store:
        path = store.path_of(name)
        return store.get(name), [p for p in store.problems if p.path == path]
    unusable = store.unavailable.get(name_key(name))
    if unusable is not None:
        raise SettingsError(
            f"your preset {name!r} ({unusable.path}) cannot be used: {unusable.message}"
        )
    user = ", ".join(repr(n) for n in store.names()) or "none yet"
    raise SettingsError(
        f"unknown preset {text!r}; built-in presets: {', '.join(PRESETS.names())}; your "
        f"presets (in {store.folder}): {user}; or give the path of a preset .json file"
    )


def _preset_file(path: Path) -> tuple[Preset, list[Problem]]:
    if not path.is_file():
        raise SettingsError(f"preset file {str(path)!r} does not exist; check the path")
    try:
        data = read_json(path)
    except SettingsError as exc:
        # read_json names the file by its base name ("nan.json holds NaN"): the full path here.
        said = str(exc).removeprefix(f"{path.name} ")
        raise SettingsError(f"preset file {path}: {said}") from None
    number = unreasonable_number(data)
    if number:
        raise SettingsError(f"preset file {path}: {number}")
    try:
        preset, notes = read_preset(data)
    except SettingsError as exc:
        raise SettingsError(f"preset file {path}: {exc}") from None
    return preset, [Problem(path, f"Preset file {path}: {note}") for note in notes]


def resolve_preset(key: str, store: PresetStore) -> Preset:
    kind, name = split_preset_key(key)
    if kind == USER:
        return store.get(name)
    if name not in PRESETS:
        raise SettingsError(f"the built-in preset {name!r} is not available in this camfx")
    return PRESETS.get(name)


# ------------------------------------------------------------------------------ app settings
Theme = Literal["system", "light", "dark"]
THEMES: tuple[str, ...] = get_args(Theme)
CameraMode = Annotated[list[int | float], Meta(min_length=3, max_length=3)]
"""[width, height, fps]."""


@dataclass
class AppSettings:
    """What the window restores on start. Unknown keys in the file are kept as they were.
    Each field's type is its schema (:mod:`pipelines.schema`): a value the file gives is
    checked against it on load."""

    preset: str = preset_key(BUILTIN, "off")
    preset_hides_room: bool = False
    """Whether :attr:`preset` hid the room (``Preset.hides_room``): a start whose last preset
    cannot be read (a half-saved file, a file gone) then hides the room with the built-in
    privacy preset, not Off, which sent the room sharp to the virtual camera (qa8)."""
    preset_overrides: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Unsaved live edits, per preset key: {preset key: {stage: {setting: value}}}. Switching
    presets keeps them; "Reset" drops them; "Save" writes them into a user preset."""
    source: str = ""
    """Last source spec; empty on first run (the app picks a camera, or the demo)."""
    camera_modes: dict[str, CameraMode] = field(default_factory=dict)
    """Camera spec → [width, height, fps] last chosen for it."""
    recent_files: Annotated[list[str], Meta(max_length=MAX_RECENT_FILES)] = field(
        default_factory=list
    )
    output_size: schema.OutputSize = (1280, 720)
    fps: schema.Fps = 30.0
    virtual_camera: bool = False
    virtual_camera_device: str = ""
    record_folder: str = ""
    close_to_tray: bool = True
    hotkeys: bool = True
    theme: Theme = "system"
    window_geometry: str = ""
    splitter_state: str = ""
    """The split between the preview and the effects (Qt's saved state, base64)."""
    panels_open: dict[str, bool] = field(default_factory=dict)
    """Per effect, whether its panel was unfolded (both came back folded and split as at the
    first start: qa64)."""
    tray_hint_shown: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in dataclasses.asdict(self).items() if k != "extra"}
        return {"schema": SETTINGS_SCHEMA_VERSION, **self.extra, **data}


class SettingsStore:
    """``settings.json``: loaded leniently (each bad value is reported and the file kept aside),
    saved atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else config_dir() / SETTINGS_FILE
        self.problems: list[Problem] = []
        self.first_run = False
        """No settings were read: there was no file, or none of it could be used (moved aside
        whole). The window then starts as on a first start (a preset that shows what camfx
        does), not on "Off"."""

    def load(self) -> AppSettings:
        self.problems = []
        settings = AppSettings()
        clean_stale_temp_files(self.path.parent)
        if not self.path.exists():
            self.first_run = True
            return settings
        self.first_run = False
        try:
            data = read_json(self.path)
            if not isinstance(data, dict):
                raise SettingsError("settings.json must hold a JSON object")
        except SettingsError as exc:
            self.problems.append(self._aside(f"Settings file: {exc}; defaults are used"))
            self.first_run = True
            return settings
        try:
            bad = self._read_into(settings, data)
        except Exception as exc:
            # Nothing in this file may stop the window from starting: it goes aside whole.
            log.debug("settings %s", self.path, exc_info=True)
            self.problems.append(
                self._aside(
                    f"Settings file could not be read ({type(exc).__name__}: "
                    f"{_cut(str(exc))}); defaults are used"
                )
            )
            self.first_run = True
            return AppSettings()
        if bad:
            self.problems.append(
                self._aside(
                    "Settings file: " + "; ".join(bad) + "; those settings are back to defaults",
                    keep=True,
                )
            )
        return settings

    def _read_into(self, settings: AppSettings, data: dict[str, Any]) -> list[str]:
        """Fill ``settings`` from ``data``; returns one description per refused value."""
        version = data.get("schema", SETTINGS_SCHEMA_VERSION)
        numbered = isinstance(version, int) and not isinstance(version, bool)
        if numbered and version > SETTINGS_SCHEMA_VERSION:
            self._keep_newer(version)
        elif numbered and 1 <= version < SETTINGS_SCHEMA_VERSION:
            data = migrate(FileKind.SETTINGS, data, version, SETTINGS_SCHEMA_VERSION)
        known = {f.name: f for f in dataclasses.fields(AppSettings) if f.name != "extra"}
        bad: list[str] = []
        for key, value in data.items():
            if key == "schema":
                continue
            if key not in known:
                settings.extra[key] = value
                continue
            if key == "preset_overrides":
                value = self._usable_overrides(value, bad)
            else:
                number = unreasonable_number(value, key)
                if number:
                    bad.append(number)
                    continue
            try:
                setattr(settings, key, schema.check_field(AppSettings, key, value))
            except SettingsError as exc:
                bad.append(str(exc))
        return bad

    def _usable_overrides(self, value: Any, bad: list[str]) -> Any:
        """``preset_overrides`` without the settings no stage can take (a 400-digit number):
        each is refused by name in one log line, the others are kept."""
        if not isinstance(value, dict):
            return value  # the schema says what is wrong with the whole value
        kept: dict[Any, Any] = {}
        for preset, stages in value.items():
            if not isinstance(stages, dict):
                kept[preset] = stages
                continue
            kept_stages: dict[Any, Any] = {}
            for stage, changes in stages.items():
                if not isinstance(changes, dict):
                    kept_stages[stage] = changes
                    continue
                kept_changes = {}
                for setting, v in changes.items():
                    number = unreasonable_number(
                        v, f"preset_overrides {preset} / {stage} / {setting}"
                    )
                    if number:
                        log.warning("%s: %s; that edit is dropped", self.path.name, number)
                        bad.append(number)
                        continue
                    kept_changes[setting] = v
                kept_stages[stage] = kept_changes
            kept[preset] = kept_stages
        return kept

    def _keep_newer(self, version: int) -> None:
        """A newer camfx wrote the file: this one reads what it understands, and keeps the
        file as it was in ``settings.json.schema-N`` before any save of its own."""
        shown = version if version < 10**6 else "far newer"
        backup = self.path.with_name(f"{self.path.name}.schema-{shown}")
        message = (
            f"{self.path.name} was written by a newer camfx (settings schema {shown}; this one "
            f"knows {SETTINGS_SCHEMA_VERSION}): what this camfx understands is used"
        )
        try:
            text = self.path.read_text(encoding="utf-8")
            if backup.exists() and backup.read_text(encoding="utf-8") != text:
                # An older copy from another round trip: keep it too.
                stamp = time.strftime("%Y%m%d-%H%M%S")
                backup = backup.with_name(f"{backup.name}-{stamp}")
            if not backup.exists():
                atomic_write_text(backup, text)
        except (OSError, UserDataError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(self.path, f"{message} (could not keep a copy: {exc})"))
            return
        log.warning("%s; the newer file is kept as %s", message, backup.name)
        self.problems.append(Problem(self.path, message, copied_to=backup))

    def _aside(self, message: str, keep: bool = False) -> Problem:
        """Keep the broken file for the user (a copy when the good parts are used)."""
        try:
            if keep:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                target = self.path.with_name(f"{self.path.name}.broken-{stamp}")
                n = 1
                while target.exists():
                    n += 1
                    target = self.path.with_name(f"{self.path.name}.broken-{stamp}-{n}")
                atomic_write_text(target, self.path.read_text(encoding="utf-8"))
                # A copy: the file stays in use (it said "moved aside … move it back": qa64).
                return Problem(self.path, message, copied_to=target)
            return Problem(self.path, message, move_aside(self.path))
        except (OSError, UserDataError, UnicodeDecodeError) as exc:
            return Problem(self.path, f"{message} (could not keep a copy: {exc})")

    def save(self, settings: AppSettings) -> None:
        atomic_write_json(self.path, settings.to_dict())
