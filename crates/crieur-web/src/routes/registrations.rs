//! The citizens' registration as a JSON API, so a municipality's own website can
//! offer sign-up. Same rules, limits and messages as the public pages. After
//! registering (or proving a contact), the client holds a bearer token that
//! manages that one registration.

use crate::auth::{SessionContext, bearer_citizen, open_session};
use crate::citizens::{AccessRequest, RegisterError, phone_may_receive_code, send_secret};
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use crieur_domain::citizen::{AddressInput, PhoneInput, RegistrationInput};
use crieur_domain::contact::PhoneNumber;
use crieur_store::{SecretCheck, Stage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(my_registration, delete_registration))
        .routes(routes!(verify))
        .routes(routes!(resend))
        .routes(routes!(request_access))
        .routes(routes!(verify_access))
}

#[derive(Deserialize, ToSchema)]
struct PhoneIn {
    /// As typed: `0470 12 34 56`, `+32 470 12 34 56`…
    number: String,
    #[serde(default)]
    sms: bool,
    #[serde(default)]
    voice: bool,
}

#[derive(Deserialize, ToSchema)]
struct AddressIn {
    /// home, work, school, family or other.
    #[serde(default)]
    label: String,
    street: String,
    house_number: String,
    postcode: String,
    /// A position (WGS 84) when the registry does not know the address.
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// A registration, as the public form takes it.
#[derive(Deserialize, ToSchema)]
struct RegistrationIn {
    /// fr, nl, de or en.
    language: String,
    #[serde(default)]
    phones: Vec<PhoneIn>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    addresses: Vec<AddressIn>,
    #[serde(default)]
    general_interest: bool,
    /// The citizen agreed to the privacy notice (version in the response).
    consent: bool,
}

#[derive(Serialize, ToSchema)]
struct ContactOut {
    id: i64,
    /// phone or email.
    kind: String,
    value: String,
    verified: bool,
}

#[derive(Serialize, ToSchema)]
struct Registered {
    /// Bearer token managing this registration (expires after 30 minutes idle).
    token: String,
    contacts: Vec<ContactOut>,
    consent_version: &'static str,
}

fn contacts_out(contacts: Vec<crieur_store::StoredContact>) -> Vec<ContactOut> {
    contacts
        .into_iter()
        .map(|k| ContactOut {
            id: k.id,
            kind: k.kind,
            value: k.value,
            verified: k.verified_at.is_some(),
        })
        .collect()
}

/// Register a citizen. Codes (SMS or voice) and links (e-mail) go out at once.
#[utoipa::path(post, path = "/api/registrations", tag = "citizens", request_body = RegistrationIn,
    responses((status = 201, body = Registered),
              (status = 422, body = crate::error::ErrorBody, description = "Problems per field"),
              (status = 429, body = crate::error::ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ctx: SessionContext,
    Json(body): Json<RegistrationIn>,
) -> Result<impl IntoResponse, ApiError> {
    let input = RegistrationInput {
        language: body.language,
        phones: body
            .phones
            .into_iter()
            .map(|p| PhoneInput {
                number: p.number,
                sms: p.sms,
                voice: p.voice,
            })
            .collect(),
        emails: body.emails,
        addresses: body
            .addresses
            .into_iter()
            .map(|a| AddressInput {
                label: a.label,
                street: a.street,
                house_number: a.house_number,
                postcode: a.postcode,
                pin: a.longitude.zip(a.latitude),
            })
            .collect(),
        general_interest: body.general_interest,
        consent: body.consent,
    };
    let address = ctx.address;
    let (citizen, _) =
        match crate::citizens::register(&state, &input, "api", address.as_deref()).await {
            Ok(r) => r,
            Err(RegisterError::Invalid(problems)) => {
                return Err(ApiError::Unprocessable(
                    problems.into_iter().map(|p| (p.field, p.key)).collect(),
                ));
            }
            Err(RegisterError::RateLimited(key)) => return Err(ApiError::TooManyRequests(key)),
            Err(RegisterError::Store(e)) => return Err(e.into()),
        };
    let (_, token) = open_session(
        &state,
        None,
        None,
        Stage::Citizen,
        address,
        Some(citizen.id),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            token,
            contacts: contacts_out(citizen.contacts),
            consent_version: crieur_domain::citizen::CONSENT_VERSION,
        }),
    ))
}

async fn citizen_of(state: &AppState, headers: &HeaderMap) -> Result<i64, ApiError> {
    bearer_citizen(state, headers)
        .await?
        .ok_or(ApiError::Unauthorized)
}

/// Everything stored about the registration the token manages (the same JSON as
/// the "download my data" link).
#[utoipa::path(get, path = "/api/registrations/me", tag = "citizens",
    responses((status = 200, description = "The citizen's data"), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn my_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let id = citizen_of(&state, &headers).await?;
    let c = state
        .store
        .citizens()
        .citizen(id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let value = serde_json::to_value(crate::citizens::export(&c))
        .map_err(|e| ApiError::Store(crieur_store::StoreError::Corrupt(e.to_string())))?;
    Ok(Json(value))
}

/// Erase the registration and all its personal data.
#[utoipa::path(delete, path = "/api/registrations/me", tag = "citizens",
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn delete_registration(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = citizen_of(&state, &headers).await?;
    crate::citizens::delete(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
struct VerifyIn {
    contact_id: i64,
    code: String,
}

#[derive(Serialize, ToSchema)]
struct VerifyOut {
    verified: bool,
    /// Attempts left for this code when it was wrong.
    attempts_left: Option<u32>,
    /// A new code must be requested.
    expired: bool,
}

/// Confirm a phone with the code it received.
#[utoipa::path(post, path = "/api/registrations/me/verify", tag = "citizens", request_body = VerifyIn,
    responses((status = 200, body = VerifyOut), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<VerifyIn>,
) -> Result<Json<VerifyOut>, ApiError> {
    let id = citizen_of(&state, &headers).await?;
    let citizen = state
        .store
        .citizens()
        .citizen(id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let owned = citizen
        .contacts
        .iter()
        .any(|c| c.id == body.contact_id && c.kind == "phone");
    if !owned {
        return Err(ApiError::not_found("error.not_found", &[]));
    }
    let out = match crate::citizens::confirm_phone(&state, &citizen, body.contact_id, &body.code)
        .await?
    {
        SecretCheck::Verified => VerifyOut {
            verified: true,
            attempts_left: None,
            expired: false,
        },
        SecretCheck::Wrong { attempts_left } => VerifyOut {
            verified: false,
            attempts_left: Some(attempts_left),
            expired: false,
        },
        SecretCheck::Expired | SecretCheck::NonePending => VerifyOut {
            verified: false,
            attempts_left: None,
            expired: true,
        },
    };
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
struct ResendIn {
    contact_id: i64,
}

/// Send a new code or link to an unconfirmed contact.
#[utoipa::path(post, path = "/api/registrations/me/resend", tag = "citizens", request_body = ResendIn,
    responses((status = 202), (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn resend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<ResendIn>,
) -> Result<StatusCode, ApiError> {
    let id = citizen_of(&state, &headers).await?;
    let citizen = state
        .store
        .citizens()
        .citizen(id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let contact = citizen
        .contacts
        .iter()
        .find(|c| c.id == body.contact_id)
        .ok_or_else(|| ApiError::not_found("error.not_found", &[]))?;
    let now = crate::auth::now();
    if contact.kind == "phone"
        && let Ok(n) = PhoneNumber::parse(&contact.value)
        && !phone_may_receive_code(&state, &n, now).await?
    {
        return Err(ApiError::TooManyRequests("citizen.too_many_codes"));
    }
    send_secret(&state, &citizen, contact, now).await;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
struct AccessIn {
    /// A phone number or e-mail address the citizen confirmed.
    contact: String,
}

/// Ask for a code to manage an existing registration. The answer is the same
/// whether or not the contact is registered.
#[utoipa::path(post, path = "/api/access", tag = "citizens", request_body = AccessIn,
    responses((status = 202), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn request_access(
    State(state): State<AppState>,
    Json(body): Json<AccessIn>,
) -> Result<StatusCode, ApiError> {
    match crate::citizens::request_access(&state, &body.contact).await? {
        AccessRequest::Invalid => Err(ApiError::Unprocessable(vec![(
            "contact".into(),
            "citizen.contact_invalid",
        )])),
        AccessRequest::RateLimited => Err(ApiError::TooManyRequests("citizen.too_many_codes")),
        AccessRequest::Accepted(_) => Ok(StatusCode::ACCEPTED),
    }
}

#[derive(Deserialize, ToSchema)]
struct AccessVerifyIn {
    contact: String,
    code: String,
}

#[derive(Serialize, ToSchema)]
struct AccessOut {
    token: String,
}

/// Exchange an access code for a token managing the registration.
#[utoipa::path(post, path = "/api/access/verify", tag = "citizens", request_body = AccessVerifyIn,
    responses((status = 200, body = AccessOut), (status = 401, body = crate::error::ErrorBody)))]
async fn verify_access(
    State(state): State<AppState>,
    ctx: SessionContext,
    Json(body): Json<AccessVerifyIn>,
) -> Result<Json<AccessOut>, ApiError> {
    let value = match crate::citizens::request_access_normalise(&body.contact) {
        Some(v) => v,
        None => return Err(ApiError::Unauthorized),
    };
    let id = crate::citizens::check_access(&state, &value, &body.code)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let (_, token) =
        open_session(&state, None, None, Stage::Citizen, ctx.address, Some(id)).await?;
    Ok(Json(AccessOut { token }))
}
