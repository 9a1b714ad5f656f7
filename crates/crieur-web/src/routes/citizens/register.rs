//! The registration form.

use super::ensure_session;
use crate::AppState;
use crate::auth::{SessionContext, start_session};
use crate::citizens::RegisterError;
use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use crieur_domain::Language;
use crieur_domain::citizen::{
    AddressInput, CONSENT_VERSION, FieldProblem, MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, PhoneInput,
    RegistrationInput,
};
use crieur_store::Stage;
use std::collections::HashMap;

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

pub(super) async fn register_form(
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

pub(super) async fn register(
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
    let (citizen, language) = registration;
    let (_, cookie) = start_session(
        &state,
        Some(&session),
        None,
        Stage::Citizen,
        ctx.address.clone(),
        Some(citizen.id),
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
