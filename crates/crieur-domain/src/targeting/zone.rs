//! Polygon zones drawn by an authority, refused unless they are simple enough to
//! mean one thing: no crossing edges, holes inside their polygon, parts apart, a
//! bounded size. geo's own validation compares every edge with every other, too
//! slow for a 10,000-vertex polygon in a web request, hence the sweep below.

use super::area::{EARTH_RADIUS_M, TargetError};
use geo::{BoundingRect, Coord, Intersects, LineString, MultiPolygon, Polygon, Rect};

/// Vertices accepted in one zone (all rings of all polygons, closing points aside).
pub const MAX_VERTICES: usize = 10_000;
/// Belgium covers 30,689 km²; a zone much larger than that is a mistake (swapped
/// or projected coordinates). The whole country is targeted by its code.
pub const MAX_AREA_KM2: f64 = 50_000.0;
/// Zones smaller than this have no meaningful area.
const MIN_AREA_M2: f64 = 1.0;

/// A validated polygon or multipolygon in WGS 84 longitude/latitude. Points inside
/// are decided by the even-odd rule, which validation makes unambiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    geometry: MultiPolygon<f64>,
}

impl Zone {
    pub fn new(geometry: MultiPolygon<f64>) -> Result<Zone, TargetError> {
        let geometry = normalise(geometry)?;
        let vertices: usize = rings(&geometry).map(|r| r.0.len() - 1).sum();
        if vertices > MAX_VERTICES {
            return Err(TargetError::TooManyVertices {
                vertices,
                max: MAX_VERTICES,
            });
        }
        let all: Vec<&[Coord<f64>]> = rings(&geometry).map(|r| r.0.as_slice()).collect();
        if let Some(at) = find_crossing(&all) {
            return Err(TargetError::SelfIntersection {
                lon: at.x,
                lat: at.y,
            });
        }
        check_nesting(&geometry)?;
        let m2 = area_m2(&geometry);
        if m2 < MIN_AREA_M2 {
            return Err(TargetError::NoArea);
        }
        if m2 > MAX_AREA_KM2 * 1e6 {
            return Err(TargetError::TooLarge {
                km2: m2 / 1e6,
                max_km2: MAX_AREA_KM2,
            });
        }
        Ok(Zone { geometry })
    }

    pub fn from_polygon(polygon: Polygon<f64>) -> Result<Zone, TargetError> {
        Zone::new(MultiPolygon(vec![polygon]))
    }

    pub fn geometry(&self) -> &MultiPolygon<f64> {
        &self.geometry
    }

    /// Its area on the sphere, in square metres.
    pub fn area_m2(&self) -> f64 {
        area_m2(&self.geometry)
    }

    /// For geometry that is valid by construction (boolean operations' output),
    /// where the size limits, meant for what people draw, do not apply.
    pub(super) fn trusted(geometry: MultiPolygon<f64>) -> Zone {
        Zone { geometry }
    }
}

fn rings(m: &MultiPolygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    m.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
}

/// Drops repeated consecutive points, closes rings, and checks coordinates.
fn normalise(m: MultiPolygon<f64>) -> Result<MultiPolygon<f64>, TargetError> {
    if m.0.is_empty() {
        return Err(TargetError::NoPolygon);
    }
    let mut out = Vec::with_capacity(m.0.len());
    for (pi, polygon) in m.0.into_iter().enumerate() {
        let (exterior, interiors) = polygon.into_inner();
        let ring = |ri: usize, r: LineString<f64>| normalise_ring(pi + 1, ri, r);
        let exterior = ring(1, exterior)?;
        let interiors = interiors
            .into_iter()
            .enumerate()
            .map(|(hi, r)| ring(hi + 2, r))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Polygon::new(exterior, interiors));
    }
    Ok(MultiPolygon(out))
}

fn normalise_ring(
    polygon: usize,
    ring: usize,
    r: LineString<f64>,
) -> Result<LineString<f64>, TargetError> {
    let mut coords: Vec<Coord<f64>> = Vec::with_capacity(r.0.len() + 1);
    for c in r.0 {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return Err(TargetError::NotFinite { polygon, ring });
        }
        if c.x.abs() > 180.0 || c.y.abs() > 90.0 {
            return Err(TargetError::NotLonLat {
                polygon,
                ring,
                x: c.x,
                y: c.y,
            });
        }
        if coords.last() != Some(&c) {
            coords.push(c);
        }
    }
    if coords.len() > 1 && coords.first() == coords.last() {
        coords.pop();
    }
    if coords.len() < 3 {
        return Err(TargetError::TooFewPoints {
            polygon,
            ring,
            points: coords.len(),
        });
    }
    coords.push(coords[0]);
    Ok(LineString(coords))
}

/// Twice the signed planar area of `abc`: > 0 when `c` lies left of `a→b`.
fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

struct Segment {
    a: Coord<f64>,
    b: Coord<f64>,
    ring: usize,
    index: usize,
    ring_len: usize,
    min_x: f64,
    max_x: f64,
    min_y: f64,
    max_y: f64,
}

impl Segment {
    fn adjacent(&self, other: &Segment) -> bool {
        if self.ring != other.ring {
            return false;
        }
        let (i, j) = (self.index.min(other.index), self.index.max(other.index));
        j - i == 1 || (i == 0 && j == self.ring_len - 1)
    }
}

/// Where two edges cross or run along each other, if anywhere. Edges may touch at
/// a point (a hole touching its exterior ring at a vertex); the even-odd rule is
/// unambiguous then. A sweep over x keeps the comparisons near-linear for real
/// shapes.
fn find_crossing(rings: &[&[Coord<f64>]]) -> Option<Coord<f64>> {
    let mut segments = Vec::new();
    for (ring, coords) in rings.iter().enumerate() {
        let ring_len = coords.len() - 1;
        for (index, w) in coords.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            segments.push(Segment {
                a,
                b,
                ring,
                index,
                ring_len,
                min_x: a.x.min(b.x),
                max_x: a.x.max(b.x),
                min_y: a.y.min(b.y),
                max_y: a.y.max(b.y),
            });
        }
    }
    segments.sort_by(|s, t| s.min_x.total_cmp(&t.min_x));
    let mut active: Vec<usize> = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        active.retain(|&j| segments[j].max_x >= s.min_x);
        for &j in &active {
            let t = &segments[j];
            if t.max_y < s.min_y || t.min_y > s.max_y {
                continue;
            }
            if conflict(s, t) {
                return Some(s.a);
            }
        }
        active.push(i);
    }
    None
}

fn conflict(s: &Segment, t: &Segment) -> bool {
    let (o1, o2) = (orient(s.a, s.b, t.a), orient(s.a, s.b, t.b));
    let (o3, o4) = (orient(t.a, t.b, s.a), orient(t.a, t.b, s.b));
    if o1 * o2 < 0.0 && o3 * o4 < 0.0 {
        // Adjacent edges share an endpoint, so they can never cross properly.
        return !s.adjacent(t);
    }
    if o1 == 0.0 && o2 == 0.0 {
        // Collinear: conflicting when they share more than a point (this also
        // catches a ring doubling back on itself, a "spike").
        let along_x = (s.b.x - s.a.x).abs() >= (s.b.y - s.a.y).abs();
        let span = |p: Coord<f64>, q: Coord<f64>| {
            if along_x {
                (p.x.min(q.x), p.x.max(q.x))
            } else {
                (p.y.min(q.y), p.y.max(q.y))
            }
        };
        let ((s0, s1), (t0, t1)) = (span(s.a, s.b), span(t.a, t.b));
        return s1.min(t1) > s0.max(t0);
    }
    false
}

/// Even-odd point-in-ring test.
fn in_ring(ring: &[Coord<f64>], p: Coord<f64>) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y) {
            inside = !inside;
        }
    }
    inside
}

fn in_polygon(polygon: &Polygon<f64>, p: Coord<f64>) -> bool {
    in_ring(&polygon.exterior().0, p) && !polygon.interiors().iter().any(|h| in_ring(&h.0, p))
}

/// A point of a ring that is not a vertex: with no edges crossing, a whole ring lies
/// on the same side of another ring as this point (bar point contacts).
fn probe(ring: &LineString<f64>) -> Coord<f64> {
    let (a, b) = (ring.0[0], ring.0[1]);
    Coord {
        x: (a.x + b.x) / 2.0,
        y: (a.y + b.y) / 2.0,
    }
}

/// With no edge crossings left, rings can only be wrongly nested: a hole outside
/// its polygon or inside another hole, a polygon inside another's solid part.
fn check_nesting(m: &MultiPolygon<f64>) -> Result<(), TargetError> {
    for (pi, polygon) in m.0.iter().enumerate() {
        for (hi, hole) in polygon.interiors().iter().enumerate() {
            let p = probe(hole);
            if !in_ring(&polygon.exterior().0, p) {
                return Err(TargetError::HoleOutside {
                    polygon: pi + 1,
                    hole: hi + 1,
                });
            }
            let nested = polygon
                .interiors()
                .iter()
                .enumerate()
                .any(|(hj, other)| hj != hi && in_ring(&other.0, p));
            if nested {
                return Err(TargetError::NestedHole {
                    polygon: pi + 1,
                    hole: hi + 1,
                });
            }
        }
    }
    let boxes: Vec<Option<Rect<f64>>> = m.0.iter().map(|p| p.bounding_rect()).collect();
    let inside = |p: Coord<f64>, k: usize| {
        boxes[k].is_some_and(|r| r.intersects(&p)) && in_polygon(&m.0[k], p)
    };
    for (i, first) in m.0.iter().enumerate() {
        for (j, second) in m.0.iter().enumerate().skip(i + 1) {
            if inside(probe(first.exterior()), j) || inside(probe(second.exterior()), i) {
                return Err(TargetError::Overlap {
                    first: i + 1,
                    second: j + 1,
                });
            }
        }
    }
    Ok(())
}

/// A ring's area on the sphere (Chamberlain & Duquette), in square metres.
fn ring_area_m2(ring: &[Coord<f64>]) -> f64 {
    let n = ring.len() - 1;
    if n < 3 {
        return 0.0;
    }
    let mut total = 0.0;
    for i in 0..n {
        let prev = ring[(i + n - 1) % n];
        let next = ring[(i + 1) % n];
        total += (next.x - prev.x).to_radians() * ring[i].y.to_radians().sin();
    }
    (total * EARTH_RADIUS_M * EARTH_RADIUS_M / 2.0).abs()
}

/// Exteriors minus holes, whatever the rings' orientation.
pub(super) fn area_m2(m: &MultiPolygon<f64>) -> f64 {
    m.0.iter()
        .map(|p| {
            ring_area_m2(&p.exterior().0)
                - p.interiors()
                    .iter()
                    .map(|h| ring_area_m2(&h.0))
                    .sum::<f64>()
        })
        .sum()
}
