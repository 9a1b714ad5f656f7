//! Confirming phones by code and e-mail addresses by link.

use super::{ContactView, MessagePage, contact_views, current_citizen};
use crate::AppState;
use crate::auth::{SessionContext, now};
use crate::citizens::{phone_may_receive_code, send_secret};
use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use crieur_domain::Language;
use crieur_domain::contact::PhoneNumber;
use crieur_store::SecretCheck;

#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    layout: Layout,
    csrf: String,
    contacts: Vec<ContactView>,
    message: Option<String>,
    error: Option<String>,
    simulator: bool,
}

async fn confirm_view(
    state: &AppState,
    lang: Language,
    ctx: &SessionContext,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let Some(citizen) = current_citizen(state, ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    let csrf = ctx
        .session
        .as_ref()
        .map(|s| s.csrf_token.clone())
        .unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        ConfirmPage {
            layout: Layout::new(lang, state, "/confirm"),
            csrf,
            contacts: contact_views(&citizen, Tr::new(lang)),
            message,
            error,
            simulator: state.simulator.is_some(),
        },
    )
        .into_response())
}

pub(super) async fn confirm_page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    confirm_view(&state, lang, &ctx, None, None).await
}

#[derive(serde::Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    contact: i64,
    #[serde(default)]
    code: String,
}

pub(super) async fn confirm_phone(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let Some(citizen) = current_citizen(&state, &ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    if !citizen
        .contacts
        .iter()
        .any(|c| c.id == form.contact && c.kind == "phone")
    {
        return Err(PageError::NotFound);
    }
    let tr = Tr::new(lang);
    let check = crate::citizens::confirm_phone(&state, &citizen, form.contact, &form.code).await?;
    let (message, error) = match check {
        SecretCheck::Verified => (Some(tr.t("citizen.contact_confirmed").to_owned()), None),
        SecretCheck::Wrong { attempts_left } => (
            None,
            Some(tr.fmt(
                "citizen.code_wrong",
                &[("left", &attempts_left.to_string())],
            )),
        ),
        SecretCheck::Expired | SecretCheck::NonePending => {
            (None, Some(tr.t("citizen.code_expired").to_owned()))
        }
    };
    confirm_view(&state, lang, &ctx, message, error).await
}

#[derive(serde::Deserialize)]
pub(super) struct ResendForm {
    #[serde(default)]
    contact: i64,
}

pub(super) async fn resend(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
    Form(form): Form<ResendForm>,
) -> Result<Response, PageError> {
    let Some(citizen) = current_citizen(&state, &ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    let Some(contact) = citizen.contacts.iter().find(|c| c.id == form.contact) else {
        return Err(PageError::NotFound);
    };
    let tr = Tr::new(lang);
    let now = now();
    if contact.kind == "phone" {
        let number = PhoneNumber::parse(&contact.value).map_err(|_| PageError::NotFound)?;
        if !phone_may_receive_code(&state, &number, now).await? {
            return confirm_view(
                &state,
                lang,
                &ctx,
                None,
                Some(tr.t("citizen.too_many_codes").to_owned()),
            )
            .await;
        }
    }
    send_secret(&state, &citizen, contact, now).await;
    confirm_view(
        &state,
        lang,
        &ctx,
        Some(tr.t("citizen.sent_again").to_owned()),
        None,
    )
    .await
}

pub(super) async fn confirm_email(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let tr = Tr::new(lang);
    let valid = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let verified = if valid {
        crate::citizens::confirm_email_link(&state, &token).await?
    } else {
        None
    };
    let (status, message) = match verified {
        Some(_) => (StatusCode::OK, "citizen.email_confirmed"),
        None => (StatusCode::NOT_FOUND, "citizen.link_invalid"),
    };
    Ok((
        status,
        MessagePage {
            layout: Layout::new(lang, &state, "/"),
            title: tr.t("citizen.confirm_title").to_owned(),
            message: tr.t(message).to_owned(),
            link: Some(("/profile".into(), tr.t("citizen.profile_title").to_owned())),
        },
    )
        .into_response())
}
