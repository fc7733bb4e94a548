//! What the map draws, and how the lines are thinned to fit it.

use serde::{Deserialize, Serialize};

/// A threat on the map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapPoint {
    /// Longitude of the threat, WGS84 degrees (x).
    pub lon: f64,
    /// Latitude of the threat, WGS84 degrees (y).
    pub lat: f64,
    /// The threat's category key (the renderers show its label).
    pub category: String,
}

/// What the map draws: the period's track lines (decimated to at most
/// [`MAP_MAX_POINTS`] points in all) and its threats.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MapData {
    /// The period's track lines, each a polyline of (lon, lat) degrees, decimated to at most `MAP_MAX_POINTS` points in all.
    pub lines: Vec<Vec<(f64, f64)>>,
    /// The period's threat observations, with their category.
    pub threats: Vec<MapPoint>,
    /// The boundary's rings (outer and holes), lon/lat.
    pub boundary: Vec<Vec<(f64, f64)>>,
}

/// The most line points the map keeps.
pub const MAP_MAX_POINTS: usize = 5000;

/// Keep at most `max` points over all lines: every k-th point of each line
/// and always its last one.
pub(super) fn decimate(lines: &[&[(f64, f64)]], max: usize) -> Vec<Vec<(f64, f64)>> {
    let total: usize = lines.iter().map(|l| l.len()).sum();
    let lines_n = lines.iter().filter(|l| l.len() >= 2).count();
    if total <= max {
        return lines
            .iter()
            .filter(|l| l.len() >= 2)
            .map(|l| l.to_vec())
            .collect();
    }
    // The last point of each line is kept on top of the every-k-th ones.
    let budget = max.saturating_sub(lines_n).max(1);
    let k = total.div_ceil(budget).max(1);
    lines
        .iter()
        .filter(|l| l.len() >= 2)
        .map(|l| {
            let mut out: Vec<(f64, f64)> = l.iter().step_by(k).copied().collect();
            if (l.len() - 1) % k != 0 {
                out.push(l[l.len() - 1]);
            }
            out
        })
        .collect()
}
