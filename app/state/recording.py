"""What the window's recordings hold for sound: the decisions, without Qt.

A recording made in the window follows each frame: the talking head's voice where it speaks,
else the video file source's own sound (as ``camfx run --source talk.mp4 --output out.mp4``
records it), else silence (:class:`~pipelines.audio.mux.TalkingHeadVoice`). The window's
source times its frames by capture, so a video's frames are placed for that sound here
(:class:`LivePlaces`), and what the start of a recording says about it is decided here
(:func:`recording_inputs`), both tested without a display (``tests/test_window_video_sound.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipelines.audio.mux import LiveMediaPlace
from pipelines.input_notes import RecordedSound, RunInputs
from pipelines.sources.base import MediaPlace

PLACE_AGAIN_AFTER_S = 0.1
"""How far a video frame's capture time may lie from where its pass's place puts it before the
pass is placed again (the sound then goes on from where the pictures are). A source paced in
real time stamps each frame after its decode, up to a frame period and the decode late under
load (a late frame is skipped past); its clock starts again only after it fell over a second
behind (a pause, a stall), which moves every later frame by that much. Between the two: more
than three frames at 30 fps, less than the shortest restart."""


class LivePlaces:
    """The :class:`~pipelines.audio.mux.LiveMediaPlace` of each frame the window's source
    passes on (its capture-clock time is where the recording puts it).

    A new pass starts at each pass through a file, after a pause (:meth:`forget`) and with
    each source given, the same file opened again included: a switch during a recording
    (camera → video, video → another video or the same one again) is heard from the new
    source's first frame, its sound from its start, never the old file's sound under the new
    pictures. Within a pass the place stays put while the frames keep to it, so the sound is
    continuous; two frames in a row off it by over :data:`PLACE_AGAIN_AFTER_S` (the source's
    clock restarted) place it again from the earlier-stamped of them (the less late)."""

    def __init__(self) -> None:
        self._passes = 0
        self._source: object = None
        self._file_loop: int | None = None
        self._place: LiveMediaPlace | None = None
        self._off: float | None = None
        """The place the last frame would have had, where it was off the current one."""
        self._first: tuple[float, float | None] = (0.0, None)
        """The current pass's first frame seen: its time into the pass by its index, and its
        own stamp."""

    def place(
        self,
        source: object,
        media: MediaPlace | None,
        index: int,
        fps: float,
        captured: float,
        media_s: float | None = None,
    ) -> LiveMediaPlace | None:
        """The place of a frame of ``source`` (any object that stays the same while the source
        does), whose own :class:`MediaPlace` is ``media`` (None: not a video file's frame),
        ``index`` the source's frame index, ``fps`` its rate, ``captured`` its capture time,
        ``media_s`` its own time stamp in the file where the source gives it
        (:meth:`~pipelines.sources.base.Source.media_time_s`)."""
        if media is None or fps <= 0:
            self._place = None
            return None
        into_pass = index / fps - media.starts_at_s
        current = self._place
        if current is None or source is not self._source or media.loop != self._file_loop:
            self._passes += 1
            self._source, self._file_loop = source, media.loop
            self._first = (into_pass, media_s)
            return self._set(LiveMediaPlace(media.path, self._passes, captured - into_pass))
        first_into, first_media = self._first
        if media_s is not None and first_media is not None:
            # The frames' own stamps from the pass's first frame seen: a file of variable
            # frame rate is paced by them, and its sound lies where they say, not at index /
            # fps (a screen recording's held second would move the sound that far).
            into_pass = first_into + media_s - first_media
        starts_at = captured - into_pass
        if abs(starts_at - current.starts_at_s) <= PLACE_AGAIN_AFTER_S:
            self._off = None
            return current
        off, self._off = self._off, starts_at
        if off is None or abs(starts_at - off) > PLACE_AGAIN_AFTER_S:
            return current  # one frame late (or early): not the source's clock
        return self._set(LiveMediaPlace(media.path, current.loop, min(off, starts_at)))

    def forget(self) -> None:
        """The source stopped being read (the window paused): its next frame starts a new
        pass, placed by its own time (the source's clock restarts after a pause of over a
        second; one frame of sound from the old place would be heard under it otherwise)."""
        self._place = None

    def _set(self, place: LiveMediaPlace) -> LiveMediaPlace:
        self._place, self._off = place, None
        return place


def talking_head_speaks(stages: Iterable[Any]) -> bool:
    """Whether a stage of the window's preset gives the talking head a voice (its
    ``audio_mouth`` stage on a microphone or a voice file, not ``none``)."""
    from pipelines.audio.inputs import AudioError, parse_audio_spec

    for stage in stages:
        spec = getattr(getattr(stage, "settings", None), "input", None)
        if getattr(stage, "name", "") != "audio_mouth" or not isinstance(spec, str):
            continue
        try:
            if parse_audio_spec(spec)[0] != "none":
                return True
        except AudioError:
            continue  # the stage says why in its own line, and nothing speaks
    return False


def recording_inputs(source: str, path: str, size: tuple[int, int], *, speaks: bool) -> RunInputs:
    """What a window's recording at ``path`` of ``source`` will hold, for the notes its start
    shows (:func:`~pipelines.input_notes.recording_notes`): with a talking head speaking, its
    voice where it speaks (a video's own sound is not recorded, and the note says so);
    otherwise the video's own sound, which needs no note."""
    sound = RecordedSound.VOICE_WHERE_SPOKEN if speaks else RecordedSound.VIDEO_SOUND
    return RunInputs(source=source or None, recordings=(path,), sound=sound, size=size)
