//! Shapes made ready for testing a million points: polygons with their edges filed
//! by horizontal band (a point is only compared with the few edges at its
//! latitude), circles with their trigonometry done once, and both able to sort the
//! index's grid cells into wholly inside, wholly outside, or to be tested.

use super::area::{Circle, EARTH_RADIUS_M};
use geo::{BoundingRect, MultiPolygon};

/// A window of grid cells: cell `(c, r)` covers longitudes `x0 + c·cw ..
/// x0 + (c+1)·cw` and latitudes `y0 + r·ch .. y0 + (r+1)·ch`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub x0: f64,
    pub y0: f64,
    pub cw: f64,
    pub ch: f64,
    pub cols: usize,
    pub rows: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Outside,
    Inside,
    /// The shape's boundary may cross the cell: test each point.
    Partial,
}

/// What the index needs from a shape.
pub(super) trait Shape {
    /// `(min_x, min_y, max_x, max_y)`, or `None` when empty.
    fn bounds(&self) -> Option<[f64; 4]>;
    fn contains(&self, x: f64, y: f64) -> bool;
    /// One class per cell of the window, row after row.
    fn classify(&self, window: &Window) -> Vec<Class>;
}

/// Added around edge pieces when marking cells, so rounding never leaves a cell
/// that an edge touches unmarked (a millionth of a micro-degree).
const EPS: f64 = 1e-12;

#[derive(Debug)]
pub(super) struct PreparedRegion {
    bounds: Option<[f64; 4]>,
    /// Every edge as `[x1, y1, x2, y2]`.
    edges: Vec<[f64; 4]>,
    band_y0: f64,
    band_inv_h: f64,
    /// Band `i` holds `band_edges[band_start[i]..band_start[i + 1]]`.
    band_start: Vec<u32>,
    band_edges: Vec<[f64; 4]>,
}

impl PreparedRegion {
    pub fn new(geometry: &MultiPolygon<f64>) -> PreparedRegion {
        let edges: Vec<[f64; 4]> = geometry
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.0.windows(2).map(|w| [w[0].x, w[0].y, w[1].x, w[1].y]))
            .filter(|e| e[0] != e[2] || e[1] != e[3])
            .collect();
        let bounds = geometry
            .bounding_rect()
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
        let [_, min_y, _, max_y] = bounds.unwrap_or_default();
        let height = (max_y - min_y).max(f64::MIN_POSITIVE);
        // About one band per two edges keeps each band to a handful of edges, but an
        // edge is copied into every band it spans: when edges are tall (a comb), use
        // fewer bands so that the copies stay within four per edge.
        let spans: f64 = edges.iter().map(|e| (e[1] - e[3]).abs() / height).sum();
        let bands = (edges.len() / 2)
            .min((4.0 * edges.len() as f64 / spans.max(1.0)) as usize)
            .clamp(1, 1 << 16);
        let band_inv_h = bands as f64 / height;
        let band_of = |y: f64| (((y - min_y) * band_inv_h) as usize).min(bands - 1);
        // Horizontal edges never cross a horizontal ray: they are left out.
        let crossing = || edges.iter().filter(|e| e[1] != e[3]);
        let mut counts = vec![0u32; bands + 1];
        for e in crossing() {
            for b in band_of(e[1].min(e[3]))..=band_of(e[1].max(e[3])) {
                counts[b + 1] += 1;
            }
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let band_start = counts;
        let mut fill: Vec<u32> = band_start[..bands].to_vec();
        let mut band_edges = vec![[0.0; 4]; band_start[bands] as usize];
        for e in crossing() {
            for b in band_of(e[1].min(e[3]))..=band_of(e[1].max(e[3])) {
                band_edges[fill[b] as usize] = *e;
                fill[b] += 1;
            }
        }
        PreparedRegion {
            bounds,
            edges,
            band_y0: min_y,
            band_inv_h,
            band_start,
            band_edges,
        }
    }

    fn band(&self, y: f64) -> &[[f64; 4]] {
        let bands = self.band_start.len() - 1;
        let b = (((y - self.band_y0) * self.band_inv_h) as usize).min(bands - 1);
        &self.band_edges[self.band_start[b] as usize..self.band_start[b + 1] as usize]
    }
}

impl Shape for PreparedRegion {
    fn bounds(&self) -> Option<[f64; 4]> {
        self.bounds
    }

    fn contains(&self, x: f64, y: f64) -> bool {
        let Some([min_x, min_y, max_x, max_y]) = self.bounds else {
            return false;
        };
        if x < min_x || x > max_x || y < min_y || y > max_y {
            return false;
        }
        let mut inside = false;
        for &[x1, y1, x2, y2] in self.band(y) {
            if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
                inside = !inside;
            }
        }
        inside
    }

    fn classify(&self, w: &Window) -> Vec<Class> {
        let mut classes = vec![Class::Outside; w.cols * w.rows];
        if w.cols == 0 || w.rows == 0 {
            return classes;
        }
        let col = |x: f64| ((x - w.x0) / w.cw).floor().clamp(-1.0, w.cols as f64) as isize;
        let row = |y: f64| ((y - w.y0) / w.ch).floor().clamp(-1.0, w.rows as f64) as isize;
        let clamp_c = |c: isize| c.clamp(0, w.cols as isize - 1) as usize;
        let clamp_r = |r: isize| r.clamp(0, w.rows as isize - 1) as usize;
        // Mark every cell an edge passes through, cutting long edges into pieces no
        // longer than half a cell and marking each piece's bounding box.
        for &[x1, y1, x2, y2] in &self.edges {
            let steps = (((x2 - x1).abs() / w.cw).max((y2 - y1).abs() / w.ch) * 2.0).ceil();
            let steps = (steps as usize).max(1);
            for k in 0..steps {
                let (t0, t1) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
                let (ax, ay) = (x1 + (x2 - x1) * t0, y1 + (y2 - y1) * t0);
                let (bx, by) = (x1 + (x2 - x1) * t1, y1 + (y2 - y1) * t1);
                let (c0, c1) = (col(ax.min(bx) - EPS), col(ax.max(bx) + EPS));
                let (r0, r1) = (row(ay.min(by) - EPS), row(ay.max(by) + EPS));
                if c1 < 0 || r1 < 0 || c0 >= w.cols as isize || r0 >= w.rows as isize {
                    continue;
                }
                for r in clamp_r(r0)..=clamp_r(r1) {
                    for c in clamp_c(c0)..=clamp_c(c1) {
                        classes[r * w.cols + c] = Class::Partial;
                    }
                }
            }
        }
        // A cell no edge touches lies wholly on one side: its centre tells which.
        for r in 0..w.rows {
            for c in 0..w.cols {
                let class = &mut classes[r * w.cols + c];
                if *class != Class::Partial {
                    let x = w.x0 + (c as f64 + 0.5) * w.cw;
                    let y = w.y0 + (r as f64 + 0.5) * w.ch;
                    *class = if self.contains(x, y) {
                        Class::Inside
                    } else {
                        Class::Outside
                    };
                }
            }
        }
        classes
    }
}

#[derive(Debug)]
pub(super) struct PreparedCircle {
    lon: f64,
    cos_lat: f64,
    lat_rad: f64,
    /// The haversine term `a` at the radius: a point is inside when its `a` is no
    /// larger.
    threshold: f64,
    /// The same a metre inside the radius, for whole cells.
    inner_threshold: f64,
    bounds: [f64; 4],
}

fn haversine_a(radius_m: f64) -> f64 {
    (radius_m.max(0.0) / EARTH_RADIUS_M / 2.0).sin().powi(2)
}

impl PreparedCircle {
    pub fn new(circle: &Circle) -> PreparedCircle {
        let lat_rad = circle.lat().to_radians();
        let r = circle.bounding_rect();
        PreparedCircle {
            lon: circle.lon(),
            cos_lat: lat_rad.cos(),
            lat_rad,
            threshold: haversine_a(circle.radius_m()),
            inner_threshold: haversine_a(circle.radius_m() - 1.0),
            bounds: [r.min().x, r.min().y, r.max().x, r.max().y],
        }
    }

    fn a(&self, x: f64, y: f64) -> f64 {
        let lat = y.to_radians();
        let half_dlat = (lat - self.lat_rad) / 2.0;
        let half_dlon = (x - self.lon).to_radians() / 2.0;
        half_dlat.sin().powi(2) + self.cos_lat * lat.cos() * half_dlon.sin().powi(2)
    }
}

impl Shape for PreparedCircle {
    fn bounds(&self) -> Option<[f64; 4]> {
        Some(self.bounds)
    }

    fn contains(&self, x: f64, y: f64) -> bool {
        self.a(x, y) <= self.threshold
    }

    /// A cell whose four corners lie (a metre) inside the circle is inside: a
    /// circle of at most 100 km is convex in longitude/latitude. Every other cell is
    /// tested point by point; the bounding box already excludes most of them.
    fn classify(&self, w: &Window) -> Vec<Class> {
        let mut classes = Vec::with_capacity(w.cols * w.rows);
        for r in 0..w.rows {
            for c in 0..w.cols {
                let (x0, y0) = (w.x0 + c as f64 * w.cw, w.y0 + r as f64 * w.ch);
                let (x1, y1) = (x0 + w.cw, y0 + w.ch);
                let inside = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
                    .iter()
                    .all(|&(x, y)| self.a(x, y) <= self.inner_threshold);
                classes.push(if inside {
                    Class::Inside
                } else {
                    Class::Partial
                });
            }
        }
        classes
    }
}
