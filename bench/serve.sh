#!/usr/bin/env bash
# patrol serve on the region's database after ten years (20 sites x 10 years
# x 100 patrols a year): the time of the patrol list of a month and of a
# patrol's page (target: under 200 ms each), and the page's weight with
# what it loads (target: under 500 KB with the map library). Not a test.
#   bash bench/serve.sh [sites] [years] [patrols-per-year]
# SRC=region.gpkg copies that database (it is never written to); KEEP=file
# keeps the database built there and reuses it; MONTH=YYYY-MM (2026-10);
# RUNS=n (5) times each page.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
cargo build --release --quiet
db=${KEEP:-$work/region.gpkg}
if [ -n "${SRC:-}" ] && [ ! -f "$db" ]; then
  cp "$SRC" "$db"
elif [ ! -f "$db" ]; then
  cargo build --release --quiet -p patrol-sync --example big_central
  "$target/release/examples/big_central" "$db" "${1:-20}" "${2:-10}" "${3:-100}" 2>/dev/null
fi
month=${MONTH:-2026-10}
echo "database: $(du -h "$db" | cut -f1), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$target/release/patrol" --db "$db" serve --listen 127.0.0.1:0 2>"$work/err" &
server=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/err" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/err")
[ -n "$base" ] || { cat "$work/err"; exit 1; }
curl -sf "$base/api/patrols?month=$month" > "$work/list.json"
count=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$work/list.json")
# The patrol of the month with the most fixes: the heaviest page.
id=$(python3 -c "import json,sys; l=json.load(open(sys.argv[1])); print(max(l, key=lambda p: p['track_points'])['patrol_id'])" "$work/list.json")
echo "month $month: $count patrols; the largest patrol $id"
time_get() { # label, path [note]
  local best= all=()
  for _ in $(seq "${RUNS:-5}"); do
    t=$(curl -sf -o /dev/null -w '%{time_total}' "$base$2")
    all+=("$t")
  done
  printf '%-36s %s s (median of %s; %s)\n' "$1" \
    "$(printf '%s\n' "${all[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" "${RUNS:-5}" \
    "${3:-target 0.2 s}"
}
time_get "patrol list of the month (page 1)" "/?month=$month"
time_get "patrol list of the month (API)" "/api/patrols?month=$month"
time_get "patrol list, no month (the latest)" "/"
time_get "patrol page (largest of the month)" "/patrols/$id"
time_get "patrol (API)" "/api/patrols/$id"
time_get "report page of the month" "/report?month=$month" "no target"
time_get "patrol history page" "/history/$id" "no target"
obs=$(curl -sf "$base/api/patrols/$id" | python3 -c "import json,sys; o=json.load(sys.stdin)['observations']; print(o[0]['observation_id'] if o else '')")
[ -n "$obs" ] && time_get "observation edit page" "/observations/$obs/edit" "no target"
time_get "sync page (ledger, conflicts)" "/sync" "no target"
RUNS=1 time_get "check page (integrity of the whole file)" "/check" "no target"
page=$(curl -sf "$base/patrols/$id" | wc -c)
assets=0
for a in app.css app.js leaflet/leaflet.js leaflet/leaflet.css; do
  assets=$((assets + $(curl -sf "$base/assets/$a" | wc -c)))
done
list=$(curl -sf "$base/?month=$month" | wc -c)
printf 'patrol page weight: %d KB (HTML %d KB + app and Leaflet %d KB; target 500 KB)\n' \
  $(((page + assets) / 1024)) $((page / 1024)) $((assets / 1024))
printf 'list page weight: %d KB HTML\n' $((list / 1024))
