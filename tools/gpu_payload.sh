#!/usr/bin/env bash
# The Python packages a lent GPU machine lacks for tools/gpu_report.py, in parts that travel.
#
#   tools/gpu_payload.sh            writes .gpu/p00, .gpu/p01, ... (ignored by git) and the plan
#
# Why parts: the lent machine (/work/.library/device) reaches no network, and each `run` call
# carries at most 64 MiB with the working tree (24.5 MB of tracked files on 2026-12-04). Its
# image has Python 3.12 with numpy, opencv-python-headless, numba, PyTorch and NVIDIA's CUDA 13
# and cuDNN 9 pip packages, and the CPU build of onnxruntime. camfx's engine needs, beyond
# those, the CUDA build (onnxruntime-gpu 1.31.1: CUDA 13, cuDNN 9; a 255 MB wheel) and msgspec.
# A warm machine keeps what earlier calls left, so the parts go over one call each, back to
# back (it is given back after 30 s idle), and the last call joins them, installs them under
# /tmp/site (ahead of the image's CPU build on PYTHONPATH) and runs the report. The plan below
# says each call.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_GPU=${ORT_GPU:-onnxruntime-gpu==1.31.1}
# The wheels are unpacked and packed again with xz: the CUDA provider's kernels compress better
# than the wheel's zip does (255 MB -> 203 MB), which makes 5 calls of it, not 7. With the
# 24.6 MB tree, 39 MiB parts stay under the 64 MiB a call carries.
PART_MIB=${PART_MIB:-39}
dest=.gpu

grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
rm -rf "$dest"
mkdir -p "$dest/wheels" "$dest/site"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dest/wheels" "$ORT_GPU" "msgspec>=0.18"
# A wheel unpacked into a folder on sys.path is what `pip install --target` makes of it.
for w in "$dest"/wheels/*.whl; do python3 -m zipfile -e "$w" "$dest/site"; done
tar -C "$dest/site" -cf - . | xz -T0 -9 >"$dest/payload.tar.xz"
rm -rf "$dest/wheels" "$dest/site"
(cd "$dest" && sha256sum payload.tar.xz >SHA256SUMS)
split -b "${PART_MIB}m" -d -a 2 "$dest/payload.tar.xz" "$dest/payload.tar.xz."
rm "$dest/payload.tar.xz"
parts=()
for f in "$dest"/payload.tar.xz.*; do
  n=${f##*.}
  mkdir "$dest/p$n"
  mv "$f" "$dest/p$n/"
  parts+=("p$n")
done
last=${parts[${#parts[@]}-1]}
mv "$dest/SHA256SUMS" "$dest/$last/"

echo "gpu_payload: ${#parts[@]} parts of at most ${PART_MIB} MiB in $dest/"
echo "gpu_payload: the device calls, back to back (the machine is given back after 30 s idle):"
for p in "${parts[@]}"; do
  if [ "$p" != "$last" ]; then
    echo "  run carry=[\"$dest/$p\"] command: mkdir -p /tmp/camfx-gpu && cp $dest/$p/* /tmp/camfx-gpu/"
  fi
done
cat <<EOF
  run carry=["$dest/$last"] timeout_s=600 command:
    set -o pipefail; mkdir -p /tmp/camfx-gpu /tmp/site && cp $dest/$last/* /tmp/camfx-gpu/ &&
    (cd /tmp/camfx-gpu && cat payload.tar.xz.* >payload.tar.xz && sha256sum -c SHA256SUMS) &&
    python3 -c "import tarfile; tarfile.open('/tmp/camfx-gpu/payload.tar.xz').extractall('/tmp/site')" &&
    PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1 python3 tools/gpu_report.py --out \$OUT 2>&1 | tee \$OUT/log
EOF
