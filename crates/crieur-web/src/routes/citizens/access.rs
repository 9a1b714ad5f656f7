//! Password-less access to one's profile by a code sent to a confirmed contact.

use super::ensure_session;
use crate::AppState;
use crate::auth::{SessionContext, start_session};
use crate::citizens::AccessRequest;
use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use crieur_store::Stage;

#[derive(Template, WebTemplate)]
#[template(path = "access.html")]
struct AccessPage {
    layout: Layout,
    csrf: String,
    /// The contact a code was sent to, if any (then the code form shows).
    sent_to: Option<String>,
    error: Option<String>,
}

pub(super) async fn access_form(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    let (csrf, cookie) = ensure_session(&state, &ctx).await?;
    let page = AccessPage {
        layout: Layout::new(lang, &state, "/profile/access"),
        csrf,
        sent_to: None,
        error: None,
    };
    Ok(match cookie {
        Some(c) => ([(header::SET_COOKIE, c)], page).into_response(),
        None => page.into_response(),
    })
}

#[derive(serde::Deserialize)]
pub(super) struct AccessForm {
    #[serde(default)]
    contact: String,
}

/// Sends a code to a verified contact. The answer is the same whether or not
/// the contact is registered, so the form cannot be used to test numbers.
pub(super) async fn access_request(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
    Form(form): Form<AccessForm>,
) -> Result<Response, PageError> {
    let Some(session) = ctx.session.clone() else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    let tr = Tr::new(lang);
    let page = |sent_to: Option<String>, error: Option<&str>| AccessPage {
        layout: Layout::new(lang, &state, "/profile/access"),
        csrf: session.csrf_token.clone(),
        sent_to,
        error: error.map(|k| tr.t(k).to_owned()),
    };
    Ok(
        match crate::citizens::request_access(&state, &form.contact).await? {
            AccessRequest::Invalid => (
                StatusCode::UNPROCESSABLE_ENTITY,
                page(None, Some("citizen.contact_invalid")),
            )
                .into_response(),
            AccessRequest::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                page(None, Some("citizen.too_many_codes")),
            )
                .into_response(),
            AccessRequest::Accepted(value) => page(Some(value), None).into_response(),
        },
    )
}

#[derive(serde::Deserialize)]
pub(super) struct AccessCodeForm {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    code: String,
}

pub(super) async fn access_code(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
    Form(form): Form<AccessCodeForm>,
) -> Result<Response, PageError> {
    let Some(session) = ctx.session.clone() else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    let value = form.contact.trim().to_owned();
    match crate::citizens::check_access(&state, &value, &form.code).await? {
        Some(id) => {
            let (_, cookie) = start_session(
                &state,
                Some(&session),
                None,
                Stage::Citizen,
                ctx.address.clone(),
                Some(id),
            )
            .await?;
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/profile")).into_response())
        }
        None => {
            let page = AccessPage {
                layout: Layout::new(lang, &state, "/profile/access"),
                csrf: session.csrf_token,
                sent_to: Some(value),
                error: Some(Tr::new(lang).t("citizen.code_expired_or_wrong").to_owned()),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
