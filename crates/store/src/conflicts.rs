//! Records edited on two devices: more than one head. Listed here, beside
//! [`Store::resolve_conflict`], which puts one right.

use rusqlite::Connection;
use serde::Serialize;

use crate::records::{self, Kind};
use crate::{Result, Store};

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
