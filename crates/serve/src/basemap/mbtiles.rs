//! MBTiles: a SQLite file with a `metadata` table (name, value) and a
//! `tiles` table (or view) of `zoom_level, tile_column, tile_row,
//! tile_data`, rows numbered TMS-style (from the south: `tile_row = 2^z - 1
//! - y`). Opened read-only and defensive (no trusted schema, no triggers),
//! a blob longer than [`MAX_TILE_BYTES`] is an error of SQLite's own limit.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{Format, Info, MAX_TILE_BYTES, bounds, text, vector_refused, zoom_range};

const TILE: &str =
    "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3";

/// An opened MBTiles file (one connection, one reader at a time).
pub struct MbTiles {
    conn: Mutex<Connection>,
}

fn not_mbtiles(why: &str) -> String {
    format!("not an MBTiles file ({why})")
}

impl MbTiles {
    /// Open `path`, check its tables and read its metadata.
    pub fn open(path: &Path) -> Result<(MbTiles, Info), String> {
        let sqlite = |e: rusqlite::Error| not_mbtiles(&format!("SQLite: {e}"));
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
            .map_err(sqlite)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)
            .map_err(sqlite)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)
            .map_err(sqlite)?;
        conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_TILE_BYTES as i32)
            .map_err(sqlite)?;
        let has = |name: &str| -> Result<bool, String> {
            conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(sqlite)
        };
        if !has("tiles")? {
            return Err(not_mbtiles("no tiles table"));
        }
        if !has("metadata")? {
            return Err(not_mbtiles("no metadata table"));
        }
        conn.prepare(TILE).map_err(|_| {
            not_mbtiles("its tiles table has no zoom_level, tile_column, tile_row and tile_data")
        })?;
        let mut meta = std::collections::HashMap::new();
        {
            let mut stmt = conn
                .prepare("SELECT name, value FROM metadata")
                .map_err(|_| not_mbtiles("its metadata table has no name and value"))?;
            let mut rows = stmt.query([]).map_err(sqlite)?;
            while let Some(row) = rows.next().map_err(sqlite)? {
                if let (ValueRef::Text(k), ValueRef::Text(v)) = (
                    row.get_ref(0).map_err(sqlite)?,
                    row.get_ref(1).map_err(sqlite)?,
                ) {
                    meta.insert(
                        String::from_utf8_lossy(k).trim().to_ascii_lowercase(),
                        String::from_utf8_lossy(v).into_owned(),
                    );
                }
            }
        }
        let format = match meta.get("format").map(|f| f.trim().to_ascii_lowercase()) {
            Some(f) if f == "png" => Format::Png,
            Some(f) if f == "jpg" || f == "jpeg" => Format::Jpeg,
            Some(f) if f == "webp" => Format::Webp,
            Some(f) if f == "pbf" || f == "mvt" => return Err(vector_refused(&f)),
            Some(f) => {
                return Err(format!(
                    "its tiles are in a format the map cannot draw ({}): give png, jpg or webp tiles",
                    text(&f).unwrap_or_default()
                ));
            }
            // No format said: the first tile's bytes tell.
            None => {
                let first: Option<Vec<u8>> = conn
                    .query_row("SELECT tile_data FROM tiles LIMIT 1", [], |r| r.get(0))
                    .optional()
                    .map_err(sqlite)?;
                let first = first.ok_or_else(|| "it has no tiles".to_owned())?;
                Format::sniff(&first).ok_or_else(|| {
                    "its metadata names no format and its tiles are not png, jpg or webp images"
                        .to_owned()
                })?
            }
        };
        let zoom = |k: &str| meta.get(k).and_then(|v| v.trim().parse::<u8>().ok());
        let (minzoom, maxzoom) = if let (Some(a), Some(b)) = (zoom("minzoom"), zoom("maxzoom")) {
            (a, b)
        } else {
            // Not said: the levels the tiles are at.
            let (a, b): (Option<i64>, Option<i64>) = conn
                .query_row(
                    "SELECT min(zoom_level), max(zoom_level) FROM tiles",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(sqlite)?;
            let (Some(a), Some(b)) = (a, b) else {
                return Err("it has no tiles".into());
            };
            let level =
                |z: i64| u8::try_from(z).map_err(|_| format!("it has tiles of zoom level {z}"));
            (level(a)?, level(b)?)
        };
        let (minzoom, maxzoom) = zoom_range(minzoom, maxzoom)?;
        let bounds = meta.get("bounds").and_then(|b| {
            let nums: Vec<f64> = b
                .split(',')
                .map(|n| n.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .ok()?;
            match nums[..] {
                [west, south, east, north] => bounds(west, south, east, north),
                _ => None,
            }
        });
        let info = Info {
            format,
            minzoom,
            maxzoom,
            bounds,
            attribution: meta.get("attribution").and_then(|a| text(a)),
            name: meta.get("name").and_then(|n| text(n)),
        };
        Ok((
            MbTiles {
                conn: Mutex::new(conn),
            },
            info,
        ))
    }

    /// The tile z/x/y (XYZ, on the grid: the caller checked).
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, String> {
        let row = (1u64 << z) - 1 - u64::from(y);
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stmt = conn.prepare_cached(TILE).map_err(|e| e.to_string())?;
        stmt.query_row(params![z, x, row as i64], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(|e| format!("tile {z}/{x}/{y}: {e}"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::basemap::Basemap;

    /// A small PNG-looking tile: its signature and some bytes of `seed`.
    pub fn png(seed: u8) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend((0..40).map(|i| seed.wrapping_mul(31).wrapping_add(i)));
        b
    }

    /// An MBTiles file of `tiles` (z, x, y XYZ, bytes) with `meta`.
    pub fn write(path: &Path, meta: &[(&str, &str)], tiles: &[(u8, u32, u32, Vec<u8>)]) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
        )
        .unwrap();
        for (k, v) in meta {
            conn.execute("INSERT INTO metadata VALUES (?1, ?2)", [k, v])
                .unwrap();
        }
        for (z, x, y, data) in tiles {
            let row = (1i64 << z) - 1 - i64::from(*y);
            conn.execute(
                "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
                params![z, x, row, data],
            )
            .unwrap();
        }
    }

    #[test]
    fn tiles_are_found_by_xyz_with_rows_flipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("park.mbtiles");
        write(
            &path,
            &[
                ("name", "Thap Lan"),
                ("format", "png"),
                ("bounds", "101.9,14.0,102.4,14.4"),
                ("minzoom", "0"),
                ("maxzoom", "2"),
                ("attribution", "<b>© the survey</b>"),
            ],
            &[
                (0, 0, 0, png(0)),
                (1, 0, 0, png(1)),
                (1, 1, 1, png(2)),
                (2, 3, 0, png(3)),
            ],
        );
        let map = Basemap::open(&path).unwrap();
        assert_eq!(
            map.info(),
            &Info {
                format: Format::Png,
                minzoom: 0,
                maxzoom: 2,
                bounds: Some([101.9, 14.0, 102.4, 14.4]),
                attribution: Some("<b>© the survey</b>".into()),
                name: Some("Thap Lan".into()),
            }
        );
        assert_eq!(map.tile(0, 0, 0).unwrap(), Some(png(0)));
        assert_eq!(map.tile(1, 0, 0).unwrap(), Some(png(1)));
        assert_eq!(map.tile(1, 1, 1).unwrap(), Some(png(2)));
        assert_eq!(map.tile(2, 3, 0).unwrap(), Some(png(3)));
        // Stored at TMS row 3 - 0 = 3: not y = 3.
        assert_eq!(map.tile(2, 3, 3).unwrap(), None);
        assert_eq!(map.tile(1, 0, 1).unwrap(), None);
        // Off the grid, beyond the zoom levels.
        assert_eq!(map.tile(1, 2, 0).unwrap(), None);
        assert_eq!(map.tile(3, 0, 0).unwrap(), None);
    }

    #[test]
    fn tiles_as_a_view_of_deduplicated_images_are_read() {
        // mbutil's and TileMill's schema: `tiles` a view joining `map` and
        // `images`; read with the schema untrusted.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("view.mbtiles");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_id TEXT);
             CREATE TABLE images (tile_data BLOB, tile_id TEXT);
             CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE VIEW tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
               map.tile_row AS tile_row, images.tile_data AS tile_data
               FROM map JOIN images ON images.tile_id = map.tile_id;
             INSERT INTO metadata VALUES ('format', 'jpg'), ('minzoom', '1'), ('maxzoom', '1');
             INSERT INTO map VALUES (1, 0, 0, 'sea'), (1, 1, 0, 'sea'), (1, 1, 1, 'land');",
        )
        .unwrap();
        let jpeg = |b: u8| vec![0xff, 0xd8, 0xff, 0xe0, b];
        conn.execute(
            "INSERT INTO images VALUES (?1, 'sea'), (?2, 'land')",
            params![jpeg(1), jpeg(2)],
        )
        .unwrap();
        drop(conn);
        let map = Basemap::open(&path).unwrap();
        assert_eq!(map.info().format, Format::Jpeg);
        // TMS row 0 is the south: y = 1.
        assert_eq!(map.tile(1, 0, 1).unwrap(), Some(jpeg(1)));
        assert_eq!(map.tile(1, 1, 1).unwrap(), Some(jpeg(1)));
        assert_eq!(map.tile(1, 1, 0).unwrap(), Some(jpeg(2)));
        assert_eq!(map.tile(1, 0, 0).unwrap(), None);
    }

    #[test]
    fn a_file_without_format_or_zooms_is_read_from_its_tiles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bare.mbtiles");
        write(&path, &[], &[(3, 1, 2, png(5)), (5, 0, 0, png(6))]);
        let map = Basemap::open(&path).unwrap();
        let info = map.info();
        assert_eq!(
            (info.format, info.minzoom, info.maxzoom),
            (Format::Png, 3, 5)
        );
        assert_eq!((info.bounds, info.attribution.as_ref()), (None, None));
        assert_eq!(map.tile(3, 1, 2).unwrap(), Some(png(5)));
    }

    #[test]
    fn vector_or_tableless_or_oversized_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let vector = dir.path().join("vector.mbtiles");
        write(
            &vector,
            &[("format", "pbf")],
            &[(0, 0, 0, vec![0x1f, 0x8b, 8])],
        );
        let err = Basemap::open(&vector).unwrap_err().to_string();
        assert!(
            err.contains("vector.mbtiles") && err.contains("raster MBTiles or PMTiles"),
            "{err}"
        );
        let other = dir.path().join("other.mbtiles");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE patrols (id TEXT)")
            .unwrap();
        let err = Basemap::open(&other).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("{}: not an MBTiles file (no tiles table)", other.display())
        );
        let columns = dir.path().join("columns.mbtiles");
        Connection::open(&columns)
            .unwrap()
            .execute_batch("CREATE TABLE tiles (a, b); CREATE TABLE metadata (name, value)")
            .unwrap();
        let err = Basemap::open(&columns).unwrap_err().to_string();
        assert!(err.contains("has no zoom_level"), "{err}");
        // A tile past the limit is an error, not a read of it all.
        let big = dir.path().join("big.mbtiles");
        let mut huge = png(1);
        huge.resize(MAX_TILE_BYTES as usize + 1, 0);
        write(
            &big,
            &[("format", "png"), ("minzoom", "0"), ("maxzoom", "0")],
            &[(0, 0, 0, huge)],
        );
        let err = Basemap::open(&big)
            .unwrap()
            .tile(0, 0, 0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("big.mbtiles") && err.contains("too big"),
            "{err}"
        );
        // A truncated file: SQLite says so, nothing panics.
        let cut = dir.path().join("cut.mbtiles");
        let bytes = std::fs::read(&vector).unwrap();
        std::fs::write(&cut, &bytes[..bytes.len().min(1500)]).unwrap();
        assert!(Basemap::open(&cut).is_err());
    }
}
