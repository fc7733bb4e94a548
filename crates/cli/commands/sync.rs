//! export, merge, ledger, conflicts: the CLI face of patrol-sync.

use anyhow::{Context, Result};
use patrol_store::Store;
use patrol_store::conflicts::shown_id;
use patrol_sync::{Limits, MergeReport, MergeStatus};

use crate::Outcome;
use crate::args::{ConflictsArgs, ConflictsCommand, ExportArgs, MergeArgs};
use crate::progress::{FileOutcome, Files};
use patrol_report::table::{Table, escape};

pub fn export(store: &mut Store, a: &ExportArgs) -> Result<Outcome> {
    let out = a.out.as_deref().context("--out FILE is required")?;
    crate::output::Output::new(Some(store.path()), a.force).check(out)?;
    let r = patrol_sync::export(store, out, a.since_last_export, a.force)?;
    if a.json {
        super::json(&r)?;
    } else {
        eprintln!(
            "wrote {}: {} versions, {} track pieces, {} bytes{}",
            r.file,
            r.versions,
            r.track_pieces,
            r.bytes,
            if r.delta {
                " (new since the last export)"
            } else {
                ""
            }
        );
    }
    if let Some(w) = &r.warning {
        eprintln!("patrol: warning: {}", escape(w));
    }
    Ok(Outcome::Done)
}

/// What `merge` says of a file as it is done.
impl FileOutcome for MergeReport {
    fn notes(&self) -> Vec<String> {
        self.error
            .iter()
            .map(|e| format!("patrol: rejected: {}", escape(e)))
            .collect()
    }
}

pub fn merge(store: &mut Store, a: &MergeArgs, quiet: bool) -> Result<Outcome> {
    let limits = Limits {
        max_bytes: a.max_mib.saturating_mul(1 << 20),
    };
    let reports = Files::each(&a.files, quiet, a.json, |file| {
        patrol_sync::merge(store, file, &limits).unwrap_or_else(|e| MergeReport::rejected(file, &e))
    });
    if a.json {
        super::json(&reports)?;
    } else {
        let mut t = Table::new(&[
            "file",
            "status",
            "new versions",
            "added",
            "changed",
            "conflicts",
            "quarantined",
            "track pieces",
        ]);
        for r in &reports {
            t.row(vec![
                r.file.clone(),
                super::word(&r.status),
                r.counts.new_versions.to_string(),
                r.counts.records_added.to_string(),
                r.counts.records_changed.to_string(),
                r.counts.conflicts.to_string(),
                r.counts.quarantined.to_string(),
                r.counts.track_pieces.to_string(),
            ]);
        }
        super::out(&t.render())?;
    }
    let rejected = reports.iter().any(|r| r.status == MergeStatus::Rejected);
    Ok(if rejected {
        Outcome::Partial
    } else {
        Outcome::Done
    })
}

pub fn ledger(store: &Store, json: bool) -> Result<Outcome> {
    let rows = patrol_sync::ledger(store)?;
    if json {
        super::json(&rows)?;
        return Ok(Outcome::Done);
    }
    let mut t = Table::new(&[
        "merged at",
        "file",
        "device",
        "site",
        "new versions",
        "track pieces",
        "digest",
    ])
    .text(&["device", "digest"]);
    for r in &rows {
        t.row(vec![
            r.merged_at.clone(),
            r.file_name.clone(),
            r.device_id.clone(),
            r.site_id.clone(),
            r.counts.new_versions.to_string(),
            r.counts.track_pieces.to_string(),
            r.file_digest.chars().take(16).collect(),
        ]);
    }
    super::out(&t.render())?;
    Ok(Outcome::Done)
}

pub fn conflicts(store: &mut Store, a: &ConflictsArgs) -> Result<Outcome> {
    if let Some(ConflictsCommand::Resolve { record, keep }) = &a.command {
        let r = store.resolve_named_conflict(record, keep)?;
        if a.json {
            super::json(&r)?;
        } else {
            super::out(&format!("{}\n", r.version_id))?;
        }
        eprintln!("resolved {} {}", r.kind, r.short_id);
        return Ok(Outcome::Done);
    }
    let list = patrol_sync::conflicts(store)?;
    if a.json {
        super::json(&list)?;
        return Ok(Outcome::Done);
    }
    if list.is_empty() {
        eprintln!("no conflicting edits");
        return Ok(Outcome::Done);
    }
    let mut t = Table::new(&["record", "kind", "version", "device", "shown", "content"])
        .text(&["version", "device"]);
    for c in &list {
        for h in &c.heads {
            t.row(vec![
                shown_id(&c.record_id).to_owned(),
                c.kind.to_owned(),
                h.version_id.clone(),
                h.device_id.clone(),
                if h.shown { "yes".into() } else { String::new() },
                if h.deleted {
                    "(deleted)".into()
                } else {
                    h.summary.clone()
                },
            ]);
        }
    }
    super::out(&t.render())?;
    eprintln!(
        "{} records with conflicting edits; keep one with `patrol conflicts resolve <record> --keep <version>`",
        list.len()
    );
    Ok(Outcome::Done)
}
