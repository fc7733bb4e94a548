//! Checks across rows: no cycle of parents, and every device and site a row
//! names is described.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use patrol_store::records::Kind;
use rusqlite::Connection;

use super::rules::Stamps;
use crate::SyncError;

/// No record's versions, in the file and here together, name each other as
/// parents in a cycle: such a record has no head, and whether it shows would
/// depend on the order files arrive in. Only cycles through a version new
/// here count (one already here is listed by `patrol conflicts`).
pub(super) fn cycles(conn: &Connection, schema: &str, file: &Path) -> Result<(), SyncError> {
    let sqlite = SyncError::sqlite(file);
    for kind in Kind::ALL {
        let (t, rec) = (kind.versions_table(), kind.id_column());
        let sql = format!(
            "SELECT i.version_id, i.{rec}, i.parents,
               NOT EXISTS (SELECT 1 FROM main.{t} m WHERE m.version_id = i.version_id)
             FROM {schema}.{t} i
             UNION
             SELECT m.version_id, m.{rec}, m.parents, 0 FROM main.{t} m
             WHERE m.{rec} IN (SELECT {rec} FROM {schema}.{t})
               AND NOT EXISTS (SELECT 1 FROM {schema}.{t} i WHERE i.version_id = m.version_id)"
        );
        // record -> version -> (parents, new here)
        let mut graph: HashMap<String, HashMap<String, (Vec<String>, bool)>> = HashMap::new();
        let mut stmt = conn.prepare(&sql).map_err(&sqlite)?;
        let mut rows = stmt.query([]).map_err(&sqlite)?;
        while let Some(r) = rows.next().map_err(&sqlite)? {
            let (version, record, parents, new): (String, String, String, bool) =
                patrol_store::row_tuple(r).map_err(&sqlite)?;
            let parents: Vec<String> = serde_json::from_str(&parents).unwrap_or_default();
            if parents.is_empty() {
                graph.entry(record).or_default();
                continue;
            }
            graph
                .entry(record)
                .or_default()
                .insert(version, (parents, new));
        }
        for versions in graph.values() {
            if let Some(cycle) = find_cycle(versions) {
                return Err(SyncError::BadRow {
                    file: file.to_owned(),
                    table: t.to_owned(),
                    id: cycle[0].clone(),
                    what: format!(
                        "the {} record's versions name each other as parents in a cycle ({}): \
                         the record would have no head",
                        kind.name(),
                        cycle.join(" -> ")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// A cycle through at least one new version, as a path of version ids
/// (first = last), if the parent links hold one.
fn find_cycle(versions: &HashMap<String, (Vec<String>, bool)>) -> Option<Vec<String>> {
    // Iterative depth-first search; 1 = on the path, 2 = done.
    let mut state: HashMap<&str, u8> = HashMap::new();
    let mut starts: Vec<&String> = versions.keys().collect();
    starts.sort();
    for start in starts {
        if state.contains_key(start.as_str()) {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        state.insert(start, 1);
        while let Some(&mut (v, ref mut next)) = path.last_mut() {
            let parents = &versions[v].0;
            if let Some(p) = parents.get(*next) {
                *next += 1;
                if !versions.contains_key(p) {
                    continue;
                }
                match state.get(p.as_str()) {
                    Some(1) => {
                        let at = path.iter().position(|(x, _)| *x == p).expect("on the path");
                        let cycle: Vec<&str> = path[at..].iter().map(|(x, _)| *x).collect();
                        if cycle.iter().any(|x| versions[*x].1) {
                            let mut out: Vec<String> =
                                cycle.iter().map(|x| (*x).to_owned()).collect();
                            out.push(p.clone());
                            return Some(out);
                        }
                    }
                    Some(_) => {}
                    None => {
                        state.insert(p, 1);
                        path.push((p, 0));
                    }
                }
            } else {
                state.insert(v, 2);
                path.pop();
            }
        }
    }
    None
}

/// Every device and site a row names is described in the file (or here):
/// `stamps` holds the pairs the rows of the stamped tables name (gathered
/// while they were validated, so their blobs are not read again).
pub(super) fn references(
    conn: &Connection,
    schema: &str,
    file: &Path,
    stamps: &Stamps,
) -> Result<(), SyncError> {
    let sqlite = SyncError::sqlite(file);
    let known = |table: &str, col: &str| -> Result<HashSet<String>, SyncError> {
        let sql =
            format!("SELECT {col} FROM {schema}.{table} UNION SELECT {col} FROM main.{table}");
        conn.prepare(&sql)
            .map_err(&sqlite)?
            .query_map([], |r| r.get(0))
            .map_err(&sqlite)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&sqlite)
    };
    let devices = known("devices", "device_id")?;
    let sites = known("sites", "site_id")?;
    // Each stamped table's pairs in order, as its rows were read.
    for ((table, device, site), id) in stamps {
        let what = if devices.contains(device) {
            if sites.contains(site) {
                continue;
            }
            format!("site {site} is in neither the file's sites nor ours")
        } else {
            format!("device {device} is in neither the file's devices nor ours")
        };
        return Err(SyncError::BadRow {
            file: file.to_owned(),
            table: crate::STAMPED_TABLES[*table].0.to_owned(),
            id: id.clone(),
            what,
        });
    }
    Ok(())
}
