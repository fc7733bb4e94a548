#!/usr/bin/env bash
# From 100 GPX patrols to a month's km: `patrol import` of the folder and
# `patrol report --month` (quality control on), against EarthRanger's
# analysis library Ecoscope (bench/ecoscope_km.py: relocations read with
# gpxpy, Ecoscope's Trajectory, the month's segments summed), on the same
# files (make_patrols.py: 100 patrols of 1,500 points, four a day, all in
# January 2018), in the same run; both km printed, to agree to 1e-6.
# Ecoscope 1.7.3 (with fiona<1.10 and pandas<2.3) is installed from PyPI into
# a virtualenv under the scratch folder: a fresh temporary one, or
# ECOSCOPE_SCRATCH to keep it between runs. Not part of CI.
#   bash bench/ecoscope.sh [files] [points]
#   RUNS=3 ECOSCOPE_SCRATCH=/tmp/eco bash bench/ecoscope.sh
# Needs python3 with venv, GNU time (the `time` package) and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-100}
points=${2:-1500}
runs=${RUNS:-2}
scratch=${ECOSCOPE_SCRATCH:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$scratch" ]; then scratch=$work/scratch; fi
mkdir -p "$scratch"
if [ ! -x "$scratch/venv/bin/python" ] || ! "$scratch/venv/bin/python" -c "import ecoscope" 2>/dev/null; then
  echo "installing Ecoscope 1.7.3 into $scratch/venv"
  python3 -m venv "$scratch/venv"
  "$scratch/venv/bin/pip" install -q "ecoscope==1.7.3" "fiona<1.10" "pandas<2.3"
fi
cargo build --release --quiet
python3 bench/make_patrols.py "$work/gpx" "$files" "$points" 4
month=2018-01
echo "input: $files files of $points track points, $(du -sh "$work/gpx" | cut -f1); $(nproc) cores; $runs runs; month $month"

P=./target/release/patrol
patrol_km() {
  rm -f "$work/p.gpkg" "$work/p.gpkg-journal"
  "$P" --db "$work/p.gpkg" init --site Bench --timezone UTC 2>/dev/null
  "$P" --quiet --db "$work/p.gpkg" import --team A "$work/gpx" >/dev/null
  "$P" --db "$work/p.gpkg" report --month "$month" --format json |
    python3 -c 'import json, sys; print("%.6f" % json.load(sys.stdin)["effort"]["km"])'
}
export -f patrol_km
export P work month

measure() { # label, command...: its time and km
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/km" 2>"$work/err" || { tail -5 "$work/err"; exit 1; }
  read -r secs kb < "$work/time"
  printf '  %-9s %8.2f s %8.1f MB peak  %s km\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)" "$(cat "$work/km")"
  echo "$secs $(cat "$work/km")" >> "$work/$label"
}

for run in $(seq 1 "$runs"); do
  echo "run $run:"
  measure patrol bash -c patrol_km
  measure ecoscope "$scratch/venv/bin/python" bench/ecoscope_km.py "$work/gpx" "$month"
done

range() { sort -n | awk 'NR==1{lo=$1} {hi=$1} END{printf "%.2f-%.2f", lo, hi}'; }
same=$(paste -d' ' "$work/patrol" "$work/ecoscope" | awk '{d = $2 - $4; if (d < 0) d = -d; if (d > 1e-6) bad = 1} END {print bad ? "NO" : "yes"}')
echo "the same km to 1e-6: $same"
echo "patrol: $(cut -d' ' -f1 "$work/patrol" | range) s; Ecoscope: $(cut -d' ' -f1 "$work/ecoscope" | range) s"
echo "Ecoscope / patrol: $(paste -d' ' "$work/ecoscope" "$work/patrol" | awk '{printf "%.3f\n", $1 / $3}' | range)x faster"
[ "$same" = yes ]
