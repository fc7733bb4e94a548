//! The bare streaming parse, the floor an import is measured against
//! (`bench/import.sh`): read every event of a GPX file and count them.
//!
//!     cargo run --release -p patrol-gpx --example stream -- big.gpx

use patrol_gpx::{Event, Reader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os().nth(1).ok_or("usage: stream FILE.gpx")?;
    let mut reader = Reader::from_path(path.as_ref())?;
    let (mut points, mut waypoints, mut segments) = (0u64, 0u64, 0u64);
    let mut check = 0.0f64;
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
    println!("{points} points, {segments} segments, {waypoints} waypoints ({check:e})");
    Ok(())
}
