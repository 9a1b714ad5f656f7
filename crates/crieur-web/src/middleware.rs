//! Layers applied to every request: language scope, metrics, security headers.

use crate::error::{REQUEST, RequestContext};
use crate::i18n::request_language;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tower_http::set_header::SetResponseHeaderLayer;

/// Runs the request with its language known to error responses.
pub(crate) async fn language_scope(
    State(state): State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let lang = request_language(&parts, state.settings.default_language);
    let req = Request::from_parts(parts, body);
    let ctx = RequestContext {
        lang,
        demo: state.settings.demo,
    };
    REQUEST.scope(ctx, next.run(req)).await
}

/// Counts requests and their duration per route and status.
pub(crate) async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("path", path), ("status", status)];
    metrics::counter!("crieur_http_requests_total", &labels).increment(1);
    metrics::histogram!("crieur_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Headers every response carries: no third-party content may ever be loaded.
pub(crate) fn with_security_headers(router: axum::Router) -> axum::Router {
    let csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
               connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
    let headers = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (HeaderName::from_static("x-frame-options"), "DENY"),
    ];
    headers.into_iter().fold(router, |r, (name, value)| {
        r.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}
