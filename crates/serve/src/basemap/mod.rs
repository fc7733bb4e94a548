//! The offline basemap (`serve --basemap FILE`, issue 11): a raster MBTiles
//! or PMTiles file the user already has, drawn under the boundary, the
//! tracks and the observations. Without one the maps stay on a plain
//! background.
//!
//! The file is untrusted: it is told by its first bytes (SQLite or
//! PMTiles), checked and its description read before the server listens
//! (an error names the file), and every read from it is bounded: a tile at
//! most [`MAX_TILE_BYTES`], directories and metadata by their own limits.
//! Vector tiles (MVT/pbf) are refused: Leaflet draws raster tiles only.
//!
//! `GET /tiles/{z}/{x}/{y}` ([`serve_tile`]) answers a tile (XYZ numbering,
//! y from the north) by [`Basemap::tile`]; what the map needs to add the
//! layer ([`Info`]) is put in the patrol page's map data.

mod mbtiles;
mod pmtiles;

use std::io::Read as _;
use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::web::AppError;

/// The deepest zoom level read (2^30 tiles a side; Leaflet asks far less).
pub const MAX_ZOOM: u8 = 30;

/// The largest tile served, bytes: a raster tile is tens of kilobytes.
pub const MAX_TILE_BYTES: u32 = 8 << 20;

/// The longest attribution or name kept, characters.
const MAX_TEXT: usize = 500;

/// How long a browser keeps a tile: the file does not change while served.
const TILE_CACHE: &str = "max-age=86400";

/// Why a basemap file was refused or a tile could not be read: the file
/// and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {why}", path.display())]
pub struct BasemapError {
    pub path: PathBuf,
    pub why: String,
}

/// The image format of the tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Png,
    Jpeg,
    Webp,
    Avif,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Webp => "image/webp",
            Format::Avif => "image/avif",
        }
    }

    /// The format of a tile by its first bytes, if a raster one.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(Format::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::Webp)
        } else if bytes.len() >= 12 && &bytes[4..12] == b"ftypavif" {
            Some(Format::Avif)
        } else {
            None
        }
    }
}

/// The refusal of vector tiles, said the same for both kinds of file.
fn vector_refused(what: &str) -> String {
    format!(
        "its tiles are vector tiles ({what}), which the map cannot draw: give a raster MBTiles or PMTiles file (png, jpg or webp tiles)"
    )
}

/// What the map needs to add the basemap as a tile layer.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Info {
    pub format: Format,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// West, south, east, north in degrees, when the file says and they
    /// make sense.
    pub bounds: Option<[f64; 4]>,
    /// As plain text (the map shows it as text, never as HTML).
    pub attribution: Option<String>,
    pub name: Option<String>,
}

/// The zoom range, when it makes sense (min <= max <= [`MAX_ZOOM`]).
fn zoom_range(min: u8, max: u8) -> Result<(u8, u8), String> {
    if min > max || max > MAX_ZOOM {
        return Err(format!(
            "its zoom levels {min}..{max} are not a range within 0..{MAX_ZOOM}"
        ));
    }
    Ok((min, max))
}

/// West, south, east, north, kept when they are on Earth and not empty.
fn bounds(w: f64, s: f64, e: f64, n: f64) -> Option<[f64; 4]> {
    let lon = |x: f64| (-180.0..=180.0).contains(&x);
    let lat = |y: f64| (-90.0..=90.0).contains(&y);
    (lon(w) && lon(e) && lat(s) && lat(n) && w < e && s < n).then_some([w, s, e, n])
}

/// A text of the file's description: trimmed, at most [`MAX_TEXT`]
/// characters, none if empty.
fn text(value: &str) -> Option<String> {
    let t: String = value.trim().chars().take(MAX_TEXT).collect();
    (!t.is_empty()).then_some(t)
}

/// Whether z/x/y names a tile that can exist (x and y below 2^z).
fn on_grid(z: u8, x: u32, y: u32) -> bool {
    z <= MAX_ZOOM && u64::from(x) < 1u64 << z && u64::from(y) < 1u64 << z
}

enum Source {
    MbTiles(mbtiles::MbTiles),
    PmTiles(pmtiles::PmTiles),
}

/// An opened basemap file.
pub struct Basemap {
    path: PathBuf,
    info: Info,
    /// Whether tiles are stored gzip-compressed (served so, with
    /// `Content-Encoding: gzip`).
    gzip: bool,
    source: Source,
}

impl std::fmt::Debug for Basemap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Basemap")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Basemap {
    /// Open `path`, an MBTiles or a PMTiles file told by its first bytes,
    /// and read its description.
    pub fn open(path: &Path) -> Result<Basemap, BasemapError> {
        let bad = |why: String| BasemapError {
            path: path.to_owned(),
            why,
        };
        let mut file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
        let mut magic = Vec::with_capacity(16);
        (&mut file)
            .take(16)
            .read_to_end(&mut magic)
            .map_err(|e| bad(e.to_string()))?;
        if magic.starts_with(b"SQLite format 3\0") {
            drop(file);
            let (source, info) = mbtiles::MbTiles::open(path).map_err(bad)?;
            Ok(Basemap {
                path: path.to_owned(),
                info,
                gzip: false,
                source: Source::MbTiles(source),
            })
        } else if magic.starts_with(pmtiles::MAGIC) {
            let (source, info, gzip) = pmtiles::PmTiles::open(file).map_err(bad)?;
            Ok(Basemap {
                path: path.to_owned(),
                info,
                gzip,
                source: Source::PmTiles(source),
            })
        } else {
            Err(bad(
                "not a basemap: neither an MBTiles (SQLite) nor a PMTiles file".into(),
            ))
        }
    }

    pub fn info(&self) -> &Info {
        &self.info
    }

    /// The tile z/x/y (XYZ: y counted from the north), if the file has it;
    /// none off the grid or outside the file's zoom levels.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, BasemapError> {
        if !on_grid(z, x, y) || z < self.info.minzoom || z > self.info.maxzoom {
            return Ok(None);
        }
        match &self.source {
            Source::MbTiles(m) => m.tile(z, x, y),
            Source::PmTiles(p) => p.tile(z, x, y),
        }
        .map_err(|why| BasemapError {
            path: self.path.clone(),
            why,
        })
    }
}

/// A number of the tile's path: decimal digits only, in range.
fn coordinate<T: std::str::FromStr>(s: &str) -> Option<T> {
    (!s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `GET /tiles/{z}/{x}/{y}`: the basemap's tile, kept a day by the browser;
/// 404 without a basemap, for numbers that name no tile, and for a tile
/// the file does not have.
pub(crate) async fn serve_tile(
    State(state): State<Shared>,
    UrlPath((z, x, y)): UrlPath<(String, String, String)>,
) -> Result<Response, AppError> {
    let not_found = || AppError::new(StatusCode::NOT_FOUND, format!("no tile {z}/{x}/{y}"));
    if state.basemap.is_none() {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "no basemap: start patrol serve with --basemap FILE",
        ));
    }
    let (Some(zn), Some(xn), Some(yn)) = (coordinate::<u8>(&z), coordinate(&x), coordinate(&y))
    else {
        return Err(not_found());
    };
    let shared = state.clone();
    let found = tokio::task::spawn_blocking(move || match &shared.basemap {
        Some(b) => b.tile(zn, xn, yn),
        None => Ok(None),
    })
    .await
    .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let Some(bytes) = found else {
        return Err(not_found());
    };
    let basemap = state.basemap.as_ref().ok_or_else(not_found)?;
    let mut response = (
        [
            (header::CONTENT_TYPE, basemap.info.format.content_type()),
            (header::CACHE_CONTROL, TILE_CACHE),
        ],
        bytes,
    )
        .into_response();
    if basemap.gzip {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tiles_on_the_grid_are_asked_for() {
        assert!(on_grid(0, 0, 0) && on_grid(1, 1, 1) && on_grid(30, (1 << 30) - 1, 0));
        assert!(!on_grid(0, 1, 0) && !on_grid(1, 0, 2) && !on_grid(31, 0, 0));
        assert_eq!(coordinate::<u8>("12"), Some(12));
        assert_eq!(coordinate::<u32>("4294967295"), Some(u32::MAX));
        for bad in ["", "+1", "-1", "1.5", "256", "..", "1e3", " 1", "0x10"] {
            assert_eq!(coordinate::<u8>(bad), None, "{bad}");
        }
        assert_eq!(coordinate::<u32>("4294967296"), None);
        assert_eq!(coordinate::<u32>("00000000001"), None);
    }

    #[test]
    fn formats_are_told_by_their_bytes_and_bounds_must_make_sense() {
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(Format::sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(Format::sniff(&[0x1f, 0x8b, 8, 0]), None);
        assert_eq!(Format::sniff(b""), None);
        assert_eq!(
            bounds(101.9, 14.0, 102.4, 14.4),
            Some([101.9, 14.0, 102.4, 14.4])
        );
        assert_eq!(bounds(102.4, 14.0, 101.9, 14.4), None);
        assert_eq!(bounds(-181.0, 0.0, 1.0, 1.0), None);
        assert_eq!(bounds(f64::NAN, 0.0, 1.0, 1.0), None);
        assert!(zoom_range(3, 2).is_err() && zoom_range(0, 31).is_err());
        assert_eq!(text("  "), None);
        assert_eq!(text(&"x".repeat(600)).unwrap().len(), MAX_TEXT);
    }

    #[test]
    fn a_file_of_neither_kind_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.mbtiles");
        std::fs::write(&path, "<html>not tiles</html>").unwrap();
        let err = Basemap::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("map.mbtiles") && err.contains("neither an MBTiles"),
            "{err}"
        );
        let missing = Basemap::open(&dir.path().join("none.pmtiles"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("none.pmtiles"), "{missing}");
    }
}
