//! The staff console: who you are, your jurisdiction, and each territory in it.

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
use crieur_domain::access::Action;
use crieur_domain::{Language, Level, NisCode};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(console))
        .route("/console/territories/{nis}", get(territory))
}

/// A territory as listed in the console.
pub(crate) struct UnitLink {
    pub nis: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console.html")]
struct ConsolePage {
    layout: Layout,
    csrf: String,
    display_name: String,
    username: String,
    role: String,
    jurisdiction: UnitLink,
    units: Vec<UnitLink>,
    is_admin: bool,
    may_alert: bool,
    second_factor: bool,
}

fn link(state: &AppState, nis: NisCode, lang: Language) -> UnitLink {
    let unit = state.territories.get(nis);
    UnitLink {
        nis: nis.to_string(),
        name: unit
            .map(|u| u.name(lang).to_owned())
            .unwrap_or_else(|| nis.to_string()),
    }
}

async fn console(State(state): State<AppState>, Lang(lang): Lang, staff: Staff) -> ConsolePage {
    let tr = crate::i18n::Tr::new(lang);
    let territory = staff.principal.territory;
    let units = state
        .territories
        .children(territory)
        .map(|u| link(&state, u.nis, lang))
        .collect();
    ConsolePage {
        layout: Layout::new(lang, &state, "/console"),
        csrf: staff.csrf().to_owned(),
        display_name: staff.account.display_name.clone(),
        username: staff.account.username.clone(),
        role: tr.t(&format!("role.{}", staff.principal.role)).to_owned(),
        jurisdiction: link(&state, territory, lang),
        units,
        is_admin: staff.principal.role.may(Action::ManageAccounts),
        may_alert: staff.principal.role.may(Action::DraftAlert),
        second_factor: staff.account.totp_secret.is_some(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "console_territory.html")]
struct TerritoryPage {
    layout: Layout,
    unit: UnitLink,
    level_label: String,
    ancestry: Vec<UnitLink>,
    children: Vec<UnitLink>,
    postal_codes: String,
    approximate: bool,
    languages: String,
}

async fn territory(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(nis): Path<String>,
) -> Result<TerritoryPage, PageError> {
    let nis: NisCode = nis.parse().map_err(|_| PageError::NotFound)?;
    staff.authorize(&state, Action::ViewConsole, nis).await?;
    let unit = state.territories.get(nis).ok_or(PageError::NotFound)?;
    let postal_codes = if unit.level == Level::Municipality {
        state.territories.postal_codes_of(nis).join(", ")
    } else {
        String::new()
    };
    Ok(TerritoryPage {
        layout: Layout::new(lang, &state, &format!("/console/territories/{nis}")),
        unit: link(&state, nis, lang),
        level_label: crate::i18n::Tr::new(lang)
            .t(&format!("level.{}", unit.level))
            .to_owned(),
        ancestry: state
            .territories
            .ancestry(nis)
            .iter()
            .skip(1)
            .map(|u| link(&state, u.nis, lang))
            .collect(),
        children: state
            .territories
            .children(nis)
            .map(|u| link(&state, u.nis, lang))
            .collect(),
        postal_codes,
        approximate: unit.approximate,
        languages: unit
            .languages
            .iter()
            .map(|l| l.code())
            .collect::<Vec<_>>()
            .join(", "),
    })
}
