//! The operator desk's page: signing in to a hotline with a phone extension and
//! languages, then the live desk (presence, the call, approved answers, the
//! call form, transfers, callbacks) that `static/desk.js` drives through the
//! API in `desk_api`. The page itself changes nothing.

use crate::AppState;
use crate::auth::Staff;
use crate::error::PageError;
use crate::i18n::Lang;
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use crieur_domain::access::{Action, Role};
use crieur_domain::acd::Line;
use crieur_domain::hotline::{TOPICS, topic_label};
use crieur_domain::relatives::{Involvement, Relationship};
use crieur_domain::{Language, Level};
use crieur_store::{Hotline, HotlineState, Incident, StoreError};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/console/hotlines/{id}/desk", get(page))
}

/// What a call ended with, as the form offers it (stored as the key).
pub(crate) const OUTCOMES: [&str; 6] = [
    "informed",
    "referred",
    "emergency",
    "callback",
    "transferred",
    "other",
];

/// The hotline and its incident, when `staff` may see them at all: another
/// authority's hotline does not exist, as far as they can tell.
pub(crate) async fn visible(
    state: &AppState,
    staff: &Staff,
    id: i64,
) -> Result<Option<(Hotline, Incident)>, StoreError> {
    let Some(hotline) = state.store.hotline().hotline(id).await? else {
        return Ok(None);
    };
    let Some(incident) = state.store.alerts().incident(hotline.incident_id).await? else {
        return Ok(None);
    };
    if !state
        .territories
        .contains(staff.principal.territory, incident.territory)
    {
        return Ok(None);
    }
    Ok(Some((hotline, incident)))
}

/// Trained for the relatives line: decided by the role, not by the operator.
pub(crate) fn relatives_trained(role: Role) -> bool {
    matches!(role, Role::RelativesOperator | Role::HotlineSupervisor)
}

pub(crate) struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "desk.html")]
struct DeskPage {
    layout: Layout,
    /// In the demo: the simulator's headset extension, offered at sign-in.
    headset: Option<String>,
    csrf: String,
    hotline_id: i64,
    number: String,
    incident_title: String,
    active: bool,
    relatives: bool,
    /// The hotline's languages first (checked as native by default).
    languages: Vec<(&'static str, &'static str, bool)>,
    topics: Vec<Choice>,
    municipalities: Vec<Choice>,
    lines: Vec<Choice>,
    outcomes: Vec<Choice>,
    relationships: Vec<Choice>,
    involvements: Vec<Choice>,
}

async fn page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<DeskPage, PageError> {
    let (hotline, incident) = visible(&state, &staff, id)
        .await?
        .ok_or(PageError::NotFound)?;
    staff
        .authorize(&state, Action::AnswerCalls, incident.territory)
        .await?;
    let layout = Layout::new(lang, &state, &format!("/console/hotlines/{id}/desk"));
    let tr = layout.tr;
    let mut languages: Vec<(&'static str, &'static str, bool)> = hotline
        .languages
        .iter()
        .map(|l| (l.code(), l.endonym(), true))
        .collect();
    for l in Language::ALL {
        if !hotline.languages.contains(&l) {
            languages.push((l.code(), l.endonym(), false));
        }
    }
    let mut municipalities: Vec<Choice> = state
        .territories
        .at_level(Level::Municipality)
        .map(|t| Choice {
            value: t.nis.to_string(),
            label: t.name(lang).to_owned(),
        })
        .collect();
    municipalities.sort_by(|a, b| a.label.cmp(&b.label));
    let headset = match state.simulator {
        Some(_) => state.sim_phones.headset().await,
        None => None,
    };
    Ok(DeskPage {
        headset,
        csrf: staff.csrf().to_owned(),
        hotline_id: hotline.id,
        number: hotline.number,
        incident_title: incident.title,
        active: hotline.state == HotlineState::Active,
        relatives: relatives_trained(staff.principal.role),
        languages,
        topics: TOPICS
            .iter()
            .map(|(key, _)| Choice {
                value: (*key).to_owned(),
                label: topic_label(key, lang).unwrap_or(key).to_owned(),
            })
            .collect(),
        municipalities,
        lines: Line::ALL
            .into_iter()
            .map(|l| Choice {
                value: l.as_str().to_owned(),
                label: tr.t(&format!("hotline.line.{}", l.as_str())).to_owned(),
            })
            .collect(),
        relationships: Relationship::ALL
            .into_iter()
            .map(|r| Choice {
                value: r.as_str().to_owned(),
                label: tr
                    .t(&format!("relatives.relationship.{}", r.as_str()))
                    .to_owned(),
            })
            .collect(),
        involvements: Involvement::ALL
            .into_iter()
            .map(|i| Choice {
                value: i.as_str().to_owned(),
                label: tr
                    .t(&format!("relatives.involvement.{}", i.as_str()))
                    .to_owned(),
            })
            .collect(),
        outcomes: OUTCOMES
            .into_iter()
            .map(|o| Choice {
                value: o.to_owned(),
                label: tr.t(&format!("desk.outcome.{o}")).to_owned(),
            })
            .collect(),
        layout,
    })
}
