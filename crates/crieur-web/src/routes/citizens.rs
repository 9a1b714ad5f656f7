//! Citizens' self-service: register, confirm contacts, see and export one's data,
//! change preferences, delete everything. No password: access is by a code sent
//! to a verified contact.

use crate::AppState;
use crate::auth::{SessionContext, now, start_session};
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
use crieur_channels::Outbound;
use crieur_domain::Language;
use crieur_domain::citizen::{
    AddressInput, CONSENT_VERSION, FieldProblem, MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, PhoneInput,
    RegistrationInput, validate,
};
use crieur_domain::contact::{EmailAddress, LineKind, PhoneNumber};
use crieur_domain::credentials::{new_token, token_digest};
use crieur_store::{
    Citizen, NewCitizen, NewContact, SecretCheck, Stage, StoreError, StoredAddress,
};
use std::collections::HashMap;

/// Limits on sending codes, against SMS-pumping fraud.
const REGISTRATIONS_PER_ADDRESS_HOUR: u32 = 20;
const CODES_PER_NUMBER_HOUR: u32 = 3;
const CODES_PER_RANGE_HOUR: u32 = 10;
/// Digits after `+` that make a number range (`+3247012…`).
const RANGE_DIGITS: usize = 7;
const CODE_TTL_SECS: i64 = 10 * 60;
const LINK_TTL_SECS: i64 = 24 * 3600;
const MAX_CODE_ATTEMPTS: u32 = 5;

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
        .route("/simulator", get(simulator))
}

fn sha(contact_id: i64, secret: &str) -> String {
    token_digest(&format!("{contact_id}:{secret}"))
}

fn six_digits() -> String {
    let t = new_token();
    let n = u64::from_str_radix(&t[..12], 16).unwrap_or(0) % 1_000_000;
    format!("{n:06}")
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
    let registration = match validate(&input) {
        Ok(r) => r,
        Err(problems) => return refuse(problems, input, StatusCode::UNPROCESSABLE_ENTITY),
    };

    // Geocode every address; an unknown one needs a pin.
    let mut addresses = Vec::new();
    let mut problems = Vec::new();
    for (i, a) in registration.addresses.iter().enumerate() {
        let field = |f: &str| format!("addresses.{i}.{f}");
        if state
            .territories
            .municipalities_for_postal_code(&a.postcode)
            .is_empty()
        {
            problems.push(FieldProblem {
                field: field("postcode"),
                key: "citizen.postcode_unknown",
            });
            continue;
        }
        let found = state
            .store
            .addresses()
            .geocode(&a.postcode, &a.street, &a.house_number)
            .await?;
        let placed = match (found, a.pin) {
            (Some(f), _) => Some((f.municipality, f.lon, f.lat, "registry")),
            (None, Some((lon, lat))) => state
                .territories
                .locate(lon, lat)
                .map(|l| (l.municipality, lon, lat, "pin")),
            (None, None) => None,
        };
        match placed {
            Some((municipality, lon, lat, how)) => addresses.push(StoredAddress {
                label: a.label.as_str().to_owned(),
                street: a.street.clone(),
                house_number: a.house_number.clone(),
                postcode: a.postcode.clone(),
                municipality,
                lon,
                lat,
                placed: how.to_owned(),
            }),
            None => problems.push(FieldProblem {
                field: field("street"),
                key: "citizen.address_not_found",
            }),
        }
    }
    // Someone already registered manages their profile instead.
    for p in &registration.phones {
        if state
            .store
            .citizens()
            .citizen_by_verified_contact("phone", p.number.e164())
            .await?
            .is_some()
        {
            problems.push(FieldProblem {
                field: "phones".into(),
                key: "citizen.already_registered",
            });
        }
    }
    for e in &registration.emails {
        if state
            .store
            .citizens()
            .citizen_by_verified_contact("email", e.as_str())
            .await?
            .is_some()
        {
            problems.push(FieldProblem {
                field: "emails".into(),
                key: "citizen.already_registered",
            });
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return refuse(problems, input, StatusCode::UNPROCESSABLE_ENTITY);
    }

    // Rate limits, counted before anything is stored or sent.
    let now = now();
    let citizens = state.store.citizens();
    if let Some(addr) = &ctx.address
        && citizens
            .hit_rate(&format!("register:addr:{addr}"), now, 3600)
            .await?
            > REGISTRATIONS_PER_ADDRESS_HOUR
    {
        tracing::warn!(address = %addr, "registration rate limit reached");
        return refuse(
            vec![FieldProblem {
                field: "form".into(),
                key: "citizen.too_many_registrations",
            }],
            input,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    for p in &registration.phones {
        if !phone_may_receive_code(&state, &p.number, now).await? {
            return refuse(
                vec![FieldProblem {
                    field: "phones".into(),
                    key: "citizen.too_many_codes",
                }],
                input,
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
    }

    let contacts: Vec<NewContact> = registration
        .phones
        .iter()
        .map(|p| NewContact {
            kind: "phone".into(),
            value: p.number.e164().to_owned(),
            line: Some(p.number.kind().as_str().to_owned()),
            sms: p.sms,
            voice: p.voice,
            verified_by: None,
        })
        .chain(registration.emails.iter().map(|e| NewContact {
            kind: "email".into(),
            value: e.as_str().to_owned(),
            line: None,
            sms: false,
            voice: false,
            verified_by: None,
        }))
        .collect();
    let (citizen_id, _) = citizens
        .register_citizen(&NewCitizen {
            language: registration.language.code().to_owned(),
            general_interest: registration.general_interest,
            consent_version: CONSENT_VERSION.to_owned(),
            consent_at: jiff::Timestamp::now().to_string(),
            source: "web".into(),
            contacts,
            addresses,
        })
        .await?;
    let citizen = citizens
        .citizen(citizen_id)
        .await?
        .ok_or(PageError::NotFound)?;
    for c in &citizen.contacts {
        send_secret(&state, &citizen, c, now).await;
    }
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
        registration.language
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&lang_cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// Counts a code towards the number's and its range's limits.
async fn phone_may_receive_code(
    state: &AppState,
    number: &PhoneNumber,
    now: i64,
) -> Result<bool, StoreError> {
    let c = state.store.citizens();
    let per_number = c
        .hit_rate(&format!("code:number:{}", number.e164()), now, 3600)
        .await?;
    let per_range = c
        .hit_rate(
            &format!("code:range:{}", number.range(RANGE_DIGITS)),
            now,
            3600,
        )
        .await?;
    if per_number > CODES_PER_NUMBER_HOUR || per_range > CODES_PER_RANGE_HOUR {
        tracing::warn!(range = %number.range(RANGE_DIGITS), per_number, per_range, "code rate limit reached");
        return Ok(false);
    }
    Ok(true)
}

/// Sends a fresh code (phones) or link (e-mail) for one unverified contact.
/// Failures are logged; the citizen can ask again.
async fn send_secret(
    state: &AppState,
    citizen: &Citizen,
    contact: &crieur_store::StoredContact,
    now: i64,
) {
    if contact.verified_at.is_some() {
        return;
    }
    let lang: Language = citizen.language.parse().unwrap_or(Language::Fr);
    let tr = Tr::new(lang);
    let (message, digest, ttl) = if contact.kind == "phone" {
        let code = six_digits();
        let text = tr.fmt("citizen.sms_code", &[("code", &code)]);
        let message =
            if contact.line.as_deref() == Some(LineKind::Landline.as_str()) || !contact.sms {
                let spoken: String = code.chars().map(|c| format!("{c} ")).collect();
                Outbound::Voice {
                    to: contact.value.clone(),
                    language: lang.code().to_owned(),
                    script: tr.fmt("citizen.voice_code", &[("code", spoken.trim())]),
                }
            } else {
                Outbound::Sms {
                    to: contact.value.clone(),
                    text,
                }
            };
        (message, sha(contact.id, &code), CODE_TTL_SECS)
    } else {
        let token = new_token();
        let link = format!(
            "{}/confirm/email/{token}",
            state.settings.public_url.trim_end_matches('/')
        );
        let message = Outbound::Email {
            to: contact.value.clone(),
            subject: tr.t("citizen.email_subject").to_owned(),
            body: tr.fmt("citizen.email_body", &[("link", &link)]),
        };
        (message, token_digest(&token), LINK_TTL_SECS)
    };
    if let Err(e) = state
        .store
        .citizens()
        .set_verification_secret(contact.id, &digest, now, now + ttl)
        .await
    {
        tracing::error!(error = %e, "storing a verification secret failed");
        return;
    }
    if let Err(e) = state.outbox.send(message).await {
        tracing::error!(error = %e, channel = %contact.kind, "a verification message could not be sent");
    }
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
    let check = state
        .store
        .citizens()
        .check_contact_secret(
            form.contact,
            &sha(form.contact, &code),
            now(),
            MAX_CODE_ATTEMPTS,
            "code",
        )
        .await?;
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

#[derive(serde::Serialize)]
struct Export<'a> {
    exported_at: String,
    language: &'a str,
    general_interest: bool,
    consent: ExportConsent<'a>,
    registered_at: &'a str,
    source: &'a str,
    contacts: Vec<ExportContact<'a>>,
    addresses: Vec<ExportAddress<'a>>,
}

#[derive(serde::Serialize)]
struct ExportConsent<'a> {
    given_at: &'a str,
    text_version: &'a str,
}

#[derive(serde::Serialize)]
struct ExportContact<'a> {
    kind: &'a str,
    value: &'a str,
    line: Option<&'a str>,
    sms: bool,
    voice: bool,
    verified_at: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct ExportAddress<'a> {
    label: &'a str,
    street: &'a str,
    house_number: &'a str,
    postcode: &'a str,
    municipality: String,
    longitude: f64,
    latitude: f64,
    placed: &'a str,
}

/// Everything Crieur holds about the citizen, as JSON (GDPR art. 15 and 20).
async fn export(State(state): State<AppState>, ctx: SessionContext) -> Result<Response, PageError> {
    let Some(c) = current_citizen(&state, &ctx).await? else {
        return Ok(Redirect::to("/profile/access").into_response());
    };
    let export = Export {
        exported_at: jiff::Timestamp::now().to_string(),
        language: &c.language,
        general_interest: c.general_interest,
        consent: ExportConsent {
            given_at: &c.consent_at,
            text_version: &c.consent_version,
        },
        registered_at: &c.created_at,
        source: &c.source,
        contacts: c
            .contacts
            .iter()
            .map(|k| ExportContact {
                kind: &k.kind,
                value: &k.value,
                line: k.line.as_deref(),
                sms: k.sms,
                voice: k.voice,
                verified_at: k.verified_at.as_deref(),
            })
            .collect(),
        addresses: c
            .addresses
            .iter()
            .map(|a| ExportAddress {
                label: &a.label,
                street: &a.street,
                house_number: &a.house_number,
                postcode: &a.postcode,
                municipality: a.municipality.to_string(),
                longitude: a.lon,
                latitude: a.lat,
                placed: &a.placed,
            })
            .collect(),
    };
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
    let raw = form.contact.trim();
    let parsed = match (PhoneNumber::parse(raw), EmailAddress::parse(raw)) {
        (Ok(p), _) => Some(("phone", p.e164().to_owned(), Some(p))),
        (_, Ok(e)) => Some(("email", e.as_str().to_owned(), None)),
        _ => None,
    };
    let Some((kind, value, number)) = parsed else {
        let page = AccessPage {
            layout: Layout::new(lang, &state, "/profile/access"),
            csrf: session.csrf_token,
            sent_to: None,
            error: Some(tr.t("citizen.contact_invalid").to_owned()),
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let now = now();
    if let Some(n) = &number
        && !phone_may_receive_code(&state, n, now).await?
    {
        let page = AccessPage {
            layout: Layout::new(lang, &state, "/profile/access"),
            csrf: session.csrf_token,
            sent_to: None,
            error: Some(tr.t("citizen.too_many_codes").to_owned()),
        };
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    if let Some(citizen_id) = state
        .store
        .citizens()
        .citizen_by_verified_contact(kind, &value)
        .await?
        && let Some(citizen) = state.store.citizens().citizen(citizen_id).await?
        && let Some(contact) = citizen
            .contacts
            .iter()
            .find(|c| c.kind == kind && c.value == value)
    {
        let code = six_digits();
        let digest = token_digest(&format!("access:{}:{code}", session.token_digest));
        // The code is bound to this browser's session: its digest includes the
        // session, so a code read elsewhere is useless here.
        state
            .store
            .citizens()
            .set_verification_secret(contact.id, &digest, now, now + CODE_TTL_SECS)
            .await?;
        let lang_c: Language = citizen.language.parse().unwrap_or(lang);
        let trc = Tr::new(lang_c);
        let message = if kind == "phone" && contact.sms {
            Outbound::Sms {
                to: value.clone(),
                text: trc.fmt("citizen.sms_access", &[("code", &code)]),
            }
        } else if kind == "phone" {
            Outbound::Voice {
                to: value.clone(),
                language: lang_c.code().into(),
                script: trc.fmt("citizen.voice_code", &[("code", &code)]),
            }
        } else {
            Outbound::Email {
                to: value.clone(),
                subject: trc.t("citizen.access_subject").to_owned(),
                body: trc.fmt("citizen.sms_access", &[("code", &code)]),
            }
        };
        if let Err(e) = state.outbox.send(message).await {
            tracing::error!(error = %e, "an access code could not be sent");
        }
    }
    Ok(AccessPage {
        layout: Layout::new(lang, &state, "/profile/access"),
        csrf: session.csrf_token,
        sent_to: Some(value),
        error: None,
    }
    .into_response())
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
    let tr = Tr::new(lang);
    let value = form.contact.trim().to_owned();
    let kind = if value.starts_with('+') {
        "phone"
    } else {
        "email"
    };
    let code: String = form
        .code
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let mut granted = None;
    if let Some(citizen_id) = state
        .store
        .citizens()
        .citizen_by_verified_contact(kind, &value)
        .await?
        && let Some(citizen) = state.store.citizens().citizen(citizen_id).await?
        && let Some(contact) = citizen
            .contacts
            .iter()
            .find(|c| c.kind == kind && c.value == value)
    {
        let digest = token_digest(&format!("access:{}:{code}", session.token_digest));
        // A contact already verified stays verified; the check only proves the
        // code, counts attempts and expires it.
        if state
            .store
            .citizens()
            .check_contact_secret(
                contact.id,
                &digest,
                now(),
                MAX_CODE_ATTEMPTS,
                contact.verified_by.as_deref().unwrap_or("code"),
            )
            .await?
            == SecretCheck::Verified
        {
            granted = Some(citizen_id);
        }
    }
    match granted {
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
                error: Some(tr.t("citizen.code_expired_or_wrong").to_owned()),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub(crate) struct SimulatedView {
    pub seq: u64,
    pub channel: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "simulator.html")]
struct SimulatorPage {
    layout: Layout,
    messages: Vec<SimulatedView>,
}

/// The device simulator's inbox: every message that would have reached a phone
/// or mailbox. Exists only when the simulator stands in for real channels.
async fn simulator(
    State(state): State<AppState>,
    Lang(lang): Lang,
) -> Result<SimulatorPage, PageError> {
    let sim = state.simulator.as_ref().ok_or(PageError::NotFound)?;
    let messages = sim
        .messages(None)
        .into_iter()
        .take(200)
        .map(|m| {
            let (subject, text) = match &m.message {
                Outbound::Sms { text, .. } => (String::new(), text.clone()),
                Outbound::Voice {
                    script, language, ..
                } => (language.clone(), script.clone()),
                Outbound::Email { subject, body, .. } => (subject.clone(), body.clone()),
            };
            SimulatedView {
                seq: m.seq,
                channel: m.message.channel(),
                to: m.message.recipient().to_owned(),
                subject,
                text,
            }
        })
        .collect();
    Ok(SimulatorPage {
        layout: Layout::new(lang, &state, "/simulator"),
        messages,
    })
}
