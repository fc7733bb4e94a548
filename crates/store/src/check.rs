//! `patrol check`: is the file sound, a valid GeoPackage, and are the derived
//! tables consistent with what they derive from?

use rusqlite::Connection;
use serde::Serialize;

use crate::{APPLICATION_ID, GPKG_USER_VERSION, Result, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    /// Worth knowing; not wrong.
    Note,
    Problem,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub check: String,
    pub severity: Severity,
    pub detail: String,
}

fn count(conn: &Connection, sql: &str) -> Result<i64> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

impl Store {
    pub fn check(&self) -> Result<Vec<Finding>> {
        let c = &self.conn;
        let mut out = Vec::new();
        let mut add = |check: &str, severity, detail: String| {
            out.push(Finding {
                check: check.to_owned(),
                severity,
                detail,
            });
        };
        let integrity: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        add(
            "sqlite integrity",
            if integrity == "ok" {
                Severity::Ok
            } else {
                Severity::Problem
            },
            integrity,
        );
        let app: i32 = c.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let user: i32 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let gpkg_ok = app == APPLICATION_ID && user == GPKG_USER_VERSION;
        let layers = count(
            c,
            "SELECT count(*) FROM gpkg_geometry_columns g JOIN gpkg_contents USING (table_name)
             JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id",
        )?;
        let srs = count(
            c,
            "SELECT count(*) FROM gpkg_spatial_ref_sys WHERE srs_id IN (-1, 0, 4326)",
        )?;
        add(
            "geopackage",
            if gpkg_ok && layers == 3 && srs == 3 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!(
                "application_id {app:#x}, user_version {user}, {layers} feature layers, {srs}/3 required srs rows"
            ),
        );
        let fk: i64 = count(c, "SELECT count(*) FROM pragma_foreign_key_check")?;
        add(
            "foreign keys",
            if fk == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!("{fk} violations"),
        );
        let legless = count(
            c,
            "SELECT count(*) FROM patrols p WHERE NOT EXISTS (SELECT 1 FROM legs l WHERE l.patrol_id = p.patrol_id)",
        )?;
        add(
            "patrols have legs",
            if legless == 0 {
                Severity::Ok
            } else {
                Severity::Note
            },
            format!("{legless} patrols without a live leg"),
        );
        let orphans = count(
            c,
            "SELECT count(*) FROM tracks t WHERE NOT EXISTS (SELECT 1 FROM leg_versions l WHERE l.leg_id = t.leg_id)",
        )?;
        add(
            "tracks belong to legs",
            if orphans == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!("{orphans} track pieces without a leg"),
        );
        // leg_days are derived from tracks: their km must agree leg by leg.
        let drift = count(
            c,
            "SELECT count(*) FROM (
               SELECT t.leg_id, sum(t.length_m) AS m FROM tracks t GROUP BY t.leg_id) a
             LEFT JOIN (SELECT leg_id, sum(length_m) AS m FROM leg_days GROUP BY leg_id) b USING (leg_id)
             WHERE abs(a.m - coalesce(b.m, 0)) > 1e-6 * max(1, a.m)",
        )?;
        add(
            "effort summaries match tracks",
            if drift == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!("{drift} legs whose daily km differ from their track"),
        );
        let unknown = count(
            c,
            "SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.key = o.category)",
        )?;
        add(
            "observation categories",
            if unknown == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!("{unknown} observations with a category not in the data model"),
        );
        let conflicts = count(
            c,
            "SELECT (SELECT count(*) FROM patrols WHERE heads > 1) + (SELECT count(*) FROM legs WHERE heads > 1) + (SELECT count(*) FROM observations WHERE heads > 1)",
        )?;
        add(
            "conflicting edits",
            if conflicts == 0 {
                Severity::Ok
            } else {
                Severity::Note
            },
            format!("{conflicts} records edited on two devices (see `patrol conflicts`)"),
        );
        let undated: f64 = c.query_row(
            "SELECT coalesce(sum(length_m), 0) / 1000 FROM leg_days WHERE date = ''",
            [],
            |r| r.get(0),
        )?;
        add(
            "undated track",
            if undated == 0.0 {
                Severity::Ok
            } else {
                Severity::Note
            },
            format!("{undated:.3} km of track have no time and are in no period's report"),
        );
        let same_file = count(
            c,
            "SELECT count(*) FROM (SELECT source_digest FROM patrols WHERE source_digest IS NOT NULL
               GROUP BY source_digest HAVING count(*) > 1)",
        )?;
        add(
            "one patrol per GPX file",
            if same_file == 0 {
                Severity::Ok
            } else {
                Severity::Problem
            },
            format!(
                "{same_file} GPX files imported as more than one patrol (on different devices?)"
            ),
        );
        Ok(out)
    }
}
