"""The stage contract: ``open()``, ``process(image, ctx)``, ``close()`` and frozen settings.

Settings are a frozen dataclass swapped as a whole (``stage.settings = new``): a reference
assignment is atomic in CPython, and ``process`` reads ``self.settings`` once per frame, so a
GUI thread can change settings while the processing thread runs without locks and without a
frame ever seeing half-old, half-new values.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from pipelines import schema
from pipelines.frame import FrameContext
from pipelines.migrations import stage_id
from pipelines.registry import Registry

if TYPE_CHECKING:  # annotations only: `camfx --help` lists presets without loading numpy
    import numpy as np

    from pipelines.inference.model import OnnxModel


@dataclasses.dataclass(frozen=True)
class StageSettings:
    """Base for every stage's settings. Subclasses add fields whose types carry their bounds
    (``Annotated[float, Meta(ge=0.0, le=1.0)]``) or choices (``Literal[...]``): the schema
    (:mod:`pipelines.schema`) checks them, and the window and the command line read them."""

    enabled: bool = True

    HIDING_THE_ROOM: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    """The settings this stage always runs with in a preset that hides the room
    (``Preset.hides_room``), whatever its file says: a hand-edited copy of privacy-blur with
    ``"require_face": "true"`` (a string) ran with the default, False, and kept the room sharp
    (a failure that must be closed, not open)."""

    HIDES_THE_ROOM: ClassVar[bool] = False
    """Whether this stage hides what is behind the person: a preset that hides the room needs
    one (:func:`pipelines.userdata.validate_preset`)..."""
    NEEDS_THE_MASK: ClassVar[bool] = False
    """...after a stage that :data:`MAKES_THE_MASK`, where it works with the person's mask
    (without one it passes the frame through)."""
    MAKES_THE_MASK: ClassVar[bool] = False
    """Whether this stage puts the person's mask out for the stages after it."""

    def __post_init__(self) -> None:
        schema.check_instance(self)
        for spec in schema.fields_of(type(self)):
            value = getattr(self, spec.name)
            if spec.file is not None and isinstance(value, str) and value.startswith("~"):
                # A file's path from a preset file or the window: "~/bg.jpg" is the home
                # folder's, as on the command line (it "did not exist": qa64).
                object.__setattr__(self, spec.name, os.path.expanduser(value))

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build from plain data (a preset file), rejecting unknown keys and wrong types."""
        return cls(**schema.check(cls, data))


S = TypeVar("S", bound=StageSettings)

NO_BUDGETS: Mapping[str, float] = MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class BenchVariant:
    """Settings under which ``camfx bench`` times a stage again, in a short paced pass of its
    own: for a mode that the demo source never brings about (the talking head's stand-in,
    which ``auto`` shows only when no face is seen, and the demo's face is always in view)."""

    key: str
    """Where the pass's figures go in ``bench --json`` (``stand_in``)."""
    changes: Mapping[str, Any]
    """Applied with ``settings.replace(**changes)``, so the settings' schema checks them."""
    timer: str
    """The stage's timer that the pass is for (``stand-in``: ``talking_head/stand-in``): its
    budget, if any, is judged on this pass."""


class Stage(Generic[S]):
    """A processing step. Subclasses set ``name`` and ``settings_type`` and override hooks."""

    name: ClassVar[str] = "stage"
    settings_type: ClassVar[type[StageSettings]] = StageSettings
    analysis_only: ClassVar[bool] = False
    """True for stages that only write results into the context and return the image they
    were given (tracking, segmentation): the engine may run them for the next frame while the
    image stages of the previous frame still run."""
    budget_ms: ClassVar[float | None] = None
    """The time per 720p frame an issue set for this stage, if any: ``camfx bench`` reports
    the stage's median at the camera's pace against it."""
    timer_budgets_ms: ClassVar[Mapping[str, float]] = NO_BUDGETS
    """Budgets for the stage's own timers (``ctx.stage_ms["<name>/<timer>"]``), by timer, where
    one figure for the whole stage does not fit: a stage with two modes of different cost."""
    bench_variants: ClassVar[tuple[BenchVariant, ...]] = ()
    """Settings under which ``camfx bench`` also times the stage (see :class:`BenchVariant`)."""
    rehearsed: ClassVar[bool] = False
    """True for a stage whose first frames do one-time work (an ONNX session's first run,
    OpenCV's first calls, a compiled kernel's first call: 50-130 ms each for the tracker, the
    blur and the retouching on the 2-core machine) and that forgets its frames in
    :meth:`forget_frames`. When such a stage is in a list set while the engine runs, the
    engine's opener thread processes it on copies of the latest captured frame before the
    swap (:func:`pipelines.opener.rehearse`), then has it forget them: the first live frame
    through it costs what the later ones do, and shows nothing of the rehearsal."""
    compiled_kernels: ClassVar[bool] = False
    """True for a stage with a compiled path (:mod:`pipelines.segmentation.fused`, Numba) beside
    its OpenCV one: ``camfx bench`` says whether the kernels ran only where one of its stages
    has them (it told an ``off`` run to install Numba, which was there)."""
    placeholder_until_warm: ClassVar[bool] = False
    """True for a stage that shows a placeholder until the work :meth:`warm_up` finishes is
    done (the talking head: its portrait's still photo while the avatar is built). Runs that
    read files warm it up first, so that no frame they write shows the placeholder."""

    def __init__(self, settings: S | None = None) -> None:
        self.settings: S = settings if settings is not None else self.settings_type()  # type: ignore[assignment]
        self._opened = False
        self._reports: list[str] = []

    def settings_in_use(self) -> S:
        """The settings the stage runs with: :attr:`settings`, but where it declined one of
        them and said so (:meth:`report`), what it kept instead (the talking head's portrait,
        where a new one could not be used), so that the window shows and saves what runs."""
        return self.settings

    def report(self, message: str) -> None:
        """Tell the user something that is no failure of a frame: the stage could not do what
        its settings ask and goes on as it was (a new portrait that is not usable). The engine
        passes it on after the frame as a ``stage-warning`` event. Any thread."""
        self._reports.append(message)

    def take_reports(self) -> list[str]:
        """The messages :meth:`report` got since the last call (the engine calls this)."""
        reports = self.__dict__.get("_reports")
        if not reports:
            return []
        taken, self._reports = reports, []
        return taken

    def open(self) -> None:
        """Acquire resources (models, buffers). Called once, before the stage's first
        ``process``, and never while its ``process`` or ``close`` runs; never on the thread
        that processes: the engine opens each stage on a thread of its own (one that never
        returns is then left behind: :mod:`pipelines.opener`), frames going on through the
        running list meanwhile. So state that ``open`` makes is plain state on the stage, not
        thread-local."""
        self._opened = True

    def prepare(self, image: np.ndarray, ctx: FrameContext) -> None:
        """Optional work that needs only the captured frame and nothing from earlier stages,
        such as a model's inference; ``process`` then finds its results in ``ctx``. The engine
        calls it once per frame before ``process``: for an analysis stage at the head of the
        pipeline it may do so on a helper thread while the stages before this one still run
        on the same frame (the segmentation model beside the face tracker)."""

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        """Return the (possibly new) image; put results into ``ctx``. Must not keep ``ctx``."""
        return image

    def set_following(self, following: Sequence[Stage[Any]]) -> None:
        """Told by the engine whenever its stage list is set: the stages that run after this
        one on each frame, in order (the engine skips those whose settings are disabled). A
        stage may fold the next one's work into its own pass over the frame (the background
        blur puts its composite through light_color's curves); the default ignores it."""

    @classmethod
    def time_budgets(cls) -> dict[str, float]:
        """Every budget of the stage (ms per 720p frame), by the name its time has in the
        engine's statistics: the stage's own for ``budget_ms``, ``name/timer`` for the rest."""
        out = {cls.name: cls.budget_ms} if cls.budget_ms is not None else {}
        out.update({f"{cls.name}/{timer}": ms for timer, ms in cls.timer_budgets_ms.items()})
        return out

    @classmethod
    def has_prepare(cls) -> bool:
        return cls.prepare is not Stage.prepare

    def check_files(self) -> None:
        """Raise a :class:`~pipelines.errors.CamfxError` naming the file now when a file this
        stage's settings name cannot be used. A run from the command line calls it before its
        outputs open (``RunConfig.stages_required``); the window does not, so that a stage
        whose file fails goes on as its own failure handling says. None by default."""

    def warm_up(self) -> None:
        """Finish now, blocking, one-time work that :meth:`open` leaves to a background thread
        (compiling kernels), so the first frames are timed like the rest: the benchmark calls
        it. The engine does not; a stage works (perhaps slower) until that work is done."""

    def wait_warm(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the one-time work :meth:`open` left to a background
        thread (what :meth:`warm_up` finishes without a limit); whether it is done. The
        opener thread waits so before the swap: Numba's load of the cached kernels (0.8 s with
        Python's bytecode cached, 1.7-2.2 s without, load 2.5-5) holds the GIL in stretches
        of up to 50-80 ms; beside a light running list that costs its frames little, where
        after the swap it slowed the new list's frames to 100-330 ms. The default has no such
        work."""
        return True

    def forget_frames(self) -> None:
        """Forget what the frames processed so far left behind (tracked faces, smoothing,
        temporal masks, eased values): the next frame is processed as the first after
        :meth:`open`. Called by the engine after a rehearsal (:attr:`rehearsed`), never while
        the stage processes; what speeds frames up and shows in none (models, buffers,
        compiled kernels) is kept."""

    def models(self) -> tuple[OnnxModel, ...]:
        """The networks this stage runs on its frames now: what it loaded in :meth:`open` (or
        later, for a setting changed while open) and keeps. The status bar names these as the
        models in use: networks stay loaded in ``load_model``'s cache after their preset
        stops, so what is loaded does not tell what runs. None by default; a stage that loads
        one answers it (``tests/test_stage_models.py`` checks every built-in preset's stages
        against what ``load_model`` gave them). Called from the GUI thread while the
        processing thread runs: it reads the stage's references once and changes nothing."""
        return ()

    def close(self) -> None:
        """Release resources. Idempotent."""
        self._opened = False

    @property
    def is_open(self) -> bool:
        return self._opened

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings!r})"


StageT = TypeVar("StageT", bound=type[Stage[Any]])
STAGES: Registry[type[Stage[Any]]] = Registry("stage")


def register_stage(cls: StageT) -> StageT:
    STAGES.add(cls.name, cls)
    return cls


def make_stage(name: str, settings: dict[str, Any] | None = None) -> Stage[Any]:
    cls = STAGES.get(stage_id(name, STAGES.names()))
    st = cls.settings_type.from_dict(settings or {})
    return cls(st)


def stage_settings_type(name: str) -> type[StageSettings]:
    """The settings class of the stage registered as ``name`` (an old name too)."""
    settings_type: type[StageSettings] = STAGES.get(stage_id(name, STAGES.names())).settings_type
    return settings_type
