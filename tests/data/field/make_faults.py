#!/usr/bin/env python3
"""Write the faulted copies of the clean field recordings.

Reads every clean/*.gpx and writes faults/: one file per fault a real unit
makes (see README.md), named <clean-stem>--<fault>.gpx, plus Garmin-style
waypoint files. The track files are edited as text: only the fixes a fault
touches change (or are added), everything else stays byte for byte, so each
file still looks like the unit wrote it. Python 3 standard library only, and
deterministic: running it again writes the same bytes.

    python3 tests/data/field/make_faults.py
"""

import datetime as dt
import math
import random
import re
import shutil
import zlib
from decimal import Decimal, getcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLEAN = HERE / "clean"
FAULTS = HERE / "faults"

getcontext().prec = 60

SEGMENT = re.compile(r"<trkseg>(.*?)</trkseg>", re.S)
POINT = re.compile(r"<trkpt\b[^>]*>.*?</trkpt>", re.S)
OPEN_TAG = re.compile(r'<trkpt\b[^>]*>')
LAT = re.compile(r'lat="([^"]*)"')
LON = re.compile(r'lon="([^"]*)"')
TIME = re.compile(r"<time>([^<]*)</time>")
ELE = re.compile(r"<ele>([^<]*)</ele>")
# ExpertGPS keeps the unit's own clock in the comment, asctime style.
CMT_TIME = re.compile(r"(<cmt><!\[CDATA\[)([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})(\]\]></cmt>)")

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


# ---------------------------------------------------------------- reading


class Point:
    """One <trkpt> of a file: where its text is, and what it says."""

    def __init__(self, text, start, segment):
        self.text = text
        self.start = start
        self.end = start + len(text)
        self.segment = segment
        tag = OPEN_TAG.match(text).group(0)
        self.lat_text = LAT.search(tag).group(1)
        self.lon_text = LON.search(tag).group(1)
        self.lat = float(self.lat_text)
        self.lon = float(self.lon_text)
        t = TIME.search(text)
        self.time_text = t.group(1) if t else None
        self.time = parse_time(self.time_text) if t else None
        e = ELE.search(text)
        self.ele = float(e.group(1)) if e and e.group(1).strip() else 0.0


def read_points(text):
    """Every track point in file order; segment numbers count non-empty segments."""
    points = []
    seg = 0
    for m in SEGMENT.finditer(text):
        inner_start = m.start(1)
        found = [Point(p.group(0), inner_start + p.start(), seg) for p in POINT.finditer(m.group(1))]
        if found:
            points.extend(found)
            seg += 1
    return points


def parse_time(s):
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return dt.datetime.fromisoformat(s).astimezone(dt.timezone.utc)


# ---------------------------------------------------------------- writing in the unit's own style


def fmt_time(t, like):
    """`t` spelled like `like` (same fraction digits, same zone suffix)."""
    frac = re.search(r"\.(\d+)", like)
    base = t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        digits = len(frac.group(1))
        base += "." + f"{t.microsecond:06d}"[:digits].ljust(digits, "0")
    return base + "Z"


def fmt_coord(value, like):
    """`value` spelled like `like`: same decimals, or Garmin's exact semicircles."""
    if "." in like and len(like.split(".")[1]) > 12:
        # Garmin Connect prints the exact decimal value of the unit's 32-bit semicircles.
        q = round(value * 2**31 / 180)
        d = Decimal(q) * Decimal(180) / Decimal(2**31)
        s = format(d.normalize(), "f")
        return s if s != "-0" else "0"
    decimals = len(like.split(".")[1]) if "." in like else 0
    s = f"{value:.{decimals}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def asctime(t):
    return f"{t.strftime('%a %b')} {t.day:2d} {t.strftime('%H:%M:%S %Y')}"


def rewrite(p, lat=None, lon=None, time=None):
    """The text of point `p` with a new position and/or time (its comment clock follows the time)."""
    text = p.text
    tag = OPEN_TAG.match(text).group(0)
    new_tag = tag
    if lat is not None:
        new_tag = LAT.sub(f'lat="{fmt_coord(lat, p.lat_text)}"', new_tag, count=1)
    if lon is not None:
        new_tag = LON.sub(f'lon="{fmt_coord(lon, p.lon_text)}"', new_tag, count=1)
    text = new_tag + text[len(tag):]
    if time is not None and p.time is not None:
        delta = time - p.time
        text = TIME.sub(f"<time>{fmt_time(time, p.time_text)}</time>", text, count=1)

        def shift(m):
            old = dt.datetime.strptime(" ".join(m.group(2).split()), "%a %b %d %H:%M:%S %Y")
            return m.group(1) + asctime(old + delta) + m.group(3)

        text = CMT_TIME.sub(shift, text, count=1)
    return text


def separator_before(text, p):
    """The white space a unit puts before a <trkpt> in this file."""
    line_start = text.rfind("\n", 0, p.start) + 1
    return "\n" + text[line_start:p.start]


def apply(text, edits):
    """Apply (start, end, replacement) edits, which must not overlap."""
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def metres_to_degrees(lat, north_m, east_m):
    return north_m / 111_320.0, east_m / (111_320.0 * math.cos(math.radians(lat)))


# ---------------------------------------------------------------- the faults


def middle_index(points):
    """A fix in the middle of the track, with neighbours in its own segment."""
    i = len(points) // 2
    while not (0 < i < len(points) - 1 and points[i - 1].segment == points[i].segment == points[i + 1].segment):
        i += 1
    return i


def null_island(text, points):
    p = points[middle_index(points)]
    return apply(text, [(p.start, p.end, rewrite(p, lat=0.0, lon=0.0))])


def null_island_first(text, points):
    p = points[0]
    return apply(text, [(p.start, p.end, rewrite(p, lat=0.0, lon=0.0))])


def spike(text, points):
    # Multipath: one fix half a degree north, about 55.6 km away; its time kept.
    p = points[middle_index(points)]
    return apply(text, [(p.start, p.end, rewrite(p, lat=p.lat + 0.5))])


def stale_first(text, points):
    # The unit's last fix of its previous session, some 20 km away and 3 days earlier.
    p = points[0]
    when = p.time - 3 * DAY - dt.timedelta(hours=2, minutes=17, seconds=41)
    stale = rewrite(p, lat=p.lat + 0.15, lon=p.lon - 0.12, time=when)
    return apply(text, [(p.start, p.start, stale + separator_before(text, p))])


def logger_weeks(text, points, stem):
    # Left on at the end of the walk: a fix every 10 minutes for 3 weeks, where it lay.
    rng = random.Random(zlib.crc32(stem.encode()))
    last = points[-1]
    sep = separator_before(text, last)
    out = []
    t = last.time
    for _ in range(3 * 7 * 24 * 6):
        t = t + dt.timedelta(minutes=10)
        north = max(-8.0, min(8.0, rng.gauss(0.0, 2.5)))
        east = max(-8.0, min(8.0, rng.gauss(0.0, 2.5)))
        dlat, dlon = metres_to_degrees(last.lat, north, east)
        out.append(sep + rewrite(last, lat=last.lat + dlat, lon=last.lon + dlon, time=t))
    return apply(text, [(last.end, last.end, "".join(out))])


def off_40h(text, points):
    # Switched off for 40 hours mid-segment: every later fix is 40 h later, same place.
    m = middle_index(points)
    shift = 40 * HOUR
    return apply(text, [(p.start, p.end, rewrite(p, time=p.time + shift)) for p in points[m + 1:]])


def current(text, points):
    """Current.gpx: the whole track, then about 20 % more fixes as the walk went on.

    The extra fixes repeat the track's own last steps in reverse order (same
    displacements, same intervals), so the walk carries on from where it
    stopped in the same way a person walks; appended to the last segment.
    """
    steps = [(points[j - 1], points[j]) for j in range(len(points) - 1, 0, -1)
             if points[j - 1].segment == points[j].segment]
    n = round(0.2 * len(points))
    last = points[-1]
    sep = separator_before(text, last)
    lat, lon, t = last.lat, last.lon, last.time
    out = []
    for a, b in steps[:n]:
        lat += b.lat - a.lat
        lon += b.lon - a.lon
        t += b.time - a.time
        out.append(sep + rewrite(b, lat=lat, lon=lon, time=t))
    return apply(text, [(last.end, last.end, "".join(out))])


WAYPOINTS = [
    # (name, Garmin symbol, where along the timed fixes)
    ("Snare 1", "Flag, Blue", 0.20),
    ("Camp", "Campground", 0.45),
    ("Carcass", "Skull and Crossbones", 0.70),
    ("Snare 2", "Flag, Blue", 0.90),
]

GARMIN_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>'
    '<gpx xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxx="http://www.garmin.com/xmlschemas/GpxExtensions/v3"'
    ' xmlns:wptx1="http://www.garmin.com/xmlschemas/WaypointExtension/v1"'
    ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" creator="eTrex 30" version="1.1"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd'
    " http://www.garmin.com/xmlschemas/GpxExtensions/v3 http://www8.garmin.com/xmlschemas/GpxExtensionsv3.xsd"
    " http://www.garmin.com/xmlschemas/WaypointExtension/v1 http://www8.garmin.com/xmlschemas/WaypointExtensionv1.xsd"
    " http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
    ' http://www.garmin.com/xmlschemas/TrackPointExtensionv1.xsd">'
)


def garmin_waypoints(marks):
    """A Waypoints_*.gpx as an eTrex writes it: one line, metadata time, wpts with ele/time/name/sym."""
    stamp = max(t for _, _, _, t, _, _ in marks)
    s = GARMIN_HEAD
    s += ('<metadata><link href="http://www.garmin.com"><text>Garmin International</text></link>'
          f"<time>{fmt_time(stamp, 'Z')}</time></metadata>")
    for lat, lon, ele, t, name, sym in marks:
        s += (f'<wpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>{ele:.6f}</ele><time>{fmt_time(t, "Z")}</time>'
              f"<name>{name}</name><sym>{sym}</sym></wpt>")
    return s + "</gpx>"


def waypoint_marks(points, shift=dt.timedelta(0)):
    timed = [p for p in points if p.time is not None]
    marks = []
    for name, sym, where in WAYPOINTS:
        p = timed[int(where * (len(timed) - 1))]
        dlat, dlon = metres_to_degrees(p.lat, 6.0, 5.0)
        marks.append((p.lat + dlat, p.lon + dlon, p.ele, p.time + dt.timedelta(seconds=20) + shift, name, sym))
    return marks


def garmin_date(t):
    return t.strftime("%d-%b-%y").upper()


def resaved(text, points, stem):
    """The same recording re-saved by another program: its own layout, 6 decimals, whole seconds, no extensions."""
    wpts = []
    for m in re.finditer(r"<wpt\b[^>]*>.*?</wpt>", text, re.S):
        w = m.group(0)
        tag = re.match(r"<wpt\b[^>]*>", w).group(0)
        lat = float(LAT.search(tag).group(1))
        lon = float(LON.search(tag).group(1))
        fields = {k: re.search(rf"<{k}>(.*?)</{k}>", w, re.S) for k in ("ele", "time", "name", "sym")}
        wpts.append((lat, lon, {k: v.group(1) for k, v in fields.items() if v}))
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="no" ?>',
           '<gpx version="1.1" creator="Viking 1.8 -- http://viking.sf.net/"',
           'xmlns="http://www.topografix.com/GPX/1/1"',
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
           'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">']
    for lat, lon, f in wpts:
        out.append(f'<wpt lat="{lat:.6f}" lon="{lon:.6f}">')
        if "ele" in f:
            out.append(f"  <ele>{float(f['ele']):.6f}</ele>")
        if "time" in f:
            out.append(f"  <time>{parse_time(f['time']).strftime('%Y-%m-%dT%H:%M:%SZ')}</time>")
        if "name" in f:
            out.append(f"  <name>{f['name']}</name>")
        if "sym" in f:
            out.append(f"  <sym>{f['sym']}</sym>")
        out.append("</wpt>")
    out.append("<trk>")
    out.append(f"  <name>{stem}</name>")
    seg = None
    for p in points:
        if p.segment != seg:
            if seg is not None:
                out.append("  </trkseg>")
            out.append("  <trkseg>")
            seg = p.segment
        out.append(f'  <trkpt lat="{p.lat:.6f}" lon="{p.lon:.6f}">')
        out.append(f"    <ele>{p.ele:.6f}</ele>")
        if p.time is not None:
            whole = p.time.replace(microsecond=0)
            out.append(f"    <time>{whole.strftime('%Y-%m-%dT%H:%M:%SZ')}</time>")
        out.append("  </trkpt>")
    out.append("  </trkseg>")
    out.append("</trk>")
    out.append("</gpx>")
    return "\n".join(out) + "\n"


def main():
    if FAULTS.exists():
        shutil.rmtree(FAULTS)
    FAULTS.mkdir()
    cleans = sorted(CLEAN.glob("*.gpx"))
    for path in cleans:
        stem = path.stem
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        points = read_points(text)
        assert all(p.time is not None for p in points), f"{path.name}: every fix must have a time"

        def write(fault, body):
            (FAULTS / f"{stem}--{fault}.gpx").write_bytes(body.encode("utf-8"))

        write("null-island", null_island(text, points))
        write("null-island-first", null_island_first(text, points))
        write("spike", spike(text, points))
        write("stale-first", stale_first(text, points))
        write("logger-weeks", logger_weeks(text, points, stem))
        write("off-40h", off_40h(text, points))
        write("current", current(text, points))
        write("resaved", resaved(text, points, stem))
        (FAULTS / f"{stem}--renamed.gpx").write_bytes(raw)
        marks = waypoint_marks(points)
        (FAULTS / f"Waypoints_{garmin_date(marks[0][3])}.gpx").write_bytes(garmin_waypoints(marks).encode())

    # Waypoints whose times no track holds: three months after the latest of
    # korita-zbevnica's (the last recording of 2010), at its places.
    base = read_points((CLEAN / "korita-zbevnica.gpx").read_text(encoding="utf-8"))
    marks = waypoint_marks(base, shift=dt.timedelta(days=92))
    (FAULTS / "Waypoints_orphan.gpx").write_bytes(garmin_waypoints(marks).encode())


if __name__ == "__main__":
    main()
