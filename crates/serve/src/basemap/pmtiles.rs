//! PMTiles version 3, read with positional reads of the file: a 127-byte
//! header, a root directory, leaf directories, the tile data. A directory
//! is a varint count, then its entries' tile ids (delta-coded), run
//! lengths, lengths and offsets (0: right after the previous entry),
//! column by column, possibly gzip-compressed as a whole. Tile ids count
//! the tiles of the zoom levels above, then along the Hilbert curve of the
//! level ([`tile_id`]). An entry of run length 0 points to a leaf
//! directory that starts at its id.
//!
//! Every read is checked against the file's length and the section it is
//! in, and bounded ([`MAX_DIRECTORY`], [`MAX_TILE_BYTES`]); decompression
//! too. Brotli and zstd directories are refused at opening.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Mutex;

use super::{Format, Info, MAX_TILE_BYTES, bounds, text, vector_refused, zoom_range};

/// The first bytes of a PMTiles file (the version follows).
pub const MAGIC: &[u8] = b"PMTiles";

const HEADER_LEN: usize = 127;

/// The largest directory read or decompressed, bytes (a leaf of tens of
/// thousands of entries is well below).
const MAX_DIRECTORY: u64 = 8 << 20;

/// The largest JSON metadata read or decompressed, bytes.
const MAX_METADATA: u64 = 1 << 20;

/// Directories below the root followed at most (writers use one level).
const MAX_DEPTH: usize = 4;

/// One directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tile_id: u64,
    /// From the start of the tile data (a tile) or of the leaf directories.
    pub offset: u64,
    pub length: u32,
    /// How many consecutive tile ids share the tile; 0: a leaf directory.
    pub run_length: u32,
}

/// How directories, metadata or tiles are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
}

impl Compression {
    fn of(byte: u8, what: &str) -> Result<Compression, String> {
        match byte {
            0 | 1 => Ok(Compression::None),
            2 => Ok(Compression::Gzip),
            3 => Err(format!(
                "its {what} are brotli-compressed, which is not read here: write the file with gzip or no compression"
            )),
            4 => Err(format!(
                "its {what} are zstd-compressed, which is not read here: write the file with gzip or no compression"
            )),
            n => Err(format!("its {what} have an unknown compression ({n})")),
        }
    }
}

/// A section of the file: where it starts and how long it is.
#[derive(Clone, Copy, Debug)]
struct Section {
    offset: u64,
    length: u64,
}

/// The whole file, for what the header places from its start.
const WHOLE: Section = Section {
    offset: 0,
    length: u64::MAX,
};

#[derive(Debug)]
struct Header {
    root: Section,
    metadata: Section,
    leaves: Section,
    data: Section,
    internal: Compression,
    tiles: Compression,
    tile_type: u8,
    min_zoom: u8,
    max_zoom: u8,
    /// min lon, min lat, max lon, max lat, in 1e-7 degrees.
    bounds: [i32; 4],
}

fn u64_at(b: &[u8; HEADER_LEN], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn i32_at(b: &[u8; HEADER_LEN], at: usize) -> i32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    i32::from_le_bytes(x)
}

fn header(b: &[u8; HEADER_LEN]) -> Result<Header, String> {
    if &b[..7] != MAGIC {
        return Err("not a PMTiles file".into());
    }
    if b[7] != 3 {
        return Err(format!(
            "a PMTiles file of version {}: only version 3 is read",
            b[7]
        ));
    }
    let section = |at: usize| Section {
        offset: u64_at(b, at),
        length: u64_at(b, at + 8),
    };
    Ok(Header {
        root: section(8),
        metadata: section(24),
        leaves: section(40),
        data: section(56),
        internal: Compression::of(b[97], "directories")?,
        tiles: Compression::of(b[98], "tiles")?,
        tile_type: b[99],
        min_zoom: b[100],
        max_zoom: b[101],
        bounds: [
            i32_at(b, 102),
            i32_at(b, 106),
            i32_at(b, 110),
            i32_at(b, 114),
        ],
    })
}

/// The tile id of z/x/y (on the grid: x, y < 2^z, z <= 31): the number of
/// tiles of the levels above, (4^z - 1) / 3, plus the position on the
/// level's Hilbert curve.
pub fn tile_id(z: u8, x: u32, y: u32) -> u64 {
    let above = ((1u64 << (2 * u32::from(z))) - 1) / 3;
    let side = 1u64 << z;
    let (mut col, mut row) = (u64::from(x), u64::from(y));
    let mut along = 0u64;
    let mut half = side / 2;
    while half > 0 {
        let rx = u64::from(col & half > 0);
        let ry = u64::from(row & half > 0);
        along += half * half * ((3 * rx) ^ ry);
        // Rotate the quadrant so the curve below continues.
        if ry == 0 {
            if rx == 1 {
                col = side - 1 - col;
                row = side - 1 - row;
            }
            std::mem::swap(&mut col, &mut row);
        }
        half /= 2;
    }
    above + along
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let Some(&b) = buf.get(*pos) else {
            return Err("a directory ends inside a number".into());
        };
        *pos += 1;
        let part = u64::from(b & 0x7f);
        if shift > 63 || (shift == 63 && part > 1) {
            return Err("a directory has a number past 64 bits".into());
        }
        value |= part << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

/// The entries of a directory's (decompressed) bytes.
pub fn directory(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let bad = |why: &str| format!("a directory {why}");
    let mut pos = 0;
    let n = varint(bytes, &mut pos)?;
    // Every entry takes four bytes at least: a count past that is a lie.
    if n == 0 || n > (bytes.len() / 4) as u64 {
        return Err(bad(&format!(
            "says it has {n} entries in {} bytes",
            bytes.len()
        )));
    }
    let n = n as usize;
    let mut entries = vec![
        Entry {
            tile_id: 0,
            offset: 0,
            length: 0,
            run_length: 0
        };
        n
    ];
    let mut id = 0u64;
    for e in &mut entries {
        id = id
            .checked_add(varint(bytes, &mut pos)?)
            .ok_or_else(|| bad("has a tile id past 64 bits"))?;
        e.tile_id = id;
    }
    let small = |v: u64| u32::try_from(v).map_err(|_| bad("has a length past 32 bits"));
    for e in &mut entries {
        e.run_length = small(varint(bytes, &mut pos)?)?;
    }
    for e in &mut entries {
        e.length = small(varint(bytes, &mut pos)?)?;
        if e.length == 0 {
            return Err(bad("has an entry of length 0"));
        }
    }
    for i in 0..n {
        let v = varint(bytes, &mut pos)?;
        entries[i].offset = match (v, i) {
            (0, 0) => return Err(bad("has a first entry without offset")),
            (0, _) => entries[i - 1]
                .offset
                .checked_add(u64::from(entries[i - 1].length))
                .ok_or_else(|| bad("has an offset past 64 bits"))?,
            (v, _) => v - 1,
        };
    }
    Ok(entries)
}

/// The entry that holds `id`: the last one whose id is not above it.
fn find(entries: &[Entry], id: u64) -> Option<&Entry> {
    let i = entries.partition_point(|e| e.tile_id <= id);
    let e = entries.get(i.checked_sub(1)?)?;
    (e.run_length == 0 || id - e.tile_id < u64::from(e.run_length)).then_some(e)
}

fn decompress(bytes: Vec<u8>, how: Compression, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    match how {
        Compression::None => Ok(bytes),
        Compression::Gzip => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .take(limit + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("its {what} is not gzip: {e}"))?;
            if out.len() as u64 > limit {
                return Err(format!(
                    "its {what} is larger than {limit} bytes decompressed"
                ));
            }
            Ok(out)
        }
    }
}

/// An opened PMTiles file.
pub struct PmTiles {
    file: Mutex<File>,
    len: u64,
    header: Header,
    root: Vec<Entry>,
}

impl PmTiles {
    /// Read the header, the root directory and the metadata of `file`;
    /// also whether its tiles are gzip-compressed.
    pub fn open(mut file: File) -> Result<(PmTiles, Info, bool), String> {
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut first = [0u8; HEADER_LEN];
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_exact(&mut first))
            .map_err(|_| "its header is cut short".to_owned())?;
        let mut archive = PmTiles {
            file: Mutex::new(file),
            len,
            header: header(&first)?,
            root: Vec::new(),
        };
        let format = match archive.header.tile_type {
            1 => return Err(vector_refused("mvt")),
            2 => Format::Png,
            3 => Format::Jpeg,
            4 => Format::Webp,
            5 => Format::Avif,
            n => {
                return Err(format!(
                    "its tiles are of an unknown type ({n}): give png, jpg or webp tiles"
                ));
            }
        };
        let (minzoom, maxzoom) = zoom_range(archive.header.min_zoom, archive.header.max_zoom)?;
        let head = &archive.header;
        let root_bytes = archive.read(
            WHOLE,
            head.root.offset,
            head.root.length,
            MAX_DIRECTORY,
            "root directory",
        )?;
        let root_bytes = decompress(root_bytes, head.internal, MAX_DIRECTORY, "root directory")?;
        let root = directory(&root_bytes)?;
        // The metadata only names and credits: a file without it still draws.
        let meta: serde_json::Value = archive
            .read(
                WHOLE,
                head.metadata.offset,
                head.metadata.length,
                MAX_METADATA,
                "metadata",
            )
            .and_then(|b| decompress(b, head.internal, MAX_METADATA, "metadata"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let field = |k: &str| {
            meta.get(k)
                .and_then(serde_json::Value::as_str)
                .and_then(text)
        };
        let e7 = |v: i32| f64::from(v) / 1e7;
        let [west, south, east, north] = head.bounds;
        let info = Info {
            format,
            minzoom,
            maxzoom,
            bounds: bounds(e7(west), e7(south), e7(east), e7(north)),
            attribution: field("attribution"),
            name: field("name"),
        };
        let gzip = head.tiles == Compression::Gzip;
        archive.root = root;
        Ok((archive, info, gzip))
    }

    /// `length` bytes at `offset` within `section`, checked against the
    /// section, the file and `limit` before anything is read.
    fn read(
        &self,
        section: Section,
        offset: u64,
        length: u64,
        limit: u64,
        what: &str,
    ) -> Result<Vec<u8>, String> {
        if length > limit {
            return Err(format!(
                "its {what} says it is {length} bytes, more than the {limit} read"
            ));
        }
        let start = offset
            .checked_add(length)
            .filter(|&end| end <= section.length)
            .and_then(|_| section.offset.checked_add(offset))
            .filter(|s| s.checked_add(length).is_some_and(|end| end <= self.len))
            .ok_or_else(|| {
                format!("its {what} lies beyond the end of the file or of its section")
            })?;
        let mut buf = vec![0u8; length as usize];
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| format!("its {what} cannot be read: {e}"))?;
        Ok(buf)
    }

    /// The tile z/x/y (XYZ, on the grid: the caller checked), if the file
    /// has it.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, String> {
        let id = tile_id(z, x, y);
        let head = &self.header;
        let mut leaf: Vec<Entry>;
        let mut dir = &self.root;
        for depth in 0..=MAX_DEPTH {
            let Some(entry) = find(dir, id).copied() else {
                return Ok(None);
            };
            if entry.run_length > 0 {
                return self
                    .read(
                        head.data,
                        entry.offset,
                        u64::from(entry.length),
                        u64::from(MAX_TILE_BYTES),
                        "tile",
                    )
                    .map(Some);
            }
            if depth == MAX_DEPTH {
                break;
            }
            let bytes = self.read(
                head.leaves,
                entry.offset,
                u64::from(entry.length),
                MAX_DIRECTORY,
                "leaf directory",
            )?;
            leaf = directory(&decompress(
                bytes,
                head.internal,
                MAX_DIRECTORY,
                "leaf directory",
            )?)?;
            dir = &leaf;
        }
        Err(format!(
            "its directories are nested deeper than {MAX_DEPTH} levels"
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::basemap::Basemap;
    use crate::basemap::mbtiles::tests::png;
    use std::io::Write as _;

    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// A directory's bytes, as the spec serialises it.
    pub fn write_directory(entries: &[Entry]) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, entries.len() as u64);
        let mut last = 0;
        for e in entries {
            put_varint(&mut out, e.tile_id - last);
            last = e.tile_id;
        }
        for e in entries {
            put_varint(&mut out, u64::from(e.run_length));
        }
        for e in entries {
            put_varint(&mut out, u64::from(e.length));
        }
        for (i, e) in entries.iter().enumerate() {
            let follows =
                i > 0 && e.offset == entries[i - 1].offset + u64::from(entries[i - 1].length);
            put_varint(&mut out, if follows { 0 } else { e.offset + 1 });
        }
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// A PMTiles v3 file of `tiles` (z, x, y, bytes): the root directory
    /// holds the tiles of zoom 0 and 1 and points to one leaf directory
    /// with the rest; directories and metadata gzip-compressed if `gz`.
    pub fn write(tiles: &[(u8, u32, u32, Vec<u8>)], gz: bool, tile_type: u8) -> Vec<u8> {
        let mut tiles: Vec<(u64, &Vec<u8>)> = tiles
            .iter()
            .map(|(z, x, y, b)| (tile_id(*z, *x, *y), b))
            .collect();
        tiles.sort_by_key(|t| t.0);
        let mut data = Vec::new();
        let mut root = Vec::new();
        let mut leaf = Vec::new();
        for (id, bytes) in &tiles {
            let e = Entry {
                tile_id: *id,
                offset: data.len() as u64,
                length: bytes.len() as u32,
                run_length: 1,
            };
            data.extend_from_slice(bytes);
            if *id < 5 { root.push(e) } else { leaf.push(e) }
        }
        let squeeze = |b: Vec<u8>| if gz { gzip(&b) } else { b };
        let leaves = if leaf.is_empty() {
            Vec::new()
        } else {
            let bytes = squeeze(write_directory(&leaf));
            root.push(Entry {
                tile_id: leaf[0].tile_id,
                offset: 0,
                length: bytes.len() as u32,
                run_length: 0,
            });
            bytes
        };
        let root = squeeze(write_directory(&root));
        let meta =
            squeeze(br#"{"name":"Thap Lan","attribution":"<a href=x>the survey</a>"}"#.to_vec());
        let mut h = vec![0u8; HEADER_LEN];
        h[..7].copy_from_slice(MAGIC);
        h[7] = 3;
        let mut at = HEADER_LEN as u64;
        for (i, len) in [root.len(), meta.len(), leaves.len(), data.len()]
            .into_iter()
            .enumerate()
        {
            h[8 + 16 * i..16 + 16 * i].copy_from_slice(&at.to_le_bytes());
            h[16 + 16 * i..24 + 16 * i].copy_from_slice(&(len as u64).to_le_bytes());
            at += len as u64;
        }
        h[97] = if gz { 2 } else { 1 };
        h[98] = 1;
        h[99] = tile_type;
        h[100] = 0;
        h[101] = 3;
        for (i, v) in [1_019_000_000i32, 140_000_000, 1_024_000_000, 144_000_000]
            .into_iter()
            .enumerate()
        {
            h[102 + 4 * i..106 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        [h, root, meta, leaves, data].concat()
    }

    #[test]
    fn tile_ids_follow_the_hilbert_curve_of_the_spec() {
        assert_eq!(tile_id(0, 0, 0), 0);
        assert_eq!(tile_id(1, 0, 0), 1);
        assert_eq!(tile_id(1, 0, 1), 2);
        assert_eq!(tile_id(1, 1, 1), 3);
        assert_eq!(tile_id(1, 1, 0), 4);
        assert_eq!(tile_id(2, 0, 0), 5);
        assert_eq!(tile_id(2, 1, 3), 11);
        assert_eq!(tile_id(3, 3, 0), 26);
        assert_eq!(tile_id(3, 0, 0), 21);
        // Every tile of a level has its own id, the level's ids in a row.
        for z in 0..6u8 {
            let n = 1u32 << z;
            let mut ids: Vec<u64> = (0..n)
                .flat_map(|x| (0..n).map(move |y| tile_id(z, x, y)))
                .collect();
            ids.sort_unstable();
            let first = ((1u64 << (2 * z)) - 1) / 3;
            assert_eq!(
                ids,
                (first..first + u64::from(n) * u64::from(n)).collect::<Vec<_>>()
            );
        }
        // The deepest level has ids below 2^64.
        assert!(tile_id(31, u32::MAX >> 1, 0) > tile_id(30, 0, 0));
    }

    #[test]
    fn directories_round_trip_and_runs_cover_their_ids() {
        let entries = [
            Entry {
                tile_id: 0,
                offset: 0,
                length: 10,
                run_length: 1,
            },
            Entry {
                tile_id: 1,
                offset: 10,
                length: 5,
                run_length: 3,
            },
            Entry {
                tile_id: 9,
                offset: 2,
                length: 7,
                run_length: 0,
            },
        ];
        let parsed = directory(&write_directory(&entries)).unwrap();
        assert_eq!(parsed, entries);
        assert_eq!(find(&parsed, 3).map(|e| e.tile_id), Some(1));
        assert_eq!(find(&parsed, 4), None);
        assert_eq!(find(&parsed, 100).map(|e| e.run_length), Some(0));
    }

    #[test]
    fn tiles_are_found_through_the_root_and_a_leaf_gzip_or_not() {
        let tiles: Vec<(u8, u32, u32, Vec<u8>)> = vec![
            (0, 0, 0, png(0)),
            (1, 1, 0, png(1)),
            (2, 1, 3, png(2)),
            (3, 3, 0, png(3)),
            (3, 7, 7, png(4)),
        ];
        let dir = tempfile::tempdir().unwrap();
        for gz in [false, true] {
            let path = dir.path().join(format!("park-{gz}.pmtiles"));
            std::fs::write(&path, write(&tiles, gz, 2)).unwrap();
            let map = Basemap::open(&path).unwrap();
            let info = map.info();
            assert_eq!(
                (info.format, info.minzoom, info.maxzoom),
                (Format::Png, 0, 3)
            );
            assert_eq!(info.bounds, Some([101.9, 14.0, 102.4, 14.4]));
            assert_eq!(info.name.as_deref(), Some("Thap Lan"));
            assert_eq!(
                info.attribution.as_deref(),
                Some("<a href=x>the survey</a>")
            );
            for (z, x, y, bytes) in &tiles {
                assert_eq!(
                    map.tile(*z, *x, *y).unwrap().as_ref(),
                    Some(bytes),
                    "{z}/{x}/{y} gzip {gz}"
                );
            }
            for (z, x, y) in [(1, 0, 0), (2, 0, 0), (3, 3, 1), (3, 6, 7)] {
                assert_eq!(map.tile(z, x, y).unwrap(), None, "{z}/{x}/{y}");
            }
        }
    }

    #[test]
    fn a_file_of_the_reference_writer_reads_tile_for_tile() {
        // Written by the pmtiles Python package (tests/data/
        // basemap-reference.pmtiles.py): gzip directories, leaves of 16
        // entries, a run of 5 equal tiles and one more deduplicated.
        let bytes = include_bytes!("../../../../tests/data/basemap-reference.pmtiles");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reference.pmtiles");
        std::fs::write(&path, bytes).unwrap();
        let map = Basemap::open(&path).unwrap();
        let info = map.info();
        assert_eq!(
            (info.format, info.minzoom, info.maxzoom),
            (Format::Png, 0, 3)
        );
        assert_eq!(info.bounds, Some([101.9, 14.0, 102.4, 14.4]));
        assert_eq!(info.name.as_deref(), Some("reference"));
        let mut found = 0;
        for z in 0..=3u8 {
            for x in 0..1u32 << z {
                for y in 0..1u32 << z {
                    let id = tile_id(z, x, y);
                    let want = match id {
                        60..=63 => None,
                        40..=44 | 70 => Some(b"run".to_vec()),
                        _ => Some(format!("{z}/{x}/{y}").into_bytes()),
                    }
                    .map(|label| [&b"\x89PNG\r\n\x1a\n"[..], &label].concat());
                    assert_eq!(map.tile(z, x, y).unwrap(), want, "{z}/{x}/{y} (id {id})");
                    found += usize::from(want.is_some());
                }
            }
        }
        assert_eq!(found, 85 - 4);
    }

    #[test]
    fn hostile_files_are_errors_never_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.pmtiles");
        let good = write(&[(0, 0, 0, png(0)), (3, 3, 0, png(3))], true, 2);
        let open = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            Basemap::open(&path)
        };
        // Vector tiles, another version, a cut header.
        let mut vector = good.clone();
        vector[99] = 1;
        let err = open(&vector).unwrap_err().to_string();
        assert!(
            err.contains("bad.pmtiles") && err.contains("raster MBTiles or PMTiles"),
            "{err}"
        );
        let mut v2 = good.clone();
        v2[7] = 2;
        assert!(open(&v2).unwrap_err().to_string().contains("version 2"));
        assert!(
            open(&good[..60])
                .unwrap_err()
                .to_string()
                .contains("header")
        );
        // A root directory declared huge, or past the end.
        let mut huge = good.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(open(&huge).is_err());
        let mut far = good.clone();
        far[8..16].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
        assert!(open(&far).is_err());
        // Brotli directories are refused by name.
        let mut brotli = good.clone();
        brotli[97] = 3;
        assert!(open(&brotli).unwrap_err().to_string().contains("brotli"));
        // Cut anywhere: opening or reading the tile fails cleanly, or
        // (cut in the tiles' own bytes) reads what remains of the file.
        for cut in HEADER_LEN..good.len() {
            if let Ok(map) = open(&good[..cut]) {
                let _ = map.tile(3, 3, 0);
                let _ = map.tile(0, 0, 0);
            }
        }
        // Every byte flipped in turn: never a panic.
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0xff;
            if let Ok(map) = open(&b) {
                for (z, x, y) in [(0, 0, 0), (3, 3, 0), (3, 0, 0)] {
                    let _ = map.tile(z, x, y);
                }
            }
        }
        // Directories of lies: counts past their bytes, numbers past 64
        // bits, a first entry without offset, a zero length.
        assert!(directory(&[0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(directory(&[0x80; 12]).is_err());
        assert!(directory(&[]).is_err());
        assert!(directory(&[1, 0, 1, 5, 0]).is_err());
        assert!(directory(&[1, 0, 1, 0, 1]).is_err());
        let mut past = vec![
            2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        past.extend([
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 1, 1, 1, 1, 1,
        ]);
        assert!(directory(&past).is_err());
    }

    #[test]
    fn a_leaf_pointing_to_itself_ends_in_an_error() {
        // The root's one entry is a leaf at offset 0 of the leaves section,
        // and the leaf is the same bytes: it points to itself.
        let leaf_len = write_directory(&[Entry {
            tile_id: 0,
            offset: 0,
            length: 6,
            run_length: 0,
        }])
        .len();
        let dir_bytes = write_directory(&[Entry {
            tile_id: 0,
            offset: 0,
            length: leaf_len as u32,
            run_length: 0,
        }]);
        assert_eq!(dir_bytes.len(), leaf_len);
        let mut h = vec![0u8; HEADER_LEN];
        h[..7].copy_from_slice(MAGIC);
        h[7] = 3;
        let at = HEADER_LEN as u64;
        let len = dir_bytes.len() as u64;
        h[8..16].copy_from_slice(&at.to_le_bytes());
        h[16..24].copy_from_slice(&len.to_le_bytes());
        h[40..48].copy_from_slice(&at.to_le_bytes());
        h[48..56].copy_from_slice(&len.to_le_bytes());
        h[97] = 1;
        h[99] = 2;
        h[101] = 2;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loop.pmtiles");
        std::fs::write(&path, [h, dir_bytes].concat()).unwrap();
        let err = Basemap::open(&path)
            .unwrap()
            .tile(1, 0, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("deeper"), "{err}");
    }
}
