# One device call: Studio 1080p paced, CUDA graphs off and on alternated three times (each run's
# ONNX Runtime errors counted), then flat out auto+graph and auto via the report.
set -o pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
SITE=${SITE:-/tmp/site}
if [ -z "$LOCAL" ]; then
  mkdir -p /tmp/camfx-gpu "$SITE" && cp .gpu/p04/payload.tar.xz.04 .gpu/p04/SHA256SUMS /tmp/camfx-gpu/ &&
  (cd /tmp/camfx-gpu && cat payload.tar.xz.* >payload.tar.xz && sha256sum -c SHA256SUMS) &&
  python3 -c "import tarfile; tarfile.open('/tmp/camfx-gpu/payload.tar.xz').extractall('$SITE')" || exit 3
fi
PY=${PY:-python3}
export PYTHONPATH=$SITE:. PYTHONUNBUFFERED=1
FR=${FR:-200}
uptime | tee "$OUT/uptime"
for i in 1 2 3; do
  for g in 0 1; do
    CAMFX_CUDA_GRAPH=$g timeout 60 $PY -m app.cli bench --preset studio --size 1920x1080 --frames $FR --json >"$OUT/b_g${g}_$i.json" 2>"$OUT/b_g${g}_$i.err"
    rc=$?
    $PY - "$OUT/b_g${g}_$i.json" "$OUT/b_g${g}_$i.err" $g $i $rc <<'PYEOF'
import json, sys
err = open(sys.argv[2]).read()
n_err = err.count("[E:onnxruntime")
bypass = err.count("bypassed")
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("graph", sys.argv[3], "#", sys.argv[4], "rc", sys.argv[5], "no json", err[-300:]); sys.exit(0)
sp = d.get("stages_paced", {})
m = lambda k: (sp.get(k) or {}).get("median_ms")
print(json.dumps({"graph": sys.argv[3], "i": sys.argv[4], "rc": sys.argv[5], "ort_errors": n_err, "bypassed": bypass,
  "fps": d["throughput_fps"], "cpu": d["cpu"]["ms_per_frame"], "lat": d["latency"]["median_ms"],
  "providers": sorted(set(d.get("providers", {}).values())), "graph_refusals": d.get("graph_refusals"),
  "blur": m("background_blur"), "beauty": m("beauty"), "seg": m("segmentation"), "prep": m("segmentation/prepare"),
  "mesh": m("face_tracker/mesh"), "tracker": m("face_tracker")}))
PYEOF
  done
done
date +%T
timeout ${RT:-150} $PY tools/gpu_report.py --out "$OUT" --providers cpu --sizes 1920x1080 --studio-providers auto+graph,auto --model-runs 3 --frames 100 --budget-s ${RB:-120} 2>&1 | grep -A8 "^## Studio"
date +%T
