//! Territorial units: listing, details, postal codes, point location, GeoJSON.

use crate::{ApiError, AppState, i18n::Lang};
use axum::Json;
use axum::extract::{Path, Query, State};
use crieur_domain::territory::Territory;
use crieur_domain::{Language, Level, NisCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_territories))
        .routes(routes!(territories_geojson))
        .routes(routes!(get_territory))
        .routes(routes!(postal_code))
        .routes(routes!(locate))
}

/// A territorial unit without its geometry.
#[derive(Serialize, ToSchema)]
pub(crate) struct TerritorySummary {
    /// NIS (REFNIS) code.
    #[schema(example = "62063")]
    nis: String,
    /// country, region, province or municipality.
    level: String,
    /// The name in the requested language.
    name: String,
    names: NamesDto,
    parent: Option<String>,
    /// Official language(s).
    languages: Vec<String>,
    /// True while the shape is Crieur's approximation, not an official boundary.
    approximate: bool,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct NamesDto {
    nl: String,
    fr: String,
    de: String,
    en: String,
}

impl TerritorySummary {
    pub(crate) fn from(u: &Territory, lang: Language) -> TerritorySummary {
        TerritorySummary {
            nis: u.nis.to_string(),
            level: u.level.to_string(),
            name: u.name(lang).to_owned(),
            names: NamesDto {
                nl: u.names.nl.clone(),
                fr: u.names.fr.clone(),
                de: u.names.de.clone(),
                en: u.names.en.clone(),
            },
            parent: u.parent.map(|p| p.to_string()),
            languages: u.languages.iter().map(|l| l.to_string()).collect(),
            approximate: u.approximate,
        }
    }
}

#[derive(Deserialize, IntoParams)]
struct ListQuery {
    /// Only units of this level.
    level: Option<String>,
    /// Only the direct children of this unit.
    parent: Option<String>,
    /// Only units whose name starts with or equals this text (accents ignored).
    q: Option<String>,
}

pub(crate) fn parse_level(s: &str) -> Result<Level, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request("error.unknown_level", &[("level", s)]))
}

pub(crate) fn parse_nis(s: &str) -> Result<NisCode, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request("error.invalid_nis", &[("code", s)]))
}

/// List territorial units.
#[utoipa::path(get, path = "/api/territories", tag = "territories", params(ListQuery),
    responses((status = 200, body = Vec<TerritorySummary>),
              (status = 400, body = crate::error::ErrorBody)))]
async fn list_territories(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<TerritorySummary>>, ApiError> {
    let level = q.level.as_deref().map(parse_level).transpose()?;
    let parent = q.parent.as_deref().map(parse_nis).transpose()?;
    let t = &state.territories;
    let units: Vec<&Territory> = match q.q.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(text) => t.search(text),
        None => t.all().collect(),
    };
    Ok(Json(
        units
            .into_iter()
            .filter(|u| level.is_none_or(|l| u.level == l))
            .filter(|u| parent.is_none_or(|p| u.parent == Some(p)))
            .map(|u| TerritorySummary::from(u, lang))
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
struct TerritoryDetail {
    #[serde(flatten)]
    summary: TerritorySummary,
    /// From this unit up to the country.
    ancestry: Vec<String>,
    /// Postal codes (municipalities only).
    postal_codes: Vec<String>,
    children: usize,
}

/// One territorial unit.
#[utoipa::path(get, path = "/api/territories/{nis}", tag = "territories",
    params(("nis" = String, Path, description = "NIS code, e.g. 62063")),
    responses((status = 200, body = TerritoryDetail),
              (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn get_territory(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Path(nis): Path<String>,
) -> Result<Json<TerritoryDetail>, ApiError> {
    let code = parse_nis(&nis)?;
    let t = &state.territories;
    let unit = t
        .get(code)
        .ok_or_else(|| ApiError::not_found("error.unknown_nis", &[("code", &nis)]))?;
    Ok(Json(TerritoryDetail {
        summary: TerritorySummary::from(unit, lang),
        ancestry: t.ancestry(code).iter().map(|u| u.nis.to_string()).collect(),
        postal_codes: t
            .postal_codes_of(code)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        children: t.children(code).count(),
    }))
}

#[derive(Serialize, ToSchema)]
struct PostalCode {
    postal_code: String,
    municipalities: Vec<TerritorySummary>,
}

/// The municipalities a postal code serves.
#[utoipa::path(get, path = "/api/postal-codes/{code}", tag = "territories",
    params(("code" = String, Path, description = "Belgian postal code, e.g. 4000")),
    responses((status = 200, body = PostalCode), (status = 404, body = crate::error::ErrorBody)))]
async fn postal_code(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Path(code): Path<String>,
) -> Result<Json<PostalCode>, ApiError> {
    let t = &state.territories;
    let served = t.municipalities_for_postal_code(&code);
    if served.is_empty() {
        return Err(ApiError::not_found(
            "error.unknown_postal_code",
            &[("code", &code)],
        ));
    }
    Ok(Json(PostalCode {
        postal_code: code.trim().to_owned(),
        municipalities: served
            .iter()
            .filter_map(|n| t.get(*n))
            .map(|u| TerritorySummary::from(u, lang))
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
struct LocateQuery {
    /// WGS 84 longitude.
    lon: String,
    /// WGS 84 latitude.
    lat: String,
}

#[derive(Serialize, ToSchema)]
struct LocationDto {
    municipality: TerritorySummary,
    province: TerritorySummary,
    region: TerritorySummary,
}

pub(crate) fn parse_coordinate(
    s: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<f64, ApiError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| ApiError::bad_request("error.invalid_coordinate", &[("value", s)]))
}

/// The municipality, province and region containing a point.
#[utoipa::path(get, path = "/api/locate", tag = "territories", params(LocateQuery),
    responses((status = 200, body = LocationDto),
              (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn locate(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Query(q): Query<LocateQuery>,
) -> Result<Json<LocationDto>, ApiError> {
    let lon = parse_coordinate(&q.lon, -180.0..=180.0)?;
    let lat = parse_coordinate(&q.lat, -90.0..=90.0)?;
    let t = &state.territories;
    let loc = t
        .locate(lon, lat)
        .ok_or_else(|| ApiError::not_found("error.outside_belgium", &[]))?;
    let summary = |nis| t.get(nis).map(|u| TerritorySummary::from(u, lang));
    match (
        summary(loc.municipality),
        summary(loc.province),
        summary(loc.region),
    ) {
        (Some(municipality), Some(province), Some(region)) => Ok(Json(LocationDto {
            municipality,
            province,
            region,
        })),
        _ => Err(ApiError::not_found("error.outside_belgium", &[])),
    }
}

#[derive(Deserialize, IntoParams)]
struct GeoJsonQuery {
    /// region, province (default) or municipality.
    level: Option<String>,
}

/// Territories of one level as a GeoJSON FeatureCollection, names in the request's
/// language. This is what the offline map draws.
#[utoipa::path(get, path = "/api/territories.geojson", tag = "territories", params(GeoJsonQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"),
              (status = 400, body = crate::error::ErrorBody)))]
async fn territories_geojson(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Query(q): Query<GeoJsonQuery>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let level = q
        .level
        .as_deref()
        .map(parse_level)
        .transpose()?
        .unwrap_or(Level::Province);
    let t = &state.territories;
    let features: Vec<geojson::Feature> = t
        .at_level(level)
        .map(|u| {
            let mut props = serde_json::Map::new();
            props.insert("nis".into(), u.nis.to_string().into());
            props.insert("level".into(), u.level.to_string().into());
            props.insert("name".into(), u.name(lang).into());
            props.insert(
                "parent_name".into(),
                u.parent
                    .and_then(|p| t.get(p))
                    .map(|p| p.name(lang))
                    .unwrap_or("")
                    .into(),
            );
            props.insert("approximate".into(), u.approximate.into());
            geojson::Feature {
                geometry: Some(geojson::Geometry::from(&u.geometry)),
                properties: Some(props),
                ..Default::default()
            }
        })
        .collect();
    let fc = geojson::FeatureCollection {
        features,
        bbox: None,
        foreign_members: None,
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/geo+json"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
            (axum::http::header::VARY, "Accept-Language, Cookie"),
        ],
        fc.to_string(),
    ))
}
