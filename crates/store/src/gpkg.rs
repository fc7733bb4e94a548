//! GeoPackage geometry blobs: the `GP` header (with an xy envelope) and
//! standard little-endian WKB. x = longitude, y = latitude, srs 4326.
//!
//! Written by hand: the encoding is a few dozen lines and we need exactly
//! three shapes (point, line string, multipolygon).

/// The srs_id of WGS 84 geographic coordinates.
pub const WGS84: i32 = 4326;

/// Rings of (lon, lat): the first is the exterior.
pub type Rings = Vec<Vec<(f64, f64)>>;

const WKB_POINT: u32 = 1;
const WKB_LINESTRING: u32 = 2;
const WKB_MULTIPOLYGON: u32 = 6;
const WKB_POLYGON: u32 = 3;

fn header(out: &mut Vec<u8>, envelope: Option<[f64; 4]>) {
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
    // bit 0: little-endian; bits 1-3: envelope kind (1 = minx, maxx, miny, maxy).
    out.push(if envelope.is_some() {
        0b0000_0011
    } else {
        0b0000_0001
    });
    out.extend_from_slice(&WGS84.to_le_bytes());
    if let Some(env) = envelope {
        for v in env {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

fn envelope(points: impl Iterator<Item = (f64, f64)>) -> [f64; 4] {
    let mut env = [
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for (x, y) in points {
        env[0] = env[0].min(x);
        env[1] = env[1].max(x);
        env[2] = env[2].min(y);
        env[3] = env[3].max(y);
    }
    env
}

/// A POINT.
pub fn point(lon: f64, lat: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 21);
    header(&mut out, None);
    out.push(1);
    out.extend_from_slice(&WKB_POINT.to_le_bytes());
    out.extend_from_slice(&lon.to_le_bytes());
    out.extend_from_slice(&lat.to_le_bytes());
    out
}

/// A LINESTRING of (lon, lat) positions.
pub fn line_string(points: &[(f64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 32 + 9 + points.len() * 16);
    header(&mut out, Some(envelope(points.iter().copied())));
    out.push(1);
    out.extend_from_slice(&WKB_LINESTRING.to_le_bytes());
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    for &(x, y) in points {
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
    }
    out
}

/// A MULTIPOLYGON: polygons, each a list of rings of (lon, lat).
pub fn multi_polygon(polygons: &[Rings]) -> Vec<u8> {
    let all = polygons.iter().flatten().flatten().copied();
    let mut out = Vec::new();
    header(&mut out, Some(envelope(all)));
    out.push(1);
    out.extend_from_slice(&WKB_MULTIPOLYGON.to_le_bytes());
    out.extend_from_slice(&(polygons.len() as u32).to_le_bytes());
    for rings in polygons {
        out.push(1);
        out.extend_from_slice(&WKB_POLYGON.to_le_bytes());
        out.extend_from_slice(&(rings.len() as u32).to_le_bytes());
        for ring in rings {
            out.extend_from_slice(&(ring.len() as u32).to_le_bytes());
            for &(x, y) in ring {
                out.extend_from_slice(&x.to_le_bytes());
                out.extend_from_slice(&y.to_le_bytes());
            }
        }
    }
    out
}

/// A geometry blob that is not what we wrote.
#[derive(Debug, thiserror::Error)]
#[error("bad geometry blob: {0}")]
pub struct BadBlob(&'static str);

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], BadBlob> {
        let end = self.at.checked_add(n).ok_or(BadBlob("too long"))?;
        let s = self.bytes.get(self.at..end).ok_or(BadBlob("truncated"))?;
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, BadBlob> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn f64(&mut self) -> Result<f64, BadBlob> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn coords(&mut self) -> Result<Vec<(f64, f64)>, BadBlob> {
        let n = self.u32()? as usize;
        if n > self.bytes.len() / 16 {
            return Err(BadBlob("count larger than the blob"));
        }
        (0..n).map(|_| Ok((self.f64()?, self.f64()?))).collect()
    }
    fn wkb_head(&mut self, want: u32) -> Result<(), BadBlob> {
        if self.take(1)? != [1] {
            return Err(BadBlob("not little-endian WKB"));
        }
        if self.u32()? != want {
            return Err(BadBlob("unexpected geometry type"));
        }
        Ok(())
    }
}

fn body(blob: &[u8]) -> Result<Cursor<'_>, BadBlob> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err(BadBlob("no GP header"));
    }
    let flags = blob[3];
    if flags & 1 == 0 {
        return Err(BadBlob("big-endian header"));
    }
    let env_len = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return Err(BadBlob("bad envelope kind")),
    };
    Ok(Cursor {
        bytes: blob,
        at: 8 + env_len,
    })
}

/// Read a POINT blob back.
pub fn read_point(blob: &[u8]) -> Result<(f64, f64), BadBlob> {
    let mut c = body(blob)?;
    c.wkb_head(WKB_POINT)?;
    Ok((c.f64()?, c.f64()?))
}

/// Read a LINESTRING blob back.
pub fn read_line_string(blob: &[u8]) -> Result<Vec<(f64, f64)>, BadBlob> {
    let mut c = body(blob)?;
    c.wkb_head(WKB_LINESTRING)?;
    c.coords()
}

/// Read a MULTIPOLYGON blob back.
pub fn read_multi_polygon(blob: &[u8]) -> Result<Vec<Rings>, BadBlob> {
    let mut c = body(blob)?;
    c.wkb_head(WKB_MULTIPOLYGON)?;
    let n = c.u32()?;
    let mut polygons = Vec::new();
    for _ in 0..n {
        c.wkb_head(WKB_POLYGON)?;
        let rings = c.u32()?;
        let mut poly = Vec::new();
        for _ in 0..rings {
            poly.push(c.coords()?);
        }
        polygons.push(poly);
    }
    Ok(polygons)
}

/// The envelope (minx, maxx, miny, maxy) of a geometry blob: from its header
/// when it carries one, else from its coordinates. `None` for an empty or
/// unreadable geometry.
pub fn envelope_of(blob: &[u8]) -> Option<[f64; 4]> {
    if blob.len() >= 40 && &blob[..2] == b"GP" && (blob[3] >> 1) & 0b111 != 0 && blob[3] & 1 == 1 {
        let f =
            |i: usize| f64::from_le_bytes(blob[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes"));
        return Some([f(0), f(1), f(2), f(3)]);
    }
    let points: Vec<(f64, f64)> = if let Ok(p) = read_point(blob) {
        vec![p]
    } else if let Ok(l) = read_line_string(blob) {
        l
    } else {
        read_multi_polygon(blob)
            .ok()?
            .into_iter()
            .flatten()
            .flatten()
            .collect()
    };
    let env = envelope(points.iter().copied());
    env[0].is_finite().then_some(env)
}

/// Register the SQL functions GeoPackage's R-tree extension triggers call
/// (`ST_IsEmpty`, `ST_MinX`, `ST_MaxX`, `ST_MinY`, `ST_MaxY`): GDAL and QGIS
/// add those triggers when a user creates a spatial index, and without the
/// functions every insert into the indexed table would fail.
pub fn register_functions(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("ST_IsEmpty", 1, flags, |ctx| {
        let blob: Option<Vec<u8>> = ctx.get(0)?;
        Ok(blob.as_deref().and_then(envelope_of).is_none())
    })?;
    for (name, i) in [
        ("ST_MinX", 0),
        ("ST_MaxX", 1),
        ("ST_MinY", 2),
        ("ST_MaxY", 3),
    ] {
        conn.create_scalar_function(name, 1, flags, move |ctx| {
            let blob: Option<Vec<u8>> = ctx.get(0)?;
            Ok(blob.as_deref().and_then(envelope_of).map(|e| e[i]))
        })?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // bytes written and read back must be identical
mod tests {
    use super::*;

    #[test]
    fn point_layout_is_the_standard_one() {
        let b = point(102.18, 14.21);
        assert_eq!(&b[..8], &[b'G', b'P', 0, 1, 0xE6, 0x10, 0, 0]);
        assert_eq!(b[8], 1);
        assert_eq!(read_point(&b).unwrap(), (102.18, 14.21));
    }

    #[test]
    fn lines_and_polygons_round_trip() {
        let pts = vec![(1.0, 2.0), (3.0, -4.0), (5.5, 6.25)];
        let b = line_string(&pts);
        assert_eq!(b[3], 3);
        assert_eq!(f64::from_le_bytes(b[8..16].try_into().unwrap()), 1.0); // minx
        assert_eq!(f64::from_le_bytes(b[32..40].try_into().unwrap()), 6.25); // maxy
        assert_eq!(read_line_string(&b).unwrap(), pts);
        let ring = vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)];
        let mp = vec![vec![ring.clone()], vec![ring]];
        assert_eq!(read_multi_polygon(&multi_polygon(&mp)).unwrap(), mp);
    }

    #[test]
    fn envelopes_come_from_the_header_or_the_coordinates() {
        assert_eq!(envelope_of(&point(1.5, -2.0)), Some([1.5, 1.5, -2.0, -2.0]));
        assert_eq!(
            envelope_of(&line_string(&[(1.0, 2.0), (3.0, -4.0)])),
            Some([1.0, 3.0, -4.0, 2.0])
        );
        assert_eq!(envelope_of(b"junk"), None);
    }

    #[test]
    fn the_rtree_trigger_functions_work_in_sql() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        register_functions(&conn).unwrap();
        let (empty, minx, maxy): (bool, f64, f64) = conn
            .query_row(
                "SELECT ST_IsEmpty(?1), ST_MinX(?1), ST_MaxY(?1)",
                [line_string(&[(1.0, 2.0), (3.0, 5.0)])],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert!(!empty);
        assert_eq!((minx, maxy), (1.0, 5.0));
        let null_empty: bool = conn
            .query_row("SELECT ST_IsEmpty(NULL)", [], |r| r.get(0))
            .unwrap();
        assert!(null_empty);
    }

    #[test]
    fn junk_is_refused_not_panicked_on() {
        assert!(read_point(b"").is_err());
        assert!(read_line_string(b"GP\0\x01\xe6\x10\0\0\x01\x02\0\0\0\xff\xff\xff\xff").is_err());
        assert!(read_point(&line_string(&[(0.0, 0.0)])).is_err());
    }
}
