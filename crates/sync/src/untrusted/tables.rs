//! The rules of each table a merge reads, one function per table.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use patrol_core::SiteId;
use patrol_store::gpkg;
use patrol_store::records::{self, Kind};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::references::{cycles, references};
use super::rules::{
    Rows, envelope, in_range, latest_hlc, parse_id, rotten, same_digest, version_meta,
};
use crate::SyncError;

/// Each incoming patrol's first version's site (by hlc, version id, over the
/// file and this database), and whether that version is the patrol's root
/// (has no parents); and every site either knows.
type PatrolSites = (HashMap<String, (SiteId, bool)>, Vec<SiteId>);

fn patrol_sites(conn: &Connection, schema: &str, file: &Path) -> Result<PatrolSites, SyncError> {
    let sqlite = SyncError::sqlite(file);
    let sql = format!(
        "SELECT patrol_id, hlc, version_id, site_id, parents FROM {schema}.patrol_versions
         UNION ALL
         SELECT m.patrol_id, m.hlc, m.version_id, m.site_id, m.parents FROM main.patrol_versions m
         WHERE m.patrol_id IN (SELECT patrol_id FROM {schema}.patrol_versions)"
    );
    let mut first: HashMap<String, (i64, String, SiteId, bool)> = HashMap::new();
    let mut stmt = conn.prepare(&sql).map_err(&sqlite)?;
    let mut rows = stmt.query([]).map_err(&sqlite)?;
    while let Some(r) = rows.next().map_err(&sqlite)? {
        // Rows of the wrong type are refused by the row checks.
        let (Ok(patrol), Ok(hlc), Ok(version), Ok(site), Ok(parents)) = (
            r.get::<_, String>(0),
            r.get::<_, i64>(1),
            r.get::<_, String>(2),
            r.get::<_, String>(3),
            r.get::<_, String>(4),
        ) else {
            continue;
        };
        let Ok(site) = site.parse::<SiteId>() else {
            continue;
        };
        let root = parents.trim() == "[]";
        match first.get_mut(&patrol) {
            Some(f) if (f.0, f.1.as_str()) <= (hlc, version.as_str()) => {}
            Some(f) => *f = (hlc, version, site, root),
            None => {
                first.insert(patrol, (hlc, version, site, root));
            }
        }
    }
    let mut known: Vec<SiteId> = conn
        .prepare(&format!(
            "SELECT site_id FROM {schema}.sites UNION SELECT site_id FROM main.sites"
        ))
        .map_err(&sqlite)?
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(&sqlite)?
        .filter_map(|s| s.ok().and_then(|s| s.parse().ok()))
        .collect();
    known.sort();
    Ok((
        first
            .into_iter()
            .map(|(p, (_, _, site, root))| (p, (site, root)))
            .collect(),
        known,
    ))
}

/// Validate every row of the attached file `schema` that a merge reads but
/// the track pieces (the bulk of a file: [`validate_tracks`], on another
/// connection while these are checked and merged). The first bad row
/// rejects the file.
pub(crate) fn validate_rows(conn: &Connection, schema: &str, file: &Path) -> Result<(), SyncError> {
    let v = Rows {
        conn,
        file,
        schema,
        max_hlc: latest_hlc(),
        stamps: RefCell::default(),
    };
    sites(&v)?;
    devices(&v)?;
    categories(&v)?;
    model_versions(&v)?;
    patrol_versions(&v, &patrol_sites(conn, schema, file)?)?;
    leg_versions(&v)?;
    observation_versions(&v)?;
    leg_days(&v)?;
    qc_settings(&v)?;
    leg_qc(&v)?;
    fix_marks(&v)?;
    fix_samples(&v)?;
    site_boundaries(&v)?;
    observations(&v)?;
    gpkg_contents(&v)?;
    cycles(conn, schema, file)?;
    references(conn, schema, file, &v.stamps.into_inner())
}

/// The devices and sites the track pieces name, gathered by
/// [`validate_tracks`], for [`track_references`].
pub(crate) struct TrackStamps(super::rules::Stamps);

/// Validate every track piece of the file `schema` on `conn` (the file's own
/// connection: it reads nothing of ours). The devices and sites the pieces
/// name are checked by [`track_references`] once the file is attached.
pub(crate) fn validate_tracks(
    conn: &Connection,
    schema: &str,
    file: &Path,
) -> Result<TrackStamps, SyncError> {
    let v = Rows {
        conn,
        file,
        schema,
        max_hlc: latest_hlc(),
        stamps: RefCell::default(),
    };
    tracks(&v)?;
    Ok(TrackStamps(v.stamps.into_inner()))
}

/// Every device and site the track pieces name is described, in the
/// attached file `schema` or here.
pub(crate) fn track_references(
    conn: &Connection,
    schema: &str,
    file: &Path,
    stamps: &TrackStamps,
) -> Result<(), SyncError> {
    references(conn, schema, file, &stamps.0)
}

/// The rules of `sites`.
fn sites(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "sites",
        &["site_id", "name", "timezone", "origin_device"],
        "site_id",
        &mut |r| {
            r.id("site_id")?;
            r.text("name")?;
            let tz = r.text("timezone")?;
            patrol_core::time::parse_zone(tz).map_err(|e| r.bad(e.to_string()))?;
            r.id("origin_device")?;
            Ok(())
        },
    )
}

/// The rules of `devices`.
fn devices(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "devices",
        &["device_id", "site_id", "first_seen"],
        "device_id",
        &mut |r| {
            r.id("device_id")?;
            r.id("site_id")?;
            r.text("first_seen")?;
            Ok(())
        },
    )
}

/// The rules of `model_versions`: each body a definition of its record
/// key's kind, of that key, usable, written as patrol writes it.
fn model_versions(v: &Rows<'_>) -> Result<(), SyncError> {
    use patrol_core::attribute::Attribute;
    use patrol_core::category::Category;
    v.versions("model_versions", "record_key", &["body"], &|r| {
        let record_key = r.text("record_key")?;
        let text = r.text("body")?;
        let not = |what: &str, e: &dyn std::fmt::Display| r.bad(format!("body is not {what}: {e}"));
        let canonical = if record_key == patrol_store::model::LANGUAGES {
            let languages: Vec<String> =
                serde_json::from_str(text).map_err(|e| not("a list of languages", &e))?;
            if languages.is_empty()
                || languages.iter().any(|l| {
                    l.is_empty()
                        || l.len() > 16
                        || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
            {
                return Err(r.bad("body is not a list of language codes".to_owned()));
            }
            serde_json::to_string(&languages)
        } else if let Some(key) = record_key.strip_prefix("attribute:") {
            let a: Attribute = serde_json::from_str(text).map_err(|e| not("an attribute", &e))?;
            if a.key != key {
                return Err(r.bad(format!("body defines attribute '{}', not '{key}'", a.key)));
            }
            if let Some(problem) = a.problem() {
                return Err(r.bad(problem));
            }
            serde_json::to_string(&a)
        } else {
            let key = record_key.strip_prefix("category:").unwrap_or(record_key);
            let c: Category = serde_json::from_str(text).map_err(|e| not("a category", &e))?;
            if c.key != key {
                return Err(r.bad(format!("body defines category '{}', not '{key}'", c.key)));
            }
            if c.parent
                .as_deref()
                .is_some_and(|p| !patrol_core::category::valid_key(p))
                || c.attributes
                    .iter()
                    .any(|a| !patrol_core::category::valid_key(&a.key))
            {
                return Err(r.bad("body names a parent or attribute that is not a key".to_owned()));
            }
            serde_json::to_string(&c)
        }
        .map_err(|e| not("serialisable", &e))?;
        if canonical != text {
            return Err(r.bad("body is not written as patrol writes it".to_owned()));
        }
        same_digest(
            r,
            Kind::Definition,
            &records::Definition {
                record_key,
                body: text,
            },
        )
    })
}

/// The rules of `categories`.
fn categories(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "categories",
        &[
            "key",
            "label",
            "threat",
            "aliases",
            "origin_device",
            "origin_site",
        ],
        "key",
        &mut |r| {
            r.category("key")?;
            r.text("label")?;
            r.flag("threat")?;
            r.json_list("aliases", false)?;
            r.id("origin_device")?;
            r.id("origin_site")?;
            Ok(())
        },
    )
}

/// The rules of `patrol_versions`.
fn patrol_versions(
    v: &Rows<'_>,
    (first_sites, known_sites): &PatrolSites,
) -> Result<(), SyncError> {
    v.versions(
        "patrol_versions",
        "patrol_id",
        &[
            "team",
            "leader",
            "objective",
            "origin_device",
            "source_digest",
            "source_file",
        ],
        &|r| {
            let meta = version_meta(r)?;
            let patrol_id: &str = r.id("patrol_id")?;
            let mut content = patrol_core::Patrol {
                id: parse_id(r, "patrol_id")?,
                site: meta.site,
                team: r.text("team")?.to_owned(),
                leader: r.text_opt("leader")?.map(str::to_owned),
                objective: r.text_opt("objective")?.map(str::to_owned),
                origin_device: parse_id(r, "origin_device")?,
                source_digest: r.text_opt("source_digest")?.map(str::to_owned),
                source_file: r.text_opt("source_file")?.map(str::to_owned),
            };
            // A patrol's content names the site of its first version; when
            // that (parentless) version is neither here nor in the file, any
            // site we know may be it.
            let want = r.text("digest")?;
            let candidates = match first_sites.get(patrol_id) {
                Some((site, true)) => std::slice::from_ref(site),
                _ => known_sites.as_slice(),
            };
            for site in candidates {
                content.site = *site;
                if records::digest(Kind::Patrol, &meta, &content) == want {
                    return Ok(());
                }
            }
            Err(rotten(r))
        },
    )
}

/// The rules of `leg_versions`.
fn leg_versions(v: &Rows<'_>) -> Result<(), SyncError> {
    v.versions(
        "leg_versions",
        "leg_id",
        &[
            "patrol_id",
            "transport",
            "members",
            "member_names",
            "date",
            "fix_overrides",
        ],
        &|r| {
            r.id("patrol_id")?;
            if let Some(d) = r.text_opt("date")?
                && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
            {
                return Err(r.bad("date is not YYYY-MM-DD"));
            }
            if let Some(o) = r.text_opt("fix_overrides")? {
                serde_json::from_str::<Vec<patrol_core::qc::FixOverride>>(o)
                    .map_err(|_| r.bad("fix_overrides is not a list of {segment, point, keep}"))?;
            }
            let t = r.text("transport")?;
            if patrol_core::Transport::from_stored(t).is_none() {
                return Err(r.bad(format!(
                    "transport '{}' is not one of ours",
                    t.chars().take(40).collect::<String>()
                )));
            }
            let m = r.int("members")?;
            if !u32::try_from(m).is_ok_and(|m| patrol_core::model::MEMBERS.contains(&m)) {
                return Err(r.bad(format!(
                    "members is {m}, not {}..={}",
                    patrol_core::model::MIN_MEMBERS,
                    patrol_core::model::MAX_MEMBERS
                )));
            }
            r.json_list("member_names", false)?;
            let content = patrol_core::Leg {
                id: parse_id(r, "leg_id")?,
                patrol: parse_id(r, "patrol_id")?,
                transport: patrol_core::Transport::from_stored(t).expect("checked above"),
                members: u32::try_from(m).expect("checked above"),
                member_names: serde_json::from_str(r.text("member_names")?).expect("checked above"),
                date: r
                    .text_opt("date")?
                    .map(|d| d.parse().expect("checked above")),
                fix_overrides: r
                    .text_opt("fix_overrides")?
                    .map(|o| serde_json::from_str(o).expect("checked above"))
                    .unwrap_or_default(),
            };
            same_digest(r, Kind::Leg, &content)
        },
    )
}

/// The rules of `observation_versions`.
fn observation_versions(v: &Rows<'_>) -> Result<(), SyncError> {
    v.versions(
        "observation_versions",
        "observation_id",
        &[
            "patrol_id",
            "category",
            "time_us",
            "lon",
            "lat",
            "raw_name",
            "note",
            "attributes",
        ],
        &|r| {
            r.id("patrol_id")?;
            r.category("category")?;
            let attributes = attribute_values(r)?;
            r.int_opt("time_us")?;
            let (lon, lat) = (r.real("lon")?, r.real("lat")?);
            if !in_range(lon, lat) {
                return Err(r.bad(format!(
                    "position lon {lon}, lat {lat} is outside -180..180, -90..90"
                )));
            }
            let content = patrol_core::Observation {
                id: parse_id(r, "observation_id")?,
                patrol: parse_id(r, "patrol_id")?,
                category: r.text("category")?.to_owned(),
                time: r.int_opt("time_us")?,
                lon,
                lat,
                raw_name: r.text_opt("raw_name")?.map(str::to_owned),
                note: r.text_opt("note")?.map(str::to_owned),
                attributes,
            };
            same_digest(r, Kind::Observation, &content)
        },
    )
}

/// An observation version's attributes: NULL (none), or a JSON object of
/// attribute keys to values as we write it (keys in order, no NULL for an
/// empty one), each key a valid key and each value finite and not too long.
/// Whether a value suits the data model is not the file's to say: the model
/// here decides when it is read.
fn attribute_values(
    r: &super::rules::Row<'_>,
) -> Result<patrol_core::attribute::Values, SyncError> {
    use patrol_core::attribute::{MAX_TEXT_LEN, Value};
    let Some(text) = r.text_opt("attributes")? else {
        return Ok(patrol_core::attribute::Values::new());
    };
    let values: patrol_core::attribute::Values = serde_json::from_str(text)
        .map_err(|e| r.bad(format!("attributes are not an object of values: {e}")))?;
    for (key, value) in &values {
        if !patrol_core::category::valid_key(key) {
            return Err(r.bad(format!("attribute key '{key}' is not a key")));
        }
        match value {
            Value::Number(x) if !x.is_finite() => {
                return Err(r.bad(format!("attribute '{key}' is not a finite number")));
            }
            Value::Text(t) if t.len() > MAX_TEXT_LEN => {
                return Err(r.bad(format!(
                    "attribute '{key}' is longer than {MAX_TEXT_LEN} bytes"
                )));
            }
            _ => {}
        }
    }
    if records::attributes_json(&values).as_deref() != Some(text) {
        return Err(r.bad(
            "attributes are not written as patrol writes them (keys in order, no spaces, none empty)"
                .to_owned(),
        ));
    }
    Ok(values)
}

/// The rules of `tracks`.
fn tracks(v: &Rows<'_>) -> Result<(), SyncError> {
    let max = v.max_hlc;
    v.each(
        "tracks",
        &[
            "piece_id",
            "geom",
            "digest",
            "patrol_id",
            "leg_id",
            "segment_no",
            "piece_no",
            "points",
            "length_m",
            "start_time",
            "end_time",
            "times",
            "ele",
            "device_id",
            "site_id",
            "hlc",
        ],
        "piece_id",
        &mut |r| {
            for c in ["piece_id", "patrol_id", "leg_id", "device_id", "site_id"] {
                r.id(c)?;
            }
            r.hlc(max)?;
            let digest = r.digest("digest")?;
            let geom = r.blob_opt("geom")?.ok_or_else(|| r.bad("geom is null"))?;
            let pts = gpkg::read_line_string(geom).map_err(|e| r.bad(format!("geom: {e}")))?;
            if let Some(&(x, y)) = pts.iter().find(|&&(x, y)| !in_range(x, y)) {
                return Err(r.bad(format!(
                    "a track point lon {x}, lat {y} is outside -180..180, -90..90"
                )));
            }
            let n = r.int("points")?;
            let n_ok =
                usize::try_from(n).is_ok_and(|n| n == pts.len() || (n == 1 && pts.len() == 2));
            if !n_ok {
                return Err(r.bad(format!("points is {n} but geom has {}", pts.len())));
            }
            let times = r.blob_opt("times")?.unwrap_or_default();
            let ele = r.blob_opt("ele")?;
            let want = n as usize * 8;
            if times.len() != want || ele.is_some_and(|e| e.len() != want) {
                return Err(r.bad("times or ele does not hold 8 bytes per point"));
            }
            let mut h = blake3::Hasher::new();
            h.update(geom);
            h.update(times);
            if let Some(e) = ele {
                h.update(e);
            }
            if h.finalize().to_hex().as_str() != digest {
                return Err(r.bad("digest does not match the piece's points"));
            }
            envelope(r, geom, &pts)?;
            r.int("segment_no")?;
            r.int("piece_no")?;
            let len = r.real("length_m")?;
            if len < 0.0 {
                return Err(r.bad("negative length_m"));
            }
            r.text_opt("start_time")?;
            r.text_opt("end_time")?;
            v.stamp(r, "piece_id")
        },
    )
}

/// The rules of `leg_days`.
fn leg_days(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "leg_days",
        &[
            "leg_id",
            "date",
            "patrol_id",
            "site_id",
            "points",
            "length_m",
            "seconds",
            "active_seconds",
        ],
        "leg_id",
        &mut |r| {
            for c in ["leg_id", "patrol_id", "site_id"] {
                r.id(c)?;
            }
            let d = r.text("date")?;
            if !d.is_empty() && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(r.bad(format!(
                    "date '{}' is not YYYY-MM-DD",
                    d.chars().take(20).collect::<String>()
                )));
            }
            if r.int("points")? < 0 {
                return Err(r.bad("negative points"));
            }
            for c in ["length_m", "seconds", "active_seconds"] {
                if r.real(c)? < 0.0 {
                    return Err(r.bad(format!("negative {c}")));
                }
            }
            Ok(())
        },
    )
}

/// The rules of `qc_settings`.
fn qc_settings(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "qc_settings",
        &["site_id", "settings"],
        "site_id",
        &mut |r| {
            r.id("site_id")?;
            let s: patrol_core::qc::QcSettings = serde_json::from_str(r.text("settings")?)
                .map_err(|e| r.bad(format!("settings: {e}")))?;
            s.validate().map_err(|e| r.bad(format!("settings: {e}")))
        },
    )
}

/// The rules of `leg_qc`.
fn leg_qc(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "leg_qc",
        &[
            "leg_id",
            "patrol_id",
            "site_id",
            "version_id",
            "fixes",
            "raw_length_m",
            "length_m",
            "first_us",
            "last_us",
            "first_date",
            "warnings",
            "import_warnings",
        ],
        "leg_id",
        &mut |r| {
            for c in ["leg_id", "patrol_id", "site_id", "version_id"] {
                r.id(c)?;
            }
            if r.int("fixes")? < 0 {
                return Err(r.bad("negative fixes"));
            }
            for c in ["raw_length_m", "length_m"] {
                if r.real(c)? < 0.0 {
                    return Err(r.bad(format!("negative {c}")));
                }
            }
            r.int_opt("first_us")?;
            r.int_opt("last_us")?;
            if let Some(d) = r.text_opt("first_date")?
                && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
            {
                return Err(r.bad("first_date is not YYYY-MM-DD"));
            }
            for c in ["warnings", "import_warnings"] {
                serde_json::from_str::<Vec<patrol_core::effort::Warning>>(r.text(c)?)
                    .map_err(|e| r.bad(format!("{c}: {e}")))?;
            }
            Ok(())
        },
    )
}

/// The rules of `fix_marks`.
fn fix_marks(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "fix_marks",
        &["leg_id", "segment_no", "point_no", "mark", "excluded"],
        "leg_id",
        &mut |r| {
            r.id("leg_id")?;
            if r.int("segment_no")? < 0 || r.int("point_no")? < 0 {
                return Err(r.bad("negative segment_no or point_no"));
            }
            let m = r.text("mark")?;
            if patrol_core::qc::Mark::parse(m).is_none() {
                return Err(r.bad(format!(
                    "mark '{}' is not one of ours",
                    m.chars().take(40).collect::<String>()
                )));
            }
            r.flag("excluded")
        },
    )
}

/// The rules of `fix_samples`.
fn fix_samples(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "fix_samples",
        &["leg_id", "t_s", "lon", "lat"],
        "leg_id",
        &mut |r| {
            r.id("leg_id")?;
            r.int("t_s")?;
            let (lon, lat) = (r.real("lon")?, r.real("lat")?);
            if !in_range(lon, lat) {
                return Err(r.bad("a sample is outside -180..180, -90..90"));
            }
            Ok(())
        },
    )
}

/// The rules of `site_boundaries`.
fn site_boundaries(v: &Rows<'_>) -> Result<(), SyncError> {
    let max = v.max_hlc;
    v.each(
        "site_boundaries",
        &["version_id", "geom", "site_id", "hlc", "device_id"],
        "version_id",
        &mut |r| {
            for c in ["version_id", "site_id", "device_id"] {
                r.id(c)?;
            }
            r.hlc(max)?;
            let geom = r.blob_opt("geom")?.ok_or_else(|| r.bad("geom is null"))?;
            let polys = gpkg::read_multi_polygon(geom).map_err(|e| r.bad(format!("geom: {e}")))?;
            let pts: Vec<(f64, f64)> = polys.into_iter().flatten().flatten().collect();
            if pts.iter().any(|&(x, y)| !in_range(x, y)) {
                return Err(r.bad("a boundary point is outside -180..180, -90..90"));
            }
            envelope(r, geom, &pts)?;
            v.stamp(r, "version_id")
        },
    )
}

/// Not merged (rebuilt from versions), but read by a spatial index in QGIS.
fn observations(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "observations",
        &["observation_id", "geom"],
        "observation_id",
        &mut |r| {
            let Some(geom) = r.blob_opt("geom")? else {
                return Ok(());
            };
            let p = gpkg::read_point(geom).map_err(|e| r.bad(format!("geom: {e}")))?;
            if !in_range(p.0, p.1) {
                return Err(r.bad("the point is outside -180..180, -90..90"));
            }
            envelope(r, geom, &[p])
        },
    )
}

/// The rules of `gpkg_contents`.
fn gpkg_contents(v: &Rows<'_>) -> Result<(), SyncError> {
    v.each(
        "gpkg_contents",
        &["table_name", "min_x", "min_y", "max_x", "max_y"],
        "table_name",
        &mut |r| {
            for (x, y) in [("min_x", "min_y"), ("max_x", "max_y")] {
                let (vx, vy) = (r.value(x)?, r.value(y)?);
                if vx == ValueRef::Null && vy == ValueRef::Null {
                    continue;
                }
                if !in_range(r.real(x)?, r.real(y)?) {
                    return Err(r.bad("bounds are outside -180..180, -90..90"));
                }
            }
            Ok(())
        },
    )
}
