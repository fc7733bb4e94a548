//! Records edited on two devices: more than one head. Listed here, beside
//! [`Store::resolve_conflict`], which puts one right.

use rusqlite::Connection;
use rusqlite::OptionalExtension as _;
use serde::Serialize;

use crate::records::{self, Kind};
use crate::{Result, Store, StoreError};

/// One head of a record in conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConflictHead {
    /// The head version's id (UUIDv7).
    pub version_id: String,
    /// The version's hybrid logical clock: milliseconds since 1970 UTC << 16, plus a counter.
    pub hlc: i64,
    /// The device that made the version.
    pub device_id: String,
    /// Whether this head deletes the record.
    pub deleted: bool,
    /// A short summary of the version's content.
    pub summary: String,
    /// This head is the one shown (the newest by hlc, device, version).
    pub shown: bool,
}

/// A record with more than one head, its heads oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// "patrol", "leg", "observation" or "definition" (of the data model; its id is `category:KEY`, `attribute:KEY` or `languages`).
    pub kind: &'static str,
    /// The record's id.
    pub record_id: String,
    /// Its heads (versions no other version names as a parent), oldest first.
    pub heads: Vec<ConflictHead>,
}

/// A conflict put right: what `patrol conflicts resolve --json` prints and
/// the web app answers (the fields in the order the CLI always printed them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The head kept, whole.
    pub kept_version_id: String,
    /// "patrol", "leg", "observation" or "definition".
    pub kind: &'static str,
    /// The record's whole id.
    pub record_id: String,
    /// The record's id as tables show it ([`shown_id`]).
    pub short_id: String,
    /// The new version that follows every head, a copy of the kept one.
    pub version_id: String,
}

/// A record's id as tables show it: the short id, or a data model
/// definition's whole key (`category:snare`).
pub fn shown_id(id: &str) -> &str {
    if crate::model::is_record_key(id) {
        id
    } else {
        patrol_core::ids::short_id(id)
    }
}

/// A version's content in a line of at most 120 characters.
pub(crate) fn summary(conn: &Connection, kind: Kind, version: &str) -> rusqlite::Result<String> {
    let sql = match kind {
        Kind::Patrol => {
            "SELECT 'team ' || team || coalesce(', leader ' || leader, '') || coalesce(', objective ' || objective, '')
             FROM patrol_versions WHERE version_id = ?1"
        }
        Kind::Leg => {
            "SELECT transport || ', ' || members || ' members' FROM leg_versions WHERE version_id = ?1"
        }
        Kind::Observation => {
            "SELECT category || ' at ' || printf('%.6f, %.6f', lat, lon) || coalesce(', note: ' || note, '')
             FROM observation_versions WHERE version_id = ?1"
        }
        Kind::Definition => "SELECT body FROM model_versions WHERE version_id = ?1",
    };
    let text: String = conn.query_row(sql, [version], |r| r.get(0))?;
    Ok(if text.chars().count() > 120 {
        text.chars().take(117).chain("...".chars()).collect()
    } else {
        text
    })
}

impl Store {
    /// The patrol a leg's or an observation's latest version belongs to
    /// (`None` for other kinds, or a record not here): where a person goes
    /// to see what a conflict on it is about.
    pub fn patrol_of(&self, kind: &str, record_id: &str) -> Result<Option<String>> {
        let sql = match kind {
            "leg" => {
                "SELECT patrol_id FROM leg_versions WHERE leg_id = ?1 ORDER BY hlc DESC, version_id DESC LIMIT 1"
            }
            "observation" => {
                "SELECT patrol_id FROM observation_versions WHERE observation_id = ?1 ORDER BY hlc DESC, version_id DESC LIMIT 1"
            }
            _ => return Ok(None),
        };
        Ok(self
            .conn
            .query_row(sql, [record_id], |r| r.get(0))
            .optional()?)
    }

    /// Resolve the conflict of the record `record` names (its id, first
    /// characters or short id; a definition's key) by keeping the head
    /// `keep` names (its whole version id, or a prefix in any case that only
    /// one head begins with): `patrol conflicts resolve RECORD --keep
    /// VERSION`, for the CLI and the web app alike.
    pub fn resolve_named_conflict(&mut self, record: &str, keep: &str) -> Result<Resolved> {
        let (kind, id) = self.resolve_conflicting(record)?;
        let kept = self.head_to_keep(kind, &id, keep)?;
        let version_id = self.resolve_conflict(kind, &id, &kept)?;
        Ok(Resolved {
            kept_version_id: kept,
            kind: kind.name(),
            short_id: shown_id(&id).to_owned(),
            record_id: id,
            version_id,
        })
    }

    /// The head `keep` names: its whole version id or a prefix (any case)
    /// that only one head of the record begins with.
    fn head_to_keep(&self, kind: Kind, id: &str, keep: &str) -> Result<String> {
        let text = keep.trim().to_lowercase();
        let heads: Vec<String> = self
            .conflicts()?
            .into_iter()
            .filter(|c| c.kind == kind.name() && c.record_id == id)
            .flat_map(|c| c.heads.into_iter().map(|h| h.version_id))
            .collect();
        if heads.is_empty() {
            // No conflict: `resolve_conflict` says whether `keep` is its one head.
            return Ok(keep.to_owned());
        }
        let matching: Vec<&String> = heads
            .iter()
            .filter(|v| !text.is_empty() && v.starts_with(&text))
            .collect();
        let short = patrol_core::ids::short_id(id);
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(StoreError::Invalid(format!(
                "'{keep}' is not a head of {} {short} (its heads: {})",
                kind.name(),
                heads.join(", ")
            ))),
            several => Err(StoreError::Invalid(format!(
                "'{keep}' begins several heads of {} {short} ({}); give more of the version id",
                kind.name(),
                several
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Every record with more than one head (including those whose shown
    /// head is a deletion), and every record whose versions' parents form a
    /// cycle (no true head: all its versions are listed), by kind and id.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        let conn = &self.conn;
        let mut out = Vec::new();
        for kind in Kind::ALL {
            let (t, id) = (kind.versions_table(), kind.id_column());
            let ids: Vec<String> = conn
                .prepare(&format!(
                    "SELECT v.{id} FROM {t} v
                     WHERE NOT EXISTS (SELECT 1 FROM {t} c, json_each(c.parents) j
                                       WHERE c.{id} = v.{id} AND j.value = v.version_id)
                     GROUP BY v.{id} HAVING count(*) > 1
                     UNION
                     -- No head at all: the versions' parents form a cycle.
                     SELECT r.{id} FROM (SELECT DISTINCT {id} FROM {t}) r
                     WHERE NOT EXISTS (SELECT 1 FROM {t} v WHERE v.{id} = r.{id}
                       AND NOT EXISTS (SELECT 1 FROM {t} c, json_each(c.parents) j
                                       WHERE c.{id} = v.{id} AND j.value = v.version_id))
                     ORDER BY 1"
                ))?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for record_id in ids {
                let heads = records::heads(conn, kind, &record_id)?;
                let n = heads.len();
                // Versions of a definition that say the same are one.
                if kind == Kind::Definition && n < 2 {
                    continue;
                }
                let heads = heads
                    .into_iter()
                    .enumerate()
                    .map(|(i, h)| {
                        Ok(ConflictHead {
                            summary: summary(conn, kind, &h.version_id)?,
                            version_id: h.version_id,
                            hlc: h.hlc,
                            device_id: h.device,
                            deleted: h.deleted,
                            shown: i + 1 == n,
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(Conflict {
                    kind: kind.name(),
                    record_id,
                    heads,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::edit::tests::{import, observation_ids, temp_store};

    #[test]
    fn a_leg_or_an_observation_names_its_patrol() {
        let mut t = temp_store();
        let patrol = import(&mut t, 14.2, 1);
        let obs = observation_ids(&t, &patrol).remove(0);
        assert_eq!(
            t.patrol_of("observation", &obs).unwrap(),
            Some(patrol.clone())
        );
        let leg = t.patrol_detail(&patrol).unwrap().legs.remove(0).leg_id;
        assert_eq!(t.patrol_of("leg", &leg).unwrap(), Some(patrol.clone()));
        assert_eq!(t.patrol_of("patrol", &patrol).unwrap(), None);
        assert_eq!(t.patrol_of("observation", "nothing").unwrap(), None);
    }
}
