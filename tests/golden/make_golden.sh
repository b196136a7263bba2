#!/usr/bin/env bash
# Regenerate the MediaPipe 0.10.21 golden outputs in tests/golden/ (see README.md there).
#
#   bash tests/golden/make_golden.sh            # golden files from the committed photos
#   bash tests/golden/make_golden.sh --photos   # also re-derive tests/data/faces/*.jpg and
#                                               # pipelines/assets/astronaut.png from skimage
#   bash tests/golden/make_golden.sh --venv-only  # only build/check the venv (tools/peer_bench.py)
#
# MediaPipe 0.10.21 needs numpy<2 and brings opencv-contrib-python, so it lives in its own
# throwaway venv (default /tmp/camfx-mp-venv, or $CAMFX_MP_VENV), never in the app's env.
# Set CAMFX_MP_REBUILD=1 to rebuild that venv from scratch. Needs python3.11 and PyPI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${CAMFX_MP_VENV:-/tmp/camfx-mp-venv}"
python="${PYTHON:-python3.11}"

# Every version that can change a golden number is pinned.
pins=(
    "mediapipe==0.10.21"
    "numpy==1.26.4"
    "opencv-contrib-python==4.11.0.86"
    "ai-edge-litert==2.3.0"
    "protobuf==4.25.9"
)
photo_pins=("scikit-image==0.26.0")

start=$SECONDS
if [[ "${CAMFX_MP_REBUILD:-0}" == 1 ]]; then
    rm -rf -- "$venv"
fi
if [[ ! -x "$venv/bin/python" ]]; then
    echo "make_golden: building $venv"
    "$python" -m venv "$venv"
fi
want=("${pins[@]}")
for arg in "$@"; do
    if [[ "$arg" == "--photos" ]]; then
        want+=("${photo_pins[@]}")
    fi
done
if ! "$venv/bin/python" - "${want[@]}" <<'EOF'
import sys
from importlib import metadata

for pin in sys.argv[1:]:
    name, version = pin.split("==")
    try:
        if metadata.version(name) != version:
            sys.exit(1)
    except metadata.PackageNotFoundError:
        sys.exit(1)
EOF
then
    echo "make_golden: installing ${want[*]}"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${want[@]}"
fi

for arg in "$@"; do
    if [[ "$arg" == "--venv-only" ]]; then
        echo "make_golden: venv ready: $venv"
        exit 0
    fi
done

cd "$root"
# MediaPipe's absl logging ignores GLOG_minloglevel: drop its per-graph chatter here.
"$venv/bin/python" tests/golden/make_golden.py "$@" \
    2> >(grep -vE '^[WI]0000 |^INFO: Created TensorFlow Lite|^WARNING: All log messages' >&2)
echo "make_golden: done in $((SECONDS - start)) s"
