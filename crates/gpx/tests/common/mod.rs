//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

use patrol_gpx::{Error, Event, Point, Reader, Waypoint};

/// `tests/data` at the workspace root.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// Everything a file produced, in order.
#[derive(Debug, Default)]
pub struct Summary {
    pub tracks: usize,
    pub segments: usize,
    pub nonempty_segments: usize,
    pub points: Vec<Point>,
    pub waypoints: Vec<Waypoint>,
    pub route_points: usize,
    /// Track points per segment, in order.
    pub segment_sizes: Vec<usize>,
    pub warnings: Vec<String>,
}

impl Summary {
    pub fn times(&self) -> Vec<i64> {
        self.points.iter().filter_map(|p| p.time).collect()
    }
}

/// Reads all events; checks that starts and ends are properly nested.
pub fn summarize<R: Read>(mut reader: Reader<R>) -> Result<Summary, Error> {
    let mut s = Summary::default();
    let (mut in_trk, mut in_seg) = (false, false);
    while let Some(event) = reader.next_event()? {
        match event {
            Event::TrackStart => {
                assert!(!in_trk && !in_seg, "TrackStart inside a track");
                in_trk = true;
                s.tracks += 1;
            }
            Event::SegmentStart => {
                assert!(in_trk && !in_seg, "SegmentStart outside a track");
                in_seg = true;
                s.segments += 1;
                s.segment_sizes.push(0);
            }
            Event::Point(p) => {
                assert!(in_seg, "Point outside a segment");
                assert!(p.lat.is_finite() && p.lat.abs() <= 90.0);
                assert!(p.lon.is_finite() && p.lon.abs() <= 180.0);
                *s.segment_sizes.last_mut().unwrap() += 1;
                s.points.push(p);
            }
            Event::SegmentEnd => {
                assert!(in_seg);
                in_seg = false;
                if s.segment_sizes.last() > Some(&0) {
                    s.nonempty_segments += 1;
                }
            }
            Event::TrackEnd => {
                assert!(in_trk && !in_seg);
                in_trk = false;
            }
            Event::Waypoint(w) => {
                assert!(!in_trk, "Waypoint inside a track");
                s.waypoints.push(w);
            }
            Event::RoutePoint => s.route_points += 1,
        }
    }
    assert!(!in_trk && !in_seg, "document ended inside a track");
    // After the end, the reader stays at the end.
    assert!(reader.next_event()?.is_none());
    s.warnings = reader.warnings().iter().map(ToString::to_string).collect();
    Ok(s)
}

pub fn summarize_path(path: &Path) -> Result<Summary, Error> {
    summarize(Reader::from_path(path)?)
}

pub fn summarize_bytes(bytes: &[u8]) -> Result<Summary, Error> {
    summarize(Reader::from_reader(bytes))
}

/// A reader that hands out one byte per `read`, to exercise every buffer boundary.
pub struct OneByte<R>(pub R);

impl<R: Read> Read for OneByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}
