//! Switching an incident's hotline on and off: the activation form (number from
//! the pool, languages, greeting, menu, staffing, queue policy), the call-out of
//! on-call operators by SMS and e-mail through the dispatch engine, and the page
//! where a called-out operator says whether they are coming. Every change is
//! audited; a configuration that could not work is refused when saved.

use crate::AppState;
use crate::auth::{Staff, audit, now};
use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use crieur_channels::Outbound;
use crieur_domain::Language;
use crieur_domain::access::Action;
use crieur_domain::acd::{Line, Strategy};
use crieur_domain::audit::{AuditRecord, Outcome};
use crieur_domain::credentials::{new_token, token_digest};
use crieur_domain::hotline::{HotlineConfig, MenuOption};
use crieur_hotline::ActivationError;
use crieur_store::{CalloutChannel, CalloutResponse, Hotline, Incident, NewCallout, StoreError};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/incidents/{id}/hotline", get(page))
        .route("/console/incidents/{id}/hotline/activate", post(activate))
        .route(
            "/console/incidents/{id}/hotline/deactivate",
            post(deactivate),
        )
        .route("/callout/{token}", get(callout_page))
        .route("/api/callouts/{token}", post(callout_answer))
}

pub(crate) struct CalloutLine {
    pub name: String,
    pub channel: String,
    pub response: String,
    pub eta: String,
}

pub(crate) struct LanguageField {
    pub code: &'static str,
    pub name: &'static str,
    pub checked: bool,
    pub greeting: String,
    pub holding: String,
    pub closing: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "hotline.html")]
struct HotlinePage {
    layout: Layout,
    csrf: String,
    incident_id: i64,
    incident_title: String,
    may_activate: bool,
    error: Option<String>,
    /// The active hotline, if any.
    active: Option<ActiveLine>,
    numbers: Vec<String>,
    languages: Vec<LanguageField>,
    staffing_target: u32,
    strategies: Vec<(&'static str, bool)>,
    max_wait_minutes: u64,
    wrap_up_seconds: u64,
    on_call: Vec<(String, bool)>,
    callouts: Vec<CalloutLine>,
}

pub(crate) struct ActiveLine {
    pub id: i64,
    pub number: String,
    pub since: String,
    pub signed_in: usize,
    pub target: u32,
    pub languages: String,
}

async fn incident(state: &AppState, staff: &Staff, id: i64) -> Result<Incident, PageError> {
    let incident = state
        .store
        .alerts()
        .incident(id)
        .await?
        .ok_or(PageError::NotFound)?;
    // Another authority's incident does not exist, as far as they can tell.
    if !state
        .territories
        .contains(staff.principal.territory, incident.territory)
    {
        return Err(PageError::NotFound);
    }
    Ok(incident)
}

async fn page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<HotlinePage, PageError> {
    let incident = incident(&state, &staff, id).await?;
    render(
        &state,
        lang,
        &staff,
        &incident,
        None,
        &HotlineConfig::default(),
        &[],
    )
    .await
}

async fn render(
    state: &AppState,
    lang: Language,
    staff: &Staff,
    incident: &Incident,
    error: Option<String>,
    config: &HotlineConfig,
    chosen_on_call: &[String],
) -> Result<HotlinePage, PageError> {
    let hotline = state
        .store
        .hotline()
        .hotline_of_incident(incident.id)
        .await?
        .filter(|h| h.state == crieur_store::HotlineState::Active);
    let in_use: Vec<String> = state
        .store
        .hotline()
        .active_hotlines()
        .await?
        .into_iter()
        .map(|h| h.number)
        .collect();
    let callouts = match &hotline {
        Some(h) => callout_lines(state, h, lang).await?,
        None => Vec::new(),
    };
    let active = hotline.map(|h| ActiveLine {
        signed_in: state
            .hotlines
            .live(h.id)
            .map(|l| l.desks.len())
            .unwrap_or(0),
        since: jiff::Timestamp::from_second(h.activated_at)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        target: h.staffing_target,
        languages: h
            .languages
            .iter()
            .map(|l| l.code())
            .collect::<Vec<_>>()
            .join(", "),
        id: h.id,
        number: h.number,
    });
    let text = |m: &std::collections::BTreeMap<Language, String>, l| {
        m.get(&l).cloned().unwrap_or_default()
    };
    Ok(HotlinePage {
        layout: Layout::new(lang, state, "/console/incidents"),
        csrf: staff.csrf().to_owned(),
        incident_id: incident.id,
        incident_title: incident.title.clone(),
        may_activate: staff.principal.role.may(Action::ActivateHotline),
        error,
        active,
        numbers: state
            .settings
            .hotline
            .numbers
            .iter()
            .filter(|n| !in_use.contains(n))
            .cloned()
            .collect(),
        languages: Language::ALL
            .into_iter()
            .map(|l| LanguageField {
                code: l.code(),
                name: l.endonym(),
                checked: config.languages.contains(&l),
                greeting: text(&config.greeting, l),
                holding: text(&config.holding_message, l),
                closing: text(&config.closing_message, l),
            })
            .collect(),
        staffing_target: config.staffing_target,
        strategies: [
            Strategy::LongestIdle,
            Strategy::RoundRobin,
            Strategy::RingAll,
        ]
        .into_iter()
        .map(|s| (s.as_str(), s == config.acd.information.strategy))
        .collect(),
        max_wait_minutes: config.acd.information.max_wait_ms / 60_000,
        wrap_up_seconds: config.acd.wrap_up_ms / 1000,
        on_call: state
            .settings
            .hotline
            .on_call
            .iter()
            .map(|o| {
                let chosen = chosen_on_call.is_empty() || chosen_on_call.contains(&o.username);
                (o.username.clone(), chosen)
            })
            .collect(),
        callouts,
    })
}

async fn callout_lines(
    state: &AppState,
    h: &Hotline,
    lang: Language,
) -> Result<Vec<CalloutLine>, StoreError> {
    let tr = Tr::new(lang);
    let mut lines = Vec::new();
    for c in state.store.hotline().callouts(h.id).await? {
        let name = state
            .store
            .accounts()
            .account(c.account_id)
            .await?
            .map(|a| a.display_name)
            .unwrap_or_else(|| c.account_id.to_string());
        lines.push(CalloutLine {
            name,
            channel: c.channel.as_str().to_owned(),
            response: tr
                .t(match c.response {
                    Some(CalloutResponse::Coming) => "hotline.coming",
                    Some(CalloutResponse::Unavailable) => "hotline.unavailable",
                    None => "hotline.no_answer",
                })
                .to_owned(),
            eta: c
                .eta_minutes
                .map(|m| format!("{m} min"))
                .unwrap_or_default(),
        });
    }
    Ok(lines)
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn number(form: &[(String, String)], name: &str) -> Result<u64, &'static str> {
    field(form, name)
        .unwrap_or_default()
        .trim()
        .parse::<u64>()
        .map_err(|_| "hotline.bad_number_field")
}

/// The configuration a submitted form describes (not checked yet).
fn config_from(form: &[(String, String)]) -> Result<HotlineConfig, &'static str> {
    let mut config = HotlineConfig {
        languages: form
            .iter()
            .filter(|(k, _)| k == "language")
            .filter_map(|(_, v)| v.parse::<Language>().ok())
            .collect(),
        ..HotlineConfig::default()
    };
    for l in Language::ALL {
        for (prefix, texts) in [
            ("greeting", &mut config.greeting),
            ("holding", &mut config.holding_message),
            ("closing", &mut config.closing_message),
        ] {
            if let Some(v) = field(form, &format!("{prefix}_{}", l.code())) {
                texts.insert(l, v.trim().to_owned());
            }
        }
    }
    config.staffing_target =
        u32::try_from(number(form, "staffing_target")?).map_err(|_| "hotline.bad_number_field")?;
    let strategy = match field(form, "strategy").unwrap_or("longest-idle") {
        "round-robin" => Strategy::RoundRobin,
        "ring-all" => Strategy::RingAll,
        "longest-idle" => Strategy::LongestIdle,
        _ => return Err("hotline.bad_strategy"),
    };
    let max_wait_ms = number(form, "max_wait_minutes")?.saturating_mul(60_000);
    for line in Line::ALL {
        let p = config.acd.policy_mut(line);
        p.strategy = strategy;
        p.max_wait_ms = max_wait_ms;
    }
    config.acd.wrap_up_ms = number(form, "wrap_up_seconds")?.saturating_mul(1000);
    // The menu: 1 information, 2 relatives, 3 psychological support, unless a
    // line is switched off.
    config.menu = Line::ALL
        .into_iter()
        .zip(['1', '2', '3'])
        .filter(|(line, _)| {
            *line == Line::Information || field(form, &format!("line_{}", line.as_str())).is_some()
        })
        .map(|(line, digit)| MenuOption { digit, line })
        .collect();
    Ok(config)
}

async fn activate(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let tr = Tr::new(lang);
    let incident = incident(&state, &staff, id).await?;
    staff
        .authorize(&state, Action::ActivateHotline, incident.territory)
        .await?;
    let chosen: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "call_out")
        .map(|(_, v)| v.clone())
        .collect();
    let refuse = |message: String, config: HotlineConfig| {
        let state = state.clone();
        let staff = &staff;
        let incident = &incident;
        let chosen = &chosen;
        async move {
            tracing::info!(incident = incident.id, %message, "hotline activation refused");
            let page = render(
                &state,
                lang,
                staff,
                incident,
                Some(message),
                &config,
                chosen,
            )
            .await?;
            Ok::<Response, PageError>((StatusCode::BAD_REQUEST, page).into_response())
        }
    };
    let config = match config_from(&form) {
        Ok(c) => c,
        Err(key) => return refuse(tr.t(key).to_owned(), HotlineConfig::default()).await,
    };
    let number = field(&form, "number").unwrap_or_default().trim().to_owned();
    if !state.settings.hotline.numbers.contains(&number) {
        return refuse(tr.t("hotline.bad_pool_number").to_owned(), config).await;
    }
    let activated = state
        .hotlines
        .activate(id, &number, config.clone(), staff.principal.account_id)
        .await;
    let hotline = match activated {
        Ok(h) => h,
        Err(ActivationError::Config(e)) => {
            let message = format!("{} ({e})", tr.t(&format!("hotline.config.{}", e.key())));
            return refuse(message, config).await;
        }
        Err(ActivationError::Store(StoreError::Conflict(_))) => {
            return refuse(tr.t("hotline.in_use").to_owned(), config).await;
        }
        Err(ActivationError::Store(e)) => return Err(e.into()),
    };
    audit(
        &state,
        staff
            .record("hotline.activate", Outcome::Success)
            .territory(incident.territory)
            .target(format!("hotline:{}", hotline.id))
            .detail(format!("incident {} number {number}", incident.id)),
    )
    .await?;
    call_out(&state, &incident, &hotline, &chosen).await?;
    Ok(Redirect::to(&format!("/console/incidents/{id}/hotline")).into_response())
}

/// Sends each chosen on-call operator an SMS and an e-mail with a link to say
/// whether they are coming. Stored before sending: the dispatch engine does
/// the rest.
async fn call_out(
    state: &AppState,
    incident: &Incident,
    hotline: &Hotline,
    chosen: &[String],
) -> Result<(), StoreError> {
    let mut sends = Vec::new();
    let mut callouts = Vec::new();
    for contact in state
        .settings
        .hotline
        .on_call
        .iter()
        .filter(|o| chosen.contains(&o.username))
    {
        let Some(account) = state
            .store
            .accounts()
            .account_by_username(&contact.username)
            .await?
        else {
            tracing::warn!(username = %contact.username, "on-call operator has no account: not called out");
            continue;
        };
        let token = new_token();
        let link = format!(
            "{}/callout/{token}",
            state.settings.public_url.trim_end_matches('/')
        );
        let text = format!(
            "Crieur: hotline {} activated for \"{}\". Are you coming? {link}",
            hotline.number, incident.title
        );
        let at = now();
        if let Some(phone) = &contact.phone {
            callouts.push(NewCallout {
                account_id: account.id,
                channel: CalloutChannel::Sms,
                address: phone.clone(),
                token_hash: token_digest(&token),
                sent_at: at,
            });
            sends.push(Outbound::Sms {
                to: phone.clone(),
                text: text.clone(),
            });
        }
        if let Some(email) = &contact.email {
            // One token per message, so each answer says which message it came by.
            let token = new_token();
            let link = format!(
                "{}/callout/{token}",
                state.settings.public_url.trim_end_matches('/')
            );
            callouts.push(NewCallout {
                account_id: account.id,
                channel: CalloutChannel::Email,
                address: email.clone(),
                token_hash: token_digest(&token),
                sent_at: at,
            });
            sends.push(Outbound::Email {
                to: email.clone(),
                subject: format!("Crieur: hotline {} activated, are you coming?", hotline.number),
                body: format!(
                    "The hotline {} has been activated for the incident \"{}\".\n\nSay whether you are coming: {link}\n",
                    hotline.number, incident.title
                ),
                html: None,
                unsubscribe: None,
            });
        }
    }
    if callouts.is_empty() {
        return Ok(());
    }
    state
        .store
        .hotline()
        .add_callouts(hotline.id, callouts)
        .await?;
    for message in sends {
        state
            .send_message(message, state.settings.default_language.code())
            .await?;
    }
    Ok(())
}

async fn deactivate(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let incident = incident(&state, &staff, id).await?;
    staff
        .authorize(&state, Action::ActivateHotline, incident.territory)
        .await?;
    let hotline = state
        .store
        .hotline()
        .hotline_of_incident(id)
        .await?
        .filter(|h| h.state == crieur_store::HotlineState::Active)
        .ok_or(PageError::NotFound)?;
    let closing = field(&form, "closing")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if closing.chars().count() > 600 {
        return Err(PageError::BadRequest("hotline.config.text_too_long"));
    }
    if let Some(active) = state.hotlines.active(hotline.id)
        && !closing.is_empty()
    {
        // Waiting callers hear this text in their language's voice.
        let mut config = active.config();
        for l in config.languages.clone() {
            config.closing_message.insert(l, closing.clone());
        }
        if let Err(e) = state.hotlines.reconfigure(hotline.id, config).await {
            tracing::warn!(error = %e, "closing message not applied");
        }
    }
    state
        .hotlines
        .deactivate(hotline.id, staff.principal.account_id, &closing)
        .await?;
    audit(
        &state,
        staff
            .record("hotline.deactivate", Outcome::Success)
            .territory(incident.territory)
            .target(format!("hotline:{}", hotline.id)),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/incidents/{id}/hotline")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "callout.html")]
struct CalloutPage {
    layout: Layout,
    token: String,
    number: String,
    answered: Option<String>,
}

async fn callout_page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Path(token): Path<String>,
) -> Result<CalloutPage, PageError> {
    let (callout, hotline) = callout_of(&state, &token).await?;
    let tr = Tr::new(lang);
    Ok(CalloutPage {
        layout: Layout::new(lang, &state, "/callout"),
        token,
        number: hotline.number,
        answered: callout.response.map(|r| {
            tr.t(match r {
                CalloutResponse::Coming => "hotline.coming",
                CalloutResponse::Unavailable => "hotline.unavailable",
            })
            .to_owned()
        }),
    })
}

/// The call-out and its hotline, by the token in the link (a capability: its
/// hash is what is stored).
async fn callout_of(
    state: &AppState,
    token: &str,
) -> Result<(crieur_store::Callout, Hotline), PageError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PageError::NotFound);
    }
    let callout = state
        .store
        .hotline()
        .callout_by_token(&token_digest(token))
        .await?
        .ok_or(PageError::NotFound)?;
    let hotline = state
        .store
        .hotline()
        .hotline(callout.hotline_id)
        .await?
        // A closed hotline's call-out no longer needs an answer.
        .filter(|h| h.state == crieur_store::HotlineState::Active)
        .ok_or(PageError::NotFound)?;
    Ok((callout, hotline))
}

#[derive(serde::Deserialize)]
struct CalloutAnswer {
    coming: bool,
    #[serde(default)]
    eta_minutes: Option<u32>,
}

async fn callout_answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(answer): Json<CalloutAnswer>,
) -> Result<StatusCode, PageError> {
    let (callout, hotline) = callout_of(&state, &token).await?;
    let response = if answer.coming {
        CalloutResponse::Coming
    } else {
        CalloutResponse::Unavailable
    };
    let eta = answer.eta_minutes.filter(|m| *m <= 24 * 60);
    state
        .store
        .hotline()
        .respond_callout(&token_digest(&token), response, eta, now())
        .await?;
    audit(
        &state,
        AuditRecord::new(
            format!("account:{}", callout.account_id),
            "hotline.callout_answer",
            Outcome::Success,
        )
        .target(format!("hotline:{}", hotline.id))
        .detail(response.as_str()),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
