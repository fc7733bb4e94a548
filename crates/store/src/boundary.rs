//! Writes of a site's boundary: a new version of it, the layer's extent
//! widened to hold it, the site's tracks measured against it again.

use rusqlite::params;

use crate::{Result, Store, gpkg};

impl Store {
    /// Store a new boundary for this database's site.
    pub fn set_boundary(&mut self, polygons: &[gpkg::Rings]) -> Result<()> {
        let tx = crate::write_tx(&self.conn)?;
        let hlc = crate::next_hlc(&tx)?;
        let geom = gpkg::multi_polygon(polygons);
        tx.execute(
            "INSERT INTO site_boundaries(geom, version_id, site_id, hlc, device_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![geom, crate::new_id::<patrol_core::VersionId>().to_string(), self.site.id.to_string(), hlc, self.device.to_string()],
        )?;
        let pts = polygons.iter().flatten().flatten();
        let (mut minx, mut miny, mut maxx, mut maxy) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in pts {
            minx = minx.min(x);
            miny = miny.min(y);
            maxx = maxx.max(x);
            maxy = maxy.max(y);
        }
        // The layer's extent holds every version (the old boundaries stay in
        // the table): the union, as import and merge take it.
        if [minx, miny, maxx, maxy].iter().all(|v| v.is_finite()) {
            crate::edit::widen_extent(&tx, "site_boundaries", minx, miny)?;
            crate::edit::widen_extent(&tx, "site_boundaries", maxx, maxy)?;
        }
        // The site's tracks are measured against the new boundary.
        let legs: Vec<String> = tx
            .prepare("SELECT leg_id FROM leg_qc WHERE site_id = ?1")?
            .query_map([self.site.id.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for leg in legs {
            crate::derive::rebuild_leg(&tx, &leg)?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the extent is the corners given, exactly
mod tests {
    use crate::edit::tests::temp_store;

    fn square(x: f64, y: f64) -> Vec<Vec<(f64, f64)>> {
        vec![vec![
            (x, y),
            (x + 1.0, y),
            (x + 1.0, y + 1.0),
            (x, y + 1.0),
            (x, y),
        ]]
    }

    fn extent(t: &crate::Store) -> [f64; 4] {
        t.conn()
            .query_row(
                "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = 'site_boundaries'",
                [],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
            )
            .unwrap()
    }

    #[test]
    fn a_new_boundary_widens_the_layer_extent_to_hold_the_old_ones_too() {
        let mut t = temp_store();
        t.set_boundary(&[square(102.0, 14.0)]).unwrap();
        assert_eq!(extent(&t), [102.0, 14.0, 103.0, 15.0]);
        // The old version stays in the table: the extent holds both.
        t.set_boundary(&[square(100.0, 16.0)]).unwrap();
        assert_eq!(extent(&t), [100.0, 14.0, 103.0, 17.0]);
        assert_eq!(
            t.boundary(t.site().id).unwrap(),
            Some(vec![square(100.0, 16.0)])
        );
    }
}
