//! Records as sets of immutable versions, and the current-state tables derived
//! from them.
//!
//! A version is never updated or deleted. The current value of a record is its
//! head: a version no other version of the record names as a parent. Several
//! heads are a conflict; the newest by (hlc, device_id, version_id) is shown and
//! `heads` counts them until a resolving version names them all as parents.

use std::collections::HashSet;

use patrol_core::{DeviceId, Leg, Observation, Patrol, SiteId, VersionId};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::{Result, StoreError, gpkg};

/// The kinds of versioned record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A patrol: team, leader, objective, site (`patrol_versions`).
    Patrol,
    /// A leg of a patrol: transport, members, a person's date and word on fixes (`leg_versions`).
    Leg,
    /// An observation: category, time, position, note (`observation_versions`).
    Observation,
    /// A definition of the data model: a category, an attribute or the
    /// languages (`model_versions`, by record key: `crate::model`).
    Definition,
}

impl Kind {
    /// Every kind, patrol first (the order is kept: merges number them).
    pub const ALL: [Kind; 4] = [Kind::Patrol, Kind::Leg, Kind::Observation, Kind::Definition];

    /// The kind's name as commands and messages write it ("patrol", "leg", "observation", "definition").
    pub fn name(self) -> &'static str {
        match self {
            Kind::Patrol => "patrol",
            Kind::Leg => "leg",
            Kind::Observation => "observation",
            Kind::Definition => "definition",
        }
    }
    /// The versions table.
    pub fn versions_table(self) -> &'static str {
        match self {
            Kind::Patrol => "patrol_versions",
            Kind::Leg => "leg_versions",
            Kind::Observation => "observation_versions",
            Kind::Definition => "model_versions",
        }
    }
    /// The current-state table.
    pub fn current_table(self) -> &'static str {
        match self {
            Kind::Patrol => "patrols",
            Kind::Leg => "legs",
            Kind::Observation => "observations",
            Kind::Definition => "model_definitions",
        }
    }
    /// The record id column.
    pub fn id_column(self) -> &'static str {
        match self {
            Kind::Patrol => "patrol_id",
            Kind::Leg => "leg_id",
            Kind::Observation => "observation_id",
            Kind::Definition => "record_key",
        }
    }
}

/// Who made a version, when, and from what.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VersionMeta {
    /// The version's id (UUIDv7).
    pub version_id: VersionId,
    /// The versions it follows (all the heads, for a conflict's resolution); empty for a record's first version.
    pub parents: Vec<VersionId>,
    /// Hybrid logical clock of the version: milliseconds since 1970 UTC << 16, plus a counter.
    pub hlc: i64,
    /// The device the version was made on.
    pub device: DeviceId,
    /// The site of the database the version was made in (a patrol's own site is in its content).
    pub site: SiteId,
    /// Whether the version deletes the record.
    pub deleted: bool,
}

impl VersionMeta {
    /// A new local version: made now on this device, following `parents`.
    pub fn new_local(
        conn: &Connection,
        device: DeviceId,
        site: SiteId,
        mut parents: Vec<VersionId>,
    ) -> Result<Self> {
        parents.sort();
        Ok(VersionMeta {
            version_id: crate::new_id::<VersionId>(),
            parents,
            hlc: crate::next_hlc(conn)?,
            device,
            site,
            deleted: false,
        })
    }

    fn parents_json(&self) -> String {
        serde_json::to_string(&self.parents).expect("ids serialise")
    }
}

/// blake3 of a version's canonical content (meta and fields), hex.
pub fn digest<T: Serialize>(kind: Kind, meta: &VersionMeta, content: &T) -> String {
    let text = serde_json::to_string(&(kind.name(), meta, content)).expect("content serialises");
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// Insert a new version of a patrol and refresh its current-state row in `patrols`.
pub fn insert_patrol(conn: &Connection, meta: &VersionMeta, p: &Patrol) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO patrol_versions(version_id, patrol_id, parents, hlc, device_id, site_id, deleted, digest,
           team, leader, objective, origin_device, source_digest, source_file)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        meta.version_id.to_string(),
        p.id.to_string(),
        meta.parents_json(),
        meta.hlc,
        meta.device.to_string(),
        meta.site.to_string(),
        meta.deleted,
        digest(Kind::Patrol, meta, p),
        p.team,
        p.leader,
        p.objective,
        p.origin_device.to_string(),
        p.source_digest,
        p.source_file,
    ])?;
    // A patrol's site is its content; the version's site is where it was made.
    refresh(conn, Kind::Patrol, &p.id.to_string())
}

/// Insert a new version of a leg and refresh its current-state row in `legs`.
pub fn insert_leg(conn: &Connection, meta: &VersionMeta, l: &Leg) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO leg_versions(version_id, leg_id, parents, hlc, device_id, site_id, deleted, digest,
           patrol_id, transport, members, member_names, date, fix_overrides)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        meta.version_id.to_string(),
        l.id.to_string(),
        meta.parents_json(),
        meta.hlc,
        meta.device.to_string(),
        meta.site.to_string(),
        meta.deleted,
        digest(Kind::Leg, meta, l),
        l.patrol.to_string(),
        l.transport.as_str(),
        l.members,
        serde_json::to_string(&l.member_names).expect("strings serialise"),
        l.date.map(|d| d.to_string()),
        (!l.fix_overrides.is_empty())
            .then(|| serde_json::to_string(&l.fix_overrides).expect("overrides serialise")),
    ])?;
    refresh(conn, Kind::Leg, &l.id.to_string())
}

/// Insert a new version of an observation and refresh its current-state row in `observations`.
pub fn insert_observation(conn: &Connection, meta: &VersionMeta, o: &Observation) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO observation_versions(version_id, observation_id, parents, hlc, device_id, site_id, deleted,
           digest, patrol_id, category, time_us, lon, lat, raw_name, note, attributes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        meta.version_id.to_string(),
        o.id.to_string(),
        meta.parents_json(),
        meta.hlc,
        meta.device.to_string(),
        meta.site.to_string(),
        meta.deleted,
        digest(Kind::Observation, meta, o),
        o.patrol.to_string(),
        o.category,
        o.time,
        o.lon,
        o.lat,
        o.raw_name,
        o.note,
        attributes_json(&o.attributes),
    ])?;
    refresh(conn, Kind::Observation, &o.id.to_string())
}

/// A definition's content as its digest covers it: the record key and the
/// definition's JSON text.
#[derive(Serialize)]
pub struct Definition<'a> {
    /// `category:KEY`, `attribute:KEY` or `languages`.
    pub record_key: &'a str,
    /// The definition as JSON.
    pub body: &'a str,
}

/// Insert a new version of a data model definition and refresh its row in
/// `model_definitions` (the caller projects the model, `crate::model::project`).
pub fn insert_definition(conn: &Connection, meta: &VersionMeta, d: &Definition<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO model_versions(version_id, record_key, parents, hlc, device_id, site_id, deleted, digest, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        meta.version_id.to_string(),
        d.record_key,
        meta.parents_json(),
        meta.hlc,
        meta.device.to_string(),
        meta.site.to_string(),
        meta.deleted,
        digest(Kind::Definition, meta, d),
        d.body,
    ])?;
    refresh(conn, Kind::Definition, d.record_key)
}

/// An observation's attributes as stored: a JSON object in key order, or
/// `None` (SQL NULL) when there are none.
pub fn attributes_json(values: &patrol_core::attribute::Values) -> Option<String> {
    (!values.is_empty()).then(|| serde_json::to_string(values).expect("values serialise"))
}

/// An observation's attributes from their stored text (NULL: none).
pub fn attributes_from(text: Option<&str>) -> Result<patrol_core::attribute::Values> {
    text.map_or_else(
        || Ok(patrol_core::attribute::Values::new()),
        |t| {
            serde_json::from_str(t)
                .map_err(|e| StoreError::Invalid(format!("stored attributes '{t}': {e}")))
        },
    )
}

/// A head version of a record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Head {
    /// The version's hybrid logical clock (ms << 16 + counter); heads sort by it, then device, then version id.
    pub hlc: i64,
    /// The device that made the version.
    pub device: String,
    /// The version's id (UUIDv7).
    pub version_id: String,
    /// Whether this head deletes the record.
    pub deleted: bool,
}

/// The heads of a record, newest last.
pub fn heads(conn: &Connection, kind: Kind, record_id: &str) -> Result<Vec<Head>> {
    let sql = format!(
        "SELECT version_id, parents, hlc, device_id, deleted FROM {} WHERE {} = ?1",
        kind.versions_table(),
        kind.id_column()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map([record_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                Head {
                    hlc: r.get(2)?,
                    device: r.get(3)?,
                    version_id: r.get(0)?,
                    deleted: r.get(4)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut parents = HashSet::new();
    for (_, p, _) in &rows {
        let list: Vec<String> = serde_json::from_str(p).unwrap_or_default();
        parents.extend(list);
    }
    let mut heads: Vec<Head> = rows
        .iter()
        .filter(|(v, _, _)| !parents.contains(v))
        .map(|(_, _, h)| h.clone())
        .collect();
    if heads.is_empty() {
        // Every version is another's parent: a cycle (merge refuses files
        // that make one). Every version is then a head, so the record shows
        // and is listed as a conflict to resolve, whatever order its
        // versions came in.
        heads = rows.into_iter().map(|(_, _, h)| h).collect();
    }
    heads.sort();
    if kind == Kind::Definition && heads.len() > 1 {
        same_definitions_are_one(conn, &mut heads)?;
    }
    Ok(heads)
}

/// Heads of a definition that define it the same way (the same body, both
/// deleting or neither) are one: the newest of them stands for them all. Two
/// devices that add the same category do not conflict.
fn same_definitions_are_one(conn: &Connection, heads: &mut Vec<Head>) -> Result<()> {
    let mut stmt = conn.prepare_cached("SELECT body FROM model_versions WHERE version_id = ?1")?;
    let mut seen = std::collections::HashMap::new();
    for (i, h) in heads.iter().enumerate() {
        let body: String = stmt.query_row([&h.version_id], |r| r.get(0))?;
        // Newest last: the last of each body is kept.
        seen.insert((body, h.deleted), i);
    }
    let keep: HashSet<usize> = seen.into_values().collect();
    let mut i = 0;
    heads.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
    Ok(())
}

/// Rebuild a record's current-state row from its versions.
pub fn refresh(conn: &Connection, kind: Kind, record_id: &str) -> Result<()> {
    let heads = heads(conn, kind, record_id)?;
    let Some(winner) = heads.last() else {
        return Ok(());
    };
    let table = kind.current_table();
    let id_col = kind.id_column();
    if winner.deleted {
        conn.execute(
            &format!("DELETE FROM {table} WHERE {id_col} = ?1"),
            [record_id],
        )?;
        return Ok(());
    }
    let n = heads.len() as i64;
    match kind {
        Kind::Definition => {
            conn.prepare_cached(
                "INSERT INTO model_definitions(record_key, version_id, heads, first_hlc, body)
                 SELECT v.record_key, v.version_id, ?2,
                   (SELECT min(f.hlc) FROM model_versions f WHERE f.record_key = v.record_key), v.body
                 FROM model_versions v WHERE v.version_id = ?1
                 ON CONFLICT(record_key) DO UPDATE SET version_id = excluded.version_id,
                   heads = excluded.heads, first_hlc = excluded.first_hlc, body = excluded.body",
            )?
            .execute(params![winner.version_id, n])?;
        }
        Kind::Patrol => {
            conn.prepare_cached(
                "INSERT INTO patrols(patrol_id, version_id, heads, site_id, team, leader, objective,
                   origin_device, source_digest, source_file)
                 SELECT v.patrol_id, v.version_id, ?2,
                   coalesce((SELECT site_id FROM patrols WHERE patrol_id = v.patrol_id),
                            (SELECT first.site_id FROM patrol_versions first
                             WHERE first.patrol_id = v.patrol_id ORDER BY hlc, version_id LIMIT 1)),
                   v.team, v.leader, v.objective, v.origin_device, v.source_digest, v.source_file
                 FROM patrol_versions v WHERE v.version_id = ?1
                 ON CONFLICT(patrol_id) DO UPDATE SET version_id = excluded.version_id,
                   heads = excluded.heads, team = excluded.team, leader = excluded.leader,
                   objective = excluded.objective, source_digest = excluded.source_digest,
                   source_file = excluded.source_file",
            )?
            .execute(params![winner.version_id, n])?;
        }
        Kind::Leg => {
            conn.prepare_cached(
                "INSERT INTO legs(leg_id, version_id, heads, patrol_id, transport, members, member_names,
                   date, fix_overrides)
                 SELECT leg_id, version_id, ?2, patrol_id, transport, members, member_names, date, fix_overrides
                 FROM leg_versions WHERE version_id = ?1
                 ON CONFLICT(leg_id) DO UPDATE SET version_id = excluded.version_id,
                   heads = excluded.heads, transport = excluded.transport,
                   members = excluded.members, member_names = excluded.member_names,
                   date = excluded.date, fix_overrides = excluded.fix_overrides",
            )?
            .execute(params![winner.version_id, n])?;
        }
        Kind::Observation => {
            let row = conn
                .query_row(
                    "SELECT v.lon, v.lat, v.time_us, coalesce(c.threat, 0),
                       (SELECT site_id FROM patrol_versions p WHERE p.patrol_id = v.patrol_id
                        ORDER BY hlc, version_id LIMIT 1)
                     FROM observation_versions v LEFT JOIN categories c ON c.key = v.category
                     WHERE v.version_id = ?1",
                    [&winner.version_id],
                    |r| {
                        Ok((
                            r.get::<_, f64>(0)?,
                            r.get::<_, f64>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                            r.get::<_, bool>(3)?,
                            r.get::<_, Option<String>>(4)?,
                        ))
                    },
                )
                .optional()?
                .ok_or_else(|| {
                    StoreError::Invalid(format!("version {} vanished", winner.version_id))
                })?;
            let (lon, lat, time_us, threat, site) = row;
            conn.prepare_cached(
                "INSERT INTO observations(geom, observation_id, version_id, heads, patrol_id, site_id,
                   category, threat, time, time_us, raw_name, note, attributes)
                 SELECT ?2, observation_id, version_id, ?3, patrol_id, coalesce(?4, site_id), category, ?5,
                   ?6, time_us, raw_name, note, attributes
                 FROM observation_versions WHERE version_id = ?1
                 ON CONFLICT(observation_id) DO UPDATE SET geom = excluded.geom,
                   version_id = excluded.version_id, heads = excluded.heads,
                   patrol_id = excluded.patrol_id, site_id = excluded.site_id,
                   category = excluded.category,
                   threat = excluded.threat, time = excluded.time, time_us = excluded.time_us,
                   raw_name = excluded.raw_name, note = excluded.note,
                   attributes = excluded.attributes",
            )?
            .execute(params![
                winner.version_id,
                gpkg::point(lon, lat),
                n,
                site,
                threat,
                time_us.map(patrol_core::time::format_utc),
            ])?;
        }
    }
    Ok(())
}
