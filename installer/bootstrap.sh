#!/usr/bin/env bash
# Set up camfx in ./.venv on a fresh machine.
#   installer/bootstrap.sh          the app
#   installer/bootstrap.sh --dev    the app plus test/lint tools and the system packages the
#                                   tests use (Xvfb, a tray host, espeak-ng, PulseAudio, PortAudio)
# System packages are installed with apt-get when it exists and we are root (or have sudo);
# elsewhere the script says what is missing and goes on, since the app runs without them.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "usage: installer/bootstrap.sh [--dev]" >&2; exit 2 ;;
  esac
done

# Runtime: OpenCV and Qt need GL/EGL, xkbcommon, fontconfig and D-Bus; audio needs PortAudio.
apt_runtime=(libgl1 libegl1 libglib2.0-0 libxkbcommon0 libfontconfig1 libdbus-1-3 libportaudio2)
# Tests: a virtual X server with a tray host for the GUI tests, the xcb plugin's libraries,
# a C compiler + V4L2 headers for the fake virtual-camera device, espeak-ng for lip-sync ground
# truth, PulseAudio for the virtual microphone, ffmpeg tools to inspect written files, strace
# for the no-network check (tests/test_privacy.py).
apt_dev=(xvfb xauth trayer libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0
  libx11-6 libxtst6
  gcc libc6-dev linux-libc-dev espeak-ng libespeak-ng1 pulseaudio pulseaudio-utils
  libasound2-plugins alsa-utils sox
  strace)

pkgs=("${apt_runtime[@]}")
if [ "$dev" = 1 ]; then pkgs+=("${apt_dev[@]}"); fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    echo "camfx setup: installing system packages: ${missing[*]}"
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    echo "camfx setup: please install these system packages: ${missing[*]}" >&2
  fi
fi

python=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "camfx setup: Python 3.11 or newer is needed (python3.11 was not found)" >&2
  exit 1
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[dev]'
else
  .venv/bin/python -m pip install -q -e .
fi
echo "camfx setup: done (.venv/bin/camfx)"
