"""The stage contract: ``open()``, ``process(image, ctx)``, ``close()`` and frozen settings.

Settings are a frozen dataclass swapped as a whole (``stage.settings = new``): a reference
assignment is atomic in CPython, and ``process`` reads ``self.settings`` once per frame, so a
GUI thread can change settings while the processing thread runs without locks and without a
frame ever seeing half-old, half-new values.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from pipelines import schema
from pipelines.frame import FrameContext
from pipelines.migrations import stage_id
from pipelines.registry import Registry

if TYPE_CHECKING:  # annotations only: `camfx --help` lists presets without loading numpy
    import numpy as np


@dataclasses.dataclass(frozen=True)
class StageSettings:
    """Base for every stage's settings. Subclasses add fields whose types carry their bounds
    (``Annotated[float, Meta(ge=0.0, le=1.0)]``) or choices (``Literal[...]``): the schema
    (:mod:`pipelines.schema`) checks them, and the window and the command line read them."""

    enabled: bool = True

    def __post_init__(self) -> None:
        schema.check_instance(self)

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build from plain data (a preset file), rejecting unknown keys and wrong types."""
        return cls(**schema.check(cls, data))


S = TypeVar("S", bound=StageSettings)


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

    def __init__(self, settings: S | None = None) -> None:
        self.settings: S = settings if settings is not None else self.settings_type()  # type: ignore[assignment]
        self._opened = False

    def open(self) -> None:
        """Acquire resources (models, buffers). Called once, on the processing thread."""
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

    @classmethod
    def has_prepare(cls) -> bool:
        return cls.prepare is not Stage.prepare

    def warm_up(self) -> None:
        """Finish now, blocking, one-time work that :meth:`open` leaves to a background thread
        (compiling kernels), so the first frames are timed like the rest: the benchmark calls
        it. The engine does not; a stage works (perhaps slower) until that work is done."""

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
