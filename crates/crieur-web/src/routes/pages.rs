//! Public pages: home, the offline map, the language switch, not-found.

use crate::i18n::{LANG_COOKIE, Lang, Tr};
use crate::{ApiError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use crieur_domain::{Language, Level};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/map", get(map))
        .route("/lang/{code}", get(switch_language))
}

/// What every page's layout needs.
pub(crate) struct Layout {
    pub tr: Tr,
    pub demo: bool,
    /// The current path, for the language switch to come back to.
    pub path: String,
}

impl Layout {
    pub(crate) fn new(lang: Language, state: &AppState, path: &str) -> Layout {
        Layout {
            tr: Tr::new(lang),
            demo: state.settings.demo,
            path: path.to_owned(),
        }
    }

    /// A layout for pages rendered outside a handler (errors).
    pub(crate) fn bare(lang: Language, demo: bool) -> Layout {
        Layout {
            tr: Tr::new(lang),
            demo,
            path: "/".to_owned(),
        }
    }

    pub(crate) fn languages(&self) -> &'static [Language] {
        &Language::ALL
    }

    pub(crate) fn asset(&self, name: &str) -> String {
        crate::assets::url(name)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    map_text: String,
}

async fn home(State(state): State<AppState>, Lang(lang): Lang) -> HomePage {
    let layout = Layout::new(lang, &state, "/");
    let provinces = state
        .territories
        .at_level(Level::Province)
        .count()
        .to_string();
    let municipalities = state
        .territories
        .at_level(Level::Municipality)
        .count()
        .to_string();
    let map_text = layout.tr.fmt(
        "home.map_text",
        &[
            ("provinces", &provinces),
            ("municipalities", &municipalities),
        ],
    );
    HomePage { layout, map_text }
}

#[derive(Template, WebTemplate)]
#[template(path = "map.html")]
struct MapPage {
    layout: Layout,
    attribution: String,
}

async fn map(State(state): State<AppState>, Lang(lang): Lang) -> MapPage {
    MapPage {
        layout: Layout::new(lang, &state, "/map"),
        attribution: state.territories.attribution().to_owned(),
    }
}

#[derive(serde::Deserialize)]
struct Next {
    next: Option<String>,
}

/// Remembers the chosen language for a year and returns to the page the visitor
/// was on. Only local paths are followed, so the switch cannot redirect elsewhere.
async fn switch_language(
    Path(code): Path<String>,
    Query(q): Query<Next>,
) -> Result<Response, ApiError> {
    let lang: Language = code
        .parse()
        .map_err(|_| ApiError::bad_request("error.unknown_language", &[("code", &code)]))?;
    let next = q
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let cookie = format!("{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax");
    let mut response = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    layout: Layout,
}

/// JSON for the API, a page for people.
pub(crate) async fn not_found(
    State(state): State<AppState>,
    Lang(lang): Lang,
    uri: Uri,
) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::not_found("error.no_such_endpoint", &[]).into_response();
    }
    let page = NotFoundPage {
        layout: Layout::new(lang, &state, "/"),
    };
    (StatusCode::NOT_FOUND, page).into_response()
}
