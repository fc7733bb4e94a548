//! The report's data-quality section: what quality control left out of the
//! period's figures and why, the patrols a person should look at, tracks held
//! twice, unresolved conflicts, and what has no date (docs/METRICS.md,
//! "Data quality"). The store supplies the facts; this only adds them up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::effort::{Warning, WarningKind};
use crate::ids::{PatrolId, SiteId};

/// One leg's quality-control findings, as stored beside its track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityFact {
    /// The site of the leg's patrol.
    pub site: SiteId,
    /// The leg's patrol.
    pub patrol: PatrolId,
    /// The patrol's team.
    pub team: String,
    /// The patrol's GPX file name; `None` when it came from no file.
    pub file: Option<String>,
    /// Every recorded pair, km.
    pub raw_km: f64,
    /// What counts, km.
    pub km: f64,
    /// Everything the import and quality control said about the leg, import warnings first.
    pub warnings: Vec<Warning>,
}

/// Two live patrols holding the same track (or one holding the other's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuplicateFact {
    /// The patrol of the pair whose id sorts first.
    pub patrol: PatrolId,
    /// The other patrol of the pair.
    pub other: PatrolId,
    /// `patrol`'s GPX file name; `None` when it came from no file.
    pub file: Option<String>,
    /// `other`'s GPX file name; `None` when it came from no file.
    pub other_file: Option<String>,
    /// Sampled fixes the two share, and each one's samples.
    pub shared: u64,
    /// How many sampled fixes `patrol`'s leg has.
    pub samples: u64,
    /// How many sampled fixes `other`'s leg has.
    pub other_samples: u64,
    /// The same track: every sampled fix shared and the same number of fixes.
    pub same: bool,
}

/// The facts of the data-quality section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QualityInput {
    /// Legs with effort in the period.
    pub facts: Vec<QualityFact>,
    /// Pairs of live patrols holding the same track, at least one with effort in the period.
    pub duplicates: Vec<DuplicateFact>,
    /// Records with more than one head (edited on two devices).
    pub conflicts: u64,
}

/// What one kind of finding left out of the figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    /// The exclusion: `null_island`, `spike`, `stale_fix`, `stay`, `dropped_fix` or `time_gap`.
    pub kind: WarningKind,
    /// Distinct patrols it left something out of.
    pub patrols: u64,
    /// Fixes it left out (0 for `time_gap`, which leaves out only hours).
    pub fixes: u64,
    /// Track length it left out, km.
    pub km: f64,
    /// Patrol time it left out, hours.
    pub hours: f64,
}

/// A patrol a person should look at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flagged {
    /// The patrol to look at.
    pub patrol_id: PatrolId,
    /// The patrol's team.
    pub team: String,
    /// The patrol's GPX file name; `None` when it came from no file.
    pub file: Option<String>,
    /// The kinds of its warnings that [`needs_a_look`], each once, in the order first met.
    pub kinds: Vec<WarningKind>,
    /// The warnings' own words, one per kind.
    pub messages: Vec<String>,
}

/// Two patrols holding the same track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuplicateTrack {
    /// The patrol of the pair whose id sorts first.
    pub patrol_id: PatrolId,
    /// The other patrol of the pair.
    pub other_patrol_id: PatrolId,
    /// `patrol_id`'s GPX file name; `None` when it came from no file.
    pub file: Option<String>,
    /// `other_patrol_id`'s GPX file name; `None` when it came from no file.
    pub other_file: Option<String>,
    /// Share of the smaller track's sampled fixes that the other holds too.
    pub shared: f64,
    /// The same track: every sampled fix shared and the same number of fixes.
    pub same: bool,
}

/// The report's data-quality section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataQuality {
    /// What quality control left out of the period's patrols, by kind.
    pub excluded: Vec<Excluded>,
    /// Track length quality control left out: the sum of `excluded`, km.
    pub km_excluded: f64,
    /// Patrol time quality control left out: the sum of `excluded`, hours.
    pub hours_excluded: f64,
    /// Patrols with a warning a person should look at, by patrol id.
    pub flagged_patrols: Vec<Flagged>,
    /// Pairs of live patrols holding the same track.
    pub duplicate_tracks: Vec<DuplicateTrack>,
    /// Records edited on two devices and not yet resolved, in the whole database (not only the period).
    pub unresolved_conflicts: u64,
    /// Km of track without any date, so in no period (as at the report's top level).
    pub undated_km: f64,
    /// Observations without any date, so in no period (as at the report's top level).
    pub undated_observations: u64,
    /// Km of the period's track outside its site's boundary (when known).
    pub km_outside_boundary: f64,
}

/// Kinds whose figures are left out automatically (reported, not flagged).
fn is_exclusion(kind: WarningKind) -> bool {
    matches!(
        kind,
        WarningKind::NullIsland
            | WarningKind::Spike
            | WarningKind::StaleFix
            | WarningKind::Stay
            | WarningKind::DroppedFix
            | WarningKind::TimeGap
    )
}

/// Kinds that need a person's eye (a wrong transport, a clock, a duplicate...).
pub fn needs_a_look(kind: WarningKind) -> bool {
    !is_exclusion(kind)
        && !matches!(
            kind,
            WarningKind::Gpx
                | WarningKind::RoutePoints
                | WarningKind::KeptFix
                | WarningKind::DatedByHand
        )
}

/// The section, from the period's facts.
pub fn data_quality(q: &QualityInput, undated_km: f64, undated_observations: u64) -> DataQuality {
    let mut excluded: BTreeMap<WarningKind, (std::collections::BTreeSet<PatrolId>, Excluded)> =
        BTreeMap::new();
    let mut flagged: BTreeMap<PatrolId, Flagged> = BTreeMap::new();
    let mut outside = 0.0;
    for f in &q.facts {
        for w in &f.warnings {
            if w.kind == WarningKind::OutsideBoundary {
                outside += w.km.unwrap_or(0.0);
            }
            if is_exclusion(w.kind) {
                let (patrols, e) = excluded.entry(w.kind).or_insert_with(|| {
                    (
                        std::collections::BTreeSet::new(),
                        Excluded {
                            kind: w.kind,
                            patrols: 0,
                            fixes: 0,
                            km: 0.0,
                            hours: 0.0,
                        },
                    )
                });
                patrols.insert(f.patrol);
                e.fixes += w.points;
                e.km += w.km_excluded;
                e.hours += w.hours_excluded;
            } else if needs_a_look(w.kind) {
                let entry = flagged.entry(f.patrol).or_insert_with(|| Flagged {
                    patrol_id: f.patrol,
                    team: f.team.clone(),
                    file: f.file.clone(),
                    kinds: Vec::new(),
                    messages: Vec::new(),
                });
                if !entry.kinds.contains(&w.kind) {
                    entry.kinds.push(w.kind);
                    entry.messages.push(w.message.clone());
                }
            }
        }
    }
    let excluded: Vec<Excluded> = excluded
        .into_values()
        .map(|(patrols, mut e)| {
            e.patrols = patrols.len() as u64;
            e
        })
        .collect();
    DataQuality {
        km_excluded: excluded.iter().map(|e| e.km).sum(),
        hours_excluded: excluded.iter().map(|e| e.hours).sum(),
        excluded,
        flagged_patrols: flagged.into_values().collect(),
        duplicate_tracks: q
            .duplicates
            .iter()
            .map(|d| DuplicateTrack {
                patrol_id: d.patrol,
                other_patrol_id: d.other,
                file: d.file.clone(),
                other_file: d.other_file.clone(),
                shared: d.shared as f64 / d.samples.min(d.other_samples).max(1) as f64,
                same: d.same,
            })
            .collect(),
        unresolved_conflicts: q.conflicts,
        undated_km,
        undated_observations,
        km_outside_boundary: outside,
    }
}
