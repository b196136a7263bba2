# One device call: join the payload; the models on CUDA with and without CUDA graphs (with each
# graph's output checked against the CPU); Studio 1080p auto+graph and auto (flat out and paced);
# then paced benches alternated, graphs off/on, twice. Every step bounded.
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
date +%T
timeout ${RT:-260} $PY tools/gpu_report.py --out "$OUT" --providers cuda,cuda+graph --sizes 1920x1080 --studio-providers auto+graph,auto --model-runs 50 --frames 100 --budget-s ${RB:-170} 2>&1 | tail -45
date +%T
for i in 1 2; do
  for g in 0 1; do
    CAMFX_CUDA_GRAPH=$g timeout 70 $PY -m app.cli bench --preset studio --size 1920x1080 --frames $FR --json >"$OUT/bench_g${g}_$i.json" 2>"$OUT/bench_g${g}_$i.err"
    echo "bench graph=$g #$i rc=$?"; tail -2 "$OUT/bench_g${g}_$i.err"
    $PY - "$OUT/bench_g${g}_$i.json" <<'PYEOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("no json", e); sys.exit(0)
sp = d.get("stages_paced", {})
print(json.dumps({"fps": d["throughput_fps"], "cpu": d["cpu"]["ms_per_frame"], "lat": d["latency"]["median_ms"],
  "providers": sorted(set(d.get("providers", {}).values())), "graph_refusals": d.get("graph_refusals"),
  "blur": sp.get("background_blur"), "beauty": sp.get("beauty"), "seg": sp.get("segmentation"),
  "prep": sp.get("segmentation/prepare"), "mesh": sp.get("face_tracker/mesh"), "tracker": sp.get("face_tracker")}))
PYEOF
  done
done
date +%T
