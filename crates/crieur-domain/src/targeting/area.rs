//! What an alert targets: territory codes, polygons and circles, each checked when
//! built so the rest of Crieur can trust them.

use super::zone::Zone;
use crate::{NisCode, Territories};
use geo::{Coord, LineString, Polygon, Rect};

/// Mean Earth radius (IUGG), in metres.
pub(crate) const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Circles smaller than this are a typing mistake rather than an alert zone.
pub const MIN_RADIUS_M: f64 = 1.0;
/// A circle wider than this covers a third of Belgium: use territory codes instead.
pub const MAX_RADIUS_M: f64 = 100_000.0;

/// Why an area cannot be targeted. Each message names the problem and, for
/// polygons, where it lies (polygon and ring numbers count from 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("the target names no area")]
    Empty,
    #[error("unknown territory {0}: no Belgian territorial unit has this NIS code")]
    UnknownTerritory(NisCode),
    #[error("the polygon has no ring")]
    NoPolygon,
    #[error("polygon {polygon}, ring {ring}: a coordinate is not a finite number")]
    NotFinite { polygon: usize, ring: usize },
    #[error(
        "polygon {polygon}, ring {ring}: ({x}, {y}) is not a WGS 84 longitude/latitude \
         (projected coordinates such as Lambert 72 must be converted)"
    )]
    NotLonLat {
        polygon: usize,
        ring: usize,
        x: f64,
        y: f64,
    },
    #[error("polygon {polygon}, ring {ring}: {points} distinct point(s); a ring needs at least 3")]
    TooFewPoints {
        polygon: usize,
        ring: usize,
        points: usize,
    },
    #[error("the polygon has {vertices} vertices; at most {max} are accepted (simplify it)")]
    TooManyVertices { vertices: usize, max: usize },
    #[error("polygon edges cross or overlap near ({lon:.6}, {lat:.6})")]
    SelfIntersection { lon: f64, lat: f64 },
    #[error("polygon {polygon}: hole {hole} lies outside its exterior ring")]
    HoleOutside { polygon: usize, hole: usize },
    #[error("polygon {polygon}: hole {hole} lies inside another hole")]
    NestedHole { polygon: usize, hole: usize },
    #[error("polygons {first} and {second} overlap")]
    Overlap { first: usize, second: usize },
    #[error("the polygon has no area")]
    NoArea,
    #[error("the polygon covers {km2:.0} km²; at most {max_km2:.0} km² are accepted")]
    TooLarge { km2: f64, max_km2: f64 },
    #[error("circle centre ({lon}, {lat}) is not a WGS 84 longitude/latitude")]
    BadCentre { lon: f64, lat: f64 },
    #[error("circle radius {0} m: expected {MIN_RADIUS_M} m to {MAX_RADIUS_M} m")]
    BadRadius(f64),
}

/// A circle on the Earth's surface: every point within `radius_m` metres (great-
/// circle distance on the mean sphere, within 0.5% of the ellipsoid) of the centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    lon: f64,
    lat: f64,
    radius_m: f64,
}

impl Circle {
    pub fn new(lon: f64, lat: f64, radius_m: f64) -> Result<Circle, TargetError> {
        if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 85.0) {
            return Err(TargetError::BadCentre { lon, lat });
        }
        if !(MIN_RADIUS_M..=MAX_RADIUS_M).contains(&radius_m) {
            return Err(TargetError::BadRadius(radius_m));
        }
        Ok(Circle { lon, lat, radius_m })
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn radius_m(&self) -> f64 {
        self.radius_m
    }

    /// True when the point lies within the radius (the circle's edge included).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        haversine_m(self.lon, self.lat, lon, lat) <= self.radius_m
    }

    /// The smallest longitude/latitude rectangle holding the circle.
    pub fn bounding_rect(&self) -> Rect<f64> {
        let angle = self.radius_m / EARTH_RADIUS_M;
        let dlat = angle.to_degrees();
        // Widest longitude reach of a spherical cap, exact on the sphere.
        let dlon = (angle.sin() / self.lat.to_radians().cos())
            .min(1.0)
            .asin()
            .to_degrees();
        // A hair of margin so points on the edge are never cut by rounding.
        let (dlon, dlat) = (dlon * 1.000_001 + 1e-9, dlat * 1.000_001 + 1e-9);
        Rect::new(
            Coord {
                x: self.lon - dlon,
                y: self.lat - dlat,
            },
            Coord {
                x: self.lon + dlon,
                y: self.lat + dlat,
            },
        )
    }

    /// A polygon of `sides` vertices drawn around the circle (its edges touch the
    /// circle), so it never leaves out a point of the circle; with 128 sides it
    /// reaches at most 0.03% of the radius beyond it.
    pub fn to_polygon(&self, sides: usize) -> Polygon<f64> {
        let sides = sides.max(8);
        let reach = self.radius_m / (std::f64::consts::PI / sides as f64).cos();
        let ring: Vec<Coord<f64>> = (0..=sides)
            .map(|i| {
                let bearing = std::f64::consts::TAU * (i % sides) as f64 / sides as f64;
                destination(self.lon, self.lat, bearing, reach)
            })
            .collect();
        Polygon::new(LineString(ring), vec![])
    }
}

/// Great-circle distance in metres between two longitude/latitude points.
pub fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let half_dlat = (p2 - p1) / 2.0;
    let half_dlon = (lon2 - lon1).to_radians() / 2.0;
    let a = half_dlat.sin().powi(2) + p1.cos() * p2.cos() * half_dlon.sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// The point `distance_m` from a start point along a bearing (radians from north).
fn destination(lon: f64, lat: f64, bearing: f64, distance_m: f64) -> Coord<f64> {
    let angle = distance_m / EARTH_RADIUS_M;
    let (p1, l1) = (lat.to_radians(), lon.to_radians());
    let p2 = (p1.sin() * angle.cos() + p1.cos() * angle.sin() * bearing.cos()).asin();
    let l2 = l1 + (bearing.sin() * angle.sin() * p1.cos()).atan2(angle.cos() - p1.sin() * p2.sin());
    Coord {
        x: l2.to_degrees(),
        y: p2.to_degrees(),
    }
}

/// One part of a target.
#[derive(Debug, Clone, PartialEq)]
pub enum Area {
    /// Every person with an address in a municipality of this unit (country,
    /// region, province or municipality), by the address's municipality code.
    Territory(NisCode),
    /// Every person with an address inside the polygon(s).
    Zone(Zone),
    /// Every person with an address within the circle.
    Circle(Circle),
}

/// The union of the areas an alert is sent to. Never empty; territory codes are
/// known ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    areas: Vec<Area>,
}

impl Target {
    pub fn new(areas: Vec<Area>, territories: &Territories) -> Result<Target, TargetError> {
        if areas.is_empty() {
            return Err(TargetError::Empty);
        }
        for area in &areas {
            if let Area::Territory(nis) = area
                && territories.get(*nis).is_none()
            {
                return Err(TargetError::UnknownTerritory(*nis));
            }
        }
        Ok(Target { areas })
    }

    /// The whole of Belgium.
    pub fn country() -> Target {
        Target {
            areas: vec![Area::Territory(NisCode::BELGIUM)],
        }
    }

    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    /// For the jurisdiction helpers, which only ever shrink a valid target.
    pub(super) fn from_checked(areas: Vec<Area>) -> Option<Target> {
        (!areas.is_empty()).then_some(Target { areas })
    }
}
