#!/usr/bin/env bash
# Set up camfx in ./.venv on a fresh machine.
#   installer/bootstrap.sh          the app
#   installer/bootstrap.sh --dev    the app plus test/lint tools and the system packages the
#                                   tests use (Xvfb, a tray host, espeak-ng, PulseAudio, PortAudio)
#   --cpu / --gpu                   force the plain or the CUDA build of ONNX Runtime (default:
#                                   the CUDA build only where an NVIDIA driver is installed)
#   --jit                           also Numba (the `jit` extra): the compiled background
#                                   composites, faster, for 188 MiB more (--dev includes it: the
#                                   tests of those kernels need it)
# System packages are installed with apt-get when it exists and we are root (or have sudo);
# elsewhere the script says what is missing and goes on, since the app runs without them.
# One line per step; at the end, `camfx devices` says what works on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
runtime=auto
jit=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1; jit=1 ;;
    --cpu) runtime=cpu ;;
    --gpu) runtime=gpu ;;
    --jit) jit=1 ;;
    -h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: installer/bootstrap.sh [--dev] [--cpu|--gpu] [--jit] (--help says more)" >&2
       exit 2 ;;
  esac
done
step() { echo "camfx setup: $*"; }
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore

# Runtime: OpenCV and Qt need GL/EGL, xkbcommon, fontconfig and D-Bus; audio needs PortAudio.
apt_runtime=(libgl1 libegl1 libglib2.0-0 libxkbcommon0 libfontconfig1 libdbus-1-3 libportaudio2)
# Tests: a virtual X server with a tray host for the GUI tests, the xcb plugin's libraries,
# a C compiler + V4L2 headers for the fake virtual-camera device, espeak-ng for lip-sync ground
# truth, PulseAudio for the virtual microphone, ffmpeg tools to inspect written files, strace
# for the no-network check (tests/test_privacy.py), and Flite and Festival voices: the TTS
# engines whose voices the lip-sync model never trained on (tests/test_audio_lipsync_model.py),
# and the other-language female voices it trains on (tools/train_mouth.py).
apt_dev=(xvfb xauth trayer libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0
  libx11-6 libxtst6
  gcc libc6-dev linux-libc-dev espeak-ng libespeak-ng1 pulseaudio pulseaudio-utils
  libasound2-plugins alsa-utils sox
  strace
  flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  festvox-ca-ona-hts festvox-italp16k festvox-czech-dita festvox-suopuhe-lj)

pkgs=("${apt_runtime[@]}")
if [ "$dev" = 1 ]; then pkgs+=("${apt_dev[@]}"); fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  step "1/5 system packages: not a Debian/Ubuntu system; see installer/README.md for the list"
elif [ "${#missing[@]}" -eq 0 ]; then
  step "1/5 system packages: all ${#pkgs[@]} present"
elif command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  step "1/5 system packages: installing ${missing[*]}${sudo_cmd:+ with sudo (it may ask for your password)}"
  # A user sudo refuses, or no network: said, and the setup goes on (set -e stopped it at
  # once, with only sudo's own refusal: qa64).
  if ! { $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null; }; then
    step "1/5 system packages: could not install them (no sudo rights, or no network); please" \
      "install ${missing[*]} (camfx runs without them, with less)" >&2
  fi
else
  step "1/5 system packages: please install ${missing[*]} (camfx runs without them, with less)" >&2
fi

. installer/find-python.sh
python=$(find_python) || exit 1

if [ -x .venv/bin/python ]; then
  step "2/5 Python: $(.venv/bin/python -V) in the existing .venv"
else
  "$python" -m venv .venv
  step "2/5 Python: $(.venv/bin/python -V) in a new .venv"
  # Python 3.11's venv brings setuptools 65 (10 MiB), which nothing uses: camfx builds with
  # setuptools>=77 in pip's isolated build environment (Python 3.12's venv has none).
  .venv/bin/python -m pip uninstall -q -y setuptools >/dev/null 2>&1 || true
fi
# --no-compile: pip would write bytecode for every module of every package (numpy's tests and
# ONNX Runtime's tools too); Python writes it for the modules camfx imports on first use.
# With setuptools gone too, a CPU-only venv was 652 MiB after a first run; a plain
# `pip install ".[cpu]"` makes 707 MiB (measured 2026-12-02).
.venv/bin/python -m pip install -q --no-compile --upgrade pip

# ONNX Runtime: the CUDA build only where an NVIDIA driver is installed.
read -r detected why < <("$python" pipelines/inference/gpu.py) || true
[ -n "${detected:-}" ] || { detected=cpu; why="driver check failed"; }
[ "$runtime" = auto ] && runtime="$detected" || why="chosen with --$runtime"
if [ "$runtime" = gpu ]; then wanted=onnxruntime-gpu other=onnxruntime; else wanted=onnxruntime other=onnxruntime-gpu; fi
step "3/5 ONNX Runtime: $wanted ($why)"
# Never both of a pair that installs the same module (onnxruntime/onnxruntime-gpu, and the
# OpenCV build with its own Qt 5 that camfx used before): the unwanted one goes, with the
# wanted one whose files it overwrote; step 4 installs the wanted one afresh.
for pair in "$other $wanted" "opencv-python opencv-python-headless"; do
  read -r unwanted keep <<<"$pair"
  if .venv/bin/python -m pip show -q "$unwanted" >/dev/null 2>&1; then
    step "    removing $unwanted (it shares its module with $keep)"
    .venv/bin/python -m pip uninstall -q -y "$unwanted" "$keep" >/dev/null 2>&1 || true
  fi
done

extras="$runtime"
[ "$jit" = 1 ] && extras="jit,$extras"
[ "$dev" = 1 ] && extras="dev,$extras"
step "4/5 camfx and its libraries (pip install -e '.[$extras]')"
# setuptools says "Editable installation. Please be careful with folders…" for every editable
# install of a flat layout: nothing for the user to act on.
PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install -q --no-compile \
  -e ".[$extras]"
if [ "$jit" = 0 ]; then
  step "    without Numba: background effects take the slower OpenCV path (--jit adds it, 188 MiB)"
else
  # Compiled here, once, into Numba's cache beside the code, not at camfx's first start:
  # there the compile took 13 s of CPU (40-150 s on a loaded 2-core machine) on a background
  # thread while the effects ran their slower OpenCV path. A warm cache loads in ~1 s.
  step "    compiling the background effects' kernels once (Numba, about 10-30 s)"
  .venv/bin/python -c 'import sys; from pipelines.segmentation import fused; sys.exit(0 if fused.available() else 1)' ||
    step "    the kernels did not compile; camfx will use the slower OpenCV path (see the log)" >&2
fi

step "5/5 what works on this machine (.venv/bin/camfx devices):"
.venv/bin/camfx devices 2>&1 | sed 's/^/    /' ||
  step "camfx devices failed; the app is installed but something above is wrong" >&2
step "done. Start it with .venv/bin/camfx; for a menu entry and 'camfx' on your PATH:"
step "    .venv/bin/python installer/shortcuts.py install"
