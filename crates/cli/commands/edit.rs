use anyhow::Result;
use patrol_core::ids::short_id;
use patrol_store::Store;
use patrol_store::edit::{EditAnswer, ObservationEditText, PatrolEdit, VersionAnswer};
use patrol_store::records::Kind;

use crate::Outcome;
use crate::args::{DeleteCommand, EditCommand};

pub fn edit(store: &mut Store, what: &EditCommand, json: bool) -> Result<Outcome> {
    let (kind, id) = match what {
        EditCommand::Observation { id, .. } => (Kind::Observation, id),
        EditCommand::Patrol { id, .. } => (Kind::Patrol, id),
    };
    let id = &store.resolve_record(kind, id)?;
    let version = match what {
        EditCommand::Observation {
            patrol,
            category,
            note,
            at,
            time,
            attr,
            ..
        } => {
            let edit = store.read_observation_edit(&ObservationEditText {
                patrol: patrol.clone(),
                category: category.clone(),
                note: note.clone(),
                at: at.clone(),
                time: time.clone(),
                attributes: attr.clone(),
            })?;
            store.edit_observation_outcome(id, &edit)?
        }
        EditCommand::Patrol {
            team,
            leader,
            objective,
            transport,
            members,
            date,
            keep_fix,
            drop_fix,
            ..
        } => {
            let mut fix_overrides = Vec::new();
            for (list, keep) in [(keep_fix, true), (drop_fix, false)] {
                for text in list {
                    fix_overrides.push(fix_override(text, keep)?);
                }
            }
            let edit = PatrolEdit {
                team: team.clone(),
                leader: leader.clone(),
                objective: objective.clone(),
                transport: transport.map(Into::into),
                members: *members,
                date: *date,
                fix_overrides,
            };
            store.edit_patrol_outcome(id, &edit)?
        }
    };
    if json {
        super::json(&EditAnswer::new(kind, id, &version))?;
        return Ok(Outcome::Done);
    }
    super::out(&format!("{}\n", version.version_id()))?;
    if version.changed() {
        eprintln!("edited {} {}", kind.name(), short_id(id));
    } else {
        eprintln!(
            "nothing changed: {} {} is already so (no new version)",
            kind.name(),
            short_id(id)
        );
    }
    Ok(Outcome::Done)
}

fn kind_and_id(what: &DeleteCommand) -> (Kind, &str) {
    match what {
        DeleteCommand::Observation { id } => (Kind::Observation, id),
        DeleteCommand::Patrol { id } => (Kind::Patrol, id),
    }
}

/// What `delete --json` and `restore --json` print.
fn version_json(kind: Kind, id: &str, version: &str) -> Result<()> {
    super::json(&VersionAnswer::new(kind, id, version))
}

pub fn delete(store: &mut Store, what: &DeleteCommand, json: bool) -> Result<Outcome> {
    let (kind, id) = kind_and_id(what);
    let id = store.resolve_record(kind, id)?;
    let version = store.delete_record(kind, &id)?;
    if json {
        version_json(kind, &id, &version)?;
        return Ok(Outcome::Done);
    }
    super::out(&format!("{version}\n"))?;
    eprintln!(
        "deleted {kind} {short} (undo with `patrol restore {kind} {short}`)",
        kind = kind.name(),
        short = short_id(&id)
    );
    Ok(Outcome::Done)
}

pub fn restore(store: &mut Store, what: &DeleteCommand, json: bool) -> Result<Outcome> {
    let (kind, id) = kind_and_id(what);
    let id = store.resolve_record(kind, id)?;
    let version = store.restore_record(kind, &id)?;
    if json {
        version_json(kind, &id, &version)?;
        return Ok(Outcome::Done);
    }
    super::out(&format!("{version}\n"))?;
    eprintln!("restored {} {}", kind.name(), short_id(&id));
    Ok(Outcome::Done)
}

/// "SEGMENT:POINT", counted from 1 as people count.
fn fix_override(text: &str, keep: bool) -> Result<patrol_core::qc::FixOverride> {
    let bad = || anyhow::anyhow!("'{text}' is not SEGMENT:POINT (e.g. 1:17, counted from 1)");
    let (s, p) = text.trim().split_once(':').ok_or_else(bad)?;
    let (s, p): (u32, u32) = (s.parse().map_err(|_| bad())?, p.parse().map_err(|_| bad())?);
    if s == 0 || p == 0 {
        return Err(bad());
    }
    Ok(patrol_core::qc::FixOverride {
        segment: s - 1,
        point: p - 1,
        keep,
    })
}
