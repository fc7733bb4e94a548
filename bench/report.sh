#!/usr/bin/env bash
# Report speed on a region's database after ten years: 20 sites x 10 years x
# 100 patrols a year (20,000 patrols, 6M track points, boundaries), built the
# way users build it (GPX imports per site, exports, merged centrally).
# Targets (issue 12): a month over all sites under 100 ms; the whole ten years
# under 1 s and 64 MB peak. Prints each report's time, its fraction of one
# second and its peak memory.
#   bash bench/report.sh [sites] [years] [patrols-per-year]
# KEEP=file.gpkg keeps the region's database there and reuses it when it
# exists (building it takes a minute); BEFORE=path/to/an/older/patrol times
# that binary too, each report in turn with this one; RUNS=n (1) runs each.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
db=${KEEP:-$work/region.gpkg}
if [ ! -f "$db" ]; then
  cargo build --release --quiet -p patrol-sync --example big_central
  ./target/release/examples/big_central "$db" "${1:-20}" "${2:-10}" "${3:-100}" 2>/dev/null
fi
echo "database: $(du -h "$db" | cut -f1), load $(cut -d' ' -f1-3 /proc/loadavg)"
P=./target/release/patrol
run() { # label, args...
  local label=$1; shift
  for _ in $(seq "${RUNS:-1}"); do
    for bin in "$P" ${BEFORE:+"$BEFORE"}; do
      /usr/bin/time -f "%e %U %M" -o "$work/t" "$bin" --db "$db" report "$@" >/dev/null 2>&1
      read -r secs cpu kb < "$work/t"
      printf '%-44s %6.2f s (%3.0f %% of 1 s) %5.2f s CPU %6.1f MB peak%s\n' "$label" "$secs" \
        "$(echo "$secs * 100" | bc -l)" "$cpu" "$(echo "$kb / 1024" | bc -l)" \
        "$([ "$bin" = "$P" ] || echo "  (before)")"
    done
  done
}
run "month, all sites, text" --month 2026-10
run "month, all sites, json" --month 2026-10 --format json
run "month + baseline + 12-month trend, html" --month 2026-10 --baseline 2025-10..2026-03 --months 12 --format html --out "$work/r.html" --force
run "month, one site, html" --month 2026-10 --site "Site 7" --format html --out "$work/s.html" --force
run "ten years, all sites, text" --from 2017-01-01 --to 2026-12-31
run "ten years, all sites, json" --from 2017-01-01 --to 2026-12-31 --format json
run "120-month trend, text" --month 2026-10 --months 120
/usr/bin/time -f "%e" -o "$work/t" "$P" --db "$db" patrols --month 2026-10 >/dev/null 2>&1
printf '%-44s %6.2f s\n' "patrols --month (list)" "$(cat "$work/t")"
