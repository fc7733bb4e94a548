#!/usr/bin/env bash
# Import of one big file: `patrol import` (quality control on) against the
# bare streaming parse of the same file (the floor: patrol-gpx's `stream`
# example reads every event and does nothing else) and against GDAL's
# ogr2ogr, on a generated 1,000,000-point GPX 1.1 file (about 100 MB), in
# the same run; each measured RUNS times (default 3), interleaved.
#   bash bench/import.sh [points]
#   RUNS=5 BEFORE=/path/to/an/older/patrol bash bench/import.sh
# BEFORE, if given, is measured too (the same import by another build).
# Needs gdal-bin (ogr2ogr), GNU time (the `time` package) and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
points=${1:-1000000}
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
cargo build --release --quiet -p patrol-gpx --example stream
python3 bench/make_big_gpx.py "$work/big.gpx" "$points"
echo "input: $(du -h "$work/big.gpx" | cut -f1), $points track points; $(nproc) cores; $runs runs"
# How much of the second core is free now: two parses at once against one
# (1.0x: both cores ours; 2.0x: one core's worth, the pipeline cannot help).
s=$(date +%s.%N); ./target/release/examples/stream "$work/big.gpx" >/dev/null
m=$(date +%s.%N); ./target/release/examples/stream "$work/big.gpx" >/dev/null & ./target/release/examples/stream "$work/big.gpx" >/dev/null; wait
e=$(date +%s.%N)
echo "two parses at once take $(echo "scale=2; ($e - $m) / ($m - $s)" | bc)x the time of one (1.0: two free cores)"

measure() { # label, command...: one line, and "secs kb" appended to $work/label
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r secs kb < "$work/time"
  printf '  %-8s %7.2f s %8.1f MB peak\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)"
  echo "$secs $kb" >> "$work/$label"
}

patrol_import() { # binary, label
  rm -f "$work/p.gpkg" "$work/p.gpkg-journal"
  "$1" --db "$work/p.gpkg" init --site Bench --timezone UTC 2>/dev/null
  measure "$2" "$1" --quiet --db "$work/p.gpkg" import --team A "$work/big.gpx"
}

for run in $(seq 1 "$runs"); do
  echo "run $run:"
  measure parse ./target/release/examples/stream "$work/big.gpx"
  patrol_import ./target/release/patrol patrol
  if [ -n "${BEFORE:-}" ]; then patrol_import "$BEFORE" before; fi
  rm -f "$work/o.gpkg"
  measure ogr2ogr ogr2ogr -f GPKG "$work/o.gpkg" "$work/big.gpx" track_points
done

# Ratios per run (each against its peer of the same run), then their range.
range() { sort -n | awk 'NR==1{lo=$1} {hi=$1} END{printf "%.2f-%.2f", lo, hi}'; }
secs() { cut -d' ' -f1 "$work/$1"; }
kb() { cut -d' ' -f2 "$work/$1"; }
ratio() { paste -d' ' <($1 "$2") <($1 "$3") | awk '{printf "%.3f\n", $1 / $2}' | range; }
echo "patrol: $(secs patrol | range) s, $(kb patrol | awk '{print $1/1024}' | range) MB peak"
echo "patrol / bare parse:        $(ratio secs patrol parse)x the time (goal: at most 1.3x)"
echo "ogr2ogr / patrol:           $(ratio secs ogr2ogr patrol)x faster (goal: at least 15x)"
echo "patrol / ogr2ogr peak RSS:  $(ratio kb patrol ogr2ogr)x the memory (goal: at most 1x)"
if [ -n "${BEFORE:-}" ]; then
  echo "before / patrol:            $(ratio secs before patrol)x faster than BEFORE"
fi
