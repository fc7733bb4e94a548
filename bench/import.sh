#!/usr/bin/env bash
# Import speed and memory: `patrol import` against GDAL's ogr2ogr on the same
# 1,000,000-point GPX 1.1 file (about 106 MB), in the same run.
#   bash bench/import.sh [points]
# Needs gdal-bin (ogr2ogr) and GNU time (the `time` package).
set -euo pipefail
cd "$(dirname "$0")/.."
points=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
python3 bench/make_big_gpx.py "$work/big.gpx" "$points"
echo "input: $(du -h "$work/big.gpx" | cut -f1), $points track points"

measure() { # label, command...: prints seconds and peak RSS (MB)
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r secs kb < "$work/time"
  printf '%-8s %8.2f s %8.1f MB peak\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)"
  echo "$secs $kb"  > "$work/$label"
}

./target/release/patrol --db "$work/p.gpkg" init --site Bench --timezone UTC 2>/dev/null
measure patrol ./target/release/patrol --quiet --db "$work/p.gpkg" import --team A "$work/big.gpx"
measure ogr2ogr ogr2ogr -f GPKG "$work/o.gpkg" "$work/big.gpx" track_points
read -r ps pk < "$work/patrol"
read -r os ok < "$work/ogr2ogr"
echo "patrol is $(echo "scale=1; $os / $ps" | bc)x faster than ogr2ogr; peak memory $(echo "scale=2; $pk / $ok" | bc)x of ogr2ogr's"
