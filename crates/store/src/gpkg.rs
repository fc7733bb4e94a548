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
    fn junk_is_refused_not_panicked_on() {
        assert!(read_point(b"").is_err());
        assert!(read_line_string(b"GP\0\x01\xe6\x10\0\0\x01\x02\0\0\0\xff\xff\xff\xff").is_err());
        assert!(read_point(&line_string(&[(0.0, 0.0)])).is_err());
    }
}
