"""Per-frame rendering: weighted basis fields → one ``cv2.remap``, then the mouth interior.

Only the box that active bases touch is remapped; everything else is the portrait's own
pixels. With all weights zero the result *is* the portrait, bit for bit.

An open mouth is not stretched lips: inside the inner lip outline (curves through the inner-lip
landmarks, their corners rounded as the mouth opens, the lips' colour spread into what the
rounding cut off) the renderer paints a red-brown cavity lit like the face (a thin lit rim at the
lips, a dark crease just inside it, lit walls, the roof in the upper teeth's shadow, the back
of the mouth darkest in a small area), a broad tongue lying in the lower third, lit with a
soft wet highlight, and the upper teeth and a lower row, blended in by how much the opening
grew. A small opening is a dark slit: light and the teeth come in with the opening
(:data:`CAVITY_LIT`, :data:`TEETH_SHOW`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.avatar.rest import TeethTexture
from pipelines.avatar.rig import HEAD_BASES, JAW_WIDE, LID_BASES, Rig, lip_turned
from pipelines.tracking import regions

INNER = np.array(regions.LIPS_INNER)
# Upper inner lip from corner to corner over the top; lower inner lip likewise.
_I308 = list(regions.LIPS_INNER).index(308)
UPPER_INNER = np.array(regions.LIPS_INNER[: _I308 + 1])
LOWER_INNER = np.array((regions.LIPS_INNER[_I308:] + regions.LIPS_INNER[:1])[::-1])
_UPPER_MIDDLE = list(UPPER_INNER).index(13)
# The upper lip's outer line, corner to corner over the top (as UPPER_INNER runs).
UPPER_OUTER = np.array(regions.LIPS_OUTER[: list(regions.LIPS_OUTER).index(291) + 1])

TEETH_BGR = np.array([205, 218, 228], np.float32)
"""Ivory, before the face's light is applied."""
TEETH_LIGHT = 1.3
"""Teeth's brightness over the skin's (mean of B, G, R) before their shading."""
COARSE_BASES = HEAD_BASES
GAZE_BASES = ("gaze_right", "gaze_left", "gaze_up", "gaze_down")
"""Head turns move large, smooth areas: their fields are kept and summed at half resolution
and upsampled once (their sum differs from the full-resolution one by < 0.1 px)."""
SUPERSAMPLE = 1
"""The mouth's interior is drawn at this many times the output resolution and shrunk. 1: its
outlines are drawn anti-aliased at 1/16 pixel (LINE_AA, 4 fractional bits) and the teeth's
soft-edged, which measured as smooth as 2× at 512 px and ~2 ms less per frame."""
TEETH_HEIGHT = 0.045
"""Upper incisors' visible height at most, in face heights."""
OWN_TEETH_SPLIT = 0.6
"""Where the portrait's own interior is split between upper (skull) and lower (jaw) teeth,
as a fraction of its inner-lip gap from the top."""
LID_SEAM_PX = 1.5
"""A lid field read between its pixels whose blended offset differs from the nearest one's by
more than this (pixels) lies on the closed lids' seam. Elsewhere the lid skin stretches by at
most ~2.6× (1.6 px per pixel), so a half-pixel step differs by ~1.1 px at most."""
LID_SEAM_EYE_INSET = 1
"""Where the lids' offsets point against each other (:func:`_lids_meet`), the nearest pixel's
offset is taken when the blend would sample the open eye: the landmarks' ring less this many
pixels (the ring lies on the lids' wet margin, at the eyeball's edge: rig.LID_MARGIN), as the
blink tests' shut-eye check reads it. Measured 2026-12-05 under that check's head poses, the
open eye's pixels in the shut frames: astronaut_turned 2 -> 0, astronaut_rims 2 -> 0,
photographer_turned 5 -> 0, brothers_sepia 1 -> 0, astronaut_turned_far 1 -> 0,
astronaut_grey_small 1 -> 1 (a gaze pose: the gaze field, read after the lids, carries a
blend on the ring's edge a pixel in). With 0 (the whole ring) that one too, but 8-12 more
pixels of canonman_turned's shut check frames changed, and its build's lid search (a tracker
that starts where it found the face the frame before) then kept the hooded lids over
lids.DEEPER_SHAPE: 7 of 8 posed blinks seen, not 8."""
CAVITY_DEPTH = 0.15
"""The cavity darkens from the lips' edge to its crease over this share of the opening (plus
a pixel). At 0.45 a wide-open mouth was a mid-grey rim around a dark centre, and the tracker
put the lower lip on the rim's inner edge: on the grey moustached tuning portrait, tracked
against asked opening r 0.948/0.954 -> 0.952/0.967 (two validation voices), the jaw sweep's
r 0.880 -> 0.917; astronaut and astronaut_rot30 up by 0.002-0.006."""
CAVITY_EDGE = 0.55
"""The cavity's shade (× its colour) at the lips' edge."""
CAVITY_DEEP = 0.15
"""The cavity's darkest shade (× its colour): the crease inside the lips, the back of the
mouth, and all of a small opening's inside."""
CAVITY_CREASE = 0.1
"""Share of the opening (plus a pixel) over which the cavity lightens from its crease, just
inside the lips' lit rim, to its walls (CAVITY_BODY): the lips' inner faces turn away from
the light, and the tracker needs that dark line. Walls lit up to the rim (no crease, walls at
0.45) cost every tuning portrait's tracked against asked opening r (two validation voices,
tools/mouth_tracked.py: astronaut 0.985/0.985 -> 0.978/0.979, grey moustached 0.954/0.961 ->
0.939/0.944, grey small 0.936/0.954 -> 0.903/0.925). With this crease and walls at 0.7 (own
teeth): 0.990/0.992, 0.971/0.977, 0.961/0.975, the others equal or up; drawn teeth: grey small
0.938/0.959 -> 0.971/0.977, but astronaut 0.982/0.981 -> 0.976/0.977 and the rimmed one
0.983/0.987 -> 0.974/0.981. A wider crease (0.15, 0.2) read the same r but a lower slope of
tracked on drawn opening over the jaw sweep (astronaut 0.828 at 0.1, 0.805 at 0.15, 0.796 at
0.2; 0.806 before)."""
CAVITY_BODY = 0.7
"""The shade of the mouth's walls and floor in a wide opening, past the crease: a dark red-brown
lit through the lips like the face (the wide cavity's mean grey 0.23-0.25 of the skin's, teeth
left out, on the tuning portraits; 0.14-0.15 with the near-black cavity before). Walls at 0.6
and at 0.75 measured alike on the tracker (crease 0.2)."""
CAVITY_LIT = (0.03, 0.10)
"""Opening (face heights) from which light gets into the cavity past its crease, and by which
the walls are lit fully: a small opening stays a dark slit (see TEETH_SHOW)."""
CAVITY_ROOF = 0.5
"""How much darker the roof is just under the upper lip (the upper teeth's shadow), fading
out quadratically by 0.6 of the way down."""
CAVITY_BACK = (0.55, 0.3, 0.5)
"""The back of the mouth, darkest (CAVITY_DEEP) in a small soft area: its half-width (share of
half the mouth's width), half-height and centre (shares of the opening down from the upper
lip's edge)."""
TONGUE_TOP = 0.3
"""How far the tongue's top rises above the lower lip's inner edge, as a share of the opening:
in the lower third, above the lower teeth (at 0.22 their row hid all but a 0.09 band of it).
History: 0.38 at first (the tongue's lit top a third of the way up in a dark cavity); 0.22 then
(mouth14, 2026-12-03, tried 0.35: on the grey moustached tuning portrait the jaw sweep's r
0.917 -> 0.947, but on held-out einstein_midword r fell 0.79/0.75 -> 0.76/0.64 with the
near-black cavity). With the crease and lit walls (cavity16; walls 0.45, crease 0.2), 0.3
against 0.22 on the tuning portraits' validation voices: tracked against asked r up (astronaut
0.986/0.984 -> 0.989/0.990, grey moustached 0.951/0.958 -> 0.964/0.970, drawn teeth alike),
the sweep's slope of tracked on drawn opening down on the colour astronaut (0.796 -> 0.778);
0.26 fell between. The lower slope of the lit cavity against the near-black one on the colour
tuning portraits comes from the walls, not from the tongue (0.22: 0.748-0.796 there)."""
TONGUE_SINK = 0.06
"""How far below the lower lip's inner edge the tongue's floor sits (share of the opening):
hidden behind the lip."""
TONGUE_LIGHT = (0.45, 0.35)
"""The tongue's shade: base + lit × this."""
TONGUE_FLAT = 3.0
"""The exponent of the tongue's outline across (2: a half disc)."""
TONGUE_BACK = 0.2
"""How much darker the tongue's back (its top edge in the picture) is than its front."""
TONGUE_GLINT = 0.18
"""The wet highlight's strength (× the tongue's mean level, added)."""
TONGUE_GLINT_AT = (0.2, 0.72, 0.18, 0.12)
"""The highlight's centre (|u| either side of the groove, v up from the floor) and its soft
half-widths, in the tongue sprite's coordinates."""
LOWER_LIP_SHADE = 0.8
"""How much darker what lies just inside the lower lip is (tongue, lower teeth, the photo's own
lower mouth), at the lip's edge: the lower lip's inner face, turned away from the light and
overhanging them. Without it a light tongue or lower teeth row met the lower lip with no line
between them, and the tracker put the lower lip on their top edge, 2-7 px inside the mouth at
jaw 0.3-0.8 on the turned moustached tuning portraits; with drawn teeth on the grey
moustached one the small and middle openings read 0.006/0.022/0.040 at a drawn
0.024/0.044/0.064. Tracked against asked opening r there, two validation voices
(tools/mouth_tracked.py): 0.963/0.969 -> 0.988/0.990, turned55_moustache 0.964/0.974 ->
0.976/0.982, photographer_grey_parted 0.967/0.979 -> 0.983/0.988, the others equal or up;
loudness r within -0.008 (grey moustached, own teeth) to +0.022. Shades 0.6 and 0.8 and widths
0.05-0.25 read alike; drawn under the teeth (the tongue and cavity alone) it changed nothing:
the light lower teeth were what the tracker took for the lip."""
LOWER_LIP_SHADE_WIDTH = 0.05
"""The shade's width (a Gaussian's, from the opening's edge in): this share of the opening
plus a canvas pixel. 0.1-0.25 read alike but greyed a drawn lower row of teeth."""
LOWER_LIP_SHADE_FROM = (0.5, 0.8)
"""Where the shade starts along the way down the opening (shares of it from the upper lip's
edge), and where it is full: the lower lip's part of the edge, not the upper teeth's."""
UPPER_LIP_SHADE = 0.8
"""How much darker what lies just under the upper lip is (the upper teeth's root end, the
photo's own upper teeth), at the lip's edge: the upper lip's inner face over them, turned away
from the light; drawn as far as the upper lip, as photographed, is as light as those teeth
(:data:`UPPER_LIP_CONTRAST`), once they show (:data:`TEETH_SHOW`). Under a grey moustache the
light upper teeth met it with no line, and the tracker put the upper lip's inner edge (13)
part way down them, 2-6 px inside the mouth at jaw 0.6-1.0 (the grey moustached tuning
portrait with its own teeth: 37.0 px tracked for a drawn 44.7 at jaw 1.0; the sweep's
tracked opening 0.130 0.130 0.134 0.145 from jaw 0.7 on, tools/mouth_tracked.py). With it:
40.4 px; tracked against asked r 0.977/0.980 -> 0.985/0.988 (two validation voices), p95
opening 0.128/0.127 -> 0.147/0.146, loudness r 0.816/0.890 -> 0.821/0.890, the sweep's r
0.952 -> 0.983. Shade and width as the lower lip's (:data:`LOWER_LIP_SHADE`); at 0.4 the
sweep's r (read by the measuring tracker, 21 steps) went 0.946 -> 0.964, at 0.8 to 0.980.
Drawn all round every opening at 0.8, it drew a dark outline round the turned moustached
portrait's mouth and cost its tracked against asked r 0.968/0.980 -> 0.957/0.974."""
UPPER_LIP_SHADE_FROM = (0.5, 0.2)
"""Where the upper lip's shade starts, going up the opening (shares of it from the upper lip's
edge), and where it is full: the upper lip's part of the edge, not the lower lip's."""
UPPER_LIP_CONTRAST = (4.0, 11.0)
"""Colour difference (CIE76 ΔE, 8-bit Lab) between the upper lip as photographed (its median,
outer to inner lip line: a moustache where one hides it) and the upper teeth (the photo's own,
or the drawn ones' colour), at or under which the upper lip's shade is full, and from which
none is drawn: a lip darker or redder than the teeth draws its own edge. Measured: the grey
moustached tuning portrait 2.4 with its own teeth (full shade), 12.9 with drawn ones;
cameraman 6.7 (its lips part too little for the teeth to show: no shade drawn); the turned
moustached one 11.5 (ivory teeth under a bluish moustache); astronaut_grey_small 13.7; every
other tuning portrait 14-49. With (5, 15) the turned moustached one (0.35 of the shade),
astronaut_grey_small, astronaut_pale_lashes and the grey moustached one with drawn teeth
(0.1-0.2) changed by -0.003 to +0.002 in tracked against asked r (two validation voices,
tools/mouth_tracked.py), the turned moustached one down: only the lightest lips take it."""
DIM_LIPS = (32.0, 15.0)
"""The lips' median grey (the photo's own, 0-255, outer to inner lip line) from which a photo
counts as dim, and the grey over which its dimness (:func:`_dimness`) grows by one: 0 at 32
and over, 1 at 17, :data:`DIM_MOST` at 2 and under. On a dim photo the lower lip is as dark as
the cavity under it and the drawn teeth and tongue, lit in proportion to the skin, sink with
it, and the tracker reads no opening (the sweep's ``dim`` canonman_turned, lips at 17: 0.000-0.001
read at a drawn 0.04-0.20; brightening that frame's whole picture by gamma 0.45 after the render
brought it back to 0.05-0.10, brightening the mouth's box alone did not). Lips measured on the
tuning photos: the canonman ones 36-40 (the darkest), photographer_turned made dark (the sweep's
gamma 2.2) 43, every other 110-206: all of them render as before."""
DIM_MOST = 2.0
"""The most dimness counted (the sweep's ``dark`` canonman photos' lips are at 4-5)."""
DIM_MOUTH_LIGHT = 2.0
"""The drawn teeth and tongue are lit (1 + this × the dimness) times as the skin's level asks:
a photo's tone curve darkens its darks far more than its lights (gamma 1.5 takes skin at 170 to
139 and teeth at 220 to 204), so on a dim photo light teeth stand further above the skin."""
LIP_RIM_GAIN = 1.5
"""On a dim photo the lower lip's rim along the opening is drawn (1 + this × the dimness) times
lighter at its middle: the lip's wet upper face, turned up to the light, is its lightest part,
and the tracker needs its edge. (Post-render trials on the ``dim`` canonman_turned, jaw 0.35 /
0.5 / 0.65, rim alone: 1.6 times read 0.001 / 0.027 / 0.008, 2.5 times 0.071 / 0.098 / 0.055 for
a drawn 0.073 / 0.103 / 0.133.)"""
LIP_RIM_WIDTH = 0.03
"""The rim's depth down the lower lip from the opening's edge, in face heights."""
DIM_TEETH_LEAST = 100.0
"""On a dim photo the drawn teeth (and the tongue, lit alike) are lit to at least this mean
grey (0-255), in full from a dimness of 1 (lips at 17) and in proportion below it. Lit only in
proportion to the skin (:data:`DIM_MOUTH_LIGHT`), a dark photo's teeth stayed in the dark (the
sweep's ``dark`` canonman_turned, gamma 2.2: skin at 3-9, teeth at 38), where a tone curve that
crushes the skin keeps its lights (the teeth are the face's lightest surface), and the tracker
read that mouth shut from jaw 0.6 (0.01-0.12 of the drawn gap). The ``dim`` photos' teeth were
at 83: lit to 100 there too (canonman_turned dim, four tuning clips, r 0.70 / 0.78 / 0.83 / 0.87
before, 0.78 / 0.90 / 0.87 / 0.91 with this and :data:`LIP_RIM_LEAST`)."""
LIP_RIM_LEAST = 0.5
"""On a dim photo the lower lip's rim (:meth:`AvatarRenderer._lit_lower_lip`) is at least this
fraction of the drawn teeth's light, at its middle (and as far as the mouth is open): lit only
by a gain (:data:`LIP_RIM_GAIN`), a lip crushed to grey 2-7 stayed black, and the tracker found
no lower lip under the black cavity. The ``dark`` canonman_turned, its espeak clip with pauses
(teeth at 80, the tongue's full hue): the rim at 0.3 of the teeth r 0.65, 0.5 0.87, 0.7 0.89;
0.5 with the teeth unlit 0.36, the teeth lit with no rim 0.51-0.55 (at 80-120); main 0.31.
Four tuning clips with both: 0.13 / 0.32 / 0.12 / 0.35 before, 0.79 / 0.90 / 0.86 / 0.91 after
(p95 opening 0.109 -> 0.189); canonman_hooded dark 0.31 / 0.41 / 0.50 / 0.53 -> 0.81 / 0.93 /
0.89 / 0.94. Left: at jaw 1.0 the tracker still puts 14 under the upper teeth there (0.04-0.14
of the drawn gap), as on the photo itself."""
LIP_RIM_SATURATION = 0.75
"""The rim's colour: the drawn tongue's hue, its saturation times this. A dark photo's tone
curve saturates its darks, and the tongue's full hue drew an orange line along the lip; at 0.75
and 0.5 the rim reads as lip. The ``dark`` canonman_turned's four clips: 0.5 r 0.76 / 0.88 /
0.84 / 0.89, 0.75 0.79 / 0.90 / 0.86 / 0.91, 1.0 0.80 / 0.92 / 0.87 / 0.92."""
OUTLINE_STEPS = 4
"""Points per span between two inner-lip landmarks on the drawn outline."""
OUTLINE_ROUND = 0.35
"""The opening's outline: the inner-lip curve (through the landmarks, where the lips end)
smoothed along itself, a Gaussian of this × the opening (13 to 14) in sigma, applied as
2S - S² (:func:`_rounded`: the lips' broad arch kept, the corners rounded). Wide open the
landmarks' curve is a polygon: it meets itself in a wedge at each corner (78, 308) and
kinks at 88/318 and 191/415; traced from the render, the turn between chords 1/40 of the
outline apart is 48-93° at jaw 0.8 and 1.0 on the frontal tuning portraits and
photographer_turned (test_avatar_mouth_round), 27-38° rounded. One Gaussian alone (0.25)
rounded as much but pulled the opening's top and bottom in (its height 0.88-0.94 of the
curve's at jaw 1.0; the tracked p95 opening on astronaut_grey_moustache 0.131 -> 0.125 on
espeak continuous); as here: 0.94-1.00 of its height, 0.89 of its width; at 0.5:
0.83-0.95 and 0.79-0.83, the mouth visibly shorter. A slit's sigma is small: its corners
stay pointed."""
OUTLINE_ROUND_FROM = 0.5
"""The rounding (:data:`OUTLINE_ROUND`) grows along the mouth from this share of its half
width (inner corner to inner corner) to all of it at the corners (a smoothstep): over the
lips' middle the opening's edge is the lips' inner edge as the landmarks put it, where the
tracker reads the opening (rounded all along, the middle moved in by 0.3-0.4 px at jaw 0.6
and 0.8-1.2 px at 1.0 on astronaut, canonman_glasses, astronaut_grey_moustache), while the
traced turn (above) was no better (23-39°)."""
LIP_FILL_SHADE = 0.85
"""Between the inner-lip curve and the rounded opening (the corners the rounding cut off)
the picture's own colours from outside the curve (the lips; the skin at a
corner's tip) spread in (:data:`LIP_FILL_BLUR`), this much darker at the opening's edge and
back to the picture's light :data:`LIP_FILL_FADE` of the opening out: the corner reads as
the lips meeting in shadow, not as a black wedge. Looked at in 4× crops (astronaut,
brothers_sepia, canonman_glasses, astronaut_grey_moustache at jaw 1.0): 1.0 left
skin-coloured wedges that drew the landmarks' polygon again, 0.6 a grey ring round
astronaut's opening; 0.7 looked as well but a photo opened by it (test_avatar_rest's
grey_moustache@0.8) kept its dark corners in its rest face: 2.6 % of the lips dark after
the closing (0.2 % with this, 0.6 % with the sharp corners before). A flat fill of the
lips' median colour showed as a pale wedge on brothers_sepia (its lips' median near its
skin's) with a hard edge at the curve."""
LIP_FILL_BLUR = 0.1
"""Sigma (× the opening) of the normalised Gaussian that spreads the picture outside the
inner-lip curve into the cut corners: about as deep as a corner's cut (3.4-4.1 px at jaw
1.0, 0.08-0.09 of the opening, on astronaut, canonman_glasses, astronaut_grey_moustache),
so the upper lip's colour stays above the lower's."""
LIP_FILL_FADE = 0.2
"""How far out from the opening's edge (× the opening) the cut corners come back from
:data:`LIP_FILL_SHADE` to the picture's light: about twice a corner's cut, so no edge shows
where the cut meets the lips (chosen by eye with the shade)."""
PHOTO_SOFT_REBLUR = 1.0
"""Sigma (portrait pixels) of the re-blur by which :func:`photo_softness` reads a picture's
softness."""
DRAWN_SOFT = 0.5
"""The drawn inside's own softness (portrait pixels): its edges are anti-aliased, about half
a pixel."""
PHOTO_SOFT_SHARE = 0.6
"""Share of the photo's softness (:func:`photo_softness`) the drawn inside is given. The
read softness of the tuning photos' faces is 1.3-1.9 portrait pixels (astronaut 1.39, 2×
upscaled; canonman_glasses 1.34, 1.2×, a soft JPEG; astronaut_grey_small 1.74, 4×). The
whole of it blurred the drawn teeth into a smear, each tooth lost, under lips that read
sharper (4× crops, mid-word and wide, astronaut, astronaut_grey_small,
photographer_grey_parted, canonman_glasses; 2026-12-05): a picture's 99th-percentile
gradient is skin and hair texture, not a step edge's, so the estimate runs high. At 0.6 the
teeth stay separate and the opening's outline is as soft as the lips'; the mouth's own read
softness is then 0.75-0.97 of the face's (0.52-0.75 drawn sharp)."""
PHOTO_SOFT_MAX = 2.5
"""Most the drawn inside is softened by (portrait pixels)."""
SOFTEN_MIN = 0.3
"""Output pixels of softening under which none is done (a portrait shown small)."""


def photo_softness(portrait: np.ndarray, landmarks: np.ndarray | None) -> float:
    """How soft the portrait's face is, as the sigma (portrait pixels) of a Gaussian blur of
    a sharp edge: a photo upscaled to the canvas, or taken soft, is blurred; the drawn
    teeth and cavity are not, and stood out on it, sharp (a 3× upscaled grey photo's teeth
    were crisp rows under a blurred lip). Read by re-blurring: an edge blurred by s0 keeps
    s0 / sqrt(s0² + s²) of its steepest gradient blurred again by s (the 99th percentile of
    the face's gradients, between the brows and the chin; the whole picture where
    ``landmarks`` is None)."""
    h, w = portrait.shape[:2]
    x0, x1, y0, y1 = 0, w, 0, h
    if landmarks is not None:
        lm = np.asarray(landmarks, np.float64)
        x0, x1 = max(0, int(lm[234, 0])), min(w, int(lm[454, 0]))
        y0, y1 = max(0, int(lm[9, 1])), min(h, int(lm[152, 1]))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return DRAWN_SOFT
    face = cv2.cvtColor(portrait[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.float32)

    def steep(a: np.ndarray) -> float:
        gx = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3)
        return float(np.percentile(np.hypot(gx, gy)[2:-2, 2:-2], 99))

    sharp = steep(face)
    if sharp <= 1e-6:
        return DRAWN_SOFT
    kept = min(steep(cv2.GaussianBlur(face, (0, 0), PHOTO_SOFT_REBLUR)) / sharp, 0.99)
    return float(PHOTO_SOFT_REBLUR * kept / np.sqrt(1.0 - kept * kept))


TEETH_SHOW = (0.01, 0.035)
"""Opening (face heights) from which the teeth start to show, and by which they show fully.
A small opening is a dark slit: bright teeth in it made the tracker read a gap twice as wide
as drawn (the grey moustached tuning portrait at jaw 0.1: 0.047 for a drawn 0.024; 0.031
now). Tracked against asked opening r on that portrait, two validation voices: 0.948/0.954
with the teeth always shown, 0.951/0.957 with this, 0.960/0.964 with (0.02, 0.05); the
loudness r went the other way (0.875/0.868, 0.864/0.861, 0.848/0.849: an overread small
gap follows the loudness's dB), hence the narrower ramp."""
OPEN_FULL_AREA = 0.004
"""Extra mouth area (× face height²) at which the interior is fully painted."""


def _grow(
    box: tuple[int, int, int, int], by: float, size: tuple[int, int]
) -> tuple[int, int, int, int]:
    k = int(np.ceil(by))
    return (
        max(0, box[0] - k),
        max(0, box[1] - k),
        min(size[0], box[2] + k),
        min(size[1], box[3] + k),
    )


def _lids_meet(fld: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Where a lid field read at ``where`` (its own pixel coordinates) blends the upper lid's
    offsets with the lower lid's: the four pixels around the read hold offsets that point
    against each other. Each lid's offsets are one signed length along the eye's up axis
    (rig.lid_fields: the upper lid's point up to its skin, the lower lid's down), so a lid's
    own stretched skin never points both ways and stays interpolated; only the cells the
    shut lids' seam crosses do, however small the jump. Measuring the jump against the
    nearest pixel's offset (:data:`LID_SEAM_PX`) misses a read close to one side: on
    astronaut_turned's inner corner (2026-12-05), offsets (0.6, -4.9) over (-0.1, 1.1) read
    at 0.76 of the way down differ from the nearest by 1.47 px, and the blend sampled the
    open eye (:data:`LID_SEAM_EYE_INSET`)."""
    a, b, c, d = fld[:-1, :-1], fld[:-1, 1:], fld[1:, :-1], fld[1:, 1:]
    against = np.zeros(fld.shape[:2], np.uint8)
    cell = against[:-1, :-1]
    for p, q in ((a, b), (a, c), (a, d), (b, c), (b, d), (c, d)):
        cell |= (p[..., 0] * q[..., 0] + p[..., 1] * q[..., 1]) < 0.0
    # The cell [i, i+1) x [j, j+1) is read from any point in it: its flag sits at pixel (i, j),
    # and INTER_NEAREST rounds, so it is looked up half a pixel back.
    back = cv2.subtract(where, (0.5, 0.5, 0.0, 0.0))  # type: ignore[call-overload]
    # (OpenCV's stubs miss that map2 may be None with a two-channel map1.)
    return np.asarray(
        cv2.remap(  # type: ignore[call-overload]
            against, back, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
        ),
        bool,
    )


def _mouth_colours(portrait: np.ndarray, rig: Rig) -> tuple[np.ndarray, ...]:
    """(cavity, tongue, teeth) BGR, lit like the face: the cavity is the lips' own colour
    darkened, the tongue a lighter shade of it, the teeth ivory scaled by the skin's light."""
    lm = rig.points
    h, w = portrait.shape[:2]
    lips = np.zeros((h, w), np.uint8)
    cv2.fillPoly(lips, [np.round(lm[list(regions.LIPS_OUTER)]).astype(np.int32)], 1)
    cv2.fillPoly(lips, [np.round(lm[list(regions.LIPS_INNER)]).astype(np.int32)], 0)
    lip = portrait[lips.astype(bool)].reshape(-1, 3).astype(np.float32)
    lip_bgr = np.median(lip, axis=0) if len(lip) > 10 else np.array([90, 90, 160], np.float32)
    cheeks = np.zeros((h, w), np.uint8)
    cv2.fillPoly(cheeks, [np.round(lm[list(regions.FACE_OVAL)]).astype(np.int32)], 1)
    skin = portrait[cheeks.astype(bool)].reshape(-1, 3).astype(np.float32)
    # The cavity is red-brown: the lips' hue, deep.
    cavity = np.clip(lip_bgr * np.array([0.55, 0.5, 0.75], np.float32), 0, 255)
    tongue = np.clip(lip_bgr * np.array([0.95, 0.9, 1.15], np.float32), 0, 255)
    grey = float(np.mean(lip_bgr))
    # A grey portrait gets grey teeth and tongue (no colour to borrow).
    sat = float(np.ptp(lip_bgr)) / max(grey, 1.0)
    # Teeth: ivory in the face's light. The photo's light tints them as it tints the skin
    # (0.4 of the skin's cast, in log ratios), and they are lighter than the skin; pure ivory
    # scaled by brightness read blue-grey next to warm skin (hopper_glasses: B/R 0.90 against
    # the skin's 0.45).
    skin_bgr = np.median(skin, axis=0) if len(skin) > 10 else np.full(3, 170.0, np.float32)
    cast = (np.clip(skin_bgr, 1.0, None) / max(float(np.mean(skin_bgr)), 1.0)) ** 0.4
    tint = TEETH_BGR / float(np.mean(TEETH_BGR)) * cast
    teeth = tint / float(np.mean(tint)) * min(TEETH_LIGHT * float(np.mean(skin_bgr)), 235.0)
    teeth = np.clip(teeth, 0, 255)
    if sat < 0.08:
        # All three: a red-brown cavity and a pink tongue in a black-and-white photo read as
        # paint (einstein_midword: colour spread 0.41 of the mouth's inside before).
        teeth = np.full(3, float(np.mean(teeth)), np.float32)
        cavity = np.full(3, float(np.mean(cavity)), np.float32)
        tongue = np.full(3, float(np.mean(tongue)), np.float32)
    return cavity.astype(np.float32), tongue.astype(np.float32), teeth.astype(np.float32)


def _upper_lip_need(portrait: np.ndarray, rig: Rig, teeth_bgr: np.ndarray) -> float:
    """How much the upper lip's inner edge needs drawing (0-1, :data:`UPPER_LIP_CONTRAST`): the
    colour difference between the upper lip as photographed (its median, from the outer to the
    inner lip line) and ``teeth_bgr``, the upper teeth's."""
    lm = rig.points
    upper = np.zeros(portrait.shape[:2], np.uint8)
    ring = list(UPPER_OUTER) + list(UPPER_INNER[::-1])
    cv2.fillPoly(upper, [np.round(lm[ring]).astype(np.int32)], 1)
    lip = portrait[upper.astype(bool)].reshape(-1, 3)
    if len(lip) < 10:
        return 0.0
    pair = np.array([[np.median(lip, axis=0), teeth_bgr]], np.float32).clip(0, 255)
    lab = cv2.cvtColor(pair.astype(np.uint8), cv2.COLOR_BGR2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0  # (8-bit L is 0-255 for 0-100)
    diff = float(np.linalg.norm(lab[0, 0] - lab[0, 1]))
    full, none = UPPER_LIP_CONTRAST
    return float(np.clip((none - diff) / (none - full), 0.0, 1.0))


def _lifted(bgr: np.ndarray, lift: float) -> np.ndarray:
    """``bgr`` times ``lift``, its hue kept: scaled back as a whole where a channel would pass
    255."""
    out = bgr.astype(np.float32) * np.float32(lift)
    top = float(out.max())
    return out * np.float32(255.0 / top) if top > 255.0 else out


def _dimness(portrait: np.ndarray, rig: Rig) -> float:
    """How dim a portrait's mouth is (0 to :data:`DIM_MOST`, :data:`DIM_LIPS`): by its lips'
    median grey, outer to inner lip line, as photographed."""
    lm = rig.points
    lips = np.zeros(portrait.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(lm[list(regions.LIPS_OUTER)]).astype(np.int32)], 1)
    cv2.fillPoly(lips, [np.round(lm[list(regions.LIPS_INNER)]).astype(np.int32)], 0)
    lip = portrait[lips.astype(bool)].reshape(-1, portrait.shape[2] if portrait.ndim == 3 else 1)
    if len(lip) < 10:
        return 0.0
    grey = float(np.mean(np.median(lip.astype(np.float32), axis=0)))
    start, per = DIM_LIPS
    return float(np.clip((start - grey) / per, 0.0, DIM_MOST))


def _own_upper_teeth_bgr(tex: TeethTexture) -> np.ndarray | None:
    """The portrait's own upper teeth's median colour (the texture's upper part,
    :data:`OWN_TEETH_SPLIT`); None where too few of its pixels are teeth."""
    ys = np.arange(tex.alpha.shape[0], dtype=np.float32)[:, None] + float(tex.origin[1])
    split = tex.upper[1] + OWN_TEETH_SPLIT * (tex.lower[1] - tex.upper[1])
    teeth = (tex.alpha > 0.5) & (ys < split)
    if int(teeth.sum()) < 10:
        return None
    return np.median(tex.image[teeth].reshape(-1, 3), axis=0).astype(np.float32)


LOWER_OWN_TEETH_SHADE = 0.85
"""The portrait's own lower row sits deeper, in the upper lip's shadow."""


def _own_teeth_layers(tex: TeethTexture) -> tuple[tuple[np.ndarray, bool], ...]:
    """The portrait's own mouth interior split into (lower, upper) premultiplied BGRA layers,
    made once: per frame each is only moved (one ``warpAffine``), not rebuilt."""
    th = tex.alpha.shape[0]
    ys = np.arange(th, dtype=np.float32)[:, None] + float(tex.origin[1])
    split = tex.upper[1] + OWN_TEETH_SPLIT * (tex.lower[1] - tex.upper[1])
    # A soft seam between the two halves (the cavity shows between them once apart).
    ramp = max(1.5, 0.15 * float(tex.lower[1] - tex.upper[1]))
    layers = []
    for is_upper in (False, True):  # the lower row first: the upper one overlaps it
        part = (split - ys) / ramp + 0.5 if is_upper else (ys - split) / ramp + 0.5
        a = (tex.alpha * np.clip(part, 0.0, 1.0)).astype(np.float32)
        shade = 1.0 if is_upper else LOWER_OWN_TEETH_SHADE
        bgra = np.dstack([tex.image * (shade * a)[..., None], a]).astype(np.float32)
        layers.append((np.ascontiguousarray(bgra), is_upper))
    return tuple(layers)


TONGUE_SPRITE = 64
"""Side of the tongue's premultiplied BGRA sprite, drawn once per portrait (a tongue is at
most ~30 px across on a 512 px portrait: it is never magnified much)."""


def _tongue_sprite(tongue_bgr: np.ndarray, side: int = TONGUE_SPRITE) -> np.ndarray:
    """A dome over u, v in [-1, 1] (u along the lips, v up from the mouth's floor): alpha
    rises steeply inside the unit circle and stops just below the floor; its top lit from the
    front and above (brighter towards the lips, darker at the sides where it turns away and
    towards the back), a midline groove and a soft wet highlight. Premultiplied BGRA,
    float32."""
    c = (np.arange(side, dtype=np.float32) * 2.0 + 1.0) / side - 1.0
    u = c[None, :]
    v = -c[:, None]
    # Broad and flat-topped (a superellipse across): its lit top spans most of the mouth's
    # width, as a tongue lying on the floor of the mouth does, not a ball.
    r2 = np.abs(u) ** TONGUE_FLAT + v * v
    # A soft top edge (the tongue's back fades into the cavity's dark), not a cut-out disc.
    dome = np.clip((1.0 - r2) * 4.0, 0.0, 1.0) * np.clip((v + 0.15) * side / 2.0 + 0.5, 0.0, 1.0)
    lit = np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
    # Darker towards the back (up, deeper in the mouth) and along the midline's groove.
    back = 1.0 - TONGUE_BACK * np.clip(v, 0.0, 1.0)
    groove = 1.0 - 0.12 * np.exp(-((u / 0.1) ** 2)) * np.clip(v + 0.2, 0.0, 1.0)
    base, lit_share = TONGUE_LIGHT
    colour = tongue_bgr[None, None, :] * ((base + lit_share * lit) * back * groove)[..., None]
    # The wet top's highlight: soft, either side of the groove, whitish in the face's light.
    gu, gv, gw, gh = TONGUE_GLINT_AT
    glint = np.exp(-(((np.abs(u) - gu) / gw) ** 2) - ((v - gv) / gh) ** 2)
    colour = colour + (TONGUE_GLINT * float(np.mean(tongue_bgr))) * glint[..., None]
    return np.dstack([colour * dome[..., None], dome]).astype(np.float32)


def _outline_matrix(upper: np.ndarray, lower: np.ndarray, steps: int) -> np.ndarray:
    """The linear map from the inner-lip points (``upper``, ``lower``: their indices, corner
    to corner, both from the same corner) to the drawn outline: Catmull-Rom curves through
    them at ``steps`` points a span, the lower one run back so the outline closes; each end
    extended by reflection, so the curves meet at the corners in a point, as lips do. The
    lips' edge is curved, not a polygon's straight spans (10 a lip, a visible kink at each
    landmark of a wide-open mouth). One matrix product a frame (the spans one by one in
    numpy cost ~0.5 ms)."""
    n = max(int(upper.max()), int(lower.max())) + 1
    t = np.linspace(0.0, 1.0, steps, endpoint=False)
    # Catmull-Rom weights of p0..p3 at t.
    w = 0.5 * np.stack(
        [-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3, t + 4 * t**2 - 3 * t**3, -(t**2) + t**3],
        axis=1,
    )
    rows = []
    for idx in (upper, lower[::-1]):
        m = len(idx)
        # Extended control points as rows over the inner points: reflection at each end.
        ext = np.zeros((m + 2, n))
        ext[1 : m + 1, idx] = np.eye(m)
        ext[0, idx[0]], ext[0, idx[1]] = 2.0, -1.0
        ext[m + 1, idx[-1]], ext[m + 1, idx[-2]] = 2.0, -1.0
        for k in range(1, m):
            rows.append(w @ ext[k - 1 : k + 3])
    return np.vstack(rows).astype(np.float64)


def _rounded(curve: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The closed ``curve`` (points in order) resampled at even steps of its length (as many
    points as it had), and that smoothed along itself: filtered round by 2S - S², S a
    Gaussian of ``sigma`` (its units): a corner is rounded over about ``sigma``, a broad arch
    keeps its place (S alone moves every curved part inwards)."""
    n = len(curve)
    closed = np.vstack([curve, curve[:1]])
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(closed, axis=0), axis=1))])
    total = float(cum[-1])
    if total <= 0.0 or sigma <= 0.0:
        return curve, curve
    step = total / n
    s = np.arange(n) * step
    even = np.stack([np.interp(s, cum, closed[:, 0]), np.interp(s, cum, closed[:, 1])], axis=1)
    k = sigma / step
    if k < 0.3:
        return even, even
    # In frequencies (the curve is periodic): one product, where taps rolled one by one cost
    # ~1 ms a frame.
    gauss = np.exp(-0.5 * (2.0 * np.pi * k * np.arange(n // 2 + 1) / n) ** 2)
    spectrum = np.fft.rfft(even, axis=0) * (2.0 * gauss - gauss * gauss)[:, None]
    return even, np.fft.irfft(spectrum, n=n, axis=0)


def polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    # (np.roll's values by concatenation: ~4 µs against np.roll's ~15 µs, every frame.)
    y1, x1 = np.concatenate((y[1:], y[:1])), np.concatenate((x[1:], x[:1]))
    return 0.5 * float(abs(np.dot(x, y1) - np.dot(y, x1)))


@dataclass
class _View:
    """Where a render's pixels sample the portrait: output pixel (X, Y) shows portrait point
    ((X + 0.5) k - 0.5, (Y + 0.5) k - 0.5), k = portrait side / output side (1: the portrait
    itself). Rendering straight at the overlay's size (k ~2.2 for a 230 px overlay on 720p)
    remaps a fifth of the pixels and needs no shrink of the whole avatar afterwards."""

    k: float
    size: tuple[int, int]
    """Output width, height."""
    grid: np.ndarray
    """Output h×w×2 float32: the portrait point each output pixel samples."""
    base: np.ndarray
    """The portrait at this size: the pixels that no motion touches."""
    source: np.ndarray
    """What the moved pixels are sampled from: the portrait, halved ``levels`` times (the same
    prefilter as :func:`pipelines.avatar.compose.shrink`, so moved and still pixels match)."""
    levels: int
    coarse: dict[str, np.ndarray]
    """k > 1: the head turns' fields sampled at this view's pixels over ``coarse_box``."""
    coarse_box: tuple[int, int, int, int] | None
    """Output pixels whose samples lie in the head fields' box."""

    def box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """The output pixels whose samples lie in a portrait box (x0, y0, x1, y1)."""
        if self.k == 1.0:
            return box
        w, h = self.size
        k = self.k
        return (
            max(0, int(np.floor((box[0] + 0.5) / k - 0.5))),
            max(0, int(np.floor((box[1] + 0.5) / k - 0.5))),
            min(w, int(np.ceil((box[2] - 0.5) / k - 0.5)) + 1),
            min(h, int(np.ceil((box[3] - 0.5) / k - 0.5)) + 1),
        )

    def to_view(self, pts: np.ndarray) -> np.ndarray:
        """Portrait points in output pixels."""
        return pts if self.k == 1.0 else (pts + 0.5) / self.k - 0.5


def _sample_grid(k: float, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    gx = (np.arange(w, dtype=np.float64) + 0.5) * k - 0.5
    gy = (np.arange(h, dtype=np.float64) + 0.5) * k - 0.5
    mx, my = np.meshgrid(gx.astype(np.float32), gy.astype(np.float32))
    return np.dstack([mx, my])


class AvatarRenderer:
    def __init__(self, portrait: np.ndarray, rig: Rig, teeth: TeethTexture | None = None) -> None:
        """``teeth``: the portrait's own mouth interior (from :mod:`pipelines.avatar.rest`)."""
        h, w = portrait.shape[:2]
        if (w, h) != rig.size:
            raise ValueError(f"portrait is {w}×{h} but the rig was built for {rig.size}")
        self.portrait = np.ascontiguousarray(portrait)
        self.rig = rig
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self.grid = np.dstack([gx, gy])
        self._inner_rest = rig.points[INNER]
        self.rest_mouth_area = polygon_area(self._inner_rest)
        self.face_h = rig.geometry.face_h
        self.down = rig.geometry.down.astype(np.float32)
        self.teeth = teeth
        self._inner_index = {int(v): k for k, v in enumerate(INNER)}
        self._upper_idx = np.array([self._inner_index[int(i)] for i in UPPER_INNER])
        self._lower_idx = np.array([self._inner_index[int(i)] for i in LOWER_INNER])
        self._outline = _outline_matrix(self._upper_idx, self._lower_idx, OUTLINE_STEPS)
        self._cavity_bgr, self._tongue_bgr, self._teeth_bgr = _mouth_colours(portrait, rig)
        self._dim = _dimness(self.portrait, rig)
        """How dim the photo's mouth is (:data:`DIM_LIPS`): its drawn teeth and tongue lit
        more (:data:`DIM_MOUTH_LIGHT`, :data:`DIM_TEETH_LEAST`), its lower lip's rim lit
        (:data:`LIP_RIM_GAIN`, :data:`LIP_RIM_LEAST`)."""
        if self._dim > 0.0:
            lift = 1.0 + DIM_MOUTH_LIGHT * self._dim
            least = DIM_TEETH_LEAST * min(1.0, self._dim)
            lift = max(lift, least / max(float(np.mean(self._teeth_bgr)), 1.0))
            self._teeth_bgr = _lifted(self._teeth_bgr, lift)
            self._tongue_bgr = _lifted(self._tongue_bgr, lift)
        hue = self._tongue_bgr / max(float(np.mean(self._tongue_bgr)), 1.0)
        hue = 1.0 + LIP_RIM_SATURATION * (hue - 1.0)
        self._rim_least_bgr = (hue * LIP_RIM_LEAST * float(np.mean(self._teeth_bgr))).astype(
            np.float32
        )
        """The lower lip's lit rim's least colour on a dim photo (:data:`LIP_RIM_LEAST`)."""
        self._teeth_layers = _own_teeth_layers(teeth) if teeth is not None else ()
        own_upper = _own_upper_teeth_bgr(teeth) if teeth is not None else None
        self._upper_lip_need = _upper_lip_need(
            self.portrait, rig, self._teeth_bgr if own_upper is None else own_upper
        )
        """How much the upper lip's inner face shades what lies under it (× UPPER_LIP_SHADE)."""
        self._tongue = _tongue_sprite(self._tongue_bgr)
        self._lower_teeth_drawn = LOWER_TEETH_TURNED or not lip_turned(rig.geometry)
        """Whether the drawn teeth have a lower row (not on a turned face:
        :data:`LOWER_TEETH_TURNED`)."""
        soft = PHOTO_SOFT_SHARE * photo_softness(portrait, rig.geometry.landmarks)
        soft = min(soft, PHOTO_SOFT_MAX)
        self.soften = float(np.sqrt(max(soft * soft - DRAWN_SOFT * DRAWN_SOFT, 0.0)))
        """Sigma (portrait pixels) the drawn inside is blurred by to match the photo."""
        self.last_box: tuple[int, int, int, int] | None = None
        """The box remapped by the last render (None: nothing moved)."""
        self.last_mouth_box: tuple[int, int, int, int] | None = None
        coarse = [rig.bases[n] for n in COARSE_BASES if n in rig.bases]
        self.coarse_box: tuple[int, int, int, int] | None = None
        self.coarse: dict[str, np.ndarray] = {}
        if coarse:
            cx0 = min(b.x0 for b in coarse)
            cy0 = min(b.y0 for b in coarse)
            cx1 = max(b.box[2] for b in coarse)
            cy1 = max(b.box[3] for b in coarse)
            self.coarse_box = (cx0, cy0, cx1, cy1)
            half = ((cx1 - cx0 + 1) // 2, (cy1 - cy0 + 1) // 2)
            for b in coarse:
                full = np.zeros((cy1 - cy0, cx1 - cx0, 2), np.float32)
                bx0, by0, bx1, by1 = b.box
                full[by0 - cy0 : by1 - cy0, bx0 - cx0 : bx1 - cx0] = b.field
                self.coarse[b.name] = cv2.resize(full, half, interpolation=cv2.INTER_AREA)
        self.coarse_reach = {
            name: float(np.abs(f).max()) if f.size else 0.0 for name, f in self.coarse.items()
        }
        self.last_map: np.ndarray | None = None
        """The backward map of the last render's box (portrait x, y for each output pixel)."""
        lm = rig.geometry.landmarks[:, :2]
        rings = np.zeros((h, w), np.uint8)
        for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
            cv2.fillPoly(rings, [np.round(lm[list(ring)]).astype(np.int32)], 1)
        inset = 2 * LID_SEAM_EYE_INSET + 1
        self._eyes = np.asarray(cv2.erode(rings, np.ones((inset, inset), np.uint8)), np.uint8)
        """The open eyes (portrait pixels inside the landmarks' rings, less
        :data:`LID_SEAM_EYE_INSET`), which a blend across the shut lids' seam must not
        sample."""
        self._full = _View(
            1.0, rig.size, self.grid, self.portrait, self.portrait, 0, {}, self.coarse_box
        )
        self._views: dict[int, _View] = {}
        self._inner_disp: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._bend_disp: tuple[np.ndarray, np.ndarray] | None = None

    def render(self, weights: dict[str, float], out: np.ndarray | None = None) -> np.ndarray:
        """The portrait with the bases at ``weights`` (unknown names are ignored).

        The motions compose as they do on a real face: the mouth and the gaze move within the
        face, the lids slide over the eyes, then the head turns all of it. The backward map
        of an output pixel p is therefore ``face(lids(head(p)))``: each later field is read
        where the earlier ones sent the pixel (one ``cv2.remap`` of the field), so a blink on
        a tilted head still lands on the eye. The picture itself is sampled once.
        """
        return self._render(weights, self._full, out)

    def render_at(
        self, weights: dict[str, float], side: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """:meth:`render` straight at ``side`` pixels across (the overlay's size): the same
        picture as ``compose.shrink(render(weights), side)`` to within a few levels, without
        remapping the full-size box and shrinking the whole avatar every frame."""
        view = self._full if side == self.rig.size[0] else self._views.get(side)
        if view is None:
            view = self._make_view(side)
            if len(self._views) >= 4:
                self._views.pop(next(iter(self._views)))
            self._views[side] = view
        return self._render(weights, view, out)

    def _make_view(self, side: int) -> _View:
        from pipelines.avatar.compose import shrink

        w, h = self.rig.size
        k = w / side
        size = (side, max(1, round(h / k)))
        source, levels = self.portrait, 0
        # The same halvings as compose.shrink, so the still pixels (``base``) and the moved
        # ones are sampled from the same prefiltered picture.
        while source.shape[0] >= 2 * side and source.shape[0] > 16:
            source, levels = cv2.pyrDown(source), levels + 1
        base = np.ascontiguousarray(shrink(self.portrait, side))
        if base.shape[:2] != (size[1], size[0]):
            base = cv2.resize(self.portrait, size, interpolation=cv2.INTER_AREA)
        view = _View(k, size, _sample_grid(k, size), base, source, levels, {}, None)
        if self.coarse_box is not None:
            cx0, cy0, cx1, cy1 = self.coarse_box
            vx0, vy0, vx1, vy1 = view.box(self.coarse_box)
            view.coarse_box = (vx0, vy0, vx1, vy1)
            g = view.grid[vy0:vy1, vx0:vx1]
            # Half-resolution field pixel of a portrait point, as the full-size render's
            # cv2.resize of the half-resolution sum reads it.
            for name, small in self.coarse.items():
                sx = small.shape[1] / (cx1 - cx0)
                sy = small.shape[0] / (cy1 - cy0)
                mx = ((g[..., 0] - cx0 + 0.5) * sx - 0.5).astype(np.float32)
                my = ((g[..., 1] - cy0 + 0.5) * sy - 0.5).astype(np.float32)
                view.coarse[name] = cv2.remap(
                    small, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
        return view

    def _render(self, weights: dict[str, float], view: _View, out: np.ndarray | None) -> np.ndarray:
        active = [
            (self.rig.bases[name], float(wt))
            for name, wt in self.rig.mix(weights).items()
            if abs(wt) > 1e-4 and name in self.rig.bases
        ]
        if out is None:
            out = view.base.copy()
        else:
            np.copyto(out, view.base)
        self.last_box = None
        self.last_mouth_box = None
        if not active:
            return out
        head = [(b, wt) for b, wt in active if b.name in self.coarse]
        lids = [(b, wt) for b, wt in active if b.name in LID_BASES]
        face = [(b, wt) for b, wt in active if b.name not in self.coarse and b.levels == ()]
        # How far the head turn may carry a pixel: the later fields are read that far away.
        reach = 0.0
        if head and self.coarse_box is not None:
            reach = sum(abs(wt) * self.coarse_reach[b.name] for b, wt in head) + 1.0
        boxes = [_grow(b.box, reach, self.rig.size) for b, _ in lids + face]
        if head and self.coarse_box is not None:
            boxes.append(self.coarse_box)
        x0, y0, x1, y1 = view.box(
            (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
        )
        if head and self.coarse_box is not None and view.coarse_box is not None:
            cx0, cy0, cx1, cy1 = view.coarse_box
            if view.k == 1.0:
                small = head[0][1] * self.coarse[head[0][0].name]
                for basis, wt in head[1:]:
                    small += wt * self.coarse[basis.name]
                up = cv2.resize(small, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_LINEAR)
            else:
                # (Sampled at this view's pixels once, at set-up: only the weighted sum here.)
                up = head[0][1] * view.coarse[head[0][0].name]
                for basis, wt in head[1:]:
                    up += wt * view.coarse[basis.name]
            turned = np.asarray(cv2.add(view.grid[cy0:cy1, cx0:cx1], up), np.float32)
            if (x0, y0, x1, y1) == view.coarse_box:
                acc = turned  # (the usual case: no copy of the grid to overwrite)
            else:
                acc = view.grid[y0:y1, x0:x1].copy()
                acc[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = turned
        else:
            acc = view.grid[y0:y1, x0:x1].copy()
        # The gaze fields (in the eyes) and the mouth's (below the nose) lie apart: composed
        # separately over their own small boxes they give the same map as one layer, cheaper.
        gaze = [(b, wt) for b, wt in face if b.name in GAZE_BASES]
        mouth = [(b, wt) for b, wt in face if b.name not in GAZE_BASES]
        # The closed lids' light: colour offsets over an output box, added to the picture.
        shading: tuple[tuple[int, int, int, int], np.ndarray] | None = None
        for layer in (lids, gaze, mouth):
            if not layer:
                continue
            lx0 = min(b.x0 for b, _ in layer)
            ly0 = min(b.y0 for b, _ in layer)
            lx1 = max(b.box[2] for b, _ in layer)
            ly1 = max(b.box[3] for b, _ in layer)
            fld = np.zeros((ly1 - ly0, lx1 - lx0, 2), np.float32)
            light = None
            for basis, wt in layer:
                bx0, by0, bx1, by1 = basis.box
                fld[by0 - ly0 : by1 - ly0, bx0 - lx0 : bx1 - lx0] += basis.at(wt)
                g = basis.shading_at(wt)
                if g is not None:
                    if light is None:
                        light = np.zeros((ly1 - ly0, lx1 - lx0, g.shape[2]), np.float32)
                    light[by0 - ly0 : by1 - ly0, bx0 - lx0 : bx1 - lx0] += g
            if view.k == 1.0 and reach == 0.0 and not (layer is not lids and lids):
                # Nothing moved the pixels yet: the field is read where it lies.
                acc[ly0 - y0 : ly1 - y0, lx0 - x0 : lx1 - x0] += fld
                if light is not None:
                    shading = ((lx0, ly0, lx1, ly1), light)
                continue
            sx0, sy0, sx1, sy1 = view.box(_grow((lx0, ly0, lx1, ly1), reach + 1.0, self.rig.size))
            # (Within the box being rendered: the rest of the picture is not moved.)
            sx0, sy0, sx1, sy1 = max(sx0, x0), max(sy0, y0), min(sx1, x1), min(sy1, y1)
            if sx1 <= sx0 or sy1 <= sy0:
                continue
            sub = acc[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0]
            # cv2.subtract with a scalar: numpy broadcasting a pair over this strided view
            # took ~0.5 ms against ~0.03 ms (measured on the 322×180 mouth layer).
            where = cv2.subtract(sub, (float(lx0), float(ly0), 0.0, 0.0))  # type: ignore[call-overload]
            # (OpenCV's stubs miss that map2 may be None with a two-channel map1.)
            read = cv2.remap(  # type: ignore[call-overload]
                fld, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
            )
            seam = None
            if layer is lids:
                # Where closed lids meet, the field jumps from the upper lid's skin to the
                # lower's: read between two of its pixels (a turned head), its offsets
                # blended would sample the eye between them, a dark jagged gap along the
                # lash line. There the nearest pixel's offset is taken: where the lids'
                # offsets point against each other (near the corners the jump is small, the
                # blend still lands in the eye), or where the blend strays far from it.
                near = cv2.remap(  # type: ignore[call-overload]
                    fld, where, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
                )
                apart = cv2.absdiff(read, near)
                seam = np.maximum(apart[..., 0], apart[..., 1]) > LID_SEAM_PX
                meet = _lids_meet(fld, where)
                if meet.any():
                    # (Only where the blend would sample the open eye: elsewhere a read
                    # between the lids lands on their margins, and blended stays smooth.)
                    blend = cv2.add(sub, read)
                    seen = cv2.remap(  # type: ignore[call-overload]
                        self._eyes, blend, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
                    )
                    seam |= meet & (seen > 0)
                np.copyto(read, near, where=seam[..., None])
            if light is not None:
                # The lid's light goes where its skin went (read like the field).
                lit = cv2.remap(
                    light, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
                ).reshape(*where.shape[:2], -1)
                if seam is not None and seam.any():
                    at = np.ascontiguousarray(where[seam]).reshape(-1, 1, 2)
                    lit[seam] = cv2.remap(
                        light, at, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
                    ).reshape(len(at), -1)
                shading = ((sx0, sy0, sx1, sy1), lit)
            sub += read
        src_map = acc
        if view.levels:
            # Portrait points to the halved picture's pixels (pyrDown: centre 2i -> i, as
            # compose.shrink's resize then reads it).
            n = float(2**view.levels)
            src_map = np.asarray(cv2.addWeighted(acc, 1.0 / n, acc, 0.0, 0.5 / n - 0.5), np.float32)
        # Fixed-point maps (1/32 px): converting and remapping took ~0.6 ms against ~0.9 ms
        # for the float map on the 350×400 head box; the picture differs by <= 2 levels.
        # (The stubs miss that map2 may be None with a two-channel map1.)
        fixed, frac = cv2.convertMaps(src_map, None, cv2.CV_16SC2)  # type: ignore[call-overload]
        out[y0:y1, x0:x1] = cv2.remap(
            view.source, fixed, frac, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        if shading is not None:
            (gx0, gy0, gx1, gy1), offsets = shading
            roi = out[gy0:gy1, gx0:gx1]
            if roi.ndim == 2:
                offsets = offsets[..., 0]
            lit = roi.astype(np.float32) + offsets + 0.5
            out[gy0:gy1, gx0:gx1] = np.clip(lit, 0, 255).astype(np.uint8)
        self.last_box = (x0, y0, x1, y1)
        self.last_map = acc
        self._mouth(out, weights, view)
        return out

    def mouth_outline(self, weights: dict[str, float]) -> np.ndarray:
        """The inner lip outline where the render puts it (face motions, then the head)."""
        pts = self._inner_rest.copy()
        for name, wt in self.rig.mix(weights).items():
            basis = self.rig.bases.get(name)
            if basis is not None and wt and name not in HEAD_BASES:
                pts += wt * self._at_inner(name, basis.vertex_disp)
        return pts + self.rig.head_displacement(pts, weights)

    def _at_inner(self, name: str, disp: np.ndarray) -> np.ndarray:
        """``disp[INNER]``, kept per basis while its array is the same one (a lid depth set
        later makes new bases)."""
        kept = self._inner_disp.get(name)
        if kept is None or kept[0] is not disp:
            kept = self._inner_disp[name] = (disp, disp[INNER])
        return kept[1]

    def _mouth(self, out: np.ndarray, weights: dict[str, float], view: _View) -> None:
        """Paint the inside of an open mouth: cavity, tongue, teeth (the portrait's own where
        it showed them, drawn ones otherwise), at :data:`SUPERSAMPLE`× and shrunk, so every
        edge is anti-aliased; the inner lip outline clips it, so the lips cover the teeth's
        edges."""
        at = self.mouth_outline(weights)
        grown = polygon_area(at) - self.rest_mouth_area
        alpha = float(np.clip(grown / (OPEN_FULL_AREA * self.face_h**2), 0.0, 1.0))
        if alpha <= 0.01:
            return
        pts = view.to_view(at)
        h, w = out.shape[:2]
        # Room for the softening's spread (3 sigma) past the outline.
        blur = self.soften / view.k
        pad = 2 + (int(np.ceil(3.0 * blur)) if blur > SOFTEN_MIN else 0)
        x0 = max(0, int(np.floor(pts[:, 0].min())) - pad)
        y0 = max(0, int(np.floor(pts[:, 1].min())) - pad)
        x1 = min(w, int(np.ceil(pts[:, 0].max())) + pad + 1)
        y1 = min(h, int(np.ceil(pts[:, 1].max())) + pad + 1)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        self.last_mouth_box = (x0, y0, x1, y1)
        ss = SUPERSAMPLE
        scale = ss / view.k  # canvas pixels per portrait pixel
        bw, bh = (x1 - x0) * ss, (y1 - y0) * ss
        # Supersampled canvas coordinates of an output point: (p - box + 0.5) * ss - 0.5.
        rel = (pts - [x0, y0] + 0.5) * ss - 0.5
        idx = self._inner_index
        top, bottom = rel[idx[13]], rel[idx[14]]
        left, right = rel[idx[78]], rel[idx[308]]
        down = self.down
        opening = max(1.0, float((bottom - top) @ down))
        mouth_w = max(2.0, float(np.linalg.norm(right - left)))

        # 1) Cavity: the lips' colour, darkened with depth (distance from the lip edge),
        # inside the inner-lip curve rounded (OUTLINE_ROUND); ``lips8``: the curve itself.
        mask8 = np.zeros((bh, bw), np.uint8)
        lips8 = np.zeros((bh, bw), np.uint8)
        curve = self._smooth_outline(rel)
        even, rounded = _rounded(curve, OUTLINE_ROUND * opening)
        # Rounded towards the corners only: along the lips' middle the curve is the lips'
        # edge as it was (the teeth under the upper lip's shadow).
        half_w = 0.5 * mouth_w
        u = np.abs((even - 0.5 * (left + right)) @ np.array([-down[1], down[0]])) / half_w
        toward = np.clip((u - OUTLINE_ROUND_FROM) / (1.0 - OUTLINE_ROUND_FROM), 0.0, 1.0)
        ramp = toward * toward * (3.0 - 2.0 * toward)
        outline = even + ramp[:, None] * (rounded - even)
        cv2.fillPoly(mask8, [np.round(outline * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        cv2.fillPoly(lips8, [np.round(curve * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        # (Exact distances: a 3×3 mask's have octagonal level lines, and the lit rim and dark
        # crease drew an octagon inside a wide-open mouth.)
        depth = cv2.distanceTransform(
            (mask8 > 127).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE
        )
        shade = self._cavity_shade(depth, top, bottom, left, right, opening / (self.face_h * scale))
        canvas = self._cavity_bgr * shade[..., None]
        # 2) Tongue: a dome resting on the floor of the mouth, lit from above, darker at its
        # sides where it turns away (drawn once, :data:`TONGUE_SPRITE`, and placed).
        if opening > 0.02 * self.face_h * scale:
            # Low: its top TONGUE_TOP of the opening above the lower lip's edge, in the lower
            # third, where the tracker measured it least taken for the lip (see TONGUE_TOP).
            centre = bottom + TONGUE_SINK * opening * down
            a0, a1 = 0.4 * mouth_w, (TONGUE_TOP + TONGUE_SINK) * opening
            angle = float(np.arctan2(right[1] - left[1], right[0] - left[0]))
            ca, sa = np.cos(angle), np.sin(angle)
            k = 2.0 / TONGUE_SPRITE
            # Sprite pixel (x, y) -> u = (2x + 1) / S - 1 along the lips, v = 1 - (2y + 1) / S
            # up from the floor; canvas = centre + u a0 (ca, sa) - v a1 (-sa, ca).
            ox, oy = (
                centre
                + a0 * (k / 2 - 1) * np.array([ca, sa])
                - a1 * (1 - k / 2) * np.array([-sa, ca])
            )
            m = np.array([[k * a0 * ca, -k * a1 * sa, ox], [k * a0 * sa, k * a1 * ca, oy]])
            placed = cv2.warpAffine(
                self._tongue,
                m.astype(np.float32),
                (bw, bh),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
            )
            canvas = placed[..., :3] + canvas * (1.0 - placed[..., 3:4])
        # 3) Teeth, faded in with the opening (see TEETH_SHOW).
        show = float(
            np.clip(
                (opening / (self.face_h * scale) - TEETH_SHOW[0]) / (TEETH_SHOW[1] - TEETH_SHOW[0]),
                0.0,
                1.0,
            )
        )
        if show > 0.0:
            under = canvas
            if self.teeth is not None:
                canvas = self._own_teeth(canvas, weights, at, x0 * ss, y0 * ss, scale)
            else:
                canvas = self._drawn_teeth(canvas, rel, opening, scale)
            if show < 1.0:
                canvas = under + show * (canvas - under)
        # 4) The lips' inner faces shade what lies behind them (LOWER_LIP_SHADE, and
        # UPPER_LIP_SHADE where the upper lip is as light as the teeth).
        canvas = canvas * self._lip_shade(depth, top, opening, show)[..., None]
        # 5) The corners the rounding cut off (between the inner-lip curve and the opening):
        # the picture around them spread in (LIP_FILL_SHADE).
        lip = self._lip_fill(out, lips8, (x0, y0, x1, y1), opening / ss)
        if ss != 1:
            lip = cv2.resize(lip, (bw, bh), interpolation=cv2.INTER_LINEAR)
        # Darkest at the opening, the picture's own light at the inner-lip curve. (A 5×5
        # mask's distances: a ramp, ~25 µs against the exact ones' ~55 µs.)
        out_by = cv2.distanceTransform((mask8 <= 127).astype(np.uint8), cv2.DIST_L2, 5)
        lit = np.clip(out_by / (LIP_FILL_FADE * opening), 0.0, 1.0)
        lip = lip * (LIP_FILL_SHADE + (1.0 - LIP_FILL_SHADE) * lit)[..., None]
        # Premultiplied: the opening (its coverage) over the cut corners (the rest of the
        # curve's), so an edge the two share is the opening's alone.
        covered = np.maximum(lips8, mask8)
        a_open = (mask8.astype(np.float32) / 255.0)[..., None]
        a_all = (covered.astype(np.float32) / 255.0)[..., None]
        canvas = canvas * a_open + lip * (a_all - a_open)
        # As soft as the photo (premultiplied: colour and coverage blurred alike, so the
        # opening's edge blends into the lips as the photo's own edges do).
        if blur > SOFTEN_MIN:
            sigma = blur * ss
            canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
            covered = cv2.GaussianBlur(covered, (0, 0), sigma)
        # 6) Shrink, clip to the inner lip outline and blend in.
        small, a8 = canvas, covered
        if ss != 1:
            small = cv2.resize(canvas, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
            a8 = cv2.resize(covered, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        a = (a8.astype(np.float32) * (alpha / 255.0))[..., None]
        roi = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.clip(roi * (1 - a) + small * alpha + 0.5, 0, 255).astype(np.uint8)
        # 7) On a dim photo, the lower lip's rim lit (LIP_RIM_GAIN), as far as the mouth is
        # open.
        if self._dim > 0.0:
            self._lit_lower_lip(out, pts, alpha * self._dim, view.k)

    def _lit_lower_lip(self, out: np.ndarray, pts: np.ndarray, strength: float, k: float) -> None:
        """Lighten the lower lip along the opening's lower edge (``pts``: the inner lip outline,
        output pixels) up to (1 + :data:`LIP_RIM_GAIN` × ``strength``) times, and to at least
        :data:`LIP_RIM_LEAST` of the teeth's light (as far as ``strength``, up to 1): a band
        :data:`LIP_RIM_WIDTH` deep, softened, fading out towards the corners (where the lips
        meet in shadow) and kept off the opening."""
        width = LIP_RIM_WIDTH * self.face_h / k
        if width < 1.0 or strength <= 0.0:
            return
        h, w = out.shape[:2]
        down = self.down
        lower = pts[self._lower_idx]
        sigma = max(0.5, width / 3.0)
        pad = int(np.ceil(width + 3.0 * sigma)) + 1
        x0 = max(0, int(np.floor(lower[:, 0].min())) - pad)
        y0 = max(0, int(np.floor(lower[:, 1].min())) - pad)
        x1 = min(w, int(np.ceil(lower[:, 0].max())) + pad + 1)
        y1 = min(h, int(np.ceil(lower[:, 1].max())) + pad + 1)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        band = np.zeros((y1 - y0, x1 - x0), np.float32)
        centre = (lower - [x0, y0] + 0.5 * width * down) * 16
        cv2.polylines(
            band,
            [np.round(centre).astype(np.int32)],
            False,
            1.0,
            max(1, round(width)),
            cv2.LINE_AA,
            4,
        )
        band = cv2.GaussianBlur(band, (0, 0), sigma)
        inside = np.zeros_like(band)
        cv2.fillPoly(
            inside, [np.round((pts - [x0, y0]) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4
        )
        # Along the lips: full over the middle, none at the corners.
        left, right = lower[0], lower[-1]
        half_w = max(1.0, 0.5 * float(np.linalg.norm(right - left)))
        axis = (right - left) / (2.0 * half_w)
        mid = 0.5 * (left + right) - [x0, y0]
        xs = np.arange(x1 - x0, dtype=np.float32)[None, :] - np.float32(mid[0])
        ys = np.arange(y1 - y0, dtype=np.float32)[:, None] - np.float32(mid[1])
        u = (xs * np.float32(axis[0]) + ys * np.float32(axis[1])) / np.float32(half_w)
        along = np.clip(1.0 - u * u, 0.0, 1.0)
        weight = band * along * (1.0 - inside)
        gain = 1.0 + np.float32(LIP_RIM_GAIN * strength) * weight
        roi = out[y0:y1, x0:x1].astype(np.float32)
        if roi.ndim == 3:
            gain = gain[..., None]
            weight = weight[..., None]
        # At least LIP_RIM_LEAST of the teeth's light: a lip crushed to black gains nothing
        # by a gain.
        least = self._rim_least_bgr if roi.ndim == 3 else np.float32(self._rim_least_bgr.mean())
        lit = np.maximum(roi * gain, roi + (least - roi) * weight * np.float32(min(1.0, strength)))
        out[y0:y1, x0:x1] = np.clip(lit + 0.5, 0, 255).astype(np.uint8)

    def _lip_shade(
        self, depth: np.ndarray, top: np.ndarray, opening: float, teeth_shown: float
    ) -> np.ndarray:
        """The lips' shade over the opening (× its colour, canvas pixels): darkest at the
        lower part of the opening's edge (:data:`LOWER_LIP_SHADE`) and, on the teeth (as far
        as they show, ``teeth_shown``: :data:`TEETH_SHOW`) as far as the upper lip needs it
        (:func:`_upper_lip_need`), at the upper part (:data:`UPPER_LIP_SHADE`), fading in over
        :data:`LOWER_LIP_SHADE_WIDTH` of the opening. ``depth``: canvas pixels from the
        opening's edge; ``top``: the upper lip's middle (13); ``opening``: 13 to 14 down."""
        bh, bw = depth.shape
        down = self.down
        # Rows and columns apart, broadcast (a mouth box is small: numpy's per-call cost rules).
        v = (np.arange(bw, dtype=np.float32)[None, :] - np.float32(top[0])) * np.float32(
            down[0] / opening
        ) + (np.arange(bh, dtype=np.float32)[:, None] - np.float32(top[1])) * np.float32(
            down[1] / opening
        )
        start, full = LOWER_LIP_SHADE_FROM
        lower = np.clip((v - start) / (full - start), 0.0, 1.0)
        width = np.float32(LOWER_LIP_SHADE_WIDTH * opening + 1.0)
        near = np.exp(-np.square(depth / width))
        lips = np.float32(LOWER_LIP_SHADE) * lower
        upper_shade = UPPER_LIP_SHADE * self._upper_lip_need * teeth_shown
        if upper_shade > 0.0:
            start, full = UPPER_LIP_SHADE_FROM
            upper = np.clip((start - v) / (start - full), 0.0, 1.0)
            lips = lips + np.float32(upper_shade) * upper
        return (1.0 - lips * near).astype(np.float32)

    def _lip_fill(
        self, out: np.ndarray, lips8: np.ndarray, box: tuple[int, int, int, int], opening: float
    ) -> np.ndarray:
        """The picture's colours outside the inner-lip curve (``lips8``: inside it, 255, over
        ``box``), spread over the box: a normalised Gaussian of :data:`LIP_FILL_BLUR` ×
        ``opening`` (output pixels), each part of the curve its neighbours' colour (the upper
        lip's above, the skin at a corner's tip)."""
        x0, y0, x1, y1 = box
        h, w = out.shape[:2]
        sigma = max(0.5, LIP_FILL_BLUR * opening)
        pad = int(np.ceil(2.0 * sigma)) + 1
        px0, py0 = max(0, x0 - pad), max(0, y0 - pad)
        px1, py1 = min(w, x1 + pad), min(h, y1 + pad)
        pic = out[py0:py1, px0:px1].astype(np.float32)
        if pic.ndim == 2:
            pic = pic[..., None]
        keep = np.ones((py1 - py0, px1 - px0), np.float32)
        small = lips8
        if small.shape != (y1 - y0, x1 - x0):
            small = cv2.resize(lips8, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        keep[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0] = 1.0 - small.astype(np.float32) / 255.0
        spread = cv2.GaussianBlur(pic * keep[..., None], (0, 0), sigma)
        weight = cv2.GaussianBlur(keep, (0, 0), sigma)
        if spread.ndim == 2:
            spread = spread[..., None]
        fill = spread / np.maximum(weight, 1e-3)[..., None]
        return np.ascontiguousarray(fill[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0])

    def _cavity_shade(
        self,
        depth: np.ndarray,
        top: np.ndarray,
        bottom: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        open_fh: float,
    ) -> np.ndarray:
        """The cavity's shade (× its colour) over the canvas, lit like the face from the front
        and above. ``depth``: canvas pixels from the lips' edge; ``open_fh``: the opening in
        face heights. From the edge in: a thin lit rim (CAVITY_EDGE), a dark crease
        (CAVITY_DEEP, CAVITY_DEPTH of the opening in), then the mouth's walls and floor
        (CAVITY_BODY, CAVITY_CREASE further in), the roof under the upper teeth in their
        shadow, and the back of the mouth, a small soft area above the tongue, as dark as the
        crease. Little light gets into a small opening: its walls stay at CAVITY_DEEP."""
        bh, bw = depth.shape
        down = self.down
        right_axis = np.array([-down[1], down[0]], np.float32)
        mid = 0.5 * (left + right)
        half_w = max(1.0, 0.5 * float(np.linalg.norm(right - left)))
        opening = max(1.0, float((bottom - top) @ down))
        # Rows and columns apart, broadcast: a mouth box is small, numpy's per-call cost rules.
        xs = np.arange(bw, dtype=np.float32)[None, :]
        ys = np.arange(bh, dtype=np.float32)[:, None]
        v = (xs - top[0]) * (down[0] / opening) + (ys - top[1]) * (down[1] / opening)
        u = (xs - mid[0]) * (right_axis[0] / half_w) + (ys - mid[1]) * (right_axis[1] / half_w)
        lit = float(np.clip((open_fh - CAVITY_LIT[0]) / (CAVITY_LIT[1] - CAVITY_LIT[0]), 0.0, 1.0))
        body = CAVITY_DEEP + lit * (CAVITY_BODY - CAVITY_DEEP)
        # Roof in the upper teeth's shadow, floor lit (light from above, through the lips).
        roof = np.clip(1.0 - v / 0.6, 0.0, 1.0)
        body = body * (1.0 - CAVITY_ROOF * roof * roof)
        bu, bv, bc = CAVITY_BACK
        back = np.exp(-((u / bu) ** 2) - ((v - bc) / bv) ** 2) * lit
        body = body + (CAVITY_DEEP - body) * back
        rim = CAVITY_DEPTH * opening + 1.0
        d1 = np.clip(depth / rim, 0.0, 1.0)
        d2 = np.clip((depth - rim) / (CAVITY_CREASE * opening + 1.0), 0.0, 1.0)
        shade = CAVITY_EDGE + (CAVITY_DEEP - CAVITY_EDGE) * d1 + (body - CAVITY_DEEP) * d2
        return shade.astype(np.float32)

    def _smooth_outline(self, rel: np.ndarray) -> np.ndarray:
        """The inner lip outline (points in :data:`INNER`'s order) as two curves through its
        landmarks, upper and lower each from corner to corner (:func:`_outline_matrix`)."""
        return self._outline @ rel

    def _own_teeth(
        self,
        canvas: np.ndarray,
        weights: dict[str, float],
        pts: np.ndarray,
        x0: int,
        y0: int,
        ss: float,
    ) -> np.ndarray:
        """The portrait's own mouth interior: the upper part stays with the upper lip (the
        teeth hang from the skull), the lower part goes with the lower lip (the jaw).
        ``pts``: the inner lip outline (portrait pixels); ``x0, y0``: the canvas's corner in
        canvas pixels, ``ss`` canvas pixels per portrait pixel."""
        tex = self.teeth
        assert tex is not None
        idx = self._inner_index
        now_upper, now_lower = pts[idx[13]], pts[idx[14]]
        shifts = {
            False: now_lower - tex.lower,
            # The relaxed upper lip hangs over the teeth by part of how far it came down.
            True: now_upper - 0.5 * (tex.rest_upper + tex.upper),
        }
        bh, bw = canvas.shape[:2]
        bend = self._upper_bend(weights, pts, x0, y0, ss, bw, bh)
        for bgra, is_upper in self._teeth_layers:
            shift = shifts[is_upper]
            dx = (float(tex.origin[0] + shift[0]) + 0.5) * ss - x0 - 0.5
            dy = (float(tex.origin[1] + shift[1]) + 0.5) * ss - y0 - 0.5
            m = np.array([[ss, 0.0, dx], [0.0, ss, dy]], np.float32)
            if is_upper and bend is not None:
                # Canvas pixel p reads the layer at m⁻¹(p − bend(p) down).
                inv = cv2.invertAffineTransform(m).astype(np.float32)
                xs = np.arange(bw, dtype=np.float32)[None, :]
                ys = np.arange(bh, dtype=np.float32)[:, None]
                bx, by = bend * self.down[0], bend * self.down[1]
                warped = cv2.remap(
                    bgra,
                    inv[0, 0] * (xs - bx) + (inv[0, 1] * (ys - by) + inv[0, 2]),
                    inv[1, 0] * (xs - bx) + (inv[1, 1] * (ys - by) + inv[1, 2]),
                    cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT,
                )
            else:
                warped = cv2.warpAffine(
                    bgra, m, (bw, bh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
                )
            # Premultiplied: over = layer + canvas × (1 − alpha).
            canvas = warped[..., :3] + canvas * (1.0 - warped[..., 3:4])
        return canvas

    def _upper_bend(
        self,
        weights: dict[str, float],
        pts: np.ndarray,
        x0: float,
        y0: float,
        ss: float,
        bw: int,
        bh: int,
    ) -> np.ndarray | None:
        """Canvas pixels (bh×bw, by each pixel's place along the face's right) the
        portrait's own upper teeth go down by beyond the upper lip's middle: how much further
        the wide-open jaw (rig.JAW_WIDE, its share of ``weights``) brings the upper inner lip
        down there than at its middle (13), so the teeth hang from the lip's arch as the
        drawn ones do (a flat row of own teeth under that arch read as a hexagon). ``pts``:
        the inner lip outline (portrait pixels). None: no wide-open share, or under a tenth of
        a pixel."""
        basis = self.rig.bases.get(JAW_WIDE)
        wt = self.rig.mix(weights).get(JAW_WIDE, 0.0)
        if basis is None or wt <= 0.0:
            return None
        down = self.down.astype(np.float64)
        kept = self._bend_disp
        if kept is None or kept[0] is not basis.vertex_disp:
            # (Per basis, not per frame: the upper inner lip's way down, and its indices.)
            kept = self._bend_disp = (
                basis.vertex_disp,
                basis.vertex_disp[UPPER_INNER].astype(np.float64) @ down,
            )
        moved = wt * kept[1]
        moved = moved - moved[_UPPER_MIDDLE]
        if float(np.abs(moved).max()) * ss < 0.1:
            return None
        right = np.array([-down[1], down[0]])
        along = ((pts[self._upper_idx] + 0.5) * ss - [x0 + 0.5, y0 + 0.5]) @ right
        order = np.argsort(along)
        at = np.arange(bw, dtype=np.float32)[None, :] * np.float32(right[0]) + np.arange(
            bh, dtype=np.float32
        )[:, None] * np.float32(right[1])
        return np.interp(at, along[order], moved[order] * ss).astype(np.float32)

    def _drawn_teeth(
        self, canvas: np.ndarray, rel: np.ndarray, opening: float, ss: float
    ) -> np.ndarray:
        """Upper and lower rows of separate teeth along the inner lips, drawn per pixel from
        their distance to the lip (so every edge is anti-aliased at sub-pixel positions):
        teeth on an arch that turns away towards the corners (narrower, shorter, darker
        there), the upper row in the upper lip's soft shadow, faint soft gaps between teeth,
        the lower row deeper and mostly hidden by the lower lip at small openings.
        ``ss``: canvas pixels per portrait pixel."""
        bh, bw = canvas.shape[:2]
        down = self.down
        right_axis = np.array([-down[1], down[0]], np.float32)
        fh = self.face_h * ss
        upper_h = min(TEETH_UPPER_SHARE * opening, TEETH_HEIGHT * fh)
        lower_h = float(np.clip((opening - LOWER_TEETH_FROM * fh) * 0.35, 0.0, 0.6 * upper_h))
        rows = []
        if lower_h >= 0.5 and self._lower_teeth_drawn:
            rows.append((self._lower_idx, lower_h, LOWER_ROW))
        if upper_h >= 0.5:
            rows.append((self._upper_idx, upper_h, UPPER_ROW))
        if not rows:
            return canvas
        ys, xs = np.mgrid[0:bh, 0:bw].astype(np.float32)
        along = xs * right_axis[0] + ys * right_axis[1]
        depth = xs * down[0] + ys * down[1]
        for lip_idx, tooth_h, row in rows:
            curve = rel[lip_idx]
            s = curve @ right_axis
            order = np.argsort(s)
            s_sorted, d_sorted = s[order], (curve @ down)[order]
            half = 0.5 * float(s_sorted[-1] - s_sorted[0])
            if half < 2.0:
                continue
            mid = 0.5 * float(s_sorted[-1] + s_sorted[0])
            # Into the mouth from the lip's edge (down from the upper lip, up from the lower).
            v = row.sign * (depth - np.interp(along, s_sorted, d_sorted).astype(np.float32))
            # The arch seen from the front: a point at angle th along it shows at sin(th).
            u = np.clip((along - mid) / (row.span * half), -1.0, 1.0)
            sin_max = np.sin(ARCH_ANGLE)
            th = np.arcsin(np.abs(u) * sin_max)
            # Arc position in tooth widths from the midline -> which tooth, and where in it.
            arc = th / ARCH_ANGLE * row.cum[-1]
            k = np.searchsorted(row.cum, arc.ravel()).reshape(arc.shape).clip(1, len(row.cum) - 1)
            a0, a1 = row.cum[k - 1], row.cum[k]
            lx = 2.0 * (arc - a0) / (a1 - a0) - 1.0  # -1..1 across the tooth
            # Half a tooth's visible width in canvas pixels (foreshortened by cos th).
            px_per_arc = row.span * half / sin_max * ARCH_ANGLE / row.cum[-1]
            half_w = 0.5 * (a1 - a0) * px_per_arc * np.cos(th)
            gap_px = (1.0 - np.abs(lx)) * half_w  # pixels to the nearest gap
            turn = np.sin(th) ** 2
            length = tooth_h * row.length[k - 1] * (1.0 - 0.25 * turn)
            # Rounded incisal corners: the tip recedes by up to 0.6 portrait pixels over the
            # last one at the tooth's sides (in canvas pixels: sub-pixel on a small overlay,
            # where a full pixel's notch per tooth read as a saw).
            corner = np.clip(1.0 - gap_px / ss, 0.0, 1.0) * (0.6 * ss)
            tip = length - corner - 0.12 * length * np.abs(lx) ** 6
            alpha = np.clip(tip - v + 0.5, 0.0, 1.0)
            # The arch's last teeth sink into the corners' dark (the buccal corridor).
            alpha *= np.clip((1.0 - np.abs(along - mid) / (row.span * half)) * 6.0, 0.0, 1.0)
            vv = np.clip(v / max(length.max(), 1.0), 0.0, 1.0)
            shade = row.shade * (1.0 - CORNER_DARK * turn)
            # A gap narrower than a canvas pixel (a small overlay) is spread over one pixel
            # with the same total darkening, or it aliases into a comb of dark columns.
            soft = GAP_SOFT_PX * ss
            spread = max(soft, GAP_MIN_PX)
            dark = GAP_DARK * soft / spread
            shade = shade * (1.0 - dark * np.exp(-((gap_px / spread) ** 2)))
            shade = shade * (1.0 - 0.08 * lx * lx)  # rounded across, faintly
            # The lip's soft shadow over the teeth's root end, fading a third of the way in.
            shade = shade * (1.0 - row.lip_shadow * np.exp(-vv / 0.3))
            # A translucent incisal edge.
            shade = shade * (1.0 - 0.1 * np.clip((vv - 0.8) / 0.2, 0.0, 1.0))
            # Shadowed enamel takes the mouth's own reddish light, not grey.
            shade3 = shade[..., None]
            tooth = self._teeth_bgr * shade3 + (0.6 * self._cavity_bgr) * (1.0 - shade3)
            a = alpha[..., None]
            canvas = canvas * (1.0 - a) + tooth * a
        return canvas


@dataclass(frozen=True)
class _Row:
    """One row of teeth: which way it grows, how much of the mouth's width its arch spans,
    each tooth's width and length from the midline outwards (incisors, canine, premolars)."""

    sign: float
    span: float
    widths: tuple[float, ...]
    length: np.ndarray
    shade: float
    lip_shadow: float

    @property
    def cum(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(self.widths)]).astype(np.float32)


UPPER_ROW = _Row(
    +1.0, 0.86, (1.0, 0.78, 0.88, 0.8, 0.8), np.array([1.0, 0.86, 0.95, 0.8, 0.75]), 1.0, 0.42
)
"""Upper row: central and lateral incisors, canine, two premolars (real widths, 8.5, 6.6,
7.5, 7, 6.8 mm, over the central's)."""
LOWER_ROW = _Row(
    -1.0, 0.62, (0.62, 0.68, 0.8, 0.8, 0.8), np.array([1.0, 1.0, 0.95, 0.8, 0.8]), 0.7, 0.3
)
"""Lower row: a smaller arch inside the upper one, small incisors, deeper in shadow."""
ARCH_ANGLE = 1.25
"""Radians of the arch seen from the midline to the last visible tooth (~72°)."""
TEETH_UPPER_SHARE = 0.55
"""Share of the opening the upper teeth may fill."""
LOWER_TEETH_FROM = 0.05
"""Opening (face heights) below which the lower lip hides the lower teeth."""
LOWER_TEETH_TURNED = False
"""Whether a turned face (``rig.lip_turned``: its far mouth half under 0.8 of the near one)
shows drawn lower teeth: it does not. Seen at an angle, the lower row is a light band right
along the lower lip's edge, and the tracker took the band's top for the lip: landmark 14
2-6 px up the teeth at jaw 0.4-0.6 (the 40 degree moustached stand-in with drawn teeth: 0.055
read at a drawn 0.082, 0.090 at 0.121; the 55 degree one 0.064 at 0.100). Without the row
tracked~asked r on the turned stand-ins with drawn teeth 0.935-0.976 / 0.951-0.982 ->
0.945-0.981 / 0.959-0.986 (espeak / festival), sweep slope 0.825 -> 0.918 at 55 degrees; on
a frontal face the row helps the tracker (astronaut_grey_moustache drawn: sweep r 0.983 ->
0.970 without it) and stays. The portrait's own lower teeth are not touched."""
CORNER_DARK = 0.5
"""How much darker the arch's last tooth is (turned away, deeper in the mouth)."""
GAP_DARK = 0.18
"""Darkening at the middle of a gap between two teeth: faint, as on a photo."""
GAP_SOFT_PX = 0.7
"""Portrait pixels over which a gap fades into the teeth beside it."""
GAP_MIN_PX = 0.6
"""Canvas pixels: the narrowest a gap is drawn (its darkening shrinks instead)."""
