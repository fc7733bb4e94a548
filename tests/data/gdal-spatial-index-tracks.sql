-- What GDAL 3.6 (`SELECT CreateSpatialIndex('tracks','geom')`, as QGIS does)
-- adds to a GeoPackage: the R-tree extension on tracks.geom. Captured from a
-- real run; used to test that patrol keeps working on a database so indexed.
CREATE TABLE gpkg_extensions (table_name TEXT,column_name TEXT,extension_name TEXT NOT NULL,definition TEXT NOT NULL,scope TEXT NOT NULL,CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
INSERT INTO gpkg_extensions VALUES ('tracks', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE VIRTUAL TABLE "rtree_tracks_geom" USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER "rtree_tracks_geom_delete" AFTER DELETE ON "tracks" WHEN old."geom" NOT NULL BEGIN DELETE FROM "rtree_tracks_geom" WHERE id = OLD."fid"; END;
CREATE TRIGGER "rtree_tracks_geom_insert" AFTER INSERT ON "tracks" WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN INSERT OR REPLACE INTO "rtree_tracks_geom" VALUES (NEW."fid",ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "rtree_tracks_geom_update1" AFTER UPDATE OF "geom" ON "tracks" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN INSERT OR REPLACE INTO "rtree_tracks_geom" VALUES (NEW."fid",ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "rtree_tracks_geom_update2" AFTER UPDATE OF "geom" ON "tracks" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM "rtree_tracks_geom" WHERE id = OLD."fid"; END;
CREATE TRIGGER "rtree_tracks_geom_update3" AFTER UPDATE ON "tracks" WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM "rtree_tracks_geom" WHERE id = OLD."fid"; INSERT OR REPLACE INTO "rtree_tracks_geom" VALUES (NEW."fid",ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "rtree_tracks_geom_update4" AFTER UPDATE ON "tracks" WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM "rtree_tracks_geom" WHERE id IN (OLD."fid", NEW."fid"); END;
