//! The 28 real files from gpxpy's test suite, checked against `truth.json`,
//! and against a second opinion: the `gpx` crate.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::BufReader;

use common::{OneByte, Summary, data_dir, summarize, summarize_path};
use patrol_gpx::{Reader, parse_time};
use serde_json::Value;

fn truth() -> BTreeMap<String, Value> {
    let text = fs::read_to_string(data_dir().join("gpxpy/truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn time(v: &Value, key: &str) -> Option<i64> {
    v[key]
        .as_str()
        .map(|s| parse_time(s).unwrap_or_else(|| panic!("bad truth time {s}")))
}

/// The counts of tracks, segments, points and route points are checked once,
/// end to end, by the binary's `import::real_files_match_independent_tools`;
/// here the reader's own view: names, warnings, and times in file order.
#[test]
fn corpus_names_and_times_match_truth() {
    let truth = truth();
    assert_eq!(truth.len(), 28, "28 files in truth.json");
    for (file, want) in &truth {
        let got = summarize_path(&data_dir().join("gpxpy").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let names: Vec<Option<&str>> = got.waypoints.iter().map(|w| w.name.as_deref()).collect();
        let want_names: Vec<Option<&str>> = want["waypoint_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::as_str)
            .collect();
        assert_eq!(names, want_names, "{file}: waypoint_names");
        assert!(got.warnings.is_empty(), "{file}: {:?}", got.warnings);

        // truth.json's first_time/last_time are gpxpy's time bounds: the
        // earliest and latest track point times. They equal the first and last
        // times in file order except in the two files whose times go backwards
        // (see below): there truth.json is right about the bounds and we check
        // the file-order values by hand. The reader is not bent either way.
        let times = got.times();
        let (min, max) = (times.iter().min().copied(), times.iter().max().copied());
        assert_eq!(
            min,
            time(want, "first_time"),
            "{file}: first_time (earliest)"
        );
        assert_eq!(max, time(want, "last_time"), "{file}: last_time (latest)");
        let (first, last) = (times.first().copied(), times.last().copied());
        match file.as_str() {
            // First track point: 20:45:52.2073437Z (-> .207343, truncated);
            // only the second says 20:45:52.207Z, and the last is .2073437 again.
            "Mojstrovka.gpx" => {
                let t = parse_time("1901-12-13T20:45:52.207343Z");
                assert_eq!((first, last), (t, t));
                assert_eq!(first, Some(-2_147_483_648_000_000 + 207_343));
            }
            // The last point (09:23:04) is earlier than the one before (10:23:04).
            "first_and_last_elevation.gpx" => {
                assert_eq!(first, parse_time("2013-05-18T08:23:04Z"));
                assert_eq!(last, parse_time("2013-05-18T09:23:04Z"));
            }
            _ => assert_eq!((first, last), (min, max), "{file}: times not in order?"),
        }
    }
}

#[test]
fn corpus_reads_the_same_byte_by_byte() {
    for file in truth().keys() {
        let path = data_dir().join("gpxpy").join(file);
        let whole = summarize_path(&path).unwrap();
        let slow = summarize(Reader::from_reader(OneByte(fs::File::open(&path).unwrap()))).unwrap();
        assert_eq!(whole.points, slow.points, "{file}");
        assert_eq!(whole.waypoints, slow.waypoints, "{file}");
        assert_eq!(whole.segment_sizes, slow.segment_sizes, "{file}");
    }
}

/// Second opinion: the `gpx` crate (0.10) on every file it accepts.
#[test]
fn corpus_agrees_with_gpx_crate() {
    let mut compared = 0;
    for file in truth().keys() {
        let path = data_dir().join("gpxpy").join(file);
        let Ok(theirs) = gpx::read(BufReader::new(fs::File::open(&path).unwrap())) else {
            continue;
        };
        compared += 1;
        let ours: Summary = summarize_path(&path).unwrap();
        let their_points: Vec<_> = theirs
            .tracks
            .iter()
            .flat_map(|t| &t.segments)
            .flat_map(|s| &s.points)
            .collect();
        assert_eq!(ours.points.len(), their_points.len(), "{file}: point count");
        for (i, (a, b)) in ours.points.iter().zip(&their_points).enumerate() {
            let p = b.point();
            assert_eq!((a.lat, a.lon), (p.y(), p.x()), "{file}: point {i}");
            assert_eq!(a.ele, b.elevation, "{file}: point {i} elevation");
        }
        let their_segments: usize = theirs.tracks.iter().map(|t| t.segments.len()).sum();
        assert_eq!(ours.segments, their_segments, "{file}: segments");
        assert_eq!(ours.tracks, theirs.tracks.len(), "{file}: tracks");
        assert_eq!(
            ours.waypoints.len(),
            theirs.waypoints.len(),
            "{file}: waypoints"
        );
        for (a, b) in ours.waypoints.iter().zip(&theirs.waypoints) {
            let p = b.point();
            assert_eq!((a.point.lat, a.point.lon), (p.y(), p.x()), "{file}");
            assert_eq!(a.name, b.name, "{file}: waypoint name");
        }
        let their_route_points: usize = theirs.routes.iter().map(|r| r.points.len()).sum();
        assert_eq!(
            ours.route_points, their_route_points,
            "{file}: route points"
        );
    }
    assert!(
        compared >= 20,
        "the gpx crate accepted only {compared} files"
    );
}
