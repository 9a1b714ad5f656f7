//! Crieur's web face: the JSON API (documented as OpenAPI), the server-rendered
//! pages, static assets, health and metrics.
//!
//! Handlers parse input into domain types, call the domain or the store, and map
//! errors in exactly one place (`error.rs`). No SQL and no business rule lives here.

pub mod alerts;
mod assets;
pub mod audience;
mod auth;
pub mod citizens;
mod error;
pub mod i18n;
mod middleware;
mod relatives_index;
mod routes;
mod state;

pub use error::{ApiError, PageError};
pub use routes::signin::DEMO_PASSWORD;
pub use state::{
    AppState, AuthSettings, HotlineSettings, OnCallContact, RegistrationLimits, WebSettings,
};

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Crieur API",
        description = "Crisis communication for public authorities: territories, \
                       geocoding, and (as they land) alerts, registrations and the hotline."
    ),
    modifiers(&BearerAuth),
    tags((name = "territories", description = "Belgian territorial units, postal codes and geometry"),
         (name = "addresses", description = "The address registry used for geocoding"),
         (name = "citizens", description = "Citizens' registration for alerts: register, confirm, manage, erase"),
         (name = "operations", description = "Health and metrics"))
)]
struct ApiDoc;

/// The citizens' API uses bearer tokens from registration or access codes.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole HTTP application.
/// The largest request: a list of people for the relatives line.
const UPLOAD_LIMIT: usize = crieur_domain::relatives::MAX_LIST_BYTES + 64 * 1024;

pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::territories::router())
        .merge(routes::addresses::router())
        .merge(routes::health::router())
        .merge(routes::registrations::router())
        .split_for_parts();
    // Any website may call the public API from a browser: no cookie is ever sent
    // cross-site (credentials are not allowed), so only bearer tokens authorise.
    let api = api.layer(
        tower_http::cors::CorsLayer::new()
            .allow_origin(tower_http::cors::Any)
            .allow_methods([
                axum::http::Method::GET,
                axum::http::Method::POST,
                axum::http::Method::DELETE,
            ])
            .allow_headers([
                axum::http::header::CONTENT_TYPE,
                axum::http::header::AUTHORIZATION,
                axum::http::header::ACCEPT_LANGUAGE,
            ]),
    );
    let openapi_json = std::sync::Arc::new(openapi);
    let app = Router::new()
        .merge(api)
        .merge(routes::pages::router())
        .merge(routes::signin::router())
        .merge(routes::console::router())
        .merge(routes::admin::router())
        .merge(routes::citizens::router())
        .merge(routes::simulator::router())
        .merge(routes::sim_phone::router())
        .merge(routes::alerts::router())
        .merge(routes::hotline::router())
        .merge(routes::supervisor::router())
        .merge(routes::live::router())
        .merge(routes::figures::router())
        .merge(routes::answers::router())
        .merge(routes::trends::router())
        .merge(routes::desk::router())
        .merge(routes::desk_api::router())
        .merge(routes::desk_work::router())
        .merge(routes::inquiries::router())
        .merge(routes::relatives::router())
        .merge(routes::inquiry_page::router())
        .merge(routes::compose::router())
        .merge(routes::public_alerts::router())
        .merge(assets::router())
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi_json.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/metrics", axum::routing::get(routes::health::metrics))
        .fallback(routes::pages::not_found)
        // Every request but a list upload is held to the configured size.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            state.settings.max_body_bytes,
        ))
        .merge(
            routes::relatives::upload_router()
                .layer(tower_http::limit::RequestBodyLimitLayer::new(UPLOAD_LIMIT)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::load_session,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::language_scope,
        ))
        .layer(axum::middleware::from_fn(middleware::record_metrics))
        .with_state(state.clone());
    middleware::with_security_headers(app)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            state.settings.max_body_bytes.max(UPLOAD_LIMIT),
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
