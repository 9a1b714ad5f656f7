//! Geocoding against the address registry.

use crate::routes::territories::TerritorySummary;
use crate::{ApiError, AppState, i18n::Lang};
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(geocode))
}

#[derive(Deserialize, IntoParams)]
struct GeocodeQuery {
    /// Belgian postal code.
    postcode: String,
    /// Street name in any of its languages; case and accents are ignored.
    street: String,
    /// House number, e.g. `12` or `12A`.
    number: String,
}

#[derive(Serialize, ToSchema)]
struct GeocodedAddress {
    street: String,
    house_number: String,
    box_number: Option<String>,
    postcode: String,
    lon: f64,
    lat: f64,
    municipality: TerritorySummary,
}

const MAX_LEN: usize = 200;

/// Finds an address in the registry.
#[utoipa::path(get, path = "/api/geocode", tag = "addresses", params(GeocodeQuery),
    responses((status = 200, body = GeocodedAddress),
              (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn geocode(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Query(q): Query<GeocodeQuery>,
) -> Result<Json<GeocodedAddress>, ApiError> {
    for (field, value) in [
        ("postcode", &q.postcode),
        ("street", &q.street),
        ("number", &q.number),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::bad_request(
                "error.missing_field",
                &[("field", field)],
            ));
        }
        if value.len() > MAX_LEN {
            return Err(ApiError::bad_request("error.too_long", &[("field", field)]));
        }
    }
    if state
        .territories
        .municipalities_for_postal_code(&q.postcode)
        .is_empty()
    {
        return Err(ApiError::bad_request(
            "error.unknown_postal_code",
            &[("code", q.postcode.trim())],
        ));
    }
    let found = state
        .store
        .addresses()
        .geocode(&q.postcode, &q.street, &q.number)
        .await?
        .ok_or_else(|| ApiError::not_found("error.address_not_found", &[]))?;
    let municipality = state
        .territories
        .get(found.municipality)
        .map(|u| TerritorySummary::from(u, lang))
        .ok_or_else(|| ApiError::not_found("error.address_not_found", &[]))?;
    Ok(Json(GeocodedAddress {
        street: found.street().to_owned(),
        house_number: found.house_number.clone(),
        box_number: found.box_number.clone(),
        postcode: found.postcode.clone(),
        lon: found.lon,
        lat: found.lat,
        municipality,
    }))
}
