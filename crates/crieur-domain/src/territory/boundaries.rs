//! Official boundaries supplied as GeoJSON, replacing Crieur's approximate shapes.
//!
//! A file is accepted whole or not at all: one bad feature refuses the import, so a
//! half-applied set of boundaries can never be stored.

use super::Territories;
use crate::NisCode;
use geo::{BoundingRect, Intersects, MultiPolygon, Validation};
use std::collections::HashSet;
use std::fmt;

/// One validated boundary, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    pub nis: NisCode,
    pub geometry: MultiPolygon<f64>,
}

/// Property names, compared without case, that commonly carry a NIS code in Belgian
/// open data (Statbel uses `CD_MUNTY_REFNIS`).
const NIS_PROPERTIES: &[&str] = &[
    "nis",
    "niscode",
    "nis_code",
    "refnis",
    "cd_refnis",
    "cd_munty_refnis",
    "code_ins",
    "ins",
    "code_nis",
];

/// Belgium with a margin, in WGS 84 degrees.
const LON_RANGE: (f64, f64) = (2.3, 6.6);
const LAT_RANGE: (f64, f64) = (49.3, 51.7);

/// Why a GeoJSON import was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundaryError {
    /// Not JSON at all; line and column as reported by the parser.
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not a GeoJSON FeatureCollection.
    NotFeatureCollection(String),
    /// The collection holds no feature.
    Empty,
    /// One or more features are wrong (at most the first 50 are listed).
    Features {
        problems: Vec<BoundaryProblem>,
        total: usize,
    },
}

/// A problem with one feature; `index` counts from 1 as a person would.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryProblem {
    pub index: usize,
    pub nis: Option<String>,
    pub message: String,
}

impl fmt::Display for BoundaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundaryError::Json {
                line,
                column,
                message,
            } => {
                write!(f, "line {line}, column {column}: not valid JSON: {message}")
            }
            BoundaryError::NotFeatureCollection(why) => {
                write!(f, "not a GeoJSON FeatureCollection: {why}")
            }
            BoundaryError::Empty => f.write_str("the FeatureCollection holds no feature"),
            BoundaryError::Features { problems, total } => {
                write!(f, "{total} feature(s) refused")?;
                for p in problems {
                    write!(f, "\n  feature {}", p.index)?;
                    if let Some(nis) = &p.nis {
                        write!(f, " (NIS {nis})")?;
                    }
                    write!(f, ": {}", p.message)?;
                }
                if *total > problems.len() {
                    write!(f, "\n  … and {} more", total - problems.len())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BoundaryError {}

/// Parses and validates a GeoJSON FeatureCollection of boundaries in WGS 84.
///
/// `nis_property` names the property holding the NIS code; when `None`, the usual
/// names are tried. Each geometry must be a valid (Multi)Polygon inside Belgium that
/// overlaps the unit's current shape, so a file keyed on the wrong property is caught.
pub fn parse_boundaries(
    text: &str,
    nis_property: Option<&str>,
    territories: &Territories,
) -> Result<Vec<Boundary>, BoundaryError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| BoundaryError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or("");
    if kind != "FeatureCollection" {
        return Err(BoundaryError::NotFeatureCollection(if kind.is_empty() {
            "no \"type\" member".into()
        } else {
            format!("its type is {kind:?}")
        }));
    }
    let features = value
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or_else(|| BoundaryError::NotFeatureCollection("no \"features\" array".into()))?;
    if features.is_empty() {
        return Err(BoundaryError::Empty);
    }

    let mut problems = Vec::new();
    let mut boundaries = Vec::with_capacity(features.len());
    let mut seen = HashSet::new();
    for (i, feature) in features.iter().enumerate() {
        let index = i + 1;
        match parse_feature(feature, nis_property, territories) {
            Ok(b) if !seen.insert(b.nis) => problems.push(BoundaryProblem {
                index,
                nis: Some(b.nis.to_string()),
                message: "this NIS code appears in an earlier feature too".into(),
            }),
            Ok(b) => boundaries.push(b),
            Err((nis, message)) => problems.push(BoundaryProblem {
                index,
                nis,
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(boundaries)
    } else {
        let total = problems.len();
        problems.truncate(50);
        Err(BoundaryError::Features { problems, total })
    }
}

fn nis_value(feature: &serde_json::Value, property: Option<&str>) -> Result<String, String> {
    let props = feature
        .get("properties")
        .and_then(|p| p.as_object())
        .ok_or("the feature has no properties")?;
    let found = match property {
        Some(name) => props
            .get(name)
            .ok_or_else(|| format!("no property {name:?}"))?,
        None => props
            .iter()
            .find(|(k, _)| NIS_PROPERTIES.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(_, v)| v)
            .ok_or_else(|| {
                "no NIS-code property (tried nis, niscode, refnis, CD_MUNTY_REFNIS, code_ins…; \
                 name yours with --nis-property)"
                    .to_string()
            })?,
    };
    match found {
        serde_json::Value::String(s) => Ok(s.trim().to_owned()),
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(|n| format!("{n:05}"))
            .ok_or_else(|| format!("the NIS code {n} is not a whole number")),
        other => Err(format!("the NIS code {other} is neither text nor a number")),
    }
}

fn parse_feature(
    feature: &serde_json::Value,
    property: Option<&str>,
    territories: &Territories,
) -> Result<Boundary, (Option<String>, String)> {
    if feature.get("type").and_then(|t| t.as_str()) != Some("Feature") {
        return Err((None, "not a GeoJSON Feature".into()));
    }
    let raw = nis_value(feature, property).map_err(|m| (None, m))?;
    let fail = |m: String| (Some(raw.clone()), m);
    let nis: NisCode = raw
        .parse()
        .map_err(|e: crate::nis::InvalidNisCode| fail(e.to_string()))?;
    let unit = territories
        .get(nis)
        .ok_or_else(|| fail("unknown NIS code: no Belgian territorial unit has it".into()))?;

    let geometry = feature
        .get("geometry")
        .filter(|g| !g.is_null())
        .ok_or_else(|| fail("the feature has no geometry".into()))?;
    let geometry: geojson::Geometry = serde_json::from_value(geometry.clone())
        .map_err(|e| fail(format!("invalid geometry: {e}")))?;
    let geometry: geo::Geometry<f64> = geometry
        .try_into()
        .map_err(|e: geojson::Error| fail(format!("invalid geometry: {e}")))?;
    let multi = match geometry {
        geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        other => {
            return Err(fail(format!(
                "a boundary must be a Polygon or MultiPolygon, not a {}",
                geometry_name(&other)
            )));
        }
    };
    let rect = multi
        .bounding_rect()
        .ok_or_else(|| fail("the geometry is empty".into()))?;
    let (min, max) = (rect.min(), rect.max());
    if min.x.abs() > 180.0 || max.y.abs() > 90.0 || max.x.abs() > 180.0 || min.y.abs() > 90.0 {
        return Err(fail(
            "coordinates look projected (e.g. Lambert 72, EPSG:31370); convert them to \
             WGS 84 longitude/latitude (EPSG:4326)"
                .into(),
        ));
    }
    if min.x < LON_RANGE.0 || max.x > LON_RANGE.1 || min.y < LAT_RANGE.0 || max.y > LAT_RANGE.1 {
        return Err(fail(format!(
            "the geometry reaches outside Belgium (longitude {:.3}…{:.3}, latitude {:.3}…{:.3}); \
             coordinates must be longitude then latitude",
            min.x, max.x, min.y, max.y
        )));
    }
    if let Err(e) = multi.check_validation() {
        return Err(fail(format!("invalid polygon: {e}")));
    }
    if let Some(current) = unit.bbox
        && !current.intersects(&rect)
    {
        return Err(fail(format!(
            "this shape lies nowhere near {} ({}): is the NIS property the right one?",
            unit.names.fr, nis
        )));
    }
    Ok(Boundary {
        nis,
        geometry: multi,
    })
}

fn geometry_name(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) => "Point",
        geo::Geometry::Line(_) | geo::Geometry::LineString(_) => "LineString",
        geo::Geometry::MultiPoint(_) => "MultiPoint",
        geo::Geometry::MultiLineString(_) => "MultiLineString",
        geo::Geometry::GeometryCollection(_) => "GeometryCollection",
        _ => "non-polygon geometry",
    }
}

/// A boundary's geometry as stored: GeoJSON geometry text.
pub fn geometry_to_geojson(geometry: &MultiPolygon<f64>) -> String {
    geojson::Geometry::from(geometry).to_string()
}

/// Reads back a stored boundary geometry.
pub fn geometry_from_geojson(text: &str) -> Result<MultiPolygon<f64>, String> {
    let g: geojson::Geometry = text.parse().map_err(|e: geojson::Error| e.to_string())?;
    match geo::Geometry::<f64>::try_from(g).map_err(|e| e.to_string())? {
        geo::Geometry::MultiPolygon(m) => Ok(m),
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        _ => Err("not a (Multi)Polygon".into()),
    }
}
