//! `patrol export --format geojson|csv|gpx`: observations and tracks for
//! other tools (QGIS, spreadsheets, a GPS), and the flags each format of
//! `export` takes.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use patrol_core::attribute::Value as AttrValue;
use patrol_core::category::DataModel;
use patrol_core::ids::short_id;
use patrol_store::Store;
use patrol_store::listing::{CountedTrack, Filter, ObservationListing, PatrolTrack};
use serde::Serialize;

use crate::Outcome;
use crate::args::{ExportArgs, ExportFormat};
use crate::output::Output;

/// What `export --format geojson|csv|gpx --json` prints.
#[derive(Serialize)]
struct Written {
    file: String,
    format: String,
    observations: usize,
    tracks: usize,
    track_points: usize,
    bytes: usize,
}

fn format_name(f: ExportFormat) -> String {
    f.to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// Whether `run` takes this export: a format of this module, or flags the
/// format does not take (`run` refuses them).
pub fn handles(a: &ExportArgs) -> bool {
    matches!(
        a.format,
        ExportFormat::Geojson | ExportFormat::Csv | ExportFormat::Gpx
    ) || misfit(a).is_some()
}

/// Why the flags do not fit the format, if they do not.
fn misfit(a: &ExportArgs) -> Option<String> {
    let dates = a.from.is_some() || a.to.is_some();
    let given = [
        ("--patrol", a.patrol.is_some()),
        ("--from/--to", dates),
        ("--site", a.site.is_some()),
        ("--category", !a.category.is_empty()),
        ("--out-dir", a.out_dir.is_some()),
        ("--since-last-export", a.since_last_export),
    ];
    let (refused, why): (&[&str], &str) = match a.format {
        ExportFormat::Gpkg => (
            &[
                "--patrol",
                "--from/--to",
                "--site",
                "--category",
                "--out-dir",
            ],
            "the sync GeoPackage holds the whole database, or what is new since the last export",
        ),
        ExportFormat::Smart => (
            &["--site", "--category", "--since-last-export"],
            "it writes --patrol ID --out FILE.xml, or --from D --to D --out-dir DIR",
        ),
        ExportFormat::Geojson | ExportFormat::Csv => (
            &["--out-dir", "--since-last-export"],
            "it writes one file, --out FILE, of what --from/--to, --site, --category and --patrol pick",
        ),
        ExportFormat::Gpx => (
            &["--from/--to", "--site", "--out-dir", "--since-last-export"],
            "it writes one patrol, --patrol ID --out FILE.gpx (--category picks its waypoints)",
        ),
    };
    let wrong: Vec<&str> = given
        .iter()
        .filter(|(name, on)| *on && refused.contains(name))
        .map(|(name, _)| *name)
        .collect();
    let name = format_name(a.format);
    if !wrong.is_empty() {
        return Some(format!(
            "--format {name} does not take {}: {why}; nothing was written",
            wrong.join(", ")
        ));
    }
    if a.format == ExportFormat::Smart && a.patrol.is_some() && dates {
        return Some(format!(
            "--format smart takes --patrol or --from/--to, not both: {why}; nothing was written"
        ));
    }
    None
}

pub fn run(store: &Store, a: &ExportArgs) -> Result<Outcome> {
    if let Some(why) = misfit(a) {
        bail!(why);
    }
    if a.format == ExportFormat::Gpx && a.patrol.is_none() {
        bail!(
            "--format gpx writes one patrol: give --patrol ID (`patrol patrols` lists them); nothing was written"
        );
    }
    let out = a
        .out
        .as_deref()
        .context("give the file to write: --out FILE")?;
    let output = Output::new(Some(store.path()), a.force);
    // Refused before anything is read.
    output.check(out)?;
    if let (Some(from), Some(to)) = (a.from, a.to)
        && from > to
    {
        bail!("--from {from} is after --to {to}");
    }
    let site = a
        .site
        .as_deref()
        .map(|s| super::report::pick_site(&store.sites()?, s))
        .transpose()?;
    let filter = Filter {
        dates: a.from.zip(a.to),
        site,
        patrol: a.patrol.clone(),
        categories: a.category.clone(),
    };
    let (bytes, mut written) = store.reading(|| -> Result<(Vec<u8>, Written)> {
        let observations = store.observation_listing(&filter)?;
        let blank = |tracks: usize, track_points: usize| Written {
            file: out.display().to_string(),
            format: format_name(a.format),
            observations: observations.len(),
            tracks,
            track_points,
            bytes: 0,
        };
        Ok(match a.format {
            ExportFormat::Geojson => {
                let tracks = store.counted_tracks(&filter)?;
                let points = tracks.iter().flat_map(|t| &t.lines).map(Vec::len).sum();
                (
                    geojson_file(&observations, &tracks)?,
                    blank(tracks.len(), points),
                )
            }
            ExportFormat::Csv => (csv_file(&store.data_model()?, &observations), blank(0, 0)),
            ExportFormat::Gpx => {
                let track = store.patrol_track(a.patrol.as_deref().unwrap_or_default())?;
                let points = track
                    .legs
                    .iter()
                    .flat_map(|l| &l.segments)
                    .map(Vec::len)
                    .sum();
                (
                    gpx_file(&track, &observations)?,
                    blank(track.legs.len(), points),
                )
            }
            ExportFormat::Gpkg | ExportFormat::Smart => {
                unreachable!("handles() sends only geojson, csv and gpx here")
            }
        })
    })?;
    written.bytes = bytes.len();
    output.write(out, &bytes)?;
    if a.json {
        super::json(&written)?;
    } else {
        eprintln!(
            "wrote {}: {} observations{}, {} bytes",
            written.file,
            written.observations,
            if a.format == ExportFormat::Csv {
                String::new()
            } else {
                format!(
                    ", {} tracks of {} points",
                    written.tracks, written.track_points
                )
            },
            written.bytes
        );
        if written.observations == 0 && written.tracks == 0 {
            eprintln!("patrol: warning: nothing matched: the file holds no data");
        }
    }
    Ok(Outcome::Done)
}

/// A coordinate to at most 7 decimals (about a centimetre).
fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

// --- GeoJSON (RFC 7946) ---

#[derive(Serialize)]
struct FeatureCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<Feature<'a>>,
}

#[derive(Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: Geometry,
    properties: Properties<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Point([f64; 2]),
    LineString(Vec<[f64; 2]>),
    MultiLineString(Vec<Vec<[f64; 2]>>),
}

#[derive(Serialize)]
#[serde(untagged)]
enum Properties<'a> {
    Observation {
        kind: &'static str,
        observation_id: &'a str,
        category: &'a str,
        label: &'a str,
        threat: bool,
        patrol_id: &'a str,
        team: &'a str,
        time: Option<&'a str>,
        local_time: Option<&'a str>,
        note: Option<&'a str>,
        attributes: &'a patrol_core::attribute::Values,
    },
    Track {
        kind: &'static str,
        patrol_id: &'a str,
        leg_id: &'a str,
        team: &'a str,
        transport: &'a str,
    },
}

fn position((lon, lat): (f64, f64)) -> [f64; 2] {
    [round7(lon), round7(lat)]
}

/// Observations as points, then each leg's counted track as a line (a
/// multi-line when it is in pieces), in WGS84 as RFC 7946 has it: [lon,
/// lat], no `crs`.
fn geojson_file(observations: &[ObservationListing], tracks: &[CountedTrack]) -> Result<Vec<u8>> {
    let mut features = Vec::with_capacity(observations.len() + tracks.len());
    for o in observations {
        features.push(Feature {
            kind: "Feature",
            id: &o.observation_id,
            geometry: Geometry::Point(position((o.lon, o.lat))),
            properties: Properties::Observation {
                kind: "observation",
                observation_id: &o.observation_id,
                category: &o.category,
                label: &o.label,
                threat: o.threat,
                patrol_id: &o.patrol_id,
                team: &o.team,
                time: o.time.as_deref(),
                local_time: o.local_time.as_deref(),
                note: o.note.as_deref(),
                attributes: &o.attributes,
            },
        });
    }
    for t in tracks {
        let mut lines: Vec<Vec<[f64; 2]>> = t
            .lines
            .iter()
            .map(|l| l.iter().copied().map(position).collect())
            .collect();
        let geometry = if lines.len() == 1 {
            Geometry::LineString(lines.remove(0))
        } else {
            Geometry::MultiLineString(lines)
        };
        features.push(Feature {
            kind: "Feature",
            id: &t.leg_id,
            geometry,
            properties: Properties::Track {
                kind: "track",
                patrol_id: &t.patrol_id,
                leg_id: &t.leg_id,
                team: &t.team,
                transport: &t.transport,
            },
        });
    }
    let mut bytes = serde_json::to_vec(&FeatureCollection {
        kind: "FeatureCollection",
        features,
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

// --- CSV ---

/// The attribute keys of these observations: the data model's order, then
/// keys it lacks by key.
fn attribute_columns(model: &DataModel, observations: &[ObservationListing]) -> Vec<String> {
    let keys: BTreeSet<&String> = observations
        .iter()
        .flat_map(|o| o.attributes.keys())
        .collect();
    let mut keys: Vec<&String> = keys.into_iter().collect();
    keys.sort_by_key(|k| {
        (
            model
                .attributes
                .iter()
                .position(|a| &a.key == *k)
                .unwrap_or(usize::MAX),
            (*k).clone(),
        )
    });
    keys.into_iter().cloned().collect()
}

/// One row per observation, a header, a column per attribute. Every text
/// cell goes through the report's [`patrol_report::csv::field`] (quoted as
/// needed, a leading `'` on what a spreadsheet would run as a formula);
/// numbers are written as numbers.
fn csv_file(model: &DataModel, observations: &[ObservationListing]) -> Vec<u8> {
    use patrol_report::csv::field;
    let columns = attribute_columns(model, observations);
    let mut header: Vec<String> = [
        "observation_id",
        "patrol_id",
        "team",
        "category",
        "label",
        "threat",
        "time",
        "local_time",
        "lon",
        "lat",
        "note",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    header.extend(columns.iter().map(|c| field(c)));
    let mut out = header.join(",");
    out.push('\n');
    let text = |s: Option<&str>| s.map(field).unwrap_or_default();
    for o in observations {
        let mut row = vec![
            field(&o.observation_id),
            field(&o.patrol_id),
            field(&o.team),
            field(&o.category),
            field(&o.label),
            o.threat.to_string(),
            text(o.time.as_deref()),
            text(o.local_time.as_deref()),
            round7(o.lon).to_string(),
            round7(o.lat).to_string(),
            text(o.note.as_deref()),
        ];
        for c in &columns {
            row.push(match o.attributes.get(c) {
                None => String::new(),
                Some(AttrValue::Number(n)) => n.to_string(),
                Some(AttrValue::Bool(b)) => b.to_string(),
                Some(AttrValue::Text(t)) => field(t),
            });
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

// --- GPX ---

/// Text XML 1.0 may hold: a character it may not becomes U+FFFD.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

fn gpx_time(micros: i64) -> Result<gpx::Time> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .with_context(|| format!("a time out of range ({micros} µs)"))?;
    Ok(t.into())
}

/// GPX 1.1 of one patrol: its observations as waypoints (name: the
/// category's label, which `patrol import` matches again; desc: the note;
/// type: the category key), a trk per leg and a trkseg per segment, every
/// fix as recorded with its time and elevation.
fn gpx_file(track: &PatrolTrack, observations: &[ObservationListing]) -> Result<Vec<u8>> {
    let short = short_id(&track.patrol_id);
    let mut doc = gpx::Gpx {
        version: gpx::GpxVersion::Gpx11,
        creator: Some(format!("patrol {}", env!("CARGO_PKG_VERSION"))),
        metadata: Some(gpx::Metadata {
            name: Some(xml_text(&if track.team.is_empty() {
                format!("Patrol {short}")
            } else {
                format!("Patrol {short}, {}", track.team)
            })),
            ..gpx::Metadata::default()
        }),
        ..gpx::Gpx::default()
    };
    for o in observations {
        let mut w = gpx::Waypoint::new(geo::Point::new(o.lon, o.lat));
        w.name = Some(xml_text(&o.label));
        w.description = o.note.as_deref().map(xml_text);
        w.type_ = Some(xml_text(&o.category));
        w.time = o.time_us.map(gpx_time).transpose()?;
        doc.waypoints.push(w);
    }
    for (n, leg) in track.legs.iter().enumerate() {
        let mut trk = gpx::Track {
            name: Some(format!("Leg {} ({})", n + 1, leg.transport)),
            type_: Some(xml_text(&leg.transport)),
            ..gpx::Track::default()
        };
        for segment in leg.segments.iter().filter(|s| !s.is_empty()) {
            let mut seg = gpx::TrackSegment::default();
            for p in segment {
                let mut w = gpx::Waypoint::new(geo::Point::new(p.lon, p.lat));
                w.elevation = p.ele;
                w.time = p.time.map(gpx_time).transpose()?;
                seg.points.push(w);
            }
            trk.segments.push(seg);
        }
        doc.tracks.push(trk);
    }
    let mut bytes = Vec::new();
    gpx::write(&doc, &mut bytes).context("cannot write the GPX")?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_keep_seven_decimals_at_most() {
        assert_eq!(round7(102.123_456_789).to_string(), "102.1234568");
        assert_eq!(round7(-71.06).to_string(), "-71.06");
        assert_eq!(round7(14.312).to_string(), "14.312");
    }

    #[test]
    fn xml_text_drops_what_xml_cannot_hold() {
        assert_eq!(xml_text("a\u{1}b\tc\n"), "a\u{fffd}b\tc\n");
    }
}
