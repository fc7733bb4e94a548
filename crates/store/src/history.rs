//! A record's history: every version it has, oldest first (`patrol history`,
//! `GET /api/history/{id}`), and the deleted records a person may restore.

use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::records::{self, Kind};
use crate::{Result, Store, StoreError};

/// One version of a record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryVersion {
    /// The version's id (UUIDv7).
    pub version_id: String,
    /// The versions it follows (empty for the record's first version; all
    /// the heads, for a conflict's resolution).
    pub parents: Vec<String>,
    /// The version's hybrid logical clock: milliseconds since 1970 UTC << 16, plus a counter.
    pub hlc: i64,
    /// When it was made, RFC 3339 UTC to the millisecond (from `hlc`).
    pub time: String,
    /// The device that made it.
    pub device_id: String,
    /// The site of the database it was made in.
    pub site_id: String,
    /// Whether it deletes the record.
    pub deleted: bool,
    /// Whether it is a head: no other version of the record follows it
    /// (more than one head: a conflict).
    pub head: bool,
    /// Whether it is the head shown (the record's current state).
    pub shown: bool,
    /// Its content in a line (as `patrol conflicts` writes it, and an
    /// observation's attributes as KEY=VALUE).
    pub summary: String,
    /// Its content, as the record's fields.
    pub content: serde_json::Value,
}

/// A record's versions, oldest first (by clock, device, version).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct History {
    /// "patrol", "leg", "observation" or "definition".
    pub kind: &'static str,
    /// The record's id (a definition's record key).
    pub record_id: String,
    /// Its short id, as lists show it.
    pub short_id: String,
    /// Whether the record is deleted (its shown head deletes it).
    pub deleted: bool,
    /// Its versions, oldest first.
    pub versions: Vec<HistoryVersion>,
}

impl HistoryVersion {
    /// What a person reads of its state: `shown`, `head (conflict)` (a head
    /// not shown: the record waits for a person), `deleted`, joined by
    /// commas; empty for an older version.
    pub fn state(&self) -> String {
        let mut state = Vec::new();
        if self.shown {
            state.push("shown");
        } else if self.head {
            state.push("head (conflict)");
        }
        if self.deleted {
            state.push("deleted");
        }
        state.join(", ")
    }
}

impl History {
    /// The version shown (the record's current state).
    pub fn shown(&self) -> Option<&HistoryVersion> {
        self.versions.iter().find(|v| v.shown)
    }
}

/// A deleted record, with the version that deletes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeletedRecord {
    /// "patrol" or "observation".
    pub kind: &'static str,
    /// The record's id.
    pub record_id: String,
    /// Its short id.
    pub short_id: String,
    /// The shown head, which deletes it (its content is the last before).
    pub version: HistoryVersion,
}

/// A record's short id: a definition's key is its own.
fn shown_id(kind: Kind, id: &str) -> String {
    match kind {
        Kind::Definition => id.to_owned(),
        _ => patrol_core::ids::short_id(id).to_owned(),
    }
}

/// A version's content as the record's fields.
fn content(conn: &rusqlite::Connection, kind: Kind, version: &str) -> Result<serde_json::Value> {
    let json = |v: std::result::Result<serde_json::Value, serde_json::Error>| {
        v.map_err(|e| StoreError::Invalid(format!("version {version}: {e}")))
    };
    match kind {
        Kind::Patrol => json(serde_json::to_value(crate::edit::load_patrol(
            conn, version,
        )?)),
        Kind::Leg => json(serde_json::to_value(crate::edit::load_leg(conn, version)?)),
        Kind::Observation => json(serde_json::to_value(crate::edit::load_observation(
            conn, version,
        )?)),
        Kind::Definition => {
            let body: String = conn.query_row(
                "SELECT body FROM model_versions WHERE version_id = ?1",
                [version],
                |r| r.get(0),
            )?;
            Ok(serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)))
        }
    }
}

impl Store {
    /// The record a history is asked of, of any kind, by the rules of
    /// [`Store::resolve_record`]: its whole id, a prefix or its short id (a
    /// definition by its record key). Text that names records of several
    /// kinds is an error that lists them.
    pub fn resolve_any(&self, text: &str) -> Result<(Kind, String)> {
        let mut found = Vec::new();
        let mut first_error = None;
        for kind in Kind::ALL {
            match self.resolve_record(kind, text) {
                Ok(id) => found.push((kind, id)),
                Err(StoreError::NoSuchRecord { .. }) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(first_error.unwrap_or_else(|| StoreError::NoSuchRecord {
                kind: "patrol, leg, observation or definition",
                id: text.trim().to_lowercase(),
            })),
            several => {
                let list: Vec<String> = several
                    .iter()
                    .map(|(k, id)| format!("{} {id}", k.name()))
                    .collect();
                Err(StoreError::Invalid(format!(
                    "'{}' matches several records ({}); give more of the id",
                    text.trim(),
                    list.join(", ")
                )))
            }
        }
    }

    /// Every version of a record (found as [`Store::resolve_record`] finds
    /// it), oldest first, with which are heads and which is shown.
    pub fn history(&self, kind: Kind, id: &str) -> Result<History> {
        let id = self.resolve_record(kind, id)?;
        let heads = records::heads(&self.conn, kind, &id)?;
        let shown = heads.last().map(|h| h.version_id.clone());
        let mut stmt = self.conn.prepare(&format!(
            "SELECT version_id, parents, hlc, device_id, site_id, deleted FROM {} WHERE {} = ?1
             ORDER BY hlc, device_id, version_id",
            kind.versions_table(),
            kind.id_column()
        ))?;
        let rows = stmt
            .query_map([&id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, bool>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut versions = Vec::with_capacity(rows.len());
        for (version_id, parents, hlc, device_id, site_id, deleted) in rows {
            let content = content(&self.conn, kind, &version_id)?;
            let mut summary = crate::conflicts::summary(&self.conn, kind, &version_id)?;
            if let Some(attrs) = content.get("attributes").and_then(|a| a.as_object()) {
                let pairs: Vec<String> = attrs
                    .iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => format!("{k}={s}"),
                        // A count stored as 3.0 reads as typed: 3.
                        serde_json::Value::Number(n)
                            if n.as_f64()
                                .is_some_and(|x| x.fract() == 0.0 && x.abs() < 1e15) =>
                        {
                            format!("{k}={}", n.as_f64().unwrap_or_default() as i64)
                        }
                        other => format!("{k}={other}"),
                    })
                    .collect();
                if !pairs.is_empty() {
                    summary = format!("{summary}; {}", pairs.join(", "));
                }
            }
            versions.push(HistoryVersion {
                parents: serde_json::from_str(&parents).unwrap_or_default(),
                hlc,
                time: patrol_core::time::to_utc((hlc >> 16).saturating_mul(1000))
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string(),
                device_id,
                site_id: site_id.unwrap_or_default(),
                deleted,
                head: heads.iter().any(|h| h.version_id == version_id),
                shown: shown.as_deref() == Some(version_id.as_str()),
                summary,
                content,
                version_id,
            });
        }
        Ok(History {
            kind: kind.name(),
            short_id: shown_id(kind, &id),
            deleted: heads.last().is_some_and(|h| h.deleted),
            record_id: id,
            versions,
        })
    }

    /// Whether a record (by its whole id) is deleted: its shown head deletes it.
    pub fn is_deleted(&self, kind: Kind, id: &str) -> Result<bool> {
        Ok(records::heads(&self.conn, kind, id)?
            .last()
            .is_some_and(|h| h.deleted))
    }

    /// The deleted patrols, or the deleted observations of one patrol (those
    /// whose deleting version names it), newest deletion first.
    pub fn deleted_records(&self, kind: Kind, patrol: Option<&str>) -> Result<Vec<DeletedRecord>> {
        let ids: Vec<String> = match (kind, patrol) {
            (Kind::Observation, Some(p)) => self
                .conn
                .prepare(
                    "SELECT DISTINCT observation_id FROM observation_versions v WHERE patrol_id = ?1 AND deleted
                     AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.observation_id = v.observation_id)",
                )?
                .query_map([p], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            (Kind::Patrol, None) => self
                .conn
                .prepare(
                    "SELECT DISTINCT patrol_id FROM patrol_versions v WHERE deleted
                     AND NOT EXISTS (SELECT 1 FROM patrols p WHERE p.patrol_id = v.patrol_id)",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            _ => {
                return Err(StoreError::Invalid(format!(
                    "deleted {}s are listed by patrol only",
                    kind.name()
                )));
            }
        };
        let mut out = Vec::new();
        for id in ids {
            let history = self.history(kind, &id)?;
            let Some(version) = history.shown().filter(|v| v.deleted).cloned() else {
                continue;
            };
            if let Some(p) = patrol {
                let of: Option<String> = self
                    .conn
                    .query_row(
                        "SELECT patrol_id FROM observation_versions WHERE version_id = ?1",
                        [&version.version_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if of.as_deref() != Some(p) {
                    continue;
                }
            }
            out.push(DeletedRecord {
                kind: kind.name(),
                short_id: history.short_id,
                record_id: history.record_id,
                version,
            });
        }
        out.sort_by_key(|d| std::cmp::Reverse(d.version.hlc));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::edit::tests::{import, observation_ids, temp_store};
    use crate::edit::{ObservationEdit, PatrolEdit};
    use crate::records::Kind;

    #[test]
    fn a_history_lists_every_version_oldest_first_and_the_one_shown() {
        let mut t = temp_store();
        let patrol = import(&mut t, 14.2, 1);
        let obs = observation_ids(&t, &patrol).remove(0);
        let first = t.history(Kind::Observation, &obs).unwrap();
        assert_eq!(first.versions.len(), 1);
        assert!(first.versions[0].head && first.versions[0].shown);
        assert!(first.versions[0].parents.is_empty());
        let note = ObservationEdit {
            note: Some("two wires".to_owned()),
            ..ObservationEdit::default()
        };
        let edited = t.edit_observation(&obs, &note).unwrap();
        let deleted = t.delete_record(Kind::Observation, &obs).unwrap();
        let h = t.history(Kind::Observation, &obs).unwrap();
        assert!(h.deleted);
        let ids: Vec<&str> = h.versions.iter().map(|v| v.version_id.as_str()).collect();
        assert_eq!(
            ids,
            [first.versions[0].version_id.as_str(), &edited, &deleted]
        );
        assert_eq!(
            h.versions[1].parents,
            [first.versions[0].version_id.clone()]
        );
        assert!(h.versions[1].summary.contains("note: two wires"));
        assert_eq!(h.versions[1].content["note"], "two wires");
        assert!(!h.versions[1].head && h.versions[2].shown && h.versions[2].deleted);
        assert!(h.versions[2].time.ends_with('Z'));
        // Deleted: listed for its patrol, gone when restored.
        let listed = t.deleted_records(Kind::Observation, Some(&patrol)).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].record_id, obs);
        assert_eq!(listed[0].version.version_id, deleted);
        t.restore_record(Kind::Observation, &obs).unwrap();
        assert!(
            t.deleted_records(Kind::Observation, Some(&patrol))
                .unwrap()
                .is_empty()
        );
        assert!(!t.history(Kind::Observation, &obs).unwrap().deleted);
        // Any kind by one resolver; a patrol's edit of team is its version.
        let team = PatrolEdit {
            team: Some("Bravo".to_owned()),
            ..PatrolEdit::default()
        };
        t.edit_patrol(&patrol, &team).unwrap();
        assert_eq!(
            t.resolve_any(patrol_core::ids::short_id(&patrol)).unwrap(),
            (Kind::Patrol, patrol.clone())
        );
        let h = t.history(Kind::Patrol, &patrol).unwrap();
        assert_eq!(h.versions.len(), 2);
        assert_eq!(h.versions[1].content["team"], "Bravo");
        t.delete_record(Kind::Patrol, &patrol).unwrap();
        assert!(t.is_deleted(Kind::Patrol, &patrol).unwrap());
        let gone = t.deleted_records(Kind::Patrol, None).unwrap();
        assert_eq!(gone[0].record_id, patrol);
        assert!(t.resolve_any("zzzz").is_err());
        assert!(
            t.resolve_any("abc")
                .unwrap_err()
                .to_string()
                .contains("at least 4")
        );
    }
}
