"""The one settings schema: typed dataclass fields, checked by msgspec.

Every user-settable value (a stage's settings, the app's settings file, a command-line option
that sets one of them) is declared once, as a dataclass field whose type carries its bounds or
choices in the way msgspec reads them::

    strength: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.35
    corner: Corner = "bottom-right"          # Corner = Literal["top-left", ...]

From that one declaration:

* :func:`check` and :func:`check_field` validate plain data (a preset file, ``settings.json``,
  a typed option) with ``msgspec.convert(strict=True)`` and raise one :class:`SettingsError`
  line that names the field and its bound;
* :func:`fields_of` describes each field (kind, bounds, choices) for the window's editors and
  the command line's option checks, so neither keeps bounds of its own.

msgspec rather than pydantic: its wheel is 0.2 MB (0.7 MB installed) against pydantic's
~7 MB with pydantic-core, in an app whose CPU-only install we keep small (issue 16), and it
checks plain dataclasses, so the settings stay frozen dataclasses swapped as a whole.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import typing
from typing import Annotated, Any, Literal

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

from pipelines.errors import SettingsError


class FieldKind(enum.StrEnum):
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    CHOICE = "choice"
    TEXT = "text"
    TUPLE = "tuple"
    OTHER = "other"


class FileKind(enum.StrEnum):
    """What a file field's file holds: the window's file dialog lists these files first."""

    IMAGE = "image"
    SOUND = "sound"
    """A sound file, or a video whose sound track is read."""
    VIDEO = "video"
    """A video whose pictures are read (a background video)."""


@dataclasses.dataclass(frozen=True)
class FileField:
    """Marks a ``str`` setting as a file's path, in its annotation::

        portrait: Annotated[str, FileField((FileKind.IMAGE,))] = ""

    The window gives it a text field and a "Browse…" button whose dialog lists ``kinds``; the
    value is still checked as the plain ``str`` it is (msgspec ignores this marker)."""

    kinds: tuple[FileKind, ...]
    words: str = ""
    """What else the field takes that is no file (the voice's "mic", "mic:NAME", "none"), in
    the user's words: the empty field and its tooltip say it."""


@dataclasses.dataclass(frozen=True)
class Label:
    """A field's words in the window, in its annotation, where its name alone would mislead
    (``paused`` read as "the video is paused", not "stand in now")::

        paused: Annotated[bool, Label("Stand in now", "In auto mode: …")] = False
    """

    text: str
    """The control's label (else the field's name in words)."""
    help: str = ""
    """Its tooltip: what the value does."""


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """What the schema says about one field, for editors, option parsers and messages."""

    name: str
    kind: FieldKind
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    file: FileField | None = None
    """Set for a ``str`` that names a file (:class:`FileField` in its annotation)."""
    label: Label | None = None

    @property
    def bounded(self) -> bool:
        return self.lo is not None and self.hi is not None


def _literal_values(hint: Any) -> tuple[str, ...]:
    """A Literal's values in their declared order (msgspec.inspect sorts them)."""
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return tuple(map(str, typing.get_args(hint)))


_M = typing.TypeVar("_M")


def _marker(hint: Any, marker: type[_M]) -> _M | None:
    """The ``marker`` instance in ``hint``'s ``Annotated`` extras, if any."""
    while typing.get_origin(hint) is typing.Annotated:
        hint, *extras = typing.get_args(hint)
        for extra in extras:
            if isinstance(extra, marker):
                return extra
    return None


def _spec(name: str, hint: Any, default: Any) -> FieldSpec:
    return dataclasses.replace(_typed_spec(name, hint, default), label=_marker(hint, Label))


def _typed_spec(name: str, hint: Any, default: Any) -> FieldSpec:
    info = mi.type_info(hint)
    if isinstance(info, mi.BoolType):
        return FieldSpec(name, FieldKind.BOOL, default)
    if isinstance(info, mi.IntType | mi.FloatType):
        kind = FieldKind.INT if isinstance(info, mi.IntType) else FieldKind.FLOAT
        return FieldSpec(name, kind, default, info.ge, info.le)
    if isinstance(info, mi.LiteralType):
        return FieldSpec(name, FieldKind.CHOICE, default, choices=_literal_values(hint))
    if isinstance(info, mi.StrType):
        return FieldSpec(
            name, FieldKind.TEXT, default, pattern=info.pattern, file=_marker(hint, FileField)
        )
    if isinstance(info, mi.TupleType):
        return FieldSpec(name, FieldKind.TUPLE, default)
    return FieldSpec(name, FieldKind.OTHER, default)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


@functools.cache
def _hints(owner: type) -> dict[str, Any]:
    return typing.get_type_hints(owner, include_extras=True)


def fields_of(owner: type) -> tuple[FieldSpec, ...]:
    """The fields of the dataclass ``owner`` as the schema declares them."""
    return _fields_of(owner)


@functools.cache
def _fields_of(owner: type) -> tuple[FieldSpec, ...]:
    hints = _hints(owner)
    return tuple(
        _spec(f.name, hints[f.name], _default(f)) for f in dataclasses.fields(owner) if f.init
    )


def field_spec(owner: type, name: str) -> FieldSpec:
    for spec in fields_of(owner):
        if spec.name == name:
            return spec
    raise KeyError(f"{owner.__name__} has no setting {name!r}")


@functools.cache
def _checker(owner: type) -> type[msgspec.Struct]:
    """A Struct with ``owner``'s fields: what msgspec converts data into to check it (the
    dataclass itself cannot be the target: its ``__post_init__`` checks through this)."""
    hints = _hints(owner)
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in dataclasses.fields(owner):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            fields.append((f.name, hints[f.name], f.default))
        elif f.default_factory is not dataclasses.MISSING:
            fields.append((f.name, hints[f.name], msgspec.field(default_factory=f.default_factory)))
        else:
            fields.append((f.name, hints[f.name]))
    return msgspec.defstruct(f"{owner.__name__}Schema", fields, forbid_unknown_fields=True)


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _message(label: str, spec: FieldSpec | None, exc: msgspec.ValidationError, value: Any) -> str:
    """msgspec's "Expected `float` <= 1.0 - at `$.x`" as one line in the user's terms, naming
    the field (``label``) and its bound."""
    text = str(exc)
    where = _AT.search(text)
    rest = where.group("path") if where else ""
    if spec is not None and spec.name and rest.startswith(f".{spec.name}"):
        rest = rest[len(spec.name) + 1 :]
    label += rest
    text = _AT.sub("", text)
    if text == "Number out of range":
        return f"{label} is out of range (a huge or non-finite number)"
    if spec is not None and not rest:
        shown = _short(value)
        if spec.kind is FieldKind.CHOICE:
            return f"{label} = {shown} is not one of {', '.join(map(repr, spec.choices))}"
        if spec.kind is FieldKind.BOOL:
            return f"{label} must be true or false, not {shown}"
        if spec.kind in (FieldKind.INT, FieldKind.FLOAT):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{label} must be a number, not {shown}"
            if spec.kind is FieldKind.INT and isinstance(value, float):
                return f"{label} must be a whole number, not {shown}"
            if spec.bounded:
                return f"{label} = {shown} is out of range [{spec.lo}, {spec.hi}]"
        if spec.kind is FieldKind.TEXT and not isinstance(value, str):
            return f"{label} must be text, not {shown}"
        if spec.kind is FieldKind.TEXT and spec.pattern:
            return f"{label} = {shown} is not written like {spec.default!r}"
        if spec.kind is FieldKind.TUPLE and not isinstance(value, list | tuple):
            return f"{label} must be a list, not {shown}"
    return f"{label}: {text[:1].lower()}{text[1:]}"


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return "a huge number"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _whole(owner: type, data: dict[str, Any]) -> dict[str, Any]:
    """Integral floats (3.0) for integer fields become ints, as before the schema: a file
    or a spin box may write one."""
    out = dict(data)
    for spec in fields_of(owner):
        value = out.get(spec.name)
        if spec.kind is FieldKind.INT and isinstance(value, float) and value.is_integer():
            out[spec.name] = int(value)
    return out


def check(owner: type, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` checked against ``owner``'s schema: the converted values of the fields it
    gives (lists become tuples where the schema says so). Unknown keys are refused."""
    if not isinstance(data, dict):
        raise SettingsError(f"{owner.__name__}: settings must be an object, not {data!r}")
    unknown = sorted(set(data) - {s.name for s in fields_of(owner)}, key=str)
    if unknown:
        raise SettingsError(f"{owner.__name__}: unknown setting(s) {', '.join(map(str, unknown))}")
    data = _whole(owner, data)
    try:
        checked = msgspec.convert(data, _checker(owner), strict=True)
    except msgspec.ValidationError as exc:
        name = _first_field(str(exc))
        raise SettingsError(_field_message(owner, name, exc, data.get(name))) from None
    return {name: getattr(checked, name) for name in data}


def check_instance(obj: Any) -> None:
    """Check a dataclass instance's current values (from ``__post_init__``)."""
    owner: type = type(obj)
    try:
        msgspec.convert(obj, _checker(owner), strict=True, from_attributes=True)
    except msgspec.ValidationError as exc:
        name = _first_field(str(exc))
        raise SettingsError(_field_message(owner, name, exc, getattr(obj, name, None))) from None


def check_field(owner: type, name: str, value: Any) -> Any:
    """One field's ``value`` checked (and converted) against ``owner``'s schema."""
    if name not in {s.name for s in fields_of(owner)}:
        raise SettingsError(f"{owner.__name__}: unknown setting {name!r}")
    value = _whole(owner, {name: value})[name]
    try:
        return msgspec.convert(value, _hints(owner)[name], strict=True)
    except msgspec.ValidationError as exc:
        raise SettingsError(_field_message(owner, name, exc, value)) from None


def _field_message(owner: type, name: str, exc: msgspec.ValidationError, value: Any) -> str:
    spec = next((s for s in fields_of(owner) if s.name == name), None)
    return _message(f"{owner.__name__}.{name}" if name else owner.__name__, spec, exc, value)


def type_spec(hint: Any, default: Any = None) -> FieldSpec:
    """What the schema says about a bare type (one of the shared types below)."""
    return _spec("", hint, default)


def check_value(hint: Any, value: Any, label: str) -> Any:
    """``value`` checked (and converted) against the type ``hint``; the message names
    ``label`` (a command-line option, say)."""
    try:
        return msgspec.convert(value, hint, strict=True)
    except msgspec.ValidationError as exc:
        raise SettingsError(_message(label, type_spec(hint), exc, value)) from None


def _first_field(text: str) -> str:
    where = _AT.search(text)
    if where is None:
        return ""
    path = where.group("path")
    m = re.match(r"\.(\w+)", path)
    return m.group(1) if m else ""


# ------------------------------------------------------------------------------ shared types
# Used by more than one owner (a stage and the app settings, a stage and a command-line
# option), so each bound is written once. Kept here, free of numpy, for ``camfx --help``.
Fps = Annotated[float, Meta(ge=1.0, le=240.0)]
"""Frames per second of a source, an output or an animation clock."""
Width = Annotated[int, Meta(ge=16, le=7680)]
Height = Annotated[int, Meta(ge=16, le=4320)]
OutputSize = tuple[Width, Height]
VideoDelayMs = Annotated[float, Meta(ge=0.0, le=500.0)]
"""How long the video is held back so lips and voice arrive together."""
AvatarMode = Literal["overlay", "stand-in", "auto"]
"""The talking head: in a corner, in place of the video, or in place of it while no face
is seen."""
