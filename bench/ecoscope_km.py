#!/usr/bin/env python3
"""The peer of bench/ecoscope.sh: a month's patrol km from GPX files the way
an EarthRanger analyst does it with Ecoscope: every track point of every
file as a relocation (gpxpy, which Ecoscope installs), one subject per file,
Ecoscope's Trajectory (pyproj's WGS84 geodesic between consecutive fixes),
the segments that start in the month summed. Prints the km to 1e-6.
    python3 bench/ecoscope_km.py DIR YYYY-MM"""
import glob
import os
import sys
import warnings

warnings.filterwarnings("ignore")

import geopandas as gpd  # noqa: E402
import gpxpy  # noqa: E402
import pandas as pd  # noqa: E402
from ecoscope.base import Relocations, Trajectory  # noqa: E402

folder, month = sys.argv[1], sys.argv[2]
rows = []
for path in sorted(glob.glob(os.path.join(folder, "*.gpx"))):
    with open(path) as f:
        gpx = gpxpy.parse(f)
    for track in gpx.tracks:
        for seg_no, segment in enumerate(track.segments):
            for p in segment.points:
                rows.append((f"{os.path.basename(path)}/{seg_no}", p.time, p.longitude, p.latitude))
df = pd.DataFrame(rows, columns=["subject", "fixtime", "lon", "lat"])
df["fixtime"] = pd.to_datetime(df["fixtime"], utc=True)
gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)
relocs = Relocations.from_gdf(gdf, groupby_col="subject", time_col="fixtime")
traj = Trajectory.from_relocations(relocs)
start = pd.Timestamp(f"{month}-01", tz="UTC")
end = start + pd.offsets.MonthBegin(1)
in_month = traj[(traj["segment_start"] >= start) & (traj["segment_start"] < end)]
print(f"{in_month['dist_meters'].sum() / 1000:.6f}")
