"""Where the person mask's soft outline lies over pixels of the room's own colour: a new
background's composite lowers the mask there.

The selfie network's output is a probability, and the guided filter that upsamples it is
linear in the frame's brightness. Near the outline both leave the mask at 0.2-0.5 over pixels
that are plainly room: a pale wall beside pale hair, and a flag's white stripe beside an
orange sleeve (the fit, fitted on dark red room and mid-grey orange person, extrapolates the
brighter white to "more than person"). Over a new background such a pixel shows the old
room at that strength: a light fringe around hair and shoulders, blotches along a sleeve (QA:
background-color on astronaut.jpg). A blur hides it (the room is blurred there anyway); a flat
colour or a picture shows it. So the replacement asks the frame's colour.

At the mask's reduced level (160×90 at 720p: :data:`MATTE_LONG_SIDE`), each pixel's
colour is compared with the colours of the sure room and the sure person around it (their
means, in units of their own spread: a striped flag is one room); its share of person,
``d_room / (d_room + d_person)``, caps the mask as far as both sides were seen nearby
(:func:`room_colour_keep`). What is sure room and sure person is the network's own say (the
guided filter may have painted a bright stripe as person). The composite multiplies its
full-resolution mask by the cap's ratio, resized (:func:`apply_keep`): the hair's fine
detail inside a reduced pixel stays.

What it does not do: where the network is unsure well inside the room (a blurred room's spots
that look like hair, 0.4-0.7 over a head's width beside it: obama_grin.jpg) the colours
around are the same spots; that patch stays as the network says.
"""

from __future__ import annotations

import cv2
import numpy as np

MATTE_LONG_SIDE = 160
"""The level (long side at most this: 160×90 at 720p, half the guide's) at which the colour
evidence is worked out. At 320×180 it cost 5-7 ms of CPU a frame (2026-12-06, load 4), at
160×90 0.4 ms, for 2.5 against 1.5 grey levels of fringe beside the wall in
tests/test_segmentation_halo.py."""
SURE_LO = 0.7
SURE_HI = 0.9
"""Mask values from which a pixel counts as sure person (a ramp from LO to HI). Sure person
is never lowered: clothes of the room's colour stay."""
ROOM_LO = 0.1
ROOM_HI = 0.3
"""Mask values up to which a pixel counts as sure room (a ramp from HI down to LO)."""
REACH_PX = 4
"""Radius (pixels of the reduced level: 32 frame pixels at 720p) of the neighbourhood whose
sure room's and sure person's colours a pixel is compared with."""
COLOUR_NOISE = 0.06
"""Colour distance (0..1 per channel) added to each side's spread: sensor noise, and a floor
where a side is one flat colour."""
SEEN = 0.15
"""Share of the neighbourhood that must be sure room (and sure person) for full trust."""
KEEP_ALL = 0.999
"""A keep ratio at least this everywhere: nothing to lower (the composite skips the work)."""


_CHANNEL_SUM = np.ones((1, 3), np.float32)


def _norm2(colour: np.ndarray) -> np.ndarray:
    """Per pixel, the sum over the three channels of the squares (one channel)."""
    return cv2.transform(cv2.multiply(colour, colour), _CHANNEL_SUM)


def _local_stats(
    colour: np.ndarray, square: np.ndarray, weight: np.ndarray, ksize: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Around each pixel, the ``weight``-weighted mean colour, its spread (mean squared
    distance from that mean, summed over the channels) and the weight it had. ``square``:
    :func:`_norm2` of ``colour``. OpenCV throughout: NumPy's broadcasting and einsum made the
    whole matte 5.9 ms at 320×180 (one frame's level is now 160×90: 0.4 ms)."""
    total = cv2.blur(weight, ksize)
    norm = np.float32(1.0) / np.maximum(total, np.float32(1e-6))
    mean = cv2.blur(cv2.multiply(colour, cv2.merge((weight, weight, weight))), ksize)
    mean = cv2.multiply(mean, cv2.merge((norm, norm, norm)), dst=mean)
    spread = cv2.blur(cv2.multiply(square, weight), ksize)
    spread = cv2.multiply(spread, norm, dst=spread)
    spread = cv2.subtract(spread, _norm2(mean), dst=spread)
    np.maximum(spread, 0.0, out=spread)
    return mean, spread, total


def _distance(colour: np.ndarray, mean: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Colour distance from ``mean`` in units of the spread's root (plus a noise floor): not
    squared, so that between two flat colours a mix of ``a`` parts of one is ``a`` of the
    way (the share is then the mix's own alpha, and a true soft outline is not lowered)."""
    distance = _norm2(cv2.subtract(colour, mean))
    floor = spread + np.float32(COLOUR_NOISE**2)
    distance = cv2.divide(distance, floor, dst=distance)
    return cv2.sqrt(distance, dst=distance)


def _ramp(mask: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at ``lo``, 1 at ``hi`` (either may be the larger), clipped."""
    gain = 1.0 / (hi - lo)
    ramp = cv2.addWeighted(mask, gain, mask, 0.0, -lo * gain)
    np.clip(ramp, 0.0, 1.0, out=ramp)
    return ramp


def room_colour_keep(
    frame: np.ndarray, mask: np.ndarray, network: np.ndarray | None = None
) -> np.ndarray | None:
    """The share of the mask to keep at each pixel (float32 in [0, 1], ``mask``'s size), or
    None where it keeps all of it. ``frame``: uint8 BGR at ``mask``'s size; ``mask``: float32
    in [0, 1]; ``network``: the network's own mask (any size), which says what is sure room
    and sure person (the refined mask may have painted bright room as sure person), else
    ``mask`` does. See the module's docstring."""
    colour = frame.astype(np.float32)
    colour *= np.float32(1.0 / 255.0)
    says = mask
    if network is not None:
        says = cv2.resize(network.astype(np.float32, copy=False), mask.shape[1::-1],
                          interpolation=cv2.INTER_LINEAR)  # fmt: skip
    sure = _ramp(says, SURE_LO, SURE_HI)
    room = _ramp(says, ROOM_HI, ROOM_LO)
    k = 2 * REACH_PX + 1
    square = _norm2(colour)
    room_mean, room_spread, room_weight = _local_stats(colour, square, room, (k, k))
    person_mean, person_spread, person_weight = _local_stats(colour, square, sure, (k, k))
    from_room = _distance(colour, room_mean, room_spread)
    from_person = _distance(colour, person_mean, person_spread)
    share = from_room / (from_room + from_person + np.float32(1e-6))
    # Trusted where both sides were seen nearby; never below sure person.
    trust = np.minimum(room_weight * np.float32(1.0 / SEEN), np.float32(1.0))
    trust *= np.minimum(person_weight * np.float32(1.0 / SEEN), np.float32(1.0))
    trust *= np.float32(1.0) - sure
    # The capped mask is mask − trust·max(0, mask − share); kept as a ratio of the mask.
    excess = np.maximum(mask - share, np.float32(0.0))
    excess *= trust
    keep = np.float32(1.0) - excess / np.maximum(mask, np.float32(1e-3))
    np.maximum(keep, 0.0, out=keep)
    if float(keep.min()) >= KEEP_ALL:
        return None
    return keep


def apply_keep(mask: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """``mask`` (any size) times ``keep`` resized to it bilinearly: a new array, or ``mask``
    itself when ``keep`` is None."""
    if keep is None:
        return mask
    h, w = mask.shape[:2]
    scaled = cv2.resize(keep, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(mask, scaled, dst=scaled)


__all__ = ["MATTE_LONG_SIDE", "apply_keep", "room_colour_keep"]
