#!/usr/bin/env python3
"""Write N ordinary patrol GPX 1.1 files of P track points each (defaults
2,000 and 1,500) into a folder: PER_DAY patrols a day (default 1) from
2018-01-01, one segment, elevation, times 10 s apart, two waypoints; each
file walks its own line, so no two are the same track.
    python3 bench/make_patrols.py OUT_DIR [files] [points] [per_day]"""
import datetime
import os
import sys

out_dir = sys.argv[1]
files = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
points = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
per_day = int(sys.argv[4]) if len(sys.argv) > 4 else 1
os.makedirs(out_dir, exist_ok=True)
day0 = datetime.datetime(2018, 1, 1, 1, 0, tzinfo=datetime.timezone.utc)
for f in range(files):
    t0 = day0 + datetime.timedelta(days=f // per_day, minutes=f % 60)
    lat0 = 14.0 + (f % 50) * 0.01
    lon0 = 102.0 + (f // 50) * 0.01
    lines = ['<?xml version="1.0" encoding="UTF-8"?>\n'
             '<gpx xmlns="http://www.topografix.com/GPX/1/1" creator="bench" version="1.1">\n']
    for w in range(2):
        t = t0 + datetime.timedelta(seconds=10 * points * (w + 1) // 3)
        lines.append(f'<wpt lat="{lat0 + w * 1e-3:.7f}" lon="{lon0:.7f}"><time>{t:%Y-%m-%dT%H:%M:%SZ}</time>'
                     f'<name>Snare {f}-{w}</name></wpt>\n')
    lines.append(f'<trk><name>patrol {f}</name><trkseg>\n')
    for i in range(points):
        # About 8.9 m a step north and a wobble east: a walk of about 3.2 km/h.
        lat = lat0 + i * 8e-5
        lon = lon0 + (i % 9) * 2e-6
        t = t0 + datetime.timedelta(seconds=10 * i)
        lines.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{200 + (i % 50) * 0.5:.1f}</ele>'
                     f'<time>{t:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>\n')
    lines.append('</trkseg></trk>\n</gpx>\n')
    with open(os.path.join(out_dir, f'patrol_{f:05d}.gpx'), 'w') as fh:
        fh.write(''.join(lines))
