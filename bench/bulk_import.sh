#!/usr/bin/env bash
# Bulk import: 2,000 ordinary patrol files of 1,500 points each (3M points,
# about 290 MB, written by make_patrols.py) imported as one folder by
# `patrol import` (quality control on), against GDAL's `ogr2ogr -append`
# file by file into one GeoPackage, the way one adds files to a layer with
# it. ogr2ogr takes about 0.2-0.4 s a file, so by default it runs on the
# first OGR_FILES (100) files only and its time is scaled to all of them
# (said so in the output); OGR_FILES=2000 runs it on every file.
#   bash bench/bulk_import.sh [files] [points]
#   RUNS=3 BEFORE=/path/to/an/older/patrol bash bench/bulk_import.sh
# BEFORE, if given, is measured too (the same import by another build).
# Needs gdal-bin (ogr2ogr), GNU time (the `time` package) and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-2000}
points=${2:-1500}
runs=${RUNS:-2}
ogr_files=${OGR_FILES:-100}
[ "$ogr_files" -gt "$files" ] && ogr_files=$files
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
cargo build --release --quiet -p patrol-gpx --example stream
python3 bench/make_patrols.py "$work/gpx" "$files" "$points"
mkdir "$work/some"
all=("$work"/gpx/*.gpx)
for f in "${all[@]:0:$ogr_files}"; do ln -s "$f" "$work/some/"; done
echo "input: $files files of $points track points, $(du -shL "$work/gpx" | cut -f1); $(nproc) cores; $runs runs"
# The floor: the bare parse of every file on one thread; and how much of the
# second core is free now (two such parses at once against one).
s=$(date +%s.%N); ./target/release/examples/stream "$work"/gpx/*.gpx >/dev/null
m=$(date +%s.%N); ./target/release/examples/stream "$work"/gpx/*.gpx >/dev/null & ./target/release/examples/stream "$work"/gpx/*.gpx >/dev/null; wait
e=$(date +%s.%N)
echo "bare parse of every file: $(echo "scale=2; ($m - $s) / 1" | bc) s; two at once take $(echo "scale=2; ($e - $m) / ($m - $s)" | bc)x the time of one (1.0: two free cores)"

measure() { # label, command...: one line, and "secs kb" appended to $work/label
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { tail -3 "$work/err"; exit 1; }
  read -r secs kb < "$work/time"
  printf '  %-8s %7.2f s %8.1f MB peak\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)"
  echo "$secs $kb" >> "$work/$label"
}

patrol_import() { # binary, label
  rm -f "$work/p.gpkg" "$work/p.gpkg-journal"
  "$1" --db "$work/p.gpkg" init --site Bench --timezone UTC 2>/dev/null
  measure "$2" "$1" --quiet --db "$work/p.gpkg" import --team A "$work/gpx"
  local held
  held=$("$1" --db "$work/p.gpkg" patrols --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
  [ "$held" -eq "$files" ] || { echo "$2 imported $held of $files files"; exit 1; }
}

# ogr2ogr -append, one process a file, as one adds files to a layer.
ogr_each='for f in "$1"/*.gpx; do ogr2ogr -append -f GPKG "$2" "$f" track_points || exit 1; done'

for run in $(seq 1 "$runs"); do
  echo "run $run:"
  patrol_import ./target/release/patrol patrol
  if [ -n "${BEFORE:-}" ]; then patrol_import "$BEFORE" before; fi
  rm -f "$work/o.gpkg"
  measure ogr2ogr bash -c "$ogr_each" _ "$work/some" "$work/o.gpkg"
done

range() { sort -n | awk 'NR==1{lo=$1} {hi=$1} END{printf "%.2f-%.2f", lo, hi}'; }
secs() { cut -d' ' -f1 "$work/$1"; }
echo "patrol: $(secs patrol | range) s for $files files"
scale=$(echo "$files / $ogr_files" | bc -l)
if [ "$ogr_files" -ne "$files" ]; then
  echo "ogr2ogr: $(secs ogr2ogr | range) s for $ogr_files files, scaled x$(printf %.0f "$scale") to $files: $(secs ogr2ogr | awk -v k="$scale" '{print $1 * k}' | range) s"
fi
ratio=$(paste -d' ' <(secs ogr2ogr) <(secs patrol) | awk -v k="$scale" '{printf "%.3f\n", $1 * k / $2}' | range)
echo "ogr2ogr -append file by file / patrol: ${ratio}x faster (goal: at least 25x)"
if [ -n "${BEFORE:-}" ]; then
  before=$(paste -d' ' <(secs before) <(secs patrol) | awk '{printf "%.3f\n", $1 / $2}' | range)
  echo "before / patrol: ${before}x faster than BEFORE (goal: at least 4x)"
fi
