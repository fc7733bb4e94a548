#!/usr/bin/env python3
"""Write a GPX 1.1 file of N track points (default 1,000,000; about 106 MB),
shaped like a Garmin export: one track, segments of 10,000 points, elevation,
UTC times one second apart, a waypoint every 10,000 points."""
import sys

n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
out = open(sys.argv[1], "w")
out.write('<?xml version="1.0" encoding="UTF-8"?>\n<gpx xmlns="http://www.topografix.com/GPX/1/1" '
          'creator="bench" version="1.1">\n')
base = 1_790_000_000  # 2026-09-21T...
import datetime
for w in range(0, n, 10_000):
    out.write(f'<wpt lat="{14.0 + w * 1e-6:.7f}" lon="102.1000000"><name>Snare {w // 10_000}</name></wpt>\n')
out.write("<trk><name>big</name><trkseg>\n")
t0 = datetime.datetime(2026, 10, 1, tzinfo=datetime.timezone.utc)
for i in range(n):
    if i and i % 10_000 == 0:
        out.write("</trkseg><trkseg>\n")
    lat = 14.0 + (i % 20000) * 1e-5
    lon = 102.0 + (i // 20000) * 1e-3 + (i % 7) * 1e-6
    t = t0 + datetime.timedelta(seconds=i)
    out.write(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{150 + (i % 100) * 0.5:.1f}</ele>'
              f'<time>{t:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>\n')
out.write("</trkseg></trk>\n</gpx>\n")
