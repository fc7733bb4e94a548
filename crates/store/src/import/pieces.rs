//! A track segment written as pieces: GeoPackage LINESTRINGs of at most
//! [`PIECE_POINTS`] points, with their times and elevations as blobs.

use patrol_core::ids::PieceId;
use patrol_core::qc::Fix;
use patrol_core::time::format_utc;
use patrol_core::{LegId, PatrolId};
use rusqlite::{Connection, params};

use super::extent::Bounds;
use crate::records::VersionMeta;
use crate::{Result, gpkg};

/// The most points one stored piece of a segment holds.
pub const PIECE_POINTS: usize = 4096;

/// Writes a leg's segments as pieces, and keeps their extent.
pub(super) struct Pieces {
    pub meta: VersionMeta,
    pub patrol: PatrolId,
    pub leg: LegId,
    segment_no: i64,
    /// The extent of every point written.
    pub bounds: Bounds,
}

impl Pieces {
    pub fn new(meta: VersionMeta, patrol: PatrolId, leg: LegId) -> Self {
        Pieces {
            meta,
            patrol,
            leg,
            segment_no: -1,
            bounds: Bounds::default(),
        }
    }

    /// One segment as pieces of at most [`PIECE_POINTS`], consecutive pieces
    /// sharing their joining point; `lens` are its pair lengths.
    pub fn segment(
        &mut self,
        conn: &Connection,
        fixes: &[Fix],
        lens: &[f64],
        ele: &[f64],
        has_ele: bool,
    ) -> Result<()> {
        self.segment_no += 1;
        let n = fixes.len();
        let mut start = 0;
        let mut piece_no = 0;
        loop {
            let end = (start + PIECE_POINTS).min(n);
            let length = lens[start..end.saturating_sub(1).max(start)].iter().sum();
            self.piece(
                conn,
                piece_no,
                &fixes[start..end],
                length,
                &ele[start..end],
                has_ele,
            )?;
            piece_no += 1;
            if end == n {
                return Ok(());
            }
            start = end - 1;
        }
    }

    fn piece(
        &mut self,
        conn: &Connection,
        piece_no: i64,
        fixes: &[Fix],
        length: f64,
        ele: &[f64],
        has_ele: bool,
    ) -> Result<()> {
        let xy: Vec<(f64, f64)> = fixes.iter().map(|f| (f.lon, f.lat)).collect();
        for &(x, y) in &xy {
            self.bounds.add(x, y);
        }
        let geom = match xy.as_slice() {
            // A one-point segment: OGC lines need two points; the blobs keep one.
            &[only] => gpkg::line_string(&[only, only]),
            all => gpkg::line_string(all),
        };
        let times: Vec<u8> = fixes
            .iter()
            .flat_map(|f| f.time.unwrap_or(i64::MIN).to_le_bytes())
            .collect();
        let has_ele = has_ele && ele.iter().any(|e| !e.is_nan());
        let ele: Option<Vec<u8>> =
            has_ele.then(|| ele.iter().flat_map(|e| e.to_le_bytes()).collect());
        let mut h = blake3::Hasher::new();
        h.update(&geom);
        h.update(&times);
        if let Some(e) = &ele {
            h.update(e);
        }
        let first = fixes.iter().find_map(|f| f.time);
        let last = fixes.iter().rev().find_map(|f| f.time);
        conn.prepare_cached(
            "INSERT INTO tracks(geom, piece_id, digest, patrol_id, leg_id, segment_no, piece_no, points,
               length_m, start_time, end_time, times, ele, device_id, site_id, hlc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?
        .execute(params![
            geom,
            crate::new_id::<PieceId>().to_string(),
            h.finalize().to_hex().to_string(),
            self.patrol.to_string(),
            self.leg.to_string(),
            self.segment_no,
            piece_no,
            fixes.len() as i64,
            length,
            first.map(format_utc),
            last.map(format_utc),
            times,
            ele,
            self.meta.device.to_string(),
            self.meta.site.to_string(),
            self.meta.hlc,
        ])?;
        Ok(())
    }
}
