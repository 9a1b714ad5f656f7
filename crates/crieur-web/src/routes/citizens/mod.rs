//! Citizens' self-service pages: register, confirm contacts, see and export one's
//! data, change preferences, delete everything. No password: access is by a code
//! sent to a verified contact. The rules live in `crate::citizens`.

mod access;
mod confirm;
mod profile;
mod register;

use crate::AppState;
use crate::auth::{SessionContext, start_session};
use crate::error::PageError;
use crate::i18n::Tr;
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::routing::{get, post};
use crieur_store::{Citizen, Stage};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/register",
            get(register::register_form).post(register::register),
        )
        .route("/confirm", get(confirm::confirm_page))
        .route("/confirm/phone", post(confirm::confirm_phone))
        .route("/confirm/resend", post(confirm::resend))
        .route("/confirm/email/{token}", get(confirm::confirm_email))
        .route("/profile", get(profile::profile))
        .route(
            "/profile/access",
            get(access::access_form).post(access::access_request),
        )
        .route("/profile/access/code", post(access::access_code))
        .route("/profile/export", get(profile::export))
        .route("/profile/preferences", post(profile::preferences))
        .route("/profile/delete", post(profile::delete))
}

/// The session's CSRF token, opening an anonymous session when there is none.
pub(super) async fn ensure_session(
    state: &AppState,
    ctx: &SessionContext,
) -> Result<(String, Option<axum::http::HeaderValue>), PageError> {
    if let Some(s) = &ctx.session {
        return Ok((s.csrf_token.clone(), None));
    }
    let (s, cookie) = start_session(
        state,
        None,
        None,
        Stage::Anonymous,
        ctx.address.clone(),
        None,
    )
    .await?;
    Ok((s.csrf_token, Some(cookie)))
}

/// The citizen signed in on this session, if any.
pub(super) async fn current_citizen(
    state: &AppState,
    ctx: &SessionContext,
) -> Result<Option<Citizen>, PageError> {
    match &ctx.session {
        Some(s) if s.stage == Stage::Citizen => match s.citizen_id {
            Some(id) => Ok(state.store.citizens().citizen(id).await?),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

pub(crate) struct ContactView {
    pub id: i64,
    pub kind: String,
    pub value: String,
    pub channels: String,
    pub verified: bool,
}

pub(crate) struct AddressView {
    pub label: String,
    pub text: String,
    pub municipality: String,
    pub placed: String,
}

pub(super) fn contact_views(c: &Citizen, tr: Tr) -> Vec<ContactView> {
    c.contacts
        .iter()
        .map(|k| ContactView {
            id: k.id,
            kind: k.kind.clone(),
            value: k.value.clone(),
            channels: [(k.sms, "citizen.sms"), (k.voice, "citizen.voice")]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, key)| tr.t(key))
                .collect::<Vec<_>>()
                .join(", "),
            verified: k.verified_at.is_some(),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
struct MessagePage {
    layout: Layout,
    title: String,
    message: String,
    link: Option<(String, String)>,
}
