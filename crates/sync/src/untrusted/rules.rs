//! The row-rule language: a row of the attached file read column by column,
//! each read a check (`r.id("leg_id")?`, `r.hlc(max)?`), the first failure a
//! [`SyncError::BadRow`] naming the table, the row and what is wrong.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use patrol_store::gpkg;
use patrol_store::records::{self, Kind, VersionMeta};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::SyncError;

/// A canonical (lowercase, hyphenated) UUID.
pub(crate) fn is_id(s: &str) -> bool {
    s.len() == 36 && !s.bytes().any(|b| b.is_ascii_uppercase()) && uuid::Uuid::try_parse(s).is_ok()
}

pub(super) fn in_range(lon: f64, lat: f64) -> bool {
    patrol_core::model::on_earth(lon, lat)
}

/// The latest hlc a merge accepts: this machine's clock plus one day.
pub(super) fn latest_hlc() -> i64 {
    patrol_core::clock::latest_accepted(patrol_store::now_ms())
}

/// Validation of the attached file's rows, table by table.
pub(super) struct Rows<'a> {
    pub conn: &'a Connection,
    pub file: &'a Path,
    pub schema: &'a str,
    pub max_hlc: i64,
    /// Each stamped table's (device, site) pairs, with the least row id of
    /// each: gathered while the rows are read, for the reference checks.
    pub stamps: RefCell<Stamps>,
}

/// (index in `STAMPED_TABLES`, device id, site id) -> the least row id.
pub(super) type Stamps = BTreeMap<(usize, String, String), String>;

/// One row being checked.
pub(super) struct Row<'r> {
    values: &'r rusqlite::Row<'r>,
    names: &'r [&'r str],
    table: &'r str,
    file: &'r Path,
    id: String,
}

impl Row<'_> {
    pub(super) fn bad(&self, what: impl Into<String>) -> SyncError {
        SyncError::BadRow {
            file: self.file.to_owned(),
            table: self.table.to_owned(),
            id: self.id.clone(),
            what: what.into(),
        }
    }
    pub(super) fn idx(&self, col: &str) -> usize {
        self.names
            .iter()
            .position(|n| *n == col)
            .expect("a column we selected")
    }
    pub(super) fn value(&self, col: &str) -> Result<ValueRef<'_>, SyncError> {
        self.values
            .get_ref(self.idx(col))
            .map_err(|e| self.bad(format!("{col}: {e}")))
    }
    pub(super) fn text_opt(&self, col: &str) -> Result<Option<&str>, SyncError> {
        match self.value(col)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(Some)
                .map_err(|_| self.bad(format!("{col} is not UTF-8"))),
            other => Err(self.bad(format!(
                "{col} is {}, expected text",
                kind(other.data_type())
            ))),
        }
    }
    pub(super) fn text(&self, col: &str) -> Result<&str, SyncError> {
        self.text_opt(col)?
            .ok_or_else(|| self.bad(format!("{col} is null")))
    }
    pub(super) fn id(&self, col: &str) -> Result<&str, SyncError> {
        let t = self.text(col)?;
        if is_id(t) {
            Ok(t)
        } else {
            Err(self.bad(format!(
                "{col} '{}' is not a UUID",
                t.chars().take(60).collect::<String>()
            )))
        }
    }
    pub(super) fn int_opt(&self, col: &str) -> Result<Option<i64>, SyncError> {
        match self.value(col)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(i) => Ok(Some(i)),
            other => Err(self.bad(format!(
                "{col} is {}, expected an integer",
                kind(other.data_type())
            ))),
        }
    }
    pub(super) fn int(&self, col: &str) -> Result<i64, SyncError> {
        self.int_opt(col)?
            .ok_or_else(|| self.bad(format!("{col} is null")))
    }
    pub(super) fn real(&self, col: &str) -> Result<f64, SyncError> {
        match self.value(col)? {
            ValueRef::Real(f) if f.is_finite() => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(self.bad(format!(
                "{col} is {}, expected a finite number",
                kind(other.data_type())
            ))),
        }
    }
    pub(super) fn blob_opt(&self, col: &str) -> Result<Option<&[u8]>, SyncError> {
        match self.value(col)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(b) => Ok(Some(b)),
            other => Err(self.bad(format!(
                "{col} is {}, expected a blob",
                kind(other.data_type())
            ))),
        }
    }
    pub(super) fn flag(&self, col: &str) -> Result<(), SyncError> {
        match self.int(col)? {
            0 | 1 => Ok(()),
            v => Err(self.bad(format!("{col} is {v}, expected 0 or 1"))),
        }
    }
    pub(super) fn json_list(&self, col: &str, ids: bool) -> Result<(), SyncError> {
        let list: Vec<String> = serde_json::from_str(self.text(col)?)
            .map_err(|_| self.bad(format!("{col} is not a JSON array of strings")))?;
        if ids && !list.iter().all(|s| is_id(s)) {
            return Err(self.bad(format!("{col} has an entry that is not a UUID")));
        }
        Ok(())
    }
    pub(super) fn hlc(&self, max: i64) -> Result<(), SyncError> {
        let h = self.int("hlc")?;
        if h <= 0 {
            return Err(self.bad(format!("hlc {h} is not positive")));
        }
        if h > max {
            let ahead = patrol_core::clock::millis(h) - patrol_store::now_ms();
            return Err(SyncError::ClockAhead {
                file: self.file.to_owned(),
                device: self.id("device_id")?.to_owned(),
                days: ahead / 86_400_000,
                table: self.table.to_owned(),
                id: self.id.clone(),
                hlc: h,
            });
        }
        Ok(())
    }
    pub(super) fn digest(&self, col: &str) -> Result<&str, SyncError> {
        let d = self.text(col)?;
        if d.len() == 64
            && d.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            Ok(d)
        } else {
            Err(self.bad(format!("{col} is not a blake3 hex digest")))
        }
    }
    /// A data model definition's record key (`patrol_store::model::is_record_key`).
    pub(super) fn record_key(&self, col: &str) -> Result<(), SyncError> {
        let k = self.text(col)?;
        if !patrol_store::model::is_record_key(k) {
            return Err(self.bad(format!(
                "{col} '{}' is not 'languages', 'category:KEY' or 'attribute:KEY'",
                k.chars().take(80).collect::<String>()
            )));
        }
        Ok(())
    }

    pub(super) fn category(&self, col: &str) -> Result<(), SyncError> {
        let k = self.text(col)?;
        if !patrol_core::category::valid_key(k) {
            return Err(self.bad(format!(
                "{col} '{}' is not a category key",
                k.chars().take(60).collect::<String>()
            )));
        }
        Ok(())
    }
}

impl Rows<'_> {
    pub(super) fn each(
        &self,
        table: &str,
        cols: &[&str],
        id_col: &str,
        check: &mut dyn FnMut(&Row<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        let sql = format!("SELECT {} FROM {}.{table}", cols.join(", "), self.schema);
        let sqlite = SyncError::sqlite(self.file);
        let mut stmt = self.conn.prepare(&sql).map_err(&sqlite)?;
        let mut rows = stmt.query([]).map_err(&sqlite)?;
        while let Some(r) = rows.next().map_err(&sqlite)? {
            let id = match r.get_ref(
                cols.iter()
                    .position(|c| *c == id_col)
                    .expect("id column selected"),
            ) {
                Ok(ValueRef::Text(t)) => {
                    String::from_utf8_lossy(&t[..t.len().min(80)]).into_owned()
                }
                Ok(v) => format!("{} id", kind(v.data_type())),
                Err(e) => e.to_string(),
            };
            let row = Row {
                values: r,
                names: cols,
                table,
                file: self.file,
                id,
            };
            check(&row)?;
        }
        Ok(())
    }

    pub(super) fn versions(
        &self,
        table: &str,
        record_col: &str,
        extra: &[&str],
        check: &dyn Fn(&Row<'_>) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        let mut cols = vec![
            "version_id",
            record_col,
            "parents",
            "hlc",
            "device_id",
            "site_id",
            "deleted",
            "digest",
        ];
        cols.extend_from_slice(extra);
        let max = self.max_hlc;
        self.each(table, &cols, "version_id", &mut |r| {
            r.id("version_id")?;
            if record_col == "record_key" {
                r.record_key(record_col)?;
            } else {
                r.id(record_col)?;
            }
            r.json_list("parents", true)?;
            r.hlc(max)?;
            r.id("device_id")?;
            r.id("site_id")?;
            r.flag("deleted")?;
            r.digest("digest")?;
            check(r)?;
            self.stamp(r, "version_id")
        })
    }

    /// Note the (device, site) a row of a stamped table names, keeping the
    /// least row id of each pair (columns already checked).
    pub(super) fn stamp(&self, r: &Row<'_>, key: &str) -> Result<(), SyncError> {
        let table = crate::STAMPED_TABLES
            .iter()
            .position(|(t, _)| *t == r.table)
            .expect("a stamped table");
        let id = r.text(key)?;
        let pair = (
            table,
            r.text("device_id")?.to_owned(),
            r.text("site_id")?.to_owned(),
        );
        let mut stamps = self.stamps.borrow_mut();
        match stamps.get_mut(&pair) {
            Some(least) if id < least.as_str() => id.clone_into(least),
            Some(_) => {}
            None => {
                stamps.insert(pair, id.to_owned());
            }
        }
        Ok(())
    }
}

/// A geometry's header envelope, if it has one (what a spatial index reads):
/// finite, within -180..180, -90..90, and holding every point.
pub(super) fn envelope(r: &Row<'_>, geom: &[u8], points: &[(f64, f64)]) -> Result<(), SyncError> {
    let has = geom.len() >= 8 && (geom[3] >> 1) & 0b111 != 0;
    let Some([min_x, max_x, min_y, max_y]) = has.then(|| gpkg::envelope_of(geom)).flatten() else {
        return if has {
            Err(r.bad("geom: the envelope is unreadable"))
        } else {
            Ok(())
        };
    };
    let finite = [min_x, max_x, min_y, max_y].iter().all(|v| v.is_finite());
    if !finite || !in_range(min_x, min_y) || !in_range(max_x, max_y) {
        return Err(r.bad(format!(
            "geom: the envelope x {min_x}..{max_x}, y {min_y}..{max_y} is not within -180..180, -90..90"
        )));
    }
    if let Some(&(x, y)) = points
        .iter()
        .find(|&&(x, y)| x < min_x || x > max_x || y < min_y || y > max_y)
    {
        return Err(r.bad(format!(
            "geom: the envelope x {min_x}..{max_x}, y {min_y}..{max_y} does not hold the point {x}, {y}"
        )));
    }
    Ok(())
}

/// A typed id from a column already checked to be one.
pub(super) fn parse_id<T: std::str::FromStr>(r: &Row<'_>, col: &str) -> Result<T, SyncError> {
    r.id(col)?
        .parse()
        .map_err(|_| r.bad(format!("{col} is not a UUID")))
}

/// The version's meta, from columns already checked.
pub(super) fn version_meta(r: &Row<'_>) -> Result<VersionMeta, SyncError> {
    let parents: Vec<String> = serde_json::from_str(r.text("parents")?)
        .map_err(|_| r.bad("parents is not a JSON array of strings"))?;
    Ok(VersionMeta {
        version_id: parse_id(r, "version_id")?,
        parents: parents
            .iter()
            .map(|p| p.parse().map_err(|_| r.bad("a parent is not a UUID")))
            .collect::<Result<_, _>>()?,
        hlc: r.int("hlc")?,
        device: parse_id(r, "device_id")?,
        site: parse_id(r, "site_id")?,
        deleted: r.int("deleted")? == 1,
    })
}

/// The error for a version whose stored digest is not its content's.
pub(super) fn rotten(r: &Row<'_>) -> SyncError {
    r.bad(
        "its digest does not match its content: the row was changed after it was made \
         (a flipped bit on the disk or stick, or an edit by hand)",
    )
}

/// The version's stored digest is the digest of its content.
pub(super) fn same_digest<T: serde::Serialize>(
    r: &Row<'_>,
    kind: Kind,
    content: &T,
) -> Result<(), SyncError> {
    let meta = version_meta(r)?;
    if records::digest(kind, &meta, content) == r.text("digest")? {
        Ok(())
    } else {
        Err(rotten(r))
    }
}

/// A value's SQLite type as a person reads it in a refusal.
fn kind(t: rusqlite::types::Type) -> &'static str {
    use rusqlite::types::Type;
    match t {
        Type::Null => "null",
        Type::Integer => "an integer",
        Type::Real => "a real number",
        Type::Text => "text",
        Type::Blob => "a blob",
    }
}
