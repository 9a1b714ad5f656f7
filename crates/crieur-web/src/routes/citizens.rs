//! Citizens' self-service: register, confirm contacts, see and export one's data,
//! change preferences, delete everything. No password: access is by a code sent
//! to a verified contact.

use crate::AppState;
use crate::auth::{SessionContext, now, start_session};
use crate::citizens::{AccessRequest, RegisterError, phone_may_receive_code, send_secret};
use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crieur_domain::Language;
use crieur_domain::citizen::{
    AddressInput, CONSENT_VERSION, FieldProblem, MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, PhoneInput,
    RegistrationInput,
};
use crieur_domain::contact::PhoneNumber;
use crieur_domain::credentials::token_digest;
use crieur_store::{Citizen, SecretCheck, Stage, StoreError};
use std::collections::HashMap;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_form).post(register))
        .route("/confirm", get(confirm_page))
        .route("/confirm/phone", post(confirm_phone))
        .route("/confirm/resend", post(resend))
        .route("/confirm/email/{token}", get(confirm_email))
        .route("/profile", get(profile))
        .route("/profile/access", get(access_form).post(access_request))
        .route("/profile/access/code", post(access_code))
        .route("/profile/export", get(export))
        .route("/profile/preferences", post(preferences))
        .route("/profile/delete", post(delete))
}

fn parse_form(fields: &[(String, String)]) -> RegistrationInput {
    let map: HashMap<&str, &str> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let get = |k: &str| map.get(k).copied().unwrap_or("").to_owned();
    let on = |k: &str| map.contains_key(k);
    let pin = |i: usize| {
        let lon = map
            .get(format!("address_{i}_lon").as_str())?
            .trim()
            .parse::<f64>()
            .ok()?;
        let lat = map
            .get(format!("address_{i}_lat").as_str())?
            .trim()
            .parse::<f64>()
            .ok()?;
        Some((lon, lat))
    };
    // Rows beyond the limits are read too, so that "a sixth address" is refused
    // rather than silently dropped.
    RegistrationInput {
        language: get("language"),
        phones: (0..MAX_PHONES + 1)
            .map(|i| PhoneInput {
                number: get(&format!("phone_{i}")),
                sms: on(&format!("phone_{i}_sms")),
                voice: on(&format!("phone_{i}_voice")),
            })
            .collect(),
        emails: (0..MAX_EMAILS + 1)
            .map(|i| get(&format!("email_{i}")))
            .collect(),
        addresses: (0..MAX_ADDRESSES + 1)
            .map(|i| AddressInput {
                label: get(&format!("address_{i}_label")),
                street: get(&format!("address_{i}_street")),
                house_number: get(&format!("address_{i}_number")),
                postcode: get(&format!("address_{i}_postcode")),
                pin: pin(i),
            })
            .collect(),
        general_interest: on("general_interest"),
        consent: on("consent"),
    }
}

pub(crate) struct PhoneRow {
    pub i: usize,
    pub number: String,
    pub sms: bool,
    pub voice: bool,
    pub error: Option<String>,
}

pub(crate) struct EmailRow {
    pub i: usize,
    pub value: String,
    pub error: Option<String>,
}

pub(crate) struct AddressRow {
    pub i: usize,
    pub label: String,
    pub street: String,
    pub number: String,
    pub postcode: String,
    pub lon: String,
    pub lat: String,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    csrf: String,
    language: String,
    phones: Vec<PhoneRow>,
    emails: Vec<EmailRow>,
    addresses: Vec<AddressRow>,
    general_interest: bool,
    consent: bool,
    /// Problems not tied to one row, and the summary of all of them.
    errors: Vec<(String, String)>,
    labels: Vec<(&'static str, String)>,
    consent_version: &'static str,
}

impl RegisterPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Rows after the first sit in a folded section, open when any holds input.
    fn extra_phones_open(&self) -> bool {
        self.phones
            .iter()
            .skip(1)
            .any(|p| !p.number.is_empty() || p.error.is_some())
    }

    fn extra_emails_open(&self) -> bool {
        self.emails
            .iter()
            .skip(1)
            .any(|e| !e.value.is_empty() || e.error.is_some())
    }

    fn extra_addresses_open(&self) -> bool {
        self.addresses
            .iter()
            .skip(1)
            .any(|a| !a.street.is_empty() || a.error.is_some())
    }
}

/// Where a row sits among the form's rows.
pub(crate) trait Row {
    fn index(&self) -> usize;
    /// Shown as "Phone 2", counting from 1.
    fn number_shown(&self) -> usize {
        self.index() + 1
    }
    /// The first row of the folded section.
    fn opens_extra(&self) -> bool {
        self.index() == 1
    }
    /// The last row of the folded section.
    fn closes_extra(&self) -> bool {
        self.index() == MAX_PHONES - 1
    }
    /// The row beyond the limit exists only to read over-long submissions.
    fn visible(&self) -> bool {
        self.index() < MAX_PHONES
    }
}

impl Row for PhoneRow {
    fn index(&self) -> usize {
        self.i
    }
}

impl Row for EmailRow {
    fn index(&self) -> usize {
        self.i
    }
}

impl Row for AddressRow {
    fn index(&self) -> usize {
        self.i
    }
}

fn register_page(
    state: &AppState,
    lang: Language,
    csrf: String,
    form: RegistrationInput,
    problems: &[FieldProblem],
) -> RegisterPage {
    let tr = Tr::new(lang);
    let errors: Vec<(String, String)> = problems
        .iter()
        .map(|p| (p.field.clone(), tr.t(p.key).to_owned()))
        .collect();
    let row_error = |prefix: String| {
        errors
            .iter()
            .filter(|(f, _)| *f == prefix || f.starts_with(&format!("{prefix}.")))
            .map(|(_, m)| m.clone())
            .reduce(|a, b| format!("{a} {b}"))
    };
    RegisterPage {
        layout: Layout::new(lang, state, "/register"),
        csrf,
        language: form.language.clone(),
        phones: (0..MAX_PHONES + 1)
            .map(|i| {
                let p = form.phones.get(i).cloned().unwrap_or_default();
                PhoneRow {
                    i,
                    number: p.number,
                    sms: p.sms,
                    voice: p.voice,
                    error: row_error(format!("phones.{i}")),
                }
            })
            .collect(),
        emails: (0..MAX_EMAILS + 1)
            .map(|i| EmailRow {
                i,
                value: form.emails.get(i).cloned().unwrap_or_default(),
                error: row_error(format!("emails.{i}")),
            })
            .collect(),
        addresses: (0..MAX_ADDRESSES + 1)
            .map(|i| {
                let a = form.addresses.get(i).cloned().unwrap_or_default();
                AddressRow {
                    i,
                    label: if a.label.is_empty() {
                        "home".into()
                    } else {
                        a.label
                    },
                    street: a.street,
                    number: a.house_number,
                    postcode: a.postcode,
                    lon: a.pin.map(|p| p.0.to_string()).unwrap_or_default(),
                    lat: a.pin.map(|p| p.1.to_string()).unwrap_or_default(),
                    error: row_error(format!("addresses.{i}")),
                }
            })
            .collect(),
        general_interest: form.general_interest,
        consent: form.consent,
        errors,
        labels: crieur_domain::citizen::AddressLabel::ALL
            .iter()
            .map(|l| {
                (
                    l.as_str(),
                    tr.t(&format!("citizen.label_{}", l.as_str())).to_owned(),
                )
            })
            .collect(),
        consent_version: CONSENT_VERSION,
    }
}

/// The session's CSRF token, opening an anonymous session when there is none.
async fn ensure_session(
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

async fn register_form(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    let (csrf, cookie) = ensure_session(&state, &ctx).await?;
    let form = RegistrationInput {
        language: lang.code().to_owned(),
        ..Default::default()
    };
    let page = register_page(&state, lang, csrf, form, &[]);
    Ok(match cookie {
        Some(c) => ([(header::SET_COOKIE, c)], page).into_response(),
        None => page.into_response(),
    })
}

async fn register(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let Some(session) = ctx.session.clone() else {
        return Ok(Redirect::to("/register").into_response());
    };
    let input = parse_form(&fields);
    let refuse = |problems: Vec<FieldProblem>, input: RegistrationInput, status: StatusCode| {
        let page = register_page(&state, lang, session.csrf_token.clone(), input, &problems);
        Ok::<Response, PageError>((status, page).into_response())
    };
    let registration =
        match crate::citizens::register(&state, &input, "web", ctx.address.as_deref()).await {
            Ok(r) => r,
            Err(RegisterError::Invalid(problems)) => {
                return refuse(problems, input, StatusCode::UNPROCESSABLE_ENTITY);
            }
            Err(RegisterError::RateLimited(key)) => {
                let problem = FieldProblem {
                    field: "form".into(),
                    key,
                };
                return refuse(vec![problem], input, StatusCode::TOO_MANY_REQUESTS);
            }
            Err(RegisterError::Store(e)) => return Err(e.into()),
        };
    let (citizen_id, language) = registration;
    let (_, cookie) = start_session(
        &state,
        Some(&session),
        None,
        Stage::Citizen,
        ctx.address.clone(),
        Some(citizen_id),
    )
    .await?;
    let mut response = ([(header::SET_COOKIE, cookie)], Redirect::to("/confirm")).into_response();
    // From now on the citizen's pages speak the language they chose.
    let lang_cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        crate::i18n::LANG_COOKIE,
        language
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&lang_cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The citizen signed in on this session, if any.
async fn current_citizen(
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

fn contact_views(c: &Citizen, tr: Tr) -> Vec<ContactView> {
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

async fn confirm_page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    confirm_view(&state, lang, &ctx, None, None).await
}

#[derive(serde::Deserialize)]
struct CodeForm {
    #[serde(default)]
    contact: i64,
    #[serde(default)]
    code: String,
}

async fn confirm_phone(
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
    let code: String = form
        .code
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let check = crate::citizens::confirm_phone(&state, form.contact, &code).await?;
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
struct ResendForm {
    #[serde(default)]
    contact: i64,
}

async fn resend(
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

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
struct MessagePage {
    layout: Layout,
    title: String,
    message: String,
    link: Option<(String, String)>,
}

async fn confirm_email(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let tr = Tr::new(lang);
    let valid = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let verified = if valid {
        state
            .store
            .citizens()
            .verify_by_secret(&token_digest(&token), now())
            .await?
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

async fn profile(
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
async fn export(State(state): State<AppState>, ctx: SessionContext) -> Result<Response, PageError> {
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
struct PreferencesForm {
    general_interest: Option<String>,
}

async fn preferences(
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
async fn delete(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    let Some(c) = current_citizen(&state, &ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    state.store.citizens().delete_citizen(c.id).await?;
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

#[derive(Template, WebTemplate)]
#[template(path = "access.html")]
struct AccessPage {
    layout: Layout,
    csrf: String,
    /// The contact a code was sent to, if any (then the code form shows).
    sent_to: Option<String>,
    error: Option<String>,
}

async fn access_form(
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
struct AccessForm {
    #[serde(default)]
    contact: String,
}

/// Sends a code to a verified contact. The answer is the same whether or not
/// the contact is registered, so the form cannot be used to test numbers.
async fn access_request(
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
struct AccessCodeForm {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    code: String,
}

async fn access_code(
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
