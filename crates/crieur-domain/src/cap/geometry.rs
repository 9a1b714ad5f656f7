//! CAP's shapes: `polygon` and `circle` in WGS 84 "latitude,longitude" text, and
//! their `geo` equivalents (x = longitude, y = latitude) for targeting.

use super::values::parse_decimal;
use std::fmt;
use std::str::FromStr;

/// Why a polygon or circle is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    #[error("{0:?} is not a \"latitude,longitude\" pair in decimal degrees")]
    BadPair(String),
    #[error("latitude {0} is outside -90..90")]
    Latitude(f64),
    #[error("longitude {0} is outside -180..180")]
    Longitude(f64),
    #[error("a polygon needs at least 4 points (the first repeated last), found {0}")]
    TooFewPoints(usize),
    #[error("the polygon is not closed: its last point must repeat the first")]
    NotClosed,
    #[error("a CAP polygon has no holes")]
    Holes,
    #[error("{0:?} is not a circle: expected \"latitude,longitude radius_km\"")]
    BadCircle(String),
    #[error("radius {0} km is not a distance of zero or more")]
    Radius(f64),
}

/// A CAP polygon: a closed ring of at least four WGS 84 points, coordinates in
/// range. Kept as a `geo` polygon without holes.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon(geo::Polygon<f64>);

impl Polygon {
    /// Builds from (latitude, longitude) points in CAP order.
    pub fn from_lat_lon(points: &[(f64, f64)]) -> Result<Polygon, GeometryError> {
        if points.len() < 4 {
            return Err(GeometryError::TooFewPoints(points.len()));
        }
        for &(lat, lon) in points {
            check_point(lat, lon)?;
        }
        if points.first() != points.last() {
            return Err(GeometryError::NotClosed);
        }
        let ring: Vec<geo::Coord<f64>> = points
            .iter()
            .map(|&(lat, lon)| geo::coord! { x: lon, y: lat })
            .collect();
        Ok(Polygon(geo::Polygon::new(geo::LineString(ring), vec![])))
    }

    /// The points as (latitude, longitude), first repeated last.
    pub fn lat_lon(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.0.exterior().coords().map(|c| (c.y, c.x))
    }

    pub fn as_geo(&self) -> &geo::Polygon<f64> {
        &self.0
    }
}

impl TryFrom<&geo::Polygon<f64>> for Polygon {
    type Error = GeometryError;
    /// Refuses holes, which CAP cannot express; `geo` rings are already closed.
    fn try_from(p: &geo::Polygon<f64>) -> Result<Polygon, GeometryError> {
        if !p.interiors().is_empty() {
            return Err(GeometryError::Holes);
        }
        let points: Vec<(f64, f64)> = p.exterior().coords().map(|c| (c.y, c.x)).collect();
        Polygon::from_lat_lon(&points)
    }
}

impl From<Polygon> for geo::Polygon<f64> {
    fn from(p: Polygon) -> geo::Polygon<f64> {
        p.0
    }
}

impl FromStr for Polygon {
    type Err = GeometryError;
    /// Reads `lat,lon lat,lon …`, pairs separated by any whitespace.
    fn from_str(s: &str) -> Result<Polygon, GeometryError> {
        let points = s
            .split_whitespace()
            .map(parse_pair)
            .collect::<Result<Vec<_>, _>>()?;
        Polygon::from_lat_lon(&points)
    }
}

impl fmt::Display for Polygon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lat, lon)) in self.lat_lon().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{lat},{lon}")?;
        }
        Ok(())
    }
}

/// A CAP circle: a WGS 84 centre and a radius in kilometres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    center: geo::Point<f64>,
    radius_km: f64,
}

impl Circle {
    /// `center` is a `geo` point, x = longitude, y = latitude.
    pub fn new(center: geo::Point<f64>, radius_km: f64) -> Result<Circle, GeometryError> {
        check_point(center.y(), center.x())?;
        if !radius_km.is_finite() || radius_km < 0.0 {
            return Err(GeometryError::Radius(radius_km));
        }
        Ok(Circle { center, radius_km })
    }

    pub fn center(&self) -> geo::Point<f64> {
        self.center
    }

    pub fn radius_km(&self) -> f64 {
        self.radius_km
    }
}

impl FromStr for Circle {
    type Err = GeometryError;
    /// Reads `lat,lon radius_km`.
    fn from_str(s: &str) -> Result<Circle, GeometryError> {
        let mut parts = s.split_whitespace();
        let (Some(pair), Some(radius), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(GeometryError::BadCircle(s.to_owned()));
        };
        let (lat, lon) = parse_pair(pair)?;
        let radius = parse_decimal(radius).ok_or_else(|| GeometryError::BadCircle(s.to_owned()))?;
        Circle::new(geo::Point::new(lon, lat), radius)
    }
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{} {}",
            self.center.y(),
            self.center.x(),
            self.radius_km
        )
    }
}

fn parse_pair(pair: &str) -> Result<(f64, f64), GeometryError> {
    let bad = || GeometryError::BadPair(pair.to_owned());
    let (lat, lon) = pair.split_once(',').ok_or_else(bad)?;
    let lat = parse_decimal(lat).ok_or_else(bad)?;
    let lon = parse_decimal(lon).ok_or_else(bad)?;
    Ok((lat, lon))
}

fn check_point(lat: f64, lon: f64) -> Result<(), GeometryError> {
    // The negated comparisons also catch NaN.
    if !(-90.0..=90.0).contains(&lat) {
        return Err(GeometryError::Latitude(lat));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(GeometryError::Longitude(lon));
    }
    Ok(())
}
