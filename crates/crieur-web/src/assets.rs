//! Static assets compiled into the binary: the interface works with no CDN and no
//! internet connection. URLs carry a content hash so they can be cached forever.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "crieur.css",
        "text/css; charset=utf-8",
        include_str!("../static/crieur.css"),
    ),
    (
        "map.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/map.js"),
    ),
    (
        "pin.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/pin.js"),
    ),
    (
        "compose.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/compose.js"),
    ),
    (
        "incidents.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/incidents.js"),
    ),
    (
        "delivery.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/delivery.js"),
    ),
    (
        "supervisor.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/supervisor.js"),
    ),
    (
        "desk.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/desk.js"),
    ),
    (
        "relatives.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/relatives.js"),
    ),
    (
        "callout.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/callout.js"),
    ),
    (
        "sim_phone.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/sim_phone.js"),
    ),
];

fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = DefaultHasher::new();
        for (name, _, body) in ASSETS {
            name.hash(&mut h);
            body.hash(&mut h);
        }
        format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
    })
}

/// The URL of an embedded asset.
pub(crate) fn url(name: &str) -> String {
    format!("/static/{}/{name}", version())
}

pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/static/{version}/{name}", get(serve))
}

async fn serve(Path((v, name)): Path<(String, String)>) -> Response {
    let Some((_, mime, body)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if v == version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, *mime),
            (header::CACHE_CONTROL, cache),
        ],
        *body,
    )
        .into_response()
}
