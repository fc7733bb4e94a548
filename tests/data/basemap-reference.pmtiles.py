# python3 tests/data/basemap-reference.pmtiles.py tests/data/basemap-reference.pmtiles (pip install pmtiles)
# Writes a PMTiles v3 archive with the reference Python writer (pmtiles on PyPI),
# leaves forced (16 entries each), gzip directories: a fixture for our reader.
import sys
import pmtiles.writer as W
from pmtiles.tile import zxy_to_tileid, tileid_to_zxy, TileType, Compression
W.optimize_directories = lambda entries, target: W.build_roots_leaves(entries, 16)
SIG = b"\x89PNG\r\n\x1a\n"
with W.write(sys.argv[1]) as w:
    for tid in range(85):
        if 60 <= tid <= 63:
            continue
        z, x, y = tileid_to_zxy(tid)
        data = SIG + (b"run" if 40 <= tid <= 44 or tid == 70 else f"{z}/{x}/{y}".encode())
        w.write_tile(tid, data)
    w.finalize({
        "tile_type": TileType.PNG, "tile_compression": Compression.NONE,
        "min_lon_e7": 1019000000, "min_lat_e7": 140000000,
        "max_lon_e7": 1024000000, "max_lat_e7": 144000000,
        "center_zoom": 2, "center_lon_e7": 1021000000, "center_lat_e7": 142000000,
    }, {"name": "reference", "attribution": "made by the pmtiles Python writer"})
