//! Rows a merge set aside (the `quarantine` table), and a person's decision
//! on each: the row we hold is always kept; a set-aside row stays listed
//! until someone decides about it.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::{Result, Store, StoreError};

/// One row a merge set aside.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quarantined {
    /// The number `patrol quarantine drop` takes.
    pub id: i64,
    /// The table the row was meant for.
    pub table: String,
    /// Its key in that table.
    pub row_id: String,
    /// The incoming row (JSON object; blobs as hex).
    pub incoming: serde_json::Value,
    /// blake3 of the file it came in (see `patrol ledger`).
    pub file_digest: String,
    /// Why it was set aside.
    pub reason: String,
    /// When a person decided (RFC 3339, UTC), and what.
    pub decided_at: Option<String>,
    /// What a person decided (`dropped`); `None` while the row waits for a decision.
    pub decision: Option<String>,
}

/// How many set-aside rows wait for a decision.
pub fn waiting(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM quarantine WHERE decided_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

impl Store {
    /// The set-aside rows, oldest first: those waiting for a decision, or all.
    pub fn quarantined(&self, all: bool) -> Result<Vec<Quarantined>> {
        let mut stmt = self.conn.prepare(
            "SELECT fid, table_name, row_id, incoming, file_digest, reason, decided_at, decision
             FROM quarantine WHERE ?1 OR decided_at IS NULL ORDER BY fid",
        )?;
        let rows = stmt
            .query_map([all], |r| {
                let incoming: String = r.get(3)?;
                Ok(Quarantined {
                    id: r.get(0)?,
                    table: r.get(1)?,
                    row_id: r.get(2)?,
                    incoming: serde_json::from_str(&incoming)
                        .unwrap_or(serde_json::Value::String(incoming)),
                    file_digest: r.get(4)?,
                    reason: r.get(5)?,
                    decided_at: r.get(6)?,
                    decision: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// A person decides a set-aside row is not wanted: the decision is
    /// recorded (the row stays in the table, listed with `--all`); the row we
    /// hold under its id is untouched.
    pub fn drop_quarantined(&mut self, id: i64) -> Result<()> {
        let decided: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT decided_at FROM quarantine WHERE fid = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        match decided {
            None => Err(StoreError::NoSuchRecord {
                kind: "quarantined row",
                id: id.to_string(),
            }),
            Some(Some(at)) => Err(StoreError::Invalid(format!(
                "quarantined row {id} was decided on at {at}"
            ))),
            Some(None) => {
                self.conn.execute(
                    "UPDATE quarantine SET decided_at = ?2, decision = 'dropped' WHERE fid = ?1",
                    params![
                        id,
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    ],
                )?;
                Ok(())
            }
        }
    }
}
