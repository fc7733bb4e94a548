//! Coverage: a grid of square cells over a site, laid in a local equal-area
//! projection (Lambert azimuthal equal-area on the WGS84 ellipsoid, centred on
//! the boundary's bounding box, taken around the boundary's own longitudes so
//! that a park across 180° is centred on itself), with track length and
//! threats per cell.
//! See docs/METRICS.md, "Coverage".

use std::collections::BTreeMap;

use geo::{BoundingRect, Contains, Coord, Intersects, MultiPolygon, Rect};
use proj4rs::proj::Proj;
use serde::{Deserialize, Serialize};

use crate::geodesy::pair_length_m;
use crate::ids::SiteId;

/// The default cell side, metres.
pub const DEFAULT_CELL_M: f64 = 1000.0;

/// The most cells a grid may have over its boundary's bounding box.
pub const MAX_CELLS: u64 = 4_000_000;

/// What the coverage figures are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverageInput {
    /// The site boundary, lon/lat degrees. An empty multipolygon means "no
    /// boundary": no coverage figures, but the lines still go to the map.
    pub boundary: MultiPolygon<f64>,
    /// Cell side, metres (use [`DEFAULT_CELL_M`] when in doubt).
    pub cell_m: f64,
    /// Track lines of the period, each a polyline of (lon, lat).
    pub lines: Vec<Vec<(f64, f64)>>,
}

impl CoverageInput {
    /// A site's coverage input from its boundary as stored (polygons of
    /// rings of (lon, lat), the outer ring first; a polygon without rings is
    /// left out).
    pub fn from_rings(
        boundary: &[Vec<Vec<(f64, f64)>>],
        cell_m: f64,
        lines: Vec<Vec<(f64, f64)>>,
    ) -> Self {
        let polygons = boundary
            .iter()
            .filter_map(|rings| {
                let (exterior, holes) = rings.split_first()?;
                Some(geo::Polygon::new(
                    geo::LineString::from(exterior.clone()),
                    holes
                        .iter()
                        .map(|r| geo::LineString::from(r.clone()))
                        .collect(),
                ))
            })
            .collect();
        Self {
            boundary: MultiPolygon(polygons),
            cell_m,
            lines,
        }
    }
}

/// Why the grid could not be made.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum GridError {
    /// The boundary has no polygon (or no vertex) to lay a grid on.
    #[error("the boundary is empty")]
    EmptyBoundary,
    /// The cell side (metres) is zero, negative or not finite.
    #[error("cell size {0} m is not a positive number")]
    BadCellSize(f64),
    /// The boundary's polygons' bounding boxes would need this many cells in all, more than `MAX_CELLS`.
    #[error("a grid of {0} cells is too fine (at most {MAX_CELLS}); use larger cells")]
    TooManyCells(u64),
    /// proj4rs could not build the projection or project a point (its message).
    #[error("projection failed: {0}")]
    Projection(String),
}

/// A local Lambert azimuthal equal-area projection (WGS84 ellipsoid).
pub struct Laea {
    geographic: Proj,
    projected: Proj,
    /// Longitude of the projection's centre (`+lon_0`), degrees.
    pub lon_0: f64,
    /// Latitude of the projection's centre (`+lat_0`), degrees.
    pub lat_0: f64,
}

impl Laea {
    /// Centred on (`lon_0`, `lat_0`), degrees.
    pub fn new(lon_0: f64, lat_0: f64) -> Result<Self, GridError> {
        let err = |e: proj4rs::errors::Error| GridError::Projection(e.to_string());
        let geographic =
            Proj::from_proj_string("+proj=longlat +ellps=WGS84 +no_defs").map_err(err)?;
        let projected = Proj::from_proj_string(&format!(
            "+proj=laea +lat_0={lat_0} +lon_0={lon_0} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
        ))
        .map_err(err)?;
        Ok(Self {
            geographic,
            projected,
            lon_0,
            lat_0,
        })
    }

    /// (lon, lat) degrees to (x, y) metres. proj4rs takes radians.
    pub fn forward(&self, lon: f64, lat: f64) -> Result<(f64, f64), GridError> {
        let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(&self.geographic, &self.projected, &mut p)
            .map_err(|e| GridError::Projection(e.to_string()))?;
        if p.0.is_finite() && p.1.is_finite() {
            Ok((p.0, p.1))
        } else {
            Err(GridError::Projection(format!(
                "({lon}, {lat}) does not project"
            )))
        }
    }

    /// (x, y) metres to (lon, lat) degrees.
    pub fn inverse(&self, x: f64, y: f64) -> Result<(f64, f64), GridError> {
        let mut p = (x, y, 0.0);
        proj4rs::transform::transform(&self.projected, &self.geographic, &mut p)
            .map_err(|e| GridError::Projection(e.to_string()))?;
        let (lon, lat) = (p.0.to_degrees(), p.1.to_degrees());
        if lon.is_finite() && lat.is_finite() {
            Ok((lon, lat))
        } else {
            Err(GridError::Projection(format!("({x}, {y}) does not invert")))
        }
    }
}

/// One piece of a segment inside one cell: the cell and the segment's
/// parameter range `[t0, t1]` (0 = start, 1 = end).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Piece {
    /// Column of the cell, in cells from the projection's origin (x = east).
    pub ix: i64,
    /// Row of the cell, in cells from the projection's origin (y = north).
    pub iy: i64,
    /// Where the piece starts along the segment (0 = its start).
    pub t0: f64,
    /// Where the piece ends along the segment (1 = its end).
    pub t1: f64,
}

/// Pieces shorter than this fraction of their segment are merged into their
/// neighbour, so that rounding at a cell corner never "visits" a cell.
const SLIVER: f64 = 1e-9;

/// Exact grid traversal (Amanatides & Woo, 1987) of the segment `a`-`b`, given
/// in cell units (cell (i, j) is `[i, i+1) x [j, j+1)`). A point on an edge
/// belongs to the cell above/right of it. The pieces cover `[0, 1]` exactly,
/// in order.
pub fn traverse(a: (f64, f64), b: (f64, f64)) -> Vec<Piece> {
    let mut pieces = Vec::new();
    traverse_into(a, b, &mut pieces);
    pieces
}

/// [`traverse`] into `pieces` (cleared first), reusing its allocation.
pub fn traverse_into(a: (f64, f64), b: (f64, f64), pieces: &mut Vec<Piece>) {
    pieces.clear();
    if !(a.0.is_finite() && a.1.is_finite() && b.0.is_finite() && b.1.is_finite()) {
        return;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut ix = a.0.floor() as i64;
    let mut iy = a.1.floor() as i64;
    let end_ix = b.0.floor() as i64;
    let end_iy = b.1.floor() as i64;
    let axis = |d: f64, start: f64, cell: i64| -> (i64, f64, f64) {
        if d > 0.0 {
            (1, ((cell + 1) as f64 - start) / d, 1.0 / d)
        } else if d < 0.0 {
            (-1, (cell as f64 - start) / d, -1.0 / d)
        } else {
            (0, f64::INFINITY, f64::INFINITY)
        }
    };
    let (step_x, mut t_max_x, t_delta_x) = axis(dx, a.0, ix);
    let (step_y, mut t_max_y, t_delta_y) = axis(dy, a.1, iy);
    let max_steps = (end_ix - ix).unsigned_abs() + (end_iy - iy).unsigned_abs() + 2;
    let mut start = 0.0;
    for _ in 0..=max_steps {
        let t_next = t_max_x.min(t_max_y).min(1.0);
        if t_next - start < SLIVER && t_next < 1.0 {
            // A sliver: give it to the previous piece if there is one, else
            // let the next piece start where this one started.
            if let Some(last) = pieces.last_mut() {
                last.t1 = t_next;
                start = t_next;
            }
        } else {
            pieces.push(Piece {
                ix,
                iy,
                t0: start,
                t1: t_next,
            });
            start = t_next;
        }
        if t_next >= 1.0 {
            break;
        }
        if t_max_x < t_max_y {
            ix += step_x;
            t_max_x += t_delta_x;
        } else if t_max_y < t_max_x {
            iy += step_y;
            t_max_y += t_delta_y;
        } else {
            // Through a corner exactly: step both ways at once.
            ix += step_x;
            iy += step_y;
            t_max_x += t_delta_x;
            t_max_y += t_delta_y;
        }
    }
    // The final piece must end at 1 (it does unless the step cap cut it).
    if let Some(last) = pieces.last_mut() {
        if last.t1 < 1.0 {
            last.t1 = 1.0;
        }
        // A trailing sliver was merged into the previous piece above; a
        // trailing piece shorter than a sliver is merged here.
        if pieces.len() > 1 {
            let n = pieces.len();
            if pieces[n - 1].t1 - pieces[n - 1].t0 < SLIVER {
                pieces[n - 2].t1 = 1.0;
                pieces.pop();
            }
        }
    }
}

/// One grid cell's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// JSON `ix`: the cell's column, `[ix·cell_m, (ix+1)·cell_m)` metres east of the projection's origin.
    pub ix: i64,
    /// JSON `iy`: the cell's row, `[iy·cell_m, (iy+1)·cell_m)` metres north of the projection's origin.
    pub iy: i64,
    /// Whether the cell intersects the boundary.
    pub in_park: bool,
    /// JSON `km`: geodesic track length of the period's pairs falling in the cell, km.
    pub km: f64,
    /// JSON `threats`: the period's threat observations whose point is in the cell.
    pub threats: u64,
    /// The cell's corners back in (lon, lat), counter-clockwise from the
    /// south-west one (4 points, not closed).
    pub corners: Vec<(f64, f64)>,
    /// The site whose grid the cell is of, when the coverage adds up several
    /// sites' grids (`ix`, `iy` count in that site's grid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

impl Cell {
    /// The mean of the cell's corners, its longitudes taken around the first
    /// one (a cell across 180° is centred on 180°, not on 0°); (0, 0) for a
    /// cell without corners.
    pub fn centre(&self) -> (f64, f64) {
        let Some(&(lon0, _)) = self.corners.first() else {
            return (0.0, 0.0);
        };
        let n = self.corners.len() as f64;
        let unwrap = |lon: f64| lon0 + (lon - lon0 + 180.0).rem_euclid(360.0) - 180.0;
        let lon = self.corners.iter().map(|p| unwrap(p.0)).sum::<f64>() / n;
        let lat = self.corners.iter().map(|p| p.1).sum::<f64>() / n;
        ((lon + 180.0).rem_euclid(360.0) - 180.0, lat)
    }
}

/// The coverage figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// JSON `cell_m`: the side of a square cell, metres (equal-area: each cell is `cell_m²` on the ellipsoid).
    pub cell_m: f64,
    /// The projection the grid is laid in (a PROJ string).
    pub projection: String,
    /// Cells that intersect the boundary.
    pub park_cells: u64,
    /// Park cells with track length > 0.
    pub visited_cells: u64,
    /// `visited_cells / park_cells` (0 when there are no park cells).
    pub fraction: f64,
    /// Track length in the grid's cells (all of it, in the park or not), km.
    pub km: f64,
    /// Track length inside park cells, km.
    pub km_in_park: f64,
    /// Park cells, and any other cell with track or threats. Left out of a
    /// site's coverage in `by_site`: its cells are in the report's coverage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<Cell>,
}

impl Coverage {
    /// The figures without the cells (a site's coverage in `by_site`).
    #[must_use]
    pub fn without_cells(&self) -> Coverage {
        Coverage {
            cell_m: self.cell_m,
            projection: self.projection.clone(),
            park_cells: self.park_cells,
            visited_cells: self.visited_cells,
            fraction: self.fraction,
            km: self.km,
            km_in_park: self.km_in_park,
            cells: Vec::new(),
        }
    }

    /// Several sites' coverages as one: the sums of park cells, visited
    /// cells and km (the fraction is that of the sums), and every cell, with
    /// its site. `None` when there is none.
    pub fn sum(parts: &[(SiteId, Coverage)]) -> Option<Coverage> {
        Self::sum_of(parts.to_vec())
    }

    /// As [`sum`](Self::sum), taking the parts (their cells move, not copied).
    pub fn sum_of(parts: Vec<(SiteId, Coverage)>) -> Option<Coverage> {
        let (_, first) = parts.first()?;
        let mut total = Coverage {
            cell_m: first.cell_m,
            projection: if parts.len() == 1 {
                first.projection.clone()
            } else {
                "one grid per site (see by_site)".to_owned()
            },
            park_cells: 0,
            visited_cells: 0,
            fraction: 0.0,
            km: 0.0,
            km_in_park: 0.0,
            cells: Vec::with_capacity(parts.iter().map(|(_, c)| c.cells.len()).sum()),
        };
        for (site, c) in parts {
            total.park_cells += c.park_cells;
            total.visited_cells += c.visited_cells;
            total.km += c.km;
            total.km_in_park += c.km_in_park;
            total.cells.extend(c.cells.into_iter().map(|cell| Cell {
                site_id: Some(site),
                ..cell
            }));
        }
        if total.park_cells > 0 {
            total.fraction = total.visited_cells as f64 / total.park_cells as f64;
        }
        Some(total)
    }
}

/// A hash of cell keys (two small integers): a multiply and a rotate per
/// word, not SipHash (nothing here comes from an adversary, and the maps
/// are only looked up, never iterated in their own order).
#[derive(Default)]
struct CellHasher(u64);

impl std::hash::Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, v: i64) {
        self.write_u64(v.cast_unsigned());
    }
}

type CellMap<V> =
    std::collections::HashMap<(i64, i64), V, std::hash::BuildHasherDefault<CellHasher>>;
type CellSet = std::collections::HashSet<(i64, i64), std::hash::BuildHasherDefault<CellHasher>>;

#[derive(Default)]
struct Acc {
    km: f64,
    threats: u64,
}

/// Each cell's sums, added in the order of the lines (as a map of cells
/// would add them); consecutive pieces mostly stay in one cell, which is
/// kept at hand.
#[derive(Default)]
struct CellSums {
    index: CellMap<usize>,
    sums: Vec<Acc>,
    last: Option<((i64, i64), usize)>,
}

impl CellSums {
    fn cell(&mut self, key: (i64, i64)) -> &mut Acc {
        let i = match self.last {
            Some((k, i)) if k == key => i,
            _ => {
                let next = self.sums.len();
                let i = *self.index.entry(key).or_insert(next);
                if i == next {
                    self.sums.push(Acc::default());
                }
                self.last = Some((key, i));
                i
            }
        };
        &mut self.sums[i]
    }
}

/// The centre of a boundary's box, the box taken around the boundary's own
/// longitudes: they are unwrapped around their circular mean, so that a park
/// across 180° is centred on it, not on the other side of the Earth. `None`
/// for an empty boundary.
pub fn centre(boundary: &MultiPolygon<f64>) -> Option<(f64, f64)> {
    use geo::CoordsIter;
    let (mut sin, mut cos, mut n) = (0.0, 0.0, 0_usize);
    for c in boundary.coords_iter() {
        let lon = c.x.to_radians();
        sin += lon.sin();
        cos += lon.cos();
        n += 1;
    }
    if n == 0 {
        return None;
    }
    let mean = if sin.abs() < 1e-12 && cos.abs() < 1e-12 {
        0.0 // longitudes all around the globe: any centre is as good
    } else {
        sin.atan2(cos).to_degrees()
    };
    let unwrap = |lon: f64| mean + (lon - mean + 180.0).rem_euclid(360.0) - 180.0;
    let (mut lon_lo, mut lon_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut lat_lo, mut lat_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in boundary.coords_iter() {
        let lon = unwrap(c.x);
        lon_lo = lon_lo.min(lon);
        lon_hi = lon_hi.max(lon);
        lat_lo = lat_lo.min(c.y);
        lat_hi = lat_hi.max(c.y);
    }
    let lon = f64::midpoint(lon_lo, lon_hi);
    // Back into [-180, 180].
    let lon = if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    };
    Some((lon, f64::midpoint(lat_lo, lat_hi)))
}

/// Lay the grid over `input.boundary` and add up track length and threat
/// points (lon, lat) per cell.
pub fn coverage(input: &CoverageInput, threats: &[(f64, f64)]) -> Result<Coverage, GridError> {
    let mut grid = Grid::new(&input.boundary, input.cell_m)?;
    for line in &input.lines {
        grid.add_line(line);
    }
    grid.finish(threats)
}

/// A site's grid being filled: laid over its boundary, then given the
/// period's track lines one at a time (in their order: each cell adds its
/// pieces in that order), then its threats ([`coverage`] in steps, so that
/// the lines need not be held all at once).
pub struct Grid {
    laea: Laea,
    cell_m: f64,
    park: std::collections::BTreeSet<(i64, i64)>,
    sums: CellSums,
    prepared: PreparedLine,
    pieces: Vec<Piece>,
}

/// A grid's projection, to prepare lines for it on another thread: the
/// costly half of adding a line (projecting each fix, measuring each pair),
/// which does not depend on the lines before.
pub struct Projector {
    laea: Laea,
    cell_m: f64,
}

/// A line prepared by a [`Projector`] for [`Grid::add_prepared`].
#[derive(Default)]
pub struct PreparedLine {
    /// Each fix in cell units, `None` where it does not project.
    projected: Vec<Option<(f64, f64)>>,
    /// Each pair's geodesic length, km.
    km: Vec<f64>,
}

impl Projector {
    /// `line` (lon, lat) prepared for its grid.
    pub fn prepare(&self, line: &[(f64, f64)]) -> PreparedLine {
        let mut out = PreparedLine::default();
        Self::prepare_into(&self.laea, self.cell_m, line, &mut out);
        out
    }

    fn prepare_into(laea: &Laea, cell_m: f64, line: &[(f64, f64)], out: &mut PreparedLine) {
        out.projected.clear();
        out.projected.extend(line.iter().map(|&(lon, lat)| {
            laea.forward(lon, lat)
                .ok()
                .map(|(x, y)| (x / cell_m, y / cell_m))
        }));
        out.km.clear();
        out.km
            .extend(line.windows(2).zip(out.projected.windows(2)).map(|(w, p)| {
                // A pair with an end that does not project is not added.
                if p[0].is_some() && p[1].is_some() {
                    pair_length_m(w[0], w[1]) / 1000.0
                } else {
                    0.0
                }
            }));
    }
}

impl Grid {
    /// The grid of `cell_m` cells over `boundary` (lon, lat), no track yet.
    pub fn new(boundary: &MultiPolygon<f64>, cell_m: f64) -> Result<Grid, GridError> {
        if !(cell_m.is_finite() && cell_m > 0.0) {
            return Err(GridError::BadCellSize(cell_m));
        }
        let (lon_0, lat_0) = centre(boundary).ok_or(GridError::EmptyBoundary)?;
        let laea = Laea::new(lon_0, lat_0)?;

        // The boundary in projected metres, scaled to cell units.
        let mut projected = boundary.clone();
        let mut failure = None;
        projected.0.iter_mut().for_each(|poly| {
            poly.exterior_mut(|ring| project_ring(ring, &laea, cell_m, &mut failure));
            poly.interiors_mut(|rings| {
                for ring in rings {
                    project_ring(ring, &laea, cell_m, &mut failure);
                }
            });
        });
        if let Some(e) = failure {
            return Err(e);
        }
        // Each polygon is tested only against the cells of its own bounding box:
        // a region's parks are far apart, and their union's box is mostly empty.
        let boxes: Vec<_> = projected
            .0
            .iter()
            .filter_map(|poly| {
                let b = poly.bounding_rect()?;
                Some((
                    poly,
                    b.min().x.floor() as i64,
                    b.max().x.floor() as i64,
                    b.min().y.floor() as i64,
                    b.max().y.floor() as i64,
                ))
            })
            .collect();
        if boxes.is_empty() {
            return Err(GridError::EmptyBoundary);
        }
        let n_cells: u64 = boxes
            .iter()
            .map(|(_, x0, x1, y0, y1)| (x1 - x0 + 1) as u64 * (y1 - y0 + 1) as u64)
            .sum();
        if n_cells > MAX_CELLS {
            return Err(GridError::TooManyCells(n_cells));
        }
        let mut park = std::collections::BTreeSet::new();
        for &(poly, x0, x1, y0, y1) in &boxes {
            // The cells the polygon's rings pass through, and their neighbours
            // (a ring that only touches a cell passes through a neighbour): only
            // these need the exact test. Any other cell is wholly inside the
            // polygon or wholly outside, as its centre is.
            let mut near = CellSet::default();
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    for piece in traverse((w[0].x, w[0].y), (w[1].x, w[1].y)) {
                        for dy in -1..=1 {
                            for dx in -1..=1 {
                                near.insert((piece.ix + dx, piece.iy + dy));
                            }
                        }
                    }
                }
            }
            for iy in y0..=y1 {
                for ix in x0..=x1 {
                    if park.contains(&(ix, iy)) {
                        continue;
                    }
                    let inside = if near.contains(&(ix, iy)) {
                        let rect = Rect::new(
                            Coord {
                                x: ix as f64,
                                y: iy as f64,
                            },
                            Coord {
                                x: (ix + 1) as f64,
                                y: (iy + 1) as f64,
                            },
                        );
                        rect.intersects(poly)
                    } else {
                        poly.contains(&geo::Point::new(ix as f64 + 0.5, iy as f64 + 0.5))
                    };
                    if inside {
                        park.insert((ix, iy));
                    }
                }
            }
        }

        Ok(Grid {
            laea,
            cell_m,
            park,
            sums: CellSums::default(),
            prepared: PreparedLine::default(),
            pieces: Vec::new(),
        })
    }

    /// Add a track line (lon, lat): each pair's geodesic length, shared out
    /// between the cells it crosses.
    pub fn add_line(&mut self, line: &[(f64, f64)]) {
        let mut prepared = std::mem::take(&mut self.prepared);
        Projector::prepare_into(&self.laea, self.cell_m, line, &mut prepared);
        self.add_prepared(&prepared);
        self.prepared = prepared;
    }

    /// What projects lines for this grid on another thread
    /// ([`Projector::prepare`]), for [`Grid::add_prepared`].
    pub fn projector(&self) -> Result<Projector, GridError> {
        Ok(Projector {
            laea: Laea::new(self.laea.lon_0, self.laea.lat_0)?,
            cell_m: self.cell_m,
        })
    }

    /// [`Grid::add_line`] of a line its [`Grid::projector`] prepared: the
    /// same sums, in the order lines are added.
    pub fn add_prepared(&mut self, line: &PreparedLine) {
        for (w, km) in line.projected.windows(2).zip(&line.km) {
            let (Some(a), Some(b)) = (w[0], w[1]) else {
                continue;
            };
            traverse_into(a, b, &mut self.pieces);
            for piece in &self.pieces {
                self.sums.cell((piece.ix, piece.iy)).km += km * (piece.t1 - piece.t0);
            }
        }
    }

    /// The coverage figures, with the threat points (lon, lat) counted.
    pub fn finish(self, threats: &[(f64, f64)]) -> Result<Coverage, GridError> {
        let Grid {
            laea,
            cell_m,
            park,
            mut sums,
            ..
        } = self;
        for &(lon, lat) in threats {
            if let Ok((x, y)) = laea.forward(lon, lat) {
                let key = ((x / cell_m).floor() as i64, (y / cell_m).floor() as i64);
                sums.cell(key).threats += 1;
            }
        }
        let acc: BTreeMap<(i64, i64), &Acc> = sums
            .index
            .iter()
            .map(|(&k, &i)| (k, &sums.sums[i]))
            .collect();

        let mut keys: std::collections::BTreeSet<(i64, i64)> = park.clone();
        keys.extend(
            acc.iter()
                .filter(|(_, a)| a.km > 0.0 || a.threats > 0)
                .map(|(k, _)| *k),
        );
        let mut cells = Vec::with_capacity(keys.len());
        let (mut visited, mut km, mut km_in_park) = (0_u64, 0.0, 0.0);
        // Neighbouring cells share corners: each grid vertex is inverted once.
        let mut vertices: CellMap<(f64, f64)> = CellMap::default();
        vertices.reserve(keys.len() * 2);
        for (ix, iy) in keys {
            let a = acc.get(&(ix, iy));
            let cell_km = a.map_or(0.0, |a| a.km);
            let in_park = park.contains(&(ix, iy));
            km += cell_km;
            if in_park {
                km_in_park += cell_km;
                if cell_km > 0.0 {
                    visited += 1;
                }
            }
            let mut corners = Vec::with_capacity(4);
            for (cx, cy) in [(ix, iy), (ix + 1, iy), (ix + 1, iy + 1), (ix, iy + 1)] {
                let corner = match vertices.entry((cx, cy)) {
                    std::collections::hash_map::Entry::Occupied(e) => *e.get(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        *e.insert(laea.inverse(cx as f64 * cell_m, cy as f64 * cell_m)?)
                    }
                };
                corners.push(corner);
            }
            cells.push(Cell {
                ix,
                iy,
                in_park,
                km: cell_km,
                threats: a.map_or(0, |a| a.threats),
                corners,
                site_id: None,
            });
        }
        let park_cells = park.len() as u64;
        Ok(Coverage {
            cell_m,
            projection: format!(
                "+proj=laea +lat_0={} +lon_0={} +ellps=WGS84 +units=m",
                laea.lat_0, laea.lon_0
            ),
            park_cells,
            visited_cells: visited,
            fraction: if park_cells == 0 {
                0.0
            } else {
                visited as f64 / park_cells as f64
            },
            km,
            km_in_park,
            cells,
        })
    }
}

fn project_ring(
    ring: &mut geo::LineString<f64>,
    laea: &Laea,
    cell_m: f64,
    failure: &mut Option<GridError>,
) {
    for c in &mut ring.0 {
        match laea.forward(c.x, c.y) {
            Ok((x, y)) => {
                c.x = x / cell_m;
                c.y = y / cell_m;
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are meant: 0, 1, endpoints
mod tests {
    #[test]
    fn a_cell_across_180_degrees_is_centred_there() {
        let cell = |corners: Vec<(f64, f64)>| Cell {
            ix: 0,
            iy: 0,
            in_park: true,
            km: 0.0,
            threats: 0,
            corners,
            site_id: None,
        };
        let (lon, lat) = cell(vec![
            (179.9, 1.0),
            (-179.9, 1.0),
            (-179.9, 2.0),
            (179.9, 2.0),
        ])
        .centre();
        assert!(
            (lon.abs() - 180.0).abs() < 1e-9 && (lat - 1.5).abs() < 1e-12,
            "{lon}"
        );
        let (lon, _) = cell(vec![(10.0, 0.0), (12.0, 0.0), (12.0, 1.0), (10.0, 1.0)]).centre();
        assert!((lon - 11.0).abs() < 1e-12);
    }

    use super::*;
    use geo::{GeodesicArea, LineString, Polygon, polygon};

    fn square(lon: f64, lat: f64, half: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: lon - half, y: lat - half),
            (x: lon + half, y: lat - half),
            (x: lon + half, y: lat + half),
            (x: lon - half, y: lat + half),
        ]])
    }

    #[test]
    fn projection_round_trips_and_is_in_metres() {
        let p = Laea::new(102.0, 14.0).unwrap();
        let (x, y) = p.forward(102.0, 14.0).unwrap();
        assert!(x.abs() < 1e-6 && y.abs() < 1e-6);
        let (x, y) = p.forward(102.0, 14.001).unwrap();
        assert!(x.abs() < 1e-6);
        assert!((y - 110.6).abs() < 0.5, "{y}");
        let (lon, lat) = p.inverse(12_345.0, -6_789.0).unwrap();
        let (x, y) = p.forward(lon, lat).unwrap();
        assert!((x - 12_345.0).abs() < 1e-6 && (y + 6_789.0).abs() < 1e-6);
    }

    #[test]
    fn cells_have_their_true_area() {
        for &(lon, lat) in &[(0.0, 0.0), (102.0, 14.0), (-60.0, -60.0)] {
            let cov = coverage(
                &CoverageInput {
                    boundary: square(lon, lat, 0.2),
                    cell_m: 1000.0,
                    lines: vec![],
                },
                &[],
            )
            .unwrap();
            assert!(cov.park_cells > 100, "{}", cov.park_cells);
            for cell in &cov.cells {
                let mut ring: Vec<(f64, f64)> = cell.corners.clone();
                ring.push(ring[0]);
                let poly = Polygon::new(LineString::from(ring), vec![]);
                let area = poly.geodesic_area_unsigned();
                assert!(
                    (area / 1e6 - 1.0).abs() < 0.005,
                    "cell ({}, {}) at ({lon}, {lat}): {area} m2",
                    cell.ix,
                    cell.iy
                );
            }
        }
    }

    /// The square of `square`, its longitudes wrapped into [-180, 180].
    fn wrapped(lon: f64, lat: f64, half: f64) -> MultiPolygon<f64> {
        let mut mp = square(lon, lat, half);
        for poly in &mut mp.0 {
            poly.exterior_mut(|ring| {
                for c in &mut ring.0 {
                    if c.x > 180.0 {
                        c.x -= 360.0;
                    } else if c.x < -180.0 {
                        c.x += 360.0;
                    }
                }
            });
        }
        mp
    }

    #[test]
    fn a_boundary_across_180_degrees_gets_cells_of_the_true_size() {
        // Lon 179.8 .. -179.8 (across the antimeridian) and the same shape at 0.
        let far = wrapped(180.0, -16.5, 0.2);
        assert!(far.0[0].exterior().0.iter().any(|c| c.x < 0.0));
        let line_far = vec![(179.85, -16.6), (-179.9, -16.45), (-179.85, -16.4)];
        let line_zero = vec![(-0.15, -16.6), (0.1, -16.45), (0.15, -16.4)];
        let threat_far = [(179.95, -16.5)];
        let threat_zero = [(-0.05, -16.5)];
        let cov = |boundary, line, threat: &[(f64, f64)]| {
            coverage(
                &CoverageInput {
                    boundary,
                    cell_m: 1000.0,
                    lines: vec![line],
                },
                threat,
            )
            .unwrap()
        };
        let a = cov(far, line_far, &threat_far);
        let b = cov(square(0.0, -16.5, 0.2), line_zero, &threat_zero);
        assert!((1800..2200).contains(&a.park_cells), "{}", a.park_cells);
        assert_eq!(a.park_cells, b.park_cells);
        assert_eq!(a.visited_cells, b.visited_cells);
        assert!((a.km - b.km).abs() < 1e-6 && (a.km_in_park - b.km_in_park).abs() < 1e-6);
        assert!((a.fraction - b.fraction).abs() < 1e-12);
        assert!(a.projection.contains("+lon_0=180") || a.projection.contains("+lon_0=-180"));
        for cell in &a.cells {
            let mut ring: Vec<(f64, f64)> = cell
                .corners
                .iter()
                .map(|&(lon, lat)| (if lon < 0.0 { lon + 360.0 } else { lon }, lat))
                .collect();
            ring.push(ring[0]);
            let area = Polygon::new(LineString::from(ring), vec![]).geodesic_area_unsigned();
            assert!((area / 1e6 - 1.0).abs() < 0.005, "{area} m2");
        }
        let threat_cell = |c: &Coverage| {
            let cell = c.cells.iter().find(|c| c.threats == 1).unwrap();
            (cell.ix, cell.iy)
        };
        assert_eq!(threat_cell(&a), threat_cell(&b));
    }

    #[test]
    fn the_grid_is_centred_on_the_boundary() {
        assert_eq!(centre(&square(102.0, 14.0, 0.2)), Some((102.0, 14.0)));
        let (lon, lat) = centre(&wrapped(180.0, -16.5, 0.2)).unwrap();
        assert!(
            (lon.abs() - 180.0).abs() < 1e-9 && (lat + 16.5).abs() < 1e-9,
            "{lon}"
        );
        let (lon, _) = centre(&wrapped(179.0, 0.0, 0.5)).unwrap();
        assert!((lon - 179.0).abs() < 1e-9, "{lon}");
        let (lon, _) = centre(&wrapped(-179.5, 0.0, 1.0)).unwrap();
        assert!((lon + 179.5).abs() < 1e-9, "{lon}");
        assert_eq!(centre(&MultiPolygon(vec![])), None);
    }

    fn cells(pieces: &[Piece]) -> Vec<(i64, i64)> {
        pieces.iter().map(|p| (p.ix, p.iy)).collect()
    }

    #[test]
    fn traversal_inside_one_cell() {
        let p = traverse((0.2, 0.3), (0.7, 0.9));
        assert_eq!(
            p,
            vec![Piece {
                ix: 0,
                iy: 0,
                t0: 0.0,
                t1: 1.0
            }]
        );
        let p = traverse((-0.5, -0.5), (-0.5, -0.5));
        assert_eq!(cells(&p), vec![(-1, -1)]);
    }

    #[test]
    fn traversal_along_a_cell_edge() {
        // Along y = 1: the row above the edge; ending exactly on x = 3.
        let p = traverse((0.0, 1.0), (3.0, 1.0));
        assert_eq!(cells(&p), vec![(0, 1), (1, 1), (2, 1)]);
        for (i, piece) in p.iter().enumerate() {
            assert!((piece.t0 - i as f64 / 3.0).abs() < 1e-12);
            assert!((piece.t1 - (i + 1) as f64 / 3.0).abs() < 1e-12);
        }
        // Going west along x = 2.
        let p = traverse((2.0, 2.5), (2.0, 0.5));
        assert_eq!(cells(&p), vec![(2, 2), (2, 1), (2, 0)]);
    }

    #[test]
    fn traversal_diagonal_through_a_corner() {
        let p = traverse((0.5, 0.5), (2.5, 2.5));
        assert_eq!(cells(&p), vec![(0, 0), (1, 1), (2, 2)]);
        assert!((p[0].t1 - 0.25).abs() < 1e-12 && (p[1].t1 - 0.75).abs() < 1e-12);
        let p = traverse((1.5, -0.5), (-0.5, 1.5));
        assert_eq!(cells(&p), vec![(1, -1), (0, 0), (-1, 1)]);
        // Nearly through a corner: a sliver of the neighbour is not a visit.
        let p = traverse((0.5, 0.5), (1.5, 1.5 + 1e-12));
        assert_eq!(cells(&p), vec![(0, 0), (1, 1)]);
    }

    #[test]
    fn traversal_general_case_covers_zero_to_one() {
        let p = traverse((0.1, 0.2), (3.7, -2.4));
        assert_eq!(p.first().unwrap().t0, 0.0);
        assert_eq!(p.last().unwrap().t1, 1.0);
        for w in p.windows(2) {
            assert_eq!(w[0].t1, w[1].t0);
            let step = (w[1].ix - w[0].ix).abs() + (w[1].iy - w[0].iy).abs();
            assert_eq!(step, 1);
        }
        assert_eq!(cells(&p).first(), Some(&(0, 0)));
        assert_eq!(cells(&p).last(), Some(&(3, -3)));
    }

    #[test]
    fn per_cell_km_add_up_to_the_track_length() {
        let line = vec![
            (101.98, 13.99),
            (102.013, 14.004),
            (102.0, 14.03),
            (101.97, 14.01),
        ];
        let total = crate::geodesy::line_length_m(&line) / 1000.0;
        let threat = (102.0, 14.0);
        let cov = coverage(
            &CoverageInput {
                boundary: square(102.0, 14.0, 0.02),
                cell_m: 500.0,
                lines: vec![line],
            },
            &[threat],
        )
        .unwrap();
        let sum: f64 = cov.cells.iter().map(|c| c.km).sum();
        assert!((sum - total).abs() < 1e-9, "{sum} {total}");
        assert!((cov.km - total).abs() < 1e-9);
        assert!(cov.visited_cells > 10 && cov.visited_cells < cov.park_cells);
        assert!((cov.fraction - cov.visited_cells as f64 / cov.park_cells as f64).abs() < 1e-15);
        assert_eq!(cov.cells.iter().map(|c| c.threats).sum::<u64>(), 1);
        // The threat lies on the centre, the origin of the grid: cell (0, 0).
        let c = cov.cells.iter().find(|c| c.threats == 1).unwrap();
        assert_eq!((c.ix, c.iy), (0, 0));
    }

    #[test]
    fn bad_inputs() {
        let empty = CoverageInput {
            boundary: MultiPolygon(vec![]),
            cell_m: 1000.0,
            lines: vec![],
        };
        assert_eq!(coverage(&empty, &[]), Err(GridError::EmptyBoundary));
        let zero = CoverageInput {
            boundary: square(0.0, 0.0, 0.1),
            cell_m: 0.0,
            lines: vec![],
        };
        assert_eq!(coverage(&zero, &[]), Err(GridError::BadCellSize(0.0)));
    }
}
