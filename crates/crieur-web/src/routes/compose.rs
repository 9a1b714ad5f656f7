//! The console's alert composer: pick or open an incident, start from a
//! template, write per language with live SMS counts, draw the area on the
//! offline map, count recipients, save, then release or submit for approval.
//! The page drives the staff API (`routes/alerts.rs`); it holds no rule.

use crate::AppState;
use crate::auth::Staff;
use crate::i18n::Lang;
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use crieur_domain::Language;
use crieur_domain::templates::TemplateLibrary;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/alerts", get(compose))
        .route("/console/incidents", get(incidents))
        .route("/console/alerts/{id}/delivery", get(delivery))
}

pub(crate) struct Choice {
    pub value: String,
    pub label: String,
}

/// A language of the composer, with the words that mark an exercise or a test
/// in it (the domain's, so the live counter counts what will be sent).
pub(crate) struct LanguageChoice {
    pub value: String,
    pub label: String,
    pub exercise: &'static str,
    pub test: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "compose.html")]
struct ComposePage {
    layout: Layout,
    csrf: String,
    territory: String,
    territory_name: String,
    incidents: Vec<Choice>,
    templates: Vec<Choice>,
    languages: Vec<LanguageChoice>,
    public_url: String,
    categories: &'static [&'static str],
    urgencies: &'static [&'static str],
    severities: &'static [&'static str],
    certainties: &'static [&'static str],
}

async fn compose(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
) -> Result<ComposePage, crate::error::PageError> {
    let own = staff.principal.territory;
    let incidents = state
        .store
        .alerts()
        .incidents(200)
        .await?
        .into_iter()
        .filter(|i| i.closed_at.is_none() && state.territories.contains(own, i.territory))
        .map(|i| Choice {
            value: i.id.to_string(),
            label: format!("{} (#{})", i.title, i.id),
        })
        .collect();
    let templates = TemplateLibrary::builtin()
        .iter()
        .map(|t| Choice {
            value: t.id().to_owned(),
            label: t.texts(lang).event.clone(),
        })
        .collect();
    let mark = |status, l| crieur_domain::alert::mark(status, l).unwrap_or_default();
    let languages = Language::ALL
        .iter()
        .map(|l| LanguageChoice {
            value: l.code().to_owned(),
            label: l.endonym().to_owned(),
            exercise: mark(crieur_domain::cap::Status::Exercise, *l),
            test: mark(crieur_domain::cap::Status::Test, *l),
        })
        .collect();
    Ok(ComposePage {
        layout: Layout::new(lang, &state, "/console/alerts"),
        csrf: staff.csrf().to_owned(),
        territory: own.to_string(),
        territory_name: state
            .territories
            .get(own)
            .map(|u| u.name(lang).to_owned())
            .unwrap_or_default(),
        incidents,
        templates,
        languages,
        public_url: state.settings.public_url.trim_end_matches('/').to_owned(),
        categories: &crieur_domain::templates::CAP_CATEGORIES,
        urgencies: &crieur_domain::templates::CAP_URGENCIES,
        severities: &crieur_domain::templates::CAP_SEVERITIES,
        certainties: &crieur_domain::templates::CAP_CERTAINTIES,
    })
}

pub(crate) struct AlertRow {
    pub id: i64,
    pub headline: String,
    pub status: String,
    pub msg_type: String,
    pub state: &'static str,
    pub state_label: String,
    pub mine: bool,
    pub recipients: String,
}

pub(crate) struct IncidentRow {
    pub id: i64,
    pub title: String,
    pub territory: String,
    pub opened_at: String,
    pub open: bool,
    pub alerts: Vec<AlertRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    layout: Layout,
    csrf: String,
    incidents: Vec<IncidentRow>,
    /// Trained for the relatives line: the incidents link to their inquiries.
    relatives: bool,
}

/// The incidents of the caller's jurisdiction with their alerts, and what can
/// be done with each: release, approve or reject (someone else's), cancel.
async fn incidents(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
) -> Result<IncidentsPage, crate::error::PageError> {
    let own = staff.principal.territory;
    let tr = crate::i18n::Tr::new(lang);
    let store = state.store.alerts();
    let mut rows = Vec::new();
    for i in store.incidents(100).await? {
        if !state.territories.contains(own, i.territory) {
            continue;
        }
        let alerts = store
            .alerts_of_incident(i.id)
            .await?
            .into_iter()
            .map(|a| {
                let headline = crate::alerts::parse(&state, &a)
                    .ok()
                    .and_then(|p| {
                        let written = p.composition.languages();
                        let l = if written.contains(&lang) {
                            lang
                        } else {
                            *written.first()?
                        };
                        Some(p.composition.texts[l.code()].headline.clone())
                    })
                    .unwrap_or_default();
                let persons = a
                    .recipients
                    .as_deref()
                    .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
                    .and_then(|v| v["persons"].as_u64())
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                AlertRow {
                    id: a.id,
                    headline,
                    status: a.status.clone(),
                    msg_type: a.msg_type.clone(),
                    state: a.state.as_str(),
                    state_label: tr
                        .t(&format!("incidents.state_{}", a.state.as_str()))
                        .to_owned(),
                    mine: a.author_id == staff.principal.account_id,
                    recipients: persons,
                }
            })
            .collect();
        rows.push(IncidentRow {
            id: i.id,
            title: i.title,
            territory: state
                .territories
                .get(i.territory)
                .map(|u| u.name(lang).to_owned())
                .unwrap_or_default(),
            opened_at: i.opened_at,
            open: i.closed_at.is_none(),
            alerts,
        });
    }
    Ok(IncidentsPage {
        layout: Layout::new(lang, &state, "/console/incidents"),
        csrf: staff.csrf().to_owned(),
        incidents: rows,
        relatives: staff
            .principal
            .role
            .may(crieur_domain::access::Action::ViewInquiries),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "delivery.html")]
struct DeliveryPage {
    layout: Layout,
    csrf: String,
    id: i64,
    headline: String,
    status: String,
    msg_type: String,
    released: bool,
}

/// An alert's delivery, followed live: per channel and provider, with the
/// pace and time left, "stop sending", "retry the failed ones" and the report.
async fn delivery(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<DeliveryPage, crate::error::PageError> {
    use crate::error::PageError;
    let a = state
        .store
        .alerts()
        .alert(id)
        .await?
        .ok_or(PageError::NotFound)?;
    if !state
        .territories
        .contains(staff.principal.territory, a.territory)
    {
        return Err(PageError::NotFound);
    }
    crate::alerts::allowed(
        &state,
        &staff,
        crieur_domain::access::Action::DraftAlert,
        a.territory,
    )
    .await
    .map_err(|_| PageError::Forbidden)?;
    let headline = crate::alerts::parse(&state, &a)
        .ok()
        .and_then(|p| {
            let written = p.composition.languages();
            let l = if written.contains(&lang) {
                lang
            } else {
                *written.first()?
            };
            Some(p.composition.texts[l.code()].headline.clone())
        })
        .unwrap_or_default();
    Ok(DeliveryPage {
        layout: Layout::new(lang, &state, "/console/incidents"),
        csrf: staff.csrf().to_owned(),
        id,
        headline,
        status: a.status.clone(),
        msg_type: a.msg_type.clone(),
        released: a.state == crieur_store::AlertState::Released,
    })
}
