//! Where a batch's files are: the layers' extents in `gpkg_contents` are
//! widened once a batch, to the union of what its imported files hold.

use rusqlite::Connection;

use crate::Result;

/// The extent of what a file adds to a layer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bounds([f64; 4]);

impl Default for Bounds {
    fn default() -> Self {
        Bounds([
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ])
    }
}

impl Bounds {
    pub fn add(&mut self, x: f64, y: f64) {
        let b = &mut self.0;
        *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }

    pub fn union(&mut self, other: Bounds) {
        let (a, b) = (&mut self.0, other.0);
        *a = [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ];
    }

    /// Widen a layer's extent in `gpkg_contents` to hold these bounds.
    fn widen(self, conn: &Connection, table: &str) -> Result<()> {
        let b = self.0;
        if !b.iter().all(|v| v.is_finite()) {
            return Ok(());
        }
        crate::edit::widen_extent(conn, table, b[0], b[1])?;
        crate::edit::widen_extent(conn, table, b[2], b[3])
    }
}

/// What a file adds to the `tracks` and `observations` layers.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Extents {
    pub tracks: Bounds,
    pub observations: Bounds,
}

impl Extents {
    pub fn union(&mut self, other: Extents) {
        self.tracks.union(other.tracks);
        self.observations.union(other.observations);
    }

    /// Widen both layers' extents (the union with what is there).
    pub fn widen(self, conn: &Connection) -> Result<()> {
        self.tracks.widen(conn, "tracks")?;
        self.observations.widen(conn, "observations")
    }
}
