//! The citizen's profile: data, preferences, export and erasure.

use super::{AddressView, ContactView, MessagePage, contact_views, current_citizen};
use crate::AppState;
use crate::auth::SessionContext;
use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use crieur_store::StoreError;

#[derive(Template, WebTemplate)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    csrf: String,
    contacts: Vec<ContactView>,
    addresses: Vec<AddressView>,
    general_interest: bool,
    consent: String,
    language: String,
}

pub(super) async fn profile(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    let Some(citizen) = current_citizen(&state, &ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    let tr = Tr::new(lang);
    let addresses = citizen
        .addresses
        .iter()
        .map(|a| AddressView {
            label: tr.t(&format!("citizen.label_{}", a.label)).to_owned(),
            text: format!("{} {}, {}", a.street, a.house_number, a.postcode),
            municipality: state
                .territories
                .get(a.municipality)
                .map(|u| u.name(lang).to_owned())
                .unwrap_or_default(),
            placed: tr.t(&format!("citizen.placed_{}", a.placed)).to_owned(),
        })
        .collect();
    Ok(ProfilePage {
        layout: Layout::new(lang, &state, "/profile"),
        csrf: ctx
            .session
            .as_ref()
            .map(|s| s.csrf_token.clone())
            .unwrap_or_default(),
        contacts: contact_views(&citizen, tr),
        addresses,
        general_interest: citizen.general_interest,
        consent: format!("{} ({})", citizen.consent_at, citizen.consent_version),
        language: citizen.language.clone(),
    }
    .into_response())
}

/// Everything Crieur holds about the citizen, as JSON (GDPR art. 15 and 20).
pub(super) async fn export(
    State(state): State<AppState>,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    let Some(c) = current_citizen(&state, &ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    let export = crate::citizens::export(&c);
    let body = serde_json::to_string_pretty(&export)
        .map_err(|e| PageError::Store(StoreError::Corrupt(e.to_string())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"crieur-my-data.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

#[derive(serde::Deserialize)]
pub(super) struct PreferencesForm {
    general_interest: Option<String>,
}

pub(super) async fn preferences(
    State(state): State<AppState>,
    ctx: SessionContext,
    Form(form): Form<PreferencesForm>,
) -> Result<Response, PageError> {
    let Some(c) = current_citizen(&state, &ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    state
        .store
        .citizens()
        .set_general_interest(c.id, form.general_interest.is_some())
        .await?;
    Ok(Redirect::to("/profile").into_response())
}

/// Erases the citizen's data (GDPR art. 17) and ends the session.
pub(super) async fn delete(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    let Some(c) = current_citizen(&state, &ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    crate::citizens::delete(&state, c.id).await?;
    if let Some(s) = &ctx.session {
        state
            .store
            .sessions()
            .delete_session(&s.token_digest)
            .await?;
    }
    let tr = Tr::new(lang);
    Ok((
        [(header::SET_COOKIE, crate::auth::clear_cookie())],
        MessagePage {
            layout: Layout::new(lang, &state, "/"),
            title: tr.t("citizen.deleted_title").to_owned(),
            message: tr.t("citizen.deleted").to_owned(),
            link: Some((
                "/register".into(),
                tr.t("citizen.register_title").to_owned(),
            )),
        },
    )
        .into_response())
}
