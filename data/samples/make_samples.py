#!/usr/bin/env python3
"""Writes the demo's sample GPX files: patrols at Thap Lan (Thailand), from two
outposts, in a baseline period (Oct 2025 - Mar 2026) and in October 2026.

Deterministic (fixed seed). Two dialects, as in the field: a Garmin handheld
(GPX 1.1, UTC times, Garmin extensions, waypoint <sym>) and a phone app
(GPX 1.1 without XML declaration, local times with offsets and fractions,
waypoint <type>). Run: python3 data/samples/make_samples.py
"""
import math, random
from datetime import datetime, timedelta, timezone

random.seed(20261031)
BKK = timezone(timedelta(hours=7))
HERE = __file__.rsplit("/", 1)[0]

# (outpost, file stem, local start, hours, transport, dialect, waypoints, camp_hours)
PATROLS = [
    ("outpost-a", "2025-10-06-alpha", datetime(2025, 10, 6, 6, 30), 7, "foot", "garmin",
     ["Snare 1", "Snare 2", "SNARE 3", "Dung"], 0),
    ("outpost-a", "2025-11-12-alpha", datetime(2025, 11, 12, 7, 0), 6, "foot", "garmin",
     ["Camp", "snares 4", "Footprint"], 0),
    ("outpost-b", "2025-12-03-bravo", datetime(2025, 12, 3, 6, 0), 5, "vehicle", "phone",
     ["Rosewood-1", "stump", "Gunshot"], 0),
    ("outpost-a", "2026-01-20-alpha", datetime(2026, 1, 20, 15, 0), 20, "foot", "garmin",
     ["Snare 5", "Snare 6", "Hunting camp", "Carcass", "WPT 007"], 9),
    ("outpost-b", "2026-02-14-bravo", datetime(2026, 2, 14, 6, 15), 5, "boat", "phone",
     ["Net", "Fishing net 2", "Sighting"], 0),
    ("outpost-b", "2026-03-09-bravo", datetime(2026, 3, 9, 6, 45), 6, "foot", "phone",
     ["Snare 7", "dog", "Scat"], 0),
    ("outpost-a", "2026-10-01-alpha", datetime(2026, 10, 1, 5, 30), 7, "foot", "garmin",
     ["Snare 1", "Tracks"], 0),
    ("outpost-b", "2026-10-08-bravo", datetime(2026, 10, 8, 6, 0), 6, "vehicle", "phone",
     ["Rosewood-2", "Dung"], 0),
    ("outpost-a", "2026-10-17-alpha", datetime(2026, 10, 17, 7, 15), 8, "foot", "garmin",
     ["Gun shot", "Footprint", "Sighting 2"], 0),
    ("outpost-a", "2026-10-31-alpha", datetime(2026, 10, 31, 16, 0), 18, "foot", "garmin",
     ["Snare 9", "WPT 003"], 8),
]

BASE = (102.18, 14.21)  # lon, lat of Thap Lan's centre


def track(start, hours, transport, camp_hours):
    speed = {"foot": 3.2, "vehicle": 18.0, "boat": 8.0}[transport]  # km/h
    step = 30 if transport == "foot" else 15  # seconds between fixes
    lon, lat = BASE[0] + random.uniform(-0.15, 0.15), BASE[1] + random.uniform(-0.12, 0.12)
    heading = random.uniform(0, 2 * math.pi)
    t = start
    end = start + timedelta(hours=hours)
    camp_at = start + timedelta(hours=(hours - camp_hours) / 2) if camp_hours else None
    pts = []
    while t <= end:
        pts.append((lon, lat, 150 + 40 * math.sin(len(pts) / 50), t))
        if camp_at and camp_at <= t < camp_at + timedelta(seconds=step):
            t += timedelta(hours=camp_hours)  # the GPS sleeps through the night
            continue
        heading += random.gauss(0, 0.25)
        d_km = speed * step / 3600 * random.uniform(0.6, 1.2)
        lat += d_km / 111.0 * math.cos(heading)
        lon += d_km / (111.0 * math.cos(math.radians(lat))) * math.sin(heading)
        t += timedelta(seconds=step)
    return pts


SYMS = {"WPT 007": "Skull and Crossbones", "WPT 003": "Dog"}


def garmin(pts, wpts, name):
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="no" ?>',
           '<gpx xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxx="http://www.garmin.com/xmlschemas/GpxExtensions/v3" '
           'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" creator="GPSMAP 66i" version="1.1" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
           f'  <metadata><time>{pts[-1][3].astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}</time></metadata>']
    for (lon, lat, ele, t), label in wpts:
        out.append(f'  <wpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>{ele:.1f}</ele>'
                   f'<time>{t.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}</time><name>{label}</name>'
                   f'<sym>{SYMS.get(label, "Flag, Blue")}</sym></wpt>')
    out.append(f'  <trk><name>{name}</name><extensions><gpxx:TrackExtension><gpxx:DisplayColor>Red</gpxx:DisplayColor>'
               '</gpxx:TrackExtension></extensions><trkseg>')
    for lon, lat, ele, t in pts:
        out.append(f'<trkpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>{ele:.1f}</ele>'
                   f'<time>{t.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}</time>'
                   '<extensions><gpxtpx:TrackPointExtension><gpxtpx:atemp>27.0</gpxtpx:atemp>'
                   '</gpxtpx:TrackPointExtension></extensions></trkpt>')
    out.append('</trkseg></trk></gpx>')
    return "\n".join(out) + "\n"


def phone(pts, wpts, name):
    out = ['<gpx version="1.1" creator="OsmAnd~ 4.8" xmlns="http://www.topografix.com/GPX/1/1" '
           'xmlns:osmand="https://osmand.net">']
    for (lon, lat, ele, t), label in wpts:
        out.append(f'  <wpt lat="{lat:.7f}" lon="{lon:.7f}"><time>{t.isoformat(timespec="milliseconds")}</time>'
                   f'<name>{label}</name><type>{label.split()[0]}</type></wpt>')
    out.append(f'  <trk><name>{name}</name><trkseg>')
    for i, (lon, lat, ele, t) in enumerate(pts):
        if i and i % 400 == 0:
            out.append('  </trkseg><trkseg>')  # the app pauses and resumes recording
        out.append(f'    <trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{ele:.2f}</ele>'
                   f'<time>{t.isoformat(timespec="milliseconds")}</time><hdop>4.5</hdop></trkpt>')
    out.append('  </trkseg></trk></gpx>')
    return "\n".join(out) + "\n"


for outpost, stem, start, hours, transport, dialect, labels, camp in PATROLS:
    pts = track(start.replace(tzinfo=BKK), hours, transport, camp)
    picks = sorted(random.sample(range(len(pts)), len(labels)))
    wpts = [(pts[i], label) for i, label in zip(picks, labels)]
    text = (garmin if dialect == "garmin" else phone)(pts, wpts, stem)
    with open(f"{HERE}/{outpost}/{stem}-{transport}.gpx", "w") as f:
        f.write(text)
