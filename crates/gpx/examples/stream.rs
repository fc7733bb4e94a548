//! The bare streaming parse, the floor an import is measured against
//! (`bench/import.sh`): read every event of GPX files and count them.
//!
//!     cargo run --release -p patrol-gpx --example stream -- big.gpx [more.gpx ...]

use patrol_gpx::{Event, Reader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<_> = std::env::args_os().skip(1).collect();
    if paths.is_empty() {
        return Err("usage: stream FILE.gpx [FILE.gpx ...]".into());
    }
    let (mut points, mut waypoints, mut segments) = (0u64, 0u64, 0u64);
    let mut check = 0.0f64;
    for path in &paths {
        let mut reader = Reader::from_path(path.as_ref())?;
        while let Some(event) = reader.next_event()? {
            match event {
                Event::Point(p) => {
                    points += 1;
                    // Touch what an import reads, so nothing is optimised away.
                    check += p.lat + p.lon + p.ele.unwrap_or(0.0) + p.time.unwrap_or(0) as f64;
                }
                Event::Waypoint(_) => waypoints += 1,
                Event::SegmentEnd => segments += 1,
                _ => {}
            }
        }
    }
    println!("{points} points, {segments} segments, {waypoints} waypoints ({check:e})");
    Ok(())
}
