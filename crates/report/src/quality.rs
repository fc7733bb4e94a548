//! The data-quality section's rows, shared by the text, CSV and HTML
//! renderers (they only format them).

use patrol_core::metrics::{DataQuality, Report};

use crate::num::fixed;

/// A human name for a finding's kind.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "null_island" => "Fixes at 0,0 (no fix yet)",
        "spike" => "Spikes far off the track",
        "stale_fix" => "Stale fixes (last position, days before)",
        "stay" => "Stays in one place over the pause limit",
        "dropped_fix" => "Fixes dropped by a person",
        "time_gap" => "Pauses over the limit (unit off)",
        "implausible_speed" => "Faster than the transport allows",
        "long_patrol" => "Patrol spans too many days",
        "early_time" => "Dated before 2000",
        "future_time" => "Dated in the future",
        "week_rollover" => "GPS week rollover?",
        "no_zone" => "Times without a zone",
        "outside_boundary" => "Track outside the boundary",
        "undated" => "Track without time",
        "duplicate_track" => "Shares its track with another patrol",
        "deleted_patrol" => "A deleted patrol's track",
        _ => "Other",
    }
}

/// Rows of what quality control left out: kind, patrols, fixes, km, hours.
pub fn excluded_rows(dq: &DataQuality) -> Vec<Vec<String>> {
    dq.excluded
        .iter()
        .map(|e| {
            vec![
                kind_label(e.kind.as_str()).to_owned(),
                e.patrols.to_string(),
                e.fixes.to_string(),
                fixed(e.km, 1),
                fixed(e.hours, 1),
            ]
        })
        .collect()
}

/// The headers of [`excluded_rows`].
pub const EXCLUDED_HEADERS: [&str; 5] = ["Left out", "Patrols", "Fixes", "km", "Hours"];

/// Rows of patrols to look at: patrol, team, file, what.
pub fn flagged_rows(dq: &DataQuality) -> Vec<Vec<String>> {
    dq.flagged_patrols
        .iter()
        .map(|f| {
            vec![
                f.patrol_id.to_string(),
                f.team.clone(),
                f.file.clone().unwrap_or_default(),
                f.kinds
                    .iter()
                    .map(|k| kind_label(k.as_str()))
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect()
}

/// The headers of [`flagged_rows`].
pub const FLAGGED_HEADERS: [&str; 4] = ["Patrol", "Team", "File", "To look at"];

/// Rows of tracks held twice: patrol, other patrol, files, shared.
pub fn duplicate_rows(dq: &DataQuality) -> Vec<Vec<String>> {
    dq.duplicate_tracks
        .iter()
        .map(|d| {
            vec![
                d.patrol_id.to_string(),
                d.other_patrol_id.to_string(),
                format!(
                    "{} / {}",
                    d.file.as_deref().unwrap_or("-"),
                    d.other_file.as_deref().unwrap_or("-")
                ),
                if d.same {
                    "the same track".to_owned()
                } else {
                    format!("{:.0} % of fixes", d.shared * 100.0)
                },
            ]
        })
        .collect()
}

/// The headers of [`duplicate_rows`].
pub const DUPLICATE_HEADERS: [&str; 4] = ["Patrol", "Other patrol", "Files", "Shared"];

/// One line each: the totals a reader should see even when all is well.
pub fn summary_lines(r: &Report) -> Vec<String> {
    let dq = &r.data_quality;
    vec![
        format!(
            "Left out by quality control: {} km and {} h (recorded but not counted)",
            fixed(dq.km_excluded, 1),
            fixed(dq.hours_excluded, 1)
        ),
        format!("Patrols to look at: {}", dq.flagged_patrols.len()),
        format!("Tracks held by two patrols: {}", dq.duplicate_tracks.len()),
        format!("Unresolved conflicts: {}", dq.unresolved_conflicts),
        format!(
            "Undated (in no period): {} observation(s), {} km of track",
            dq.undated_observations,
            fixed(dq.undated_km, 1)
        ),
    ]
}
