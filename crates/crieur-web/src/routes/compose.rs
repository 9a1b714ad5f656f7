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
use axum::extract::State;
use axum::routing::get;
use crieur_domain::Language;
use crieur_domain::templates::TemplateLibrary;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/console/alerts", get(compose))
}

pub(crate) struct Choice {
    pub value: String,
    pub label: String,
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
    languages: Vec<Choice>,
    public_url: String,
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
    let languages = Language::ALL
        .iter()
        .map(|l| Choice {
            value: l.code().to_owned(),
            label: l.endonym().to_owned(),
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
    })
}
