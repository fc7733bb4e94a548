//! Local changes: every one adds a version; nothing is overwritten.
//!
//! An edit or a delete follows the head that is shown (so a conflict stays
//! listed until someone resolves it); a resolution follows every head.

use patrol_core::model::LatLon;
use patrol_core::{Leg, Observation, Patrol, VersionId};
use rusqlite::{Connection, OptionalExtension};

use crate::records::{self, Kind, VersionMeta};
use crate::{Result, Store, StoreError, row_tuple};

fn parse<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Invalid(format!("bad id '{s}' in the database")))
}

/// The content of a patrol version.
pub fn load_patrol(conn: &Connection, version: &str) -> Result<Patrol> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let (id, site, team, leader, objective, origin, digest, file): Row = conn.query_row(
        "SELECT v.patrol_id, (SELECT site_id FROM patrol_versions f WHERE f.patrol_id = v.patrol_id ORDER BY hlc, version_id LIMIT 1),
           v.team, v.leader, v.objective, v.origin_device, v.source_digest, v.source_file
         FROM patrol_versions v WHERE v.version_id = ?1",
        [version],
        row_tuple,
    )?;
    Ok(Patrol {
        id: parse(&id.unwrap_or_default())?,
        site: parse(&site.unwrap_or_default())?,
        team: team.unwrap_or_default(),
        leader,
        objective,
        origin_device: parse(&origin.unwrap_or_default())?,
        source_digest: digest,
        source_file: file,
    })
}

/// The content of a leg version.
pub fn load_leg(conn: &Connection, version: &str) -> Result<Leg> {
    type Row = (
        String,
        String,
        String,
        u32,
        String,
        Option<String>,
        Option<String>,
    );
    let (id, patrol, transport, members, names, date, overrides): Row = conn.query_row(
        "SELECT leg_id, patrol_id, transport, members, member_names, date, fix_overrides
         FROM leg_versions WHERE version_id = ?1",
        [version],
        row_tuple,
    )?;
    Ok(Leg {
        id: parse(&id)?,
        patrol: parse(&patrol)?,
        transport: transport
            .parse()
            .map_err(|e: patrol_core::model::UnknownTransport| {
                StoreError::Invalid(e.to_string())
            })?,
        members,
        member_names: serde_json::from_str(&names).unwrap_or_default(),
        date: date.and_then(|d| d.parse().ok()),
        fix_overrides: overrides
            .and_then(|o| serde_json::from_str(&o).ok())
            .unwrap_or_default(),
    })
}

/// The content of an observation version.
pub fn load_observation(conn: &Connection, version: &str) -> Result<Observation> {
    let (id, patrol, category, time, lon, lat, raw_name, note, attributes): (
        String,
        String,
        String,
        _,
        _,
        _,
        _,
        _,
        Option<String>,
    ) = conn.query_row(
        "SELECT observation_id, patrol_id, category, time_us, lon, lat, raw_name, note, attributes
         FROM observation_versions WHERE version_id = ?1",
        [version],
        row_tuple,
    )?;
    Ok(Observation {
        id: parse(&id)?,
        patrol: parse(&patrol)?,
        category,
        time,
        lon,
        lat,
        raw_name,
        note,
        attributes: crate::records::attributes_from(attributes.as_deref())?,
    })
}

/// A change to a patrol.
#[derive(Clone, Debug, Default)]
pub struct PatrolEdit {
    /// The new team; `None` leaves it as it is.
    pub team: Option<String>,
    /// The new leader's name; `None` leaves it as it is (it cannot be cleared here).
    pub leader: Option<String>,
    /// The new objective; `None` leaves it as it is (it cannot be cleared here).
    pub objective: Option<String>,
    /// The new transport of every leg of the patrol (its speed ceiling, so quality control runs again); `None` leaves it.
    pub transport: Option<patrol_core::Transport>,
    /// The new number of people on every leg of the patrol (for `person_days`); `None` leaves it.
    pub members: Option<u32>,
    /// The local date of a track without any time (its leg days are rebuilt).
    pub date: Option<chrono::NaiveDate>,
    /// A person's word on fixes (segment and point from 0): each replaces any
    /// earlier word on the same fix.
    pub fix_overrides: Vec<patrol_core::qc::FixOverride>,
}

/// A change to an observation.
#[derive(Clone, Debug, Default)]
pub struct ObservationEdit {
    /// The new category key, which must be in the data model (the threat flag follows it); `None` leaves it.
    pub category: Option<String>,
    /// The new note; `None` leaves it as it is (it cannot be cleared here).
    pub note: Option<String>,
    /// The new position, WGS84 degrees; `None` leaves it.
    pub at: Option<LatLon>,
    /// The new time, microseconds UTC; `None` leaves it as it is (it cannot be cleared here).
    pub time: Option<i64>,
    /// Move it to this patrol (an id as the user gives it: whole, a prefix or
    /// a short id); the patrol must exist and be live.
    pub patrol: Option<String>,
    /// Attribute values as `KEY=VALUE` (`KEY=` removes one), on top of the
    /// observation's; the whole set is checked against its category (the
    /// new one when `category` changes it).
    pub attributes: Vec<String>,
}

/// An observation edit as a person typed it: the CLI's flags, the web
/// form's fields. [`Store::read_observation_edit`] reads it by the core's
/// rules, the one reader for both.
#[derive(Clone, Debug, Default)]
pub struct ObservationEditText {
    /// Move it to this patrol (id, prefix or short id).
    pub patrol: Option<String>,
    /// A category key, label or alias of the data model.
    pub category: Option<String>,
    /// The new note.
    pub note: Option<String>,
    /// LAT,LON in decimal degrees.
    pub at: Option<String>,
    /// RFC 3339, or the site's local time without offset.
    pub time: Option<String>,
    /// `KEY=VALUE` (`KEY=` removes one).
    pub attributes: Vec<String>,
}

/// Widen a layer's extent in `gpkg_contents` to hold a point (the union with
/// what is there; an empty extent becomes the point), as GeoPackage readers
/// such as QGIS ("zoom to layer") take it from there.
pub fn widen_extent(conn: &Connection, table: &str, lon: f64, lat: f64) -> Result<()> {
    conn.execute(
        "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?2), ?2), min_y = min(coalesce(min_y, ?3), ?3),
           max_x = max(coalesce(max_x, ?2), ?2), max_y = max(coalesce(max_y, ?3), ?3),
           last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now')
         WHERE table_name = ?1",
        rusqlite::params![table, lon, lat],
    )?;
    Ok(())
}

/// The shortest prefix of an id a command takes.
const MIN_PREFIX: usize = 4;
/// The shortest suffix (of the short id, the last 8 hex digits) a command takes.
const MIN_SUFFIX: usize = 6;

/// An id as a user typed it, checked and normalised: trimmed, lower case,
/// only hex digits and hyphens (nothing LIKE would take as a wildcard), at
/// least [`MIN_PREFIX`] characters.
fn id_text(text: &str, kinds: &[Kind]) -> Result<String> {
    let text = text.trim().to_lowercase();
    // A definition of the data model goes by its record key, whole.
    if kinds.contains(&Kind::Definition) && crate::model::is_record_key(&text) {
        return Ok(text);
    }
    let name = match kinds {
        [kind] => kind.name(),
        _ => "patrol, leg, observation or definition",
    };
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(StoreError::NoSuchRecord {
            kind: name,
            id: text,
        });
    }
    if text.len() < MIN_PREFIX {
        return Err(StoreError::Invalid(format!(
            "'{text}' is too short: give at least {MIN_PREFIX} characters of the {name} id, or {MIN_SUFFIX} of its short id"
        )));
    }
    Ok(text)
}

/// The patrol a file was imported as ([`Store::patrol_with_source`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePatrol {
    /// The patrol's id.
    pub patrol_id: String,
    /// Not deleted.
    pub live: bool,
}

/// What an edit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edited {
    /// A new version was made: its id.
    Changed(String),
    /// The record already had that content: no version was made. The id is
    /// the shown head's version.
    Unchanged(String),
}

impl Edited {
    /// The new version's id, or the head's when nothing changed.
    pub fn version_id(&self) -> &str {
        match self {
            Edited::Changed(v) | Edited::Unchanged(v) => v,
        }
    }

    /// Whether the edit made a new version (false when the record already had that content).
    pub fn changed(&self) -> bool {
        matches!(self, Edited::Changed(_))
    }
}

/// What adding an observation answers: `patrol observe --json`'s body and
/// `POST /api/observations`'s, from this one struct.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObservationAdded {
    /// The new observation's id.
    pub observation_id: String,
    /// Its short id, as lists show it.
    pub short_id: String,
    /// The patrol it belongs to.
    pub patrol_id: String,
    /// Its category's key.
    pub category: String,
}

impl ObservationAdded {
    /// The answer for observation `id` of `patrol`, of `category`.
    pub fn new(id: &str, patrol: &str, category: &str) -> Self {
        ObservationAdded {
            observation_id: id.to_owned(),
            short_id: patrol_core::ids::short_id(id).to_string(),
            patrol_id: patrol.to_owned(),
            category: category.to_owned(),
        }
    }
}

/// What an edit answers: `patrol edit ... --json`'s body and `POST
/// /api/{patrols,observations}/{id}/edit`'s, from this one struct (its
/// fields in the order the CLI has always printed them).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EditAnswer {
    /// Whether the edit made a new version (false when the record already had that content).
    pub changed: bool,
    /// "patrol" or "observation".
    pub kind: String,
    /// The record's id.
    pub record_id: String,
    /// Its short id.
    pub short_id: String,
    /// The new version's id, or the shown head's when nothing changed.
    pub version_id: String,
}

impl EditAnswer {
    /// The answer for an edit of `kind` record `id`.
    pub fn new(kind: Kind, id: &str, edited: &Edited) -> Self {
        EditAnswer {
            changed: edited.changed(),
            kind: kind.name().to_owned(),
            record_id: id.to_owned(),
            short_id: patrol_core::ids::short_id(id).to_owned(),
            version_id: edited.version_id().to_owned(),
        }
    }
}

/// What a delete or a restore answers: `patrol delete|restore ... --json`'s
/// body and that of `POST /api/{patrols,observations}/{id}/delete|restore`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VersionAnswer {
    /// "patrol" or "observation".
    pub kind: String,
    /// The record's id.
    pub record_id: String,
    /// Its short id.
    pub short_id: String,
    /// The version made (the deleting one, or the restored one).
    pub version_id: String,
}

impl VersionAnswer {
    /// The answer for version `version` of `kind` record `id`.
    pub fn new(kind: Kind, id: &str, version: &str) -> Self {
        VersionAnswer {
            kind: kind.name().to_owned(),
            record_id: id.to_owned(),
            short_id: patrol_core::ids::short_id(id).to_owned(),
            version_id: version.to_owned(),
        }
    }
}

impl Store {
    /// An edit as typed, read by the core's rules: the category matched in
    /// the data model (key, label or alias), the place as LAT,LON, the time
    /// as RFC 3339 or the site's local time. A value that does not read is
    /// an error saying why.
    pub fn read_observation_edit(&self, text: &ObservationEditText) -> Result<ObservationEdit> {
        let category = match text.category.as_deref() {
            None => None,
            Some(c) => Some(
                self.data_model()?
                    .match_text(c)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "'{c}' is no category of this database's data model"
                        ))
                    })?,
            ),
        };
        let at = text
            .at
            .as_deref()
            .map(str::parse::<LatLon>)
            .transpose()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let time = text
            .time
            .as_deref()
            .map(|t| patrol_core::time::parse_local_time(t, &self.site.timezone))
            .transpose()
            .map_err(StoreError::Invalid)?;
        Ok(ObservationEdit {
            category,
            note: text.note.clone(),
            at,
            time,
            patrol: text.patrol.clone(),
            attributes: text.attributes.clone(),
        })
    }

    /// Find a live or deleted record, the one way every command does: by its
    /// whole id, a prefix of at least 4 characters, or its short id (a suffix
    /// of at least 6 characters: the short id shown is the last 8). Case and
    /// surrounding space do not matter. Several matches are an error that
    /// lists them.
    pub fn resolve_record(&self, kind: Kind, text: &str) -> Result<String> {
        let text = id_text(text, &[kind])?;
        let ids = self.record_matches(kind, &text)?;
        match ids.as_slice() {
            [] => Err(StoreError::NoSuchRecord {
                kind: kind.name(),
                id: text,
            }),
            [one] => Ok(one.clone()),
            several => {
                let mut list = several[..several.len().min(5)].join(", ");
                if several.len() > 5 {
                    list.push_str(", …");
                }
                Err(StoreError::Invalid(format!(
                    "'{text}' matches several {}s ({list}); give more of the id",
                    kind.name()
                )))
            }
        }
    }

    /// The record of any kind that `conflicts resolve` names, by the same
    /// rules as [`Store::resolve_record`]. A patrol and its first leg are
    /// made in the same millisecond, so their ids share their first 27
    /// characters: when the text matches records of several kinds, the one
    /// with conflicting edits is meant, if only one has them.
    pub fn resolve_conflicting(&self, text: &str) -> Result<(Kind, String)> {
        let text = id_text(text, &Kind::ALL)?;
        let mut found = Vec::new();
        for kind in Kind::ALL {
            for id in self.record_matches(kind, &text)? {
                found.push((kind, id));
            }
        }
        if found.len() > 1 {
            let mut conflicting = Vec::new();
            for (kind, id) in &found {
                if records::heads(&self.conn, *kind, id)?.len() > 1 {
                    conflicting.push((*kind, id.clone()));
                }
            }
            if conflicting.len() == 1 {
                found = conflicting;
            }
        }
        match found.as_slice() {
            [] => Err(StoreError::NoSuchRecord {
                kind: "patrol, leg or observation",
                id: text,
            }),
            [one] => Ok(one.clone()),
            several => {
                let list: Vec<String> = several
                    .iter()
                    .take(5)
                    .map(|(k, id)| format!("{} {id}", k.name()))
                    .collect();
                Err(StoreError::Invalid(format!(
                    "'{text}' matches several records ({}{}); give more of the id",
                    list.join(", "),
                    if several.len() > 5 { ", …" } else { "" }
                )))
            }
        }
    }

    /// The distinct records of `kind` that a checked id text names (at most
    /// 6): the one whose whole id it is, or those it begins or (from 6
    /// characters on) ends. A record with many versions is one match.
    fn record_matches(&self, kind: Kind, text: &str) -> Result<Vec<String>> {
        let (table, column) = (kind.versions_table(), kind.id_column());
        let exact: Option<String> = self
            .conn
            .query_row(
                &format!("SELECT {column} FROM {table} WHERE {column} = ?1 LIMIT 1"),
                [text],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = exact {
            return Ok(vec![id]);
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT DISTINCT {column} FROM {table}
             WHERE {column} LIKE ?1 || '%' OR (?2 AND {column} LIKE '%' || ?1)
             ORDER BY {column} LIMIT 6"
        ))?;
        Ok(stmt
            .query_map(rusqlite::params![text, text.len() >= MIN_SUFFIX], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// A record that exists and is not deleted, by id, prefix or short id.
    pub fn resolve_live(&self, kind: Kind, text: &str) -> Result<String> {
        let id = self.resolve_record(kind, text)?;
        if self.shown_head(kind, &id)?.deleted {
            let short = patrol_core::ids::short_id(&id);
            let hint = match kind {
                Kind::Leg => String::new(),
                _ => format!(
                    " (restore it with `patrol restore {} {short}`)",
                    kind.name()
                ),
            };
            return Err(StoreError::Invalid(format!(
                "{} {short} is deleted{hint}",
                kind.name()
            )));
        }
        Ok(id)
    }

    /// The head shown for a record (and so the parent of a local edit).
    fn shown_head(&self, kind: Kind, id: &str) -> Result<records::Head> {
        records::heads(&self.conn, kind, id)?
            .pop()
            .ok_or_else(|| StoreError::NoSuchRecord {
                kind: kind.name(),
                id: id.to_owned(),
            })
    }

    fn local_meta(&self, parents: Vec<VersionId>, deleted: bool) -> Result<VersionMeta> {
        let mut meta = VersionMeta::new_local(&self.conn, self.device, self.site.id, parents)?;
        meta.deleted = deleted;
        Ok(meta)
    }

    /// Record an observation by hand on a patrol.
    pub fn add_observation(
        &mut self,
        patrol: &str,
        category: &str,
        at: LatLon,
        time: Option<i64>,
        note: Option<String>,
    ) -> Result<String> {
        self.add_observation_with(patrol, category, at, time, note, &[])
    }

    /// [`Store::add_observation`] with attribute values, `KEY=VALUE` each,
    /// read by their attribute's type and checked against the category
    /// ([`patrol_core::category::DataModel::parse_values`]): a value the
    /// model refuses, or a required attribute left out, is an error naming
    /// the attribute and what it allows, and nothing is saved.
    pub fn add_observation_with(
        &mut self,
        patrol: &str,
        category: &str,
        at: LatLon,
        time: Option<i64>,
        note: Option<String>,
        attributes: &[String],
    ) -> Result<String> {
        self.check_category(category)?;
        let attributes = self
            .data_model()?
            .parse_values(category, &patrol_core::attribute::Values::new(), attributes)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let tx = crate::write_tx(&self.conn)?;
        let obs = Observation {
            id: crate::new_id(),
            patrol: parse(patrol)?,
            category: category.to_owned(),
            time,
            lon: at.lon,
            lat: at.lat,
            raw_name: None,
            note,
            attributes,
        };
        let meta = VersionMeta::new_local(&tx, self.device, self.site.id, Vec::new())?;
        records::insert_observation(&tx, &meta, &obs)?;
        widen_extent(&tx, "observations", obs.lon, obs.lat)?;
        tx.commit()?;
        Ok(obs.id.to_string())
    }

    fn check_category(&self, key: &str) -> Result<()> {
        let known: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM categories WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        known
            .map(|_| ())
            .ok_or_else(|| StoreError::Invalid(format!("no category '{key}' in the data model")))
    }

    /// Edit an observation: a new version after the shown head, unless the
    /// edit leaves its content as it is. The new version's id, or the head's
    /// when nothing changed ([`Store::edit_observation_outcome`] says which).
    pub fn edit_observation(&mut self, id: &str, edit: &ObservationEdit) -> Result<String> {
        self.edit_observation_outcome(id, edit)
            .map(|e| e.version_id().to_owned())
    }

    /// [`Store::edit_observation`], saying whether anything changed.
    pub fn edit_observation_outcome(&mut self, id: &str, edit: &ObservationEdit) -> Result<Edited> {
        let id = self.resolve_record(Kind::Observation, id)?;
        let head = self.shown_head(Kind::Observation, &id)?;
        if head.deleted {
            return Err(StoreError::Invalid(format!("observation {id} is deleted")));
        }
        if let Some(c) = &edit.category {
            self.check_category(c)?;
        }
        let patrol = edit
            .patrol
            .as_deref()
            .map(|p| self.resolve_live(Kind::Patrol, p))
            .transpose()?;
        let before = load_observation(&self.conn, &head.version_id)?;
        let mut obs = before.clone();
        if let Some(p) = &patrol {
            obs.patrol = parse(p)?;
        }
        if let Some(c) = &edit.category {
            obs.category.clone_from(c);
        }
        if let Some(n) = &edit.note {
            obs.note = Some(n.clone());
        }
        if let Some(at) = edit.at {
            (obs.lon, obs.lat) = (at.lon, at.lat);
        }
        if let Some(t) = edit.time {
            obs.time = Some(t);
        }
        if !edit.attributes.is_empty() || edit.category.is_some() {
            obs.attributes = self
                .data_model()?
                .parse_values(&obs.category, &obs.attributes, &edit.attributes)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
        }
        if obs == before {
            return Ok(Edited::Unchanged(head.version_id));
        }
        let tx = crate::write_tx(&self.conn)?;
        let meta = self.local_meta(vec![parse(&head.version_id)?], false)?;
        records::insert_observation(&tx, &meta, &obs)?;
        if edit.at.is_some() {
            widen_extent(&tx, "observations", obs.lon, obs.lat)?;
        }
        tx.commit()?;
        Ok(Edited::Changed(meta.version_id.to_string()))
    }

    /// Edit a patrol (and, for transport and members, its legs). Only what
    /// the edit changes gets a new version; when nothing changes, nothing is
    /// written. The id returned is the patrol's version (its head when only
    /// legs changed, or nothing; [`Store::edit_patrol_outcome`] says which).
    pub fn edit_patrol(&mut self, id: &str, edit: &PatrolEdit) -> Result<String> {
        self.edit_patrol_outcome(id, edit)
            .map(|e| e.version_id().to_owned())
    }

    /// [`Store::edit_patrol`], saying whether anything changed.
    pub fn edit_patrol_outcome(&mut self, id: &str, edit: &PatrolEdit) -> Result<Edited> {
        let id = self.resolve_record(Kind::Patrol, id)?;
        let head = self.shown_head(Kind::Patrol, &id)?;
        if head.deleted {
            return Err(StoreError::Invalid(format!("patrol {id} is deleted")));
        }
        let tx = crate::write_tx(&self.conn)?;
        let mut version = head.version_id.clone();
        let mut changed = false;
        if edit.team.is_some() || edit.leader.is_some() || edit.objective.is_some() {
            let before = load_patrol(&tx, &head.version_id)?;
            let mut p = before.clone();
            if let Some(t) = &edit.team {
                p.team.clone_from(t);
            }
            if let Some(l) = &edit.leader {
                p.leader = Some(l.clone());
            }
            if let Some(o) = &edit.objective {
                p.objective = Some(o.clone());
            }
            if p != before {
                let meta = self.local_meta(vec![parse(&head.version_id)?], false)?;
                records::insert_patrol(&tx, &meta, &p)?;
                version = meta.version_id.to_string();
                changed = true;
            }
        }
        let leg_change = edit.transport.is_some()
            || edit.members.is_some()
            || edit.date.is_some()
            || !edit.fix_overrides.is_empty();
        if leg_change {
            let legs: Vec<String> = tx
                .prepare("SELECT leg_id FROM legs WHERE patrol_id = ?1 ORDER BY leg_id")?
                .query_map([&id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for leg_id in legs {
                let lhead = self.shown_head(Kind::Leg, &leg_id)?;
                let before = load_leg(&tx, &lhead.version_id)?;
                let mut leg = before.clone();
                if let Some(t) = edit.transport {
                    leg.transport = t;
                }
                if let Some(m) = edit.members {
                    leg.members = m;
                }
                if edit.date.is_some() || !edit.fix_overrides.is_empty() {
                    let segments = crate::derive::segments(&tx, &leg_id)?;
                    if edit.date.is_some() && segments.iter().flatten().any(|f| f.time.is_some()) {
                        return Err(StoreError::Invalid(format!(
                            "patrol {id}: its track has times, which date it; --date dates a track without any time"
                        )));
                    }
                    for o in &edit.fix_overrides {
                        let exists = segments
                            .get(o.segment as usize)
                            .is_some_and(|s| (o.point as usize) < s.len());
                        if !exists {
                            return Err(StoreError::Invalid(format!(
                                "patrol {id} has no fix {}:{} (segments and points count from 1; `patrol show` lists the marked ones)",
                                o.segment + 1,
                                o.point + 1
                            )));
                        }
                        leg.fix_overrides
                            .retain(|x| (x.segment, x.point) != (o.segment, o.point));
                        leg.fix_overrides.push(*o);
                    }
                    leg.fix_overrides.sort();
                }
                if edit.date.is_some() {
                    leg.date = edit.date;
                }
                if leg != before {
                    let meta = self.local_meta(vec![parse(&lhead.version_id)?], false)?;
                    records::insert_leg(&tx, &meta, &leg)?;
                    crate::derive::rebuild_leg(&tx, &leg_id)?;
                    changed = true;
                }
            }
        }
        tx.commit()?;
        Ok(if changed {
            Edited::Changed(version)
        } else {
            Edited::Unchanged(version)
        })
    }

    /// Delete a record: a version marked deleted. Its history stays.
    pub fn delete_record(&mut self, kind: Kind, id: &str) -> Result<String> {
        let id = self.resolve_record(kind, id)?;
        let head = self.shown_head(kind, &id)?;
        if head.deleted {
            return Err(StoreError::Invalid(format!(
                "{} {id} is already deleted",
                kind.name()
            )));
        }
        let tx = crate::write_tx(&self.conn)?;
        let meta = self.local_meta(vec![parse(&head.version_id)?], true)?;
        Self::copy_version(&tx, kind, &head.version_id, &meta)?;
        tx.commit()?;
        Ok(meta.version_id.to_string())
    }

    /// Restore a deleted record: a new version with the content of its last
    /// version that was not deleted, following the deleted head. A record
    /// that is not deleted is an error.
    pub fn restore_record(&mut self, kind: Kind, id: &str) -> Result<String> {
        let id = self.resolve_record(kind, id)?;
        let head = self.shown_head(kind, &id)?;
        if !head.deleted {
            return Err(StoreError::Invalid(format!(
                "{} {id} is not deleted",
                kind.name()
            )));
        }
        let live = self.last_live_version(kind, &id, &head.version_id)?;
        let tx = crate::write_tx(&self.conn)?;
        let meta = self.local_meta(vec![parse(&head.version_id)?], false)?;
        Self::copy_version(&tx, kind, &live, &meta)?;
        tx.commit()?;
        Ok(meta.version_id.to_string())
    }

    /// The newest (by hlc, device, version) version that is not deleted among
    /// the ancestors of `from` (itself included).
    fn last_live_version(&self, kind: Kind, id: &str, from: &str) -> Result<String> {
        let sql = format!(
            "SELECT version_id, parents, hlc, device_id, deleted FROM {} WHERE {} = ?1",
            kind.versions_table(),
            kind.id_column()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let versions: std::collections::HashMap<String, (Vec<String>, records::Head)> = stmt
            .query_map([id], |r| {
                let parents: String = r.get(1)?;
                Ok((
                    r.get::<_, String>(0)?,
                    (
                        serde_json::from_str(&parents).unwrap_or_default(),
                        records::Head {
                            hlc: r.get(2)?,
                            device: r.get(3)?,
                            version_id: r.get(0)?,
                            deleted: r.get(4)?,
                        },
                    ),
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![from.to_owned()];
        let mut best: Option<&records::Head> = None;
        while let Some(v) = stack.pop() {
            if !seen.insert(v.clone()) {
                continue;
            }
            let Some((parents, head)) = versions.get(&v) else {
                continue;
            };
            if !head.deleted && best.is_none_or(|b| head > b) {
                best = Some(head);
            }
            stack.extend(parents.iter().cloned());
        }
        best.map(|h| h.version_id.clone()).ok_or_else(|| {
            StoreError::Invalid(format!(
                "{} {id} has no version that is not deleted",
                kind.name()
            ))
        })
    }

    /// The patrol imported from a file with this blake3 digest (the first by
    /// clock, when two devices imported it), deleted or not: import reports
    /// such a file as a duplicate, and says how to restore a deleted one
    /// rather than import the file again.
    pub fn patrol_with_source(&self, digest: &str) -> Result<Option<SourcePatrol>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT v.patrol_id, EXISTS (SELECT 1 FROM patrols p WHERE p.patrol_id = v.patrol_id)
                 FROM patrol_versions v WHERE v.source_digest = ?1 ORDER BY v.hlc LIMIT 1",
            )?
            .query_row([digest], |r| {
                Ok(SourcePatrol {
                    patrol_id: r.get(0)?,
                    live: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Resolve a conflict: a new version with the kept version's content and
    /// every head as parent.
    pub fn resolve_conflict(&mut self, kind: Kind, id: &str, keep: &str) -> Result<String> {
        let id = self.resolve_record(kind, id)?;
        let heads = records::heads(&self.conn, kind, &id)?;
        let keep = heads
            .iter()
            .find(|h| h.version_id.starts_with(keep.trim()))
            .ok_or_else(|| {
                StoreError::Invalid(format!("{keep} is not a head of {} {id}", kind.name()))
            })?
            .clone();
        let parents = heads
            .iter()
            .map(|h| parse(&h.version_id))
            .collect::<Result<Vec<VersionId>>>()?;
        let tx = crate::write_tx(&self.conn)?;
        let meta = self.local_meta(parents, keep.deleted)?;
        Self::copy_version(&tx, kind, &keep.version_id, &meta)?;
        tx.commit()?;
        Ok(meta.version_id.to_string())
    }

    fn copy_version(conn: &Connection, kind: Kind, from: &str, meta: &VersionMeta) -> Result<()> {
        match kind {
            Kind::Patrol => records::insert_patrol(conn, meta, &load_patrol(conn, from)?),
            Kind::Leg => {
                let leg = load_leg(conn, from)?;
                records::insert_leg(conn, meta, &leg)?;
                crate::derive::rebuild_leg(conn, &leg.id.to_string())
            }
            Kind::Observation => {
                records::insert_observation(conn, meta, &load_observation(conn, from)?)
            }
            Kind::Definition => {
                let (record_key, body): (String, String) = conn.query_row(
                    "SELECT record_key, body FROM model_versions WHERE version_id = ?1",
                    [from],
                    crate::row_tuple,
                )?;
                records::insert_definition(
                    conn,
                    meta,
                    &records::Definition {
                        record_key: &record_key,
                        body: &body,
                    },
                )?;
                crate::model::project(conn)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use patrol_core::category::DataModel;

    /// A database in the temp folder, removed when dropped.
    pub struct TempStore {
        pub store: Store,
        path: std::path::PathBuf,
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(self.path.with_extension("gpx"));
        }
    }

    impl std::ops::Deref for TempStore {
        type Target = Store;
        fn deref(&self) -> &Store {
            &self.store
        }
    }

    impl std::ops::DerefMut for TempStore {
        fn deref_mut(&mut self) -> &mut Store {
            &mut self.store
        }
    }

    pub fn temp_store() -> TempStore {
        let path =
            std::env::temp_dir().join(format!("patrol-store-test-{}.gpkg", uuid::Uuid::now_v7()));
        let store = Store::init(
            &path,
            "Thap Lan",
            "Asia/Bangkok",
            &DataModel::default_model(),
        )
        .unwrap();
        TempStore { store, path }
    }

    /// Import a patrol of two points with `waypoints` snares: its patrol id.
    pub fn import(t: &mut TempStore, lat: f64, waypoints: usize) -> String {
        use std::fmt::Write as _;
        let mut gpx = String::from(
            r#"<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">"#,
        );
        for i in 0..waypoints {
            let _ = write!(
                gpx,
                r#"<wpt lat="{lat}" lon="{}"><name>Snare {i}</name><time>2026-10-04T02:00:00Z</time></wpt>"#,
                102.1 + i as f64 * 1e-4
            );
        }
        let _ = write!(
            gpx,
            r#"<trk><trkseg><trkpt lat="{lat}" lon="102.1"><time>2026-10-04T01:00:00Z</time></trkpt><trkpt lat="{}" lon="102.1"><time>2026-10-04T03:00:00Z</time></trkpt></trkseg></trk></gpx>"#,
            lat + 0.1
        );
        let file = t.path.with_extension("gpx");
        std::fs::write(&file, gpx).unwrap();
        let opts = crate::import::tests::opts();
        let report = t.store.import_gpx(&file, &opts, &mut |_| {}).unwrap();
        report.patrol_id.unwrap()
    }

    pub fn observation_ids(store: &Store, patrol: &str) -> Vec<String> {
        store
            .conn
            .prepare("SELECT observation_id FROM observations WHERE patrol_id = ?1 ORDER BY observation_id")
            .unwrap()
            .query_map([patrol], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn count(store: &Store, table: &str) -> i64 {
        store
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_deleted_record_is_restored_with_its_last_live_content() {
        let mut t = temp_store();
        let patrol = import(&mut t, 14.2, 1);
        let digest = crate::import::file_digest(&t.path.with_extension("gpx")).unwrap();
        let obs = observation_ids(&t, &patrol).remove(0);
        let note = ObservationEdit {
            note: Some("two wires".to_owned()),
            ..ObservationEdit::default()
        };
        t.edit_observation(&obs, &note).unwrap();
        let err = t.restore_record(Kind::Observation, &obs).unwrap_err();
        assert!(err.to_string().contains("is not deleted"), "{err}");
        let deleted = t.delete_record(Kind::Observation, &obs).unwrap();
        assert!(observation_ids(&t, &patrol).is_empty());
        let restored = t.restore_record(Kind::Observation, &obs).unwrap();
        assert_eq!(observation_ids(&t, &patrol), vec![obs.clone()]);
        let heads = records::heads(t.conn(), Kind::Observation, &obs).unwrap();
        assert_eq!(heads.len(), 1);
        assert_eq!(heads[0].version_id, restored);
        assert!(!heads[0].deleted);
        let o = load_observation(t.conn(), &restored).unwrap();
        assert_eq!(o.note.as_deref(), Some("two wires"));
        let parents: String = t
            .conn()
            .query_row(
                "SELECT parents FROM observation_versions WHERE version_id = ?1",
                [&restored],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(parents, format!("[\"{deleted}\"]"));

        // A patrol, live or deleted, found by the digest of its file.
        let held = |live| {
            Some(SourcePatrol {
                patrol_id: patrol.clone(),
                live,
            })
        };
        assert_eq!(t.patrol_with_source(&digest).unwrap(), held(true));
        assert_eq!(t.patrol_with_source("0000").unwrap(), None);
        t.delete_record(Kind::Patrol, &patrol).unwrap();
        assert_eq!(t.patrol_with_source(&digest).unwrap(), held(false));
        assert!(
            t.resolve_patrol(&patrol)
                .unwrap_err()
                .to_string()
                .contains("deleted")
        );
        t.restore_record(Kind::Patrol, &patrol).unwrap();
        assert_eq!(t.resolve_patrol(&patrol).unwrap(), patrol);
        assert_eq!(t.patrol_with_source(&digest).unwrap(), held(true));
        assert_eq!(t.patrols(None).unwrap()[0].team, "Alpha");
    }

    #[test]
    fn one_resolver_takes_ids_prefixes_and_short_ids() {
        use patrol_core::ids::short_id;
        let mut t = temp_store();
        let patrol = import(&mut t, 14.2, 40);
        let other = import(&mut t, 14.5, 0);
        let obs = observation_ids(&t, &patrol);
        let shorts: std::collections::BTreeSet<&str> = obs.iter().map(|o| short_id(o)).collect();
        assert_eq!(shorts.len(), 40, "one import's short ids are distinct");
        let resolve = |t: &TempStore, text: &str| t.resolve_record(Kind::Observation, text);
        let id = &obs[0];
        // Several versions of one record are one match.
        let note = ObservationEdit {
            note: Some("x".to_owned()),
            ..ObservationEdit::default()
        };
        t.edit_observation(id, &note).unwrap();
        for text in [
            id.clone(),
            id.to_uppercase(),
            format!("  {id} "),
            id[..id.len() - 1].to_owned(),
            short_id(id).to_owned(),
            id[id.len() - 6..].to_owned(),
        ] {
            assert_eq!(&resolve(&t, &text).unwrap(), id, "{text}");
        }
        // One import's ids share their start: a short prefix is ambiguous.
        let err = resolve(&t, &id[..8]).unwrap_err().to_string();
        assert!(err.contains("matches several observations"), "{err}");
        let err = resolve(&t, &id[..3]).unwrap_err().to_string();
        assert!(err.contains("at least 4"), "{err}");
        assert!(matches!(
            resolve(&t, "zzzzzz"),
            Err(StoreError::NoSuchRecord { .. })
        ));
        assert!(matches!(
            resolve(&t, "5%_"),
            Err(StoreError::NoSuchRecord { .. })
        ));
        // A patrol prefix of 4 that matches one patrol (and several versions
        // of nothing else) is that patrol.
        assert_eq!(t.resolve_patrol(&patrol).unwrap(), patrol);
        assert_eq!(t.resolve_patrol(short_id(&other)).unwrap(), other);
        // Two ids with the same last 8 digits: the short id is ambiguous, a
        // longer suffix is not.
        let tx = t.conn.unchecked_transaction().unwrap();
        for text in [
            "01a209b5-0000-7000-8000-0000deadbeef",
            "01a209b6-0000-7000-8000-1111deadbeef",
        ] {
            let meta = VersionMeta::new_local(&tx, t.device, t.site.id, Vec::new()).unwrap();
            let o = Observation {
                id: text.parse().unwrap(),
                patrol: other.parse().unwrap(),
                category: "snare".to_owned(),
                time: None,
                lon: 102.0,
                lat: 14.0,
                raw_name: None,
                note: None,
                attributes: patrol_core::attribute::Values::new(),
            };
            records::insert_observation(&tx, &meta, &o).unwrap();
        }
        tx.commit().unwrap();
        let err = resolve(&t, "deadbeef").unwrap_err().to_string();
        assert!(err.contains("matches several observations"), "{err}");
        assert!(err.contains("1111deadbeef"), "{err}");
        assert_eq!(
            resolve(&t, "1111deadbeef").unwrap(),
            "01a209b6-0000-7000-8000-1111deadbeef"
        );
    }

    #[test]
    fn conflicts_resolve_takes_the_one_conflicting_record_a_prefix_names() {
        let mut t = temp_store();
        let patrol = import(&mut t, 14.2, 3);
        let leg: String = t
            .conn
            .query_row(
                "SELECT leg_id FROM legs WHERE patrol_id = ?1",
                [&patrol],
                |r| r.get(0),
            )
            .unwrap();
        // A patrol and its leg are made in the same millisecond: their ids
        // share their first characters, so a prefix names both.
        let shared = patrol
            .chars()
            .zip(leg.chars())
            .take_while(|(a, b)| a == b)
            .count();
        // (27 when made in the same millisecond; 4 are the same for 49 days.)
        assert!(shared >= 4, "{patrol} {leg}");
        let prefix = &leg[..shared];
        assert!(
            t.resolve_conflicting(prefix)
                .unwrap_err()
                .to_string()
                .contains("matches several records")
        );
        // Two devices edit the leg: two heads.
        let first: String = t
            .conn
            .query_row(
                "SELECT version_id FROM leg_versions WHERE leg_id = ?1",
                [&leg],
                |r| r.get(0),
            )
            .unwrap();
        let tx = t.conn.unchecked_transaction().unwrap();
        for members in [3, 5] {
            let meta =
                VersionMeta::new_local(&tx, t.device, t.site.id, vec![parse(&first).unwrap()])
                    .unwrap();
            let mut l = load_leg(&tx, &first).unwrap();
            l.members = members;
            records::insert_leg(&tx, &meta, &l).unwrap();
        }
        tx.commit().unwrap();
        assert_eq!(records::heads(&t.conn, Kind::Leg, &leg).unwrap().len(), 2);
        // Before, this said the prefix "matches a patrol and a leg" though
        // only the leg has edits to resolve.
        assert_eq!(
            t.resolve_conflicting(prefix).unwrap(),
            (Kind::Leg, leg.clone())
        );
        assert_eq!(
            t.resolve_conflicting(&leg.to_uppercase()).unwrap(),
            (Kind::Leg, leg.clone())
        );
        assert_eq!(
            t.resolve_conflicting(patrol_core::ids::short_id(&patrol))
                .unwrap(),
            (Kind::Patrol, patrol.clone())
        );
        assert!(matches!(
            t.resolve_conflicting("ffffffff-ffff"),
            Err(StoreError::NoSuchRecord { .. })
        ));
        assert!(
            t.resolve_conflicting("01a")
                .unwrap_err()
                .to_string()
                .contains("at least 4")
        );
    }

    #[test]
    fn an_edit_that_changes_nothing_makes_no_version() {
        let mut t = temp_store();
        let patrol = import(&mut t, 14.2, 1);
        let obs = observation_ids(&t, &patrol).remove(0);
        let head = records::heads(t.conn(), Kind::Observation, &obs)
            .unwrap()
            .remove(0);
        let same = ObservationEdit {
            category: Some("snare".to_owned()),
            ..ObservationEdit::default()
        };
        assert_eq!(
            t.edit_observation_outcome(&obs, &same).unwrap(),
            Edited::Unchanged(head.version_id.clone())
        );
        assert_eq!(count(&t, "observation_versions"), 1);
        let note = ObservationEdit {
            note: Some("two wires".to_owned()),
            ..ObservationEdit::default()
        };
        let edited = t.edit_observation_outcome(&obs, &note).unwrap();
        assert!(edited.changed() && edited.version_id() != head.version_id);
        assert_eq!(count(&t, "observation_versions"), 2);
        // Again: the same note is no change.
        assert!(!t.edit_observation_outcome(&obs, &note).unwrap().changed());
        assert_eq!(
            t.edit_observation(&obs, &note).unwrap(),
            edited.version_id()
        );

        let same = PatrolEdit {
            team: Some("Alpha".to_owned()),
            members: Some(2),
            ..PatrolEdit::default()
        };
        assert!(!t.edit_patrol_outcome(&patrol, &same).unwrap().changed());
        assert_eq!(count(&t, "patrol_versions") + count(&t, "leg_versions"), 2);
        let members = PatrolEdit {
            members: Some(3),
            ..PatrolEdit::default()
        };
        assert!(t.edit_patrol_outcome(&patrol, &members).unwrap().changed());
        assert_eq!(count(&t, "patrol_versions"), 1);
        assert_eq!(count(&t, "leg_versions"), 2);
    }
}
