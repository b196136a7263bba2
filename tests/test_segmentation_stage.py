"""The segmentation stages in the engine, through the presets, and the person_mask helper."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from golden_data import face_photo

from pipelines.engine import Engine
from pipelines.frame import Frame
from pipelines.outputs.base import Output
from pipelines.presets import build_stages, get_preset
from pipelines.segmentation import person_mask
from pipelines.sources.base import SourceConfig
from pipelines.sources.demo import DemoSource

ENGINE_FRAMES = 6
ENGINE_TIMEOUT_S = 60.0
PERSON_SHARE_MIN = 0.2  # the demo portrait: a good part of the frame is the person


class Keep(Output):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []

    def write(self, frame: Frame) -> None:
        super().write(frame)
        self.frames.append(frame)


def test_person_mask_helper() -> None:
    image = face_photo("astronaut")
    mask = person_mask(image)
    assert mask.shape == image.shape[:2] and mask.dtype == np.float32
    assert float(mask.min()) >= 0.0 and float(mask.max()) <= 1.0
    assert float((mask > 0.5).mean()) > PERSON_SHARE_MIN


def test_presets_build_and_run_in_the_engine() -> None:
    import pipelines.segmentation.presets  # noqa: F401  (registers the presets)

    for name in ("background-blur", "privacy-blur", "background-color"):
        stages = build_stages(get_preset(name))
        # Only me is on wherever the background is blurred or replaced (issue 17).
        # Where the faces are comes from the detector alone (face_boxes), not a tracker.
        assert [s.name for s in stages[:2]] == ["face_boxes", "segmentation"]
        assert stages[1].settings.only_me  # type: ignore[attr-defined]
        assert stages[2].name in ("background_blur", "background_replace")
    privacy = build_stages(get_preset("privacy-blur"))[2].settings
    assert privacy.strength == 1.0 and privacy.desaturate == 1.0  # type: ignore[attr-defined]
    # Only privacy-blur fails closed: a person only where a face found them.
    assert [build_stages(get_preset(name))[1].settings.require_face  # type: ignore[attr-defined]
            for name in ("background-blur", "privacy-blur", "background-color")] == [
        False, True, False,
    ]  # fmt: skip

    source = DemoSource("", SourceConfig(width=320, height=180, paced=False))
    source.open()
    out = Keep()
    engine = Engine(
        source, build_stages(get_preset("background-blur")), [out], lossless=True,
        max_frames=ENGINE_FRAMES,
    )  # fmt: skip
    with engine:
        assert engine.wait(ENGINE_TIMEOUT_S)
    source.close()
    assert len(out.frames) == ENGINE_FRAMES
    for frame in out.frames:
        assert not frame.ctx.errors
        assert frame.ctx.mask is not None and frame.ctx.mask.shape == (180, 320)
        assert "segmentation" in frame.ctx.stage_ms and "background_blur" in frame.ctx.stage_ms
    assert engine.snapshot() is not None


def test_presets_module_and_package_import_nothing_heavy() -> None:
    code = (
        "import sys, pipelines.segmentation, pipelines.segmentation.presets; "
        "print(sorted(m for m in ('cv2', 'onnxruntime') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)  # fmt: skip
    assert result.stdout.strip() == "[]"
