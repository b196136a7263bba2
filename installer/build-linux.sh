#!/usr/bin/env bash
# Build the self-contained Linux app (PyInstaller, one folder) and pack it:
#     bash installer/build-linux.sh          → dist/camfx-VERSION-linux-ARCH.tar.gz
# Its own virtual environment (build/bundle-venv) gets the plain ONNX Runtime: the bundle has to
# run on any machine, and the CUDA build only serves where NVIDIA's libraries are installed.
# It gets Numba too (the `jit` extra, optional in a venv): the bundle's users cannot add it
# later, and it makes the background effects faster (README "Speed").
# On the 2-core CI machine: ~5 min the first time (downloads), ~3 min after.
# Test it with: .venv/bin/python installer/test_bundle.py dist/camfx-*-linux-*.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "camfx bundle: $*"; }
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore

. installer/find-python.sh
python=$(find_python) || exit 1

venv=build/bundle-venv
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
step "1/4 build environment $venv ($("$venv/bin/python" -V))"
"$venv/bin/python" -m pip install -q --upgrade pip
# Never both ONNX Runtime builds (installer/bootstrap.sh says why).
"$venv/bin/python" -m pip uninstall -q -y onnxruntime-gpu opencv-python >/dev/null 2>&1 || true
step "2/4 camfx and its libraries (pip install '.[cpu,jit,bundle]')"
"$venv/bin/python" -m pip install -q ".[cpu,jit,bundle]"
version=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("camfx"))')
arch=$(uname -m)

step "3/4 PyInstaller (installer/camfx.spec)"
rm -rf build/dist/camfx
# No --clean: build/pyinstaller keeps the analysis, so a rebuild takes a fraction of the time.
"$venv/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath build/dist --workpath build/pyinstaller installer/camfx.spec
install -m 0755 installer/linux/install.sh installer/linux/uninstall.sh build/dist/camfx/
install -m 0644 installer/linux/README.txt build/dist/camfx/

mkdir -p dist
tarball="dist/camfx-$version-linux-$arch.tar.gz"
tar -C build/dist -czf "$tarball" camfx
step "4/4 $tarball: $(du -sh "$tarball" | cut -f1) packed, $(du -sh build/dist/camfx | cut -f1) installed"
step "install: tar -xzf $tarball && camfx/install.sh   (test: installer/test_bundle.py)"
