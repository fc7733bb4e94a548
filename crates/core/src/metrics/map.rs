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
/// and always its last one (what [`Thinner`] gives, all lines at hand).
#[cfg(test)]
fn decimate(lines: &[&[(f64, f64)]], max: usize) -> Vec<Vec<(f64, f64)>> {
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

/// [`decimate`] of lines given one at a time, holding only what the result
/// may need: once more than `max` points have come (so the lines are
/// thinned, and the step can only grow), a line no longer than the step so
/// far keeps only its ends, all it can give the result.
pub struct Thinner {
    max: usize,
    total: usize,
    lines_n: usize,
    /// Each line of two points or more: its length and its points (all,
    /// or its two ends).
    lines: Vec<(usize, Vec<(f64, f64)>)>,
    /// Lines up to here are reduced to their ends where they can be.
    reduced: usize,
}

impl Thinner {
    /// Thinning to at most `max` points.
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            max,
            total: 0,
            lines_n: 0,
            lines: Vec::new(),
            reduced: 0,
        }
    }

    /// The step the result takes at least, once it is sure to be thinned.
    fn step_at_least(&self) -> Option<usize> {
        (self.total > self.max).then(|| {
            let budget = self.max.saturating_sub(self.lines_n).max(1);
            self.total.div_ceil(budget).max(1)
        })
    }

    /// The next line.
    pub fn push(&mut self, line: &[(f64, f64)]) {
        self.total += line.len();
        if line.len() < 2 {
            return;
        }
        self.lines_n += 1;
        match self.step_at_least() {
            Some(k) if line.len() <= k => self.lines.push((line.len(), ends(line))),
            _ => self.lines.push((line.len(), line.to_vec())),
        }
        // Now and then, lines held whole that the step has outgrown.
        if self.lines.len() >= 2 * self.reduced.max(64)
            && let Some(k) = self.step_at_least()
        {
            for (len, points) in &mut self.lines {
                if *len <= k && points.len() > 2 {
                    *points = ends(points);
                }
            }
            self.reduced = self.lines.len();
        }
    }

    /// The lines as [`decimate`] thins them.
    #[must_use]
    pub fn finish(self) -> Vec<Vec<(f64, f64)>> {
        let Some(k) = self.step_at_least() else {
            return self.lines.into_iter().map(|(_, l)| l).collect();
        };
        self.lines
            .into_iter()
            .map(|(len, l)| {
                if len <= k {
                    // Only its first point is a k-th one; its last is added.
                    ends(&l)
                } else {
                    let mut out: Vec<(f64, f64)> = l.iter().step_by(k).copied().collect();
                    if (len - 1) % k != 0 {
                        out.push(l[len - 1]);
                    }
                    out
                }
            })
            .collect()
    }
}

/// A line's first and last points.
fn ends(line: &[(f64, f64)]) -> Vec<(f64, f64)> {
    vec![line[0], line[line.len() - 1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of the given lengths, each point distinct.
    fn lines(lens: &[usize]) -> Vec<Vec<(f64, f64)>> {
        lens.iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (i as f64, j as f64)).collect())
            .collect()
    }

    #[test]
    fn the_thinner_thins_as_decimate_does() {
        let cases: Vec<Vec<usize>> = vec![
            vec![],
            vec![1, 2, 3],
            vec![10; 400],
            vec![4999, 1, 1],
            vec![3000, 2, 2500, 7],
            (0..30_000).map(|i| 2 + i % 700).collect(),
            (0..3000).map(|i| 1 + (i * 7919) % 4000).collect(),
            [vec![2; 6000], vec![90_000]].concat(),
        ];
        for (n, lens) in cases.iter().enumerate() {
            let all = lines(lens);
            for max in [5, 100, MAP_MAX_POINTS] {
                let refs: Vec<&[(f64, f64)]> = all.iter().map(Vec::as_slice).collect();
                let mut t = Thinner::new(max);
                for l in &all {
                    t.push(l);
                }
                assert_eq!(t.finish(), decimate(&refs, max), "case {n}, max {max}");
            }
        }
    }
}
