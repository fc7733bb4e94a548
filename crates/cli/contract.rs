//! The JSON of `--json` outputs is a public contract: a name once printed
//! stays. Names added beside the old ones make every output say a thing the
//! same way: a site is `site_id` plus `site_name`, a file is `file`, an
//! undated day is `null`. (The old names, `site`, `source_file`,
//! `file_name`, stay as they were.)

use anyhow::Result;
use patrol_store::Store;
use patrol_store::query::{
    DayRow, LegRow, MarkedFixRow, ObservationRow, PatrolDetail, PatrolSummary,
};
use patrol_store::records::{self, Kind};
use serde::Serialize;

/// Patrols' site ids, from the name the summary gives: one query for the
/// sites; a patrol's own versions only when two sites share its name.
pub struct SiteIds {
    by_name: std::collections::HashMap<String, Option<String>>,
}

impl SiteIds {
    pub fn new(store: &Store) -> Result<Self> {
        let mut by_name = std::collections::HashMap::new();
        for site in patrol_store::query::sites(store.conn())? {
            by_name
                .entry(site.name)
                // A second site of that name: look the patrol up instead.
                .and_modify(|id: &mut Option<String>| *id = None)
                .or_insert_with(|| Some(site.id.to_string()));
        }
        Ok(SiteIds { by_name })
    }

    fn of(&self, store: &Store, summary: &PatrolSummary) -> Result<Option<String>> {
        if let Some(Some(id)) = self.by_name.get(&summary.site) {
            return Ok(Some(id.clone()));
        }
        let Some(head) = records::heads(store.conn(), Kind::Patrol, &summary.patrol_id)?.pop()
        else {
            return Ok(None);
        };
        let patrol = patrol_store::edit::load_patrol(store.conn(), &head.version_id)?;
        Ok(Some(patrol.site.to_string()))
    }
}

/// A line of `patrols --json`.
#[derive(Serialize)]
pub struct PatrolJson<'a> {
    #[serde(flatten)]
    summary: &'a PatrolSummary,
    site_id: Option<String>,
    site_name: &'a str,
    file: Option<&'a str>,
}

pub fn patrol<'a>(
    store: &Store,
    sites: &SiteIds,
    summary: &'a PatrolSummary,
) -> Result<PatrolJson<'a>> {
    Ok(PatrolJson {
        site_id: sites.of(store, summary)?,
        site_name: &summary.site,
        file: summary.source_file.as_deref(),
        summary,
    })
}

/// A day of `show --json`: `date` is null when the track has no time.
#[derive(Serialize)]
pub struct DayJson<'a> {
    date: Option<&'a str>,
    km: f64,
    hours: f64,
    active_hours: f64,
    track_points: u64,
}

impl<'a> From<&'a DayRow> for DayJson<'a> {
    fn from(d: &'a DayRow) -> Self {
        DayJson {
            date: Some(d.date.as_str()).filter(|s| !s.is_empty()),
            km: d.km,
            hours: d.hours,
            active_hours: d.active_hours,
            track_points: d.track_points,
        }
    }
}

/// `show --json`: every field of [`PatrolDetail`], in its order, and the
/// consistent names.
#[derive(Serialize)]
pub struct DetailJson<'a> {
    #[serde(flatten)]
    patrol: PatrolJson<'a>,
    objective: Option<&'a str>,
    legs: &'a [LegRow],
    days: Vec<DayJson<'a>>,
    observations: &'a [ObservationRow],
    segments: u64,
    versions: u64,
    warnings: &'a [patrol_core::effort::Warning],
    marked_fixes: &'a [MarkedFixRow],
    recorded_km: f64,
}

pub fn detail<'a>(store: &Store, d: &'a PatrolDetail) -> Result<DetailJson<'a>> {
    Ok(DetailJson {
        patrol: patrol(store, &SiteIds::new(store)?, &d.summary)?,
        objective: d.objective.as_deref(),
        legs: &d.legs,
        days: d.days.iter().map(DayJson::from).collect(),
        observations: &d.observations,
        segments: d.segments,
        versions: d.versions,
        warnings: &d.warnings,
        marked_fixes: &d.marked_fixes,
        recorded_km: d.recorded_km,
    })
}

/// A line of `ledger --json`.
#[derive(Serialize)]
pub struct LedgerJson<'a> {
    #[serde(flatten)]
    entry: &'a patrol_sync::LedgerEntry,
    site_name: Option<String>,
    file: &'a str,
}

pub fn ledger<'a>(store: &Store, entry: &'a patrol_sync::LedgerEntry) -> Result<LedgerJson<'a>> {
    let site_name = match entry.site_id.parse() {
        Ok(id) => patrol_store::query::site(store.conn(), id)?.map(|s| s.name),
        Err(_) => None,
    };
    Ok(LedgerJson {
        site_name,
        file: &entry.file_name,
        entry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `show --json` names every field the store's detail has: a field
    /// added there must be added here too.
    #[test]
    fn the_detail_json_keeps_every_field_of_the_store() {
        let summary = PatrolSummary {
            patrol_id: "p".into(),
            short_id: "p".into(),
            site: "Thap Lan".into(),
            team: "Alpha".into(),
            leader: None,
            transport: Vec::new(),
            members: 1,
            start: None,
            end: None,
            first_date: None,
            last_date: None,
            km: 0.0,
            hours: 0.0,
            track_points: 0,
            observations: 0,
            threats: 0,
            source_file: Some("a.gpx".into()),
            origin_device: "d".into(),
            conflict: false,
        };
        let d = PatrolDetail {
            summary,
            objective: None,
            legs: Vec::new(),
            days: vec![DayRow {
                date: String::new(),
                km: 1.0,
                hours: 0.0,
                active_hours: 0.0,
                track_points: 2,
            }],
            observations: Vec::new(),
            segments: 1,
            versions: 1,
            warnings: Vec::new(),
            marked_fixes: Vec::new(),
            recorded_km: 1.0,
        };
        let store_keys: Vec<String> = match serde_json::to_value(&d).unwrap() {
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            _ => unreachable!(),
        };
        let ours = DetailJson {
            patrol: PatrolJson {
                summary: &d.summary,
                site_id: None,
                site_name: &d.summary.site,
                file: d.summary.source_file.as_deref(),
            },
            objective: None,
            legs: &d.legs,
            days: d.days.iter().map(DayJson::from).collect(),
            observations: &d.observations,
            segments: d.segments,
            versions: d.versions,
            warnings: &d.warnings,
            marked_fixes: &d.marked_fixes,
            recorded_km: d.recorded_km,
        };
        let ours = serde_json::to_value(&ours).unwrap();
        for k in &store_keys {
            assert!(ours.get(k).is_some(), "show --json lost {k}");
        }
        assert_eq!(ours["file"], "a.gpx");
        assert_eq!(ours["site_name"], "Thap Lan");
        assert!(ours["days"][0]["date"].is_null());
    }
}
