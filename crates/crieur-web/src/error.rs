//! The one place where errors become HTTP responses.
//!
//! Messages are translated into the request's language; internal detail is logged
//! and never sent to the client.

use crate::i18n::Tr;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crieur_domain::Language;
use crieur_store::StoreError;

/// What error pages need to know about the request being handled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestContext {
    pub lang: Language,
    pub demo: bool,
}

tokio::task_local! {
    /// Set by the language middleware for the whole request.
    pub(crate) static REQUEST: RequestContext;
}

pub(crate) fn request_language() -> Language {
    REQUEST.try_with(|c| c.lang).unwrap_or(Language::En)
}

/// An error a handler returns.
#[derive(Debug)]
pub enum ApiError {
    /// The request is malformed; `key` names the translated message.
    BadRequest {
        key: &'static str,
        args: Vec<(&'static str, String)>,
    },
    NotFound {
        key: &'static str,
        args: Vec<(&'static str, String)>,
    },
    /// A form-like body with problems per field.
    Unprocessable(Vec<(String, &'static str)>),
    /// A rate limit; the key names the message.
    TooManyRequests(&'static str),
    /// No valid bearer token.
    Unauthorized,
    /// Not allowed (refusals are audited where they are decided).
    Forbidden(&'static str),
    /// The resource is not in a state that allows the request.
    Conflict(&'static str),
    /// A composition with problems: field, message key, detail.
    Problems(Vec<(String, &'static str, String)>),
    Store(StoreError),
}

impl ApiError {
    pub fn bad_request(key: &'static str, args: &[(&'static str, &str)]) -> ApiError {
        ApiError::BadRequest {
            key,
            args: args.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        }
    }

    pub fn not_found(key: &'static str, args: &[(&'static str, &str)]) -> ApiError {
        ApiError::NotFound {
            key,
            args: args.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// Stable machine-readable code, e.g. `error.unknown_nis`.
    error: String,
    /// Human-readable message in the request's language.
    message: String,
    /// For refused forms: each problem with the field it concerns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<FieldError>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct FieldError {
    /// The field, as in the request (`phones.1.number`, `addresses.0.postcode`).
    field: String,
    /// Stable code of the problem, e.g. `citizen.phone_premium`.
    error: String,
    /// The message in the request's language.
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let tr = Tr::new(request_language());
        let mut problems = Vec::new();
        let (status, key, args) = match self {
            ApiError::Unprocessable(list) => {
                problems = list
                    .into_iter()
                    .map(|(field, key)| FieldError {
                        field,
                        error: key.to_owned(),
                        message: tr.t(key).to_owned(),
                    })
                    .collect();
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "error.invalid_request",
                    vec![],
                )
            }
            ApiError::Problems(list) => {
                problems = list
                    .into_iter()
                    .map(|(field, key, detail)| FieldError {
                        field,
                        error: key.to_owned(),
                        message: if detail.is_empty() {
                            tr.t(key).to_owned()
                        } else {
                            format!("{} ({detail})", tr.t(key))
                        },
                    })
                    .collect();
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "error.invalid_request",
                    vec![],
                )
            }
            ApiError::Forbidden(key) => (StatusCode::FORBIDDEN, key, vec![]),
            ApiError::Conflict(key) => (StatusCode::CONFLICT, key, vec![]),
            ApiError::TooManyRequests(key) => (StatusCode::TOO_MANY_REQUESTS, key, vec![]),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "error.unauthorized", vec![]),
            ApiError::BadRequest { key, args } => (StatusCode::BAD_REQUEST, key, args),
            ApiError::NotFound { key, args } => (StatusCode::NOT_FOUND, key, args),
            ApiError::Store(StoreError::NotFound) => {
                (StatusCode::NOT_FOUND, "error.not_found", vec![])
            }
            ApiError::Store(StoreError::Conflict(detail)) => {
                tracing::info!(%detail, "conflict");
                (StatusCode::CONFLICT, "error.conflict", vec![])
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "storage failure while handling a request");
                (StatusCode::INTERNAL_SERVER_ERROR, "error.internal", vec![])
            }
        };
        if status.is_client_error() {
            tracing::info!(%status, key, "request refused");
        }
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let body = ErrorBody {
            error: key.to_owned(),
            message: tr.fmt(key, &args),
            problems,
        };
        (status, Json(body)).into_response()
    }
}

/// An error on a page for people: rendered as a page in their language.
#[derive(Debug)]
pub enum PageError {
    /// Refused by authorization (already audited by the caller).
    Forbidden,
    NotFound,
    /// The form or request is wrong; `key` names the translated message.
    BadRequest(&'static str),
    /// Too many attempts; `key` names the translated message.
    TooManyRequests(&'static str),
    Store(StoreError),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Store(e)
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: crate::routes::pages::Layout,
    title: String,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let ctx = REQUEST.try_with(|c| *c).unwrap_or(RequestContext {
            lang: Language::En,
            demo: false,
        });
        let tr = Tr::new(ctx.lang);
        let (status, title, message) = match self {
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "error.forbidden_title",
                "error.forbidden",
            ),
            PageError::NotFound => (StatusCode::NOT_FOUND, "not_found.title", "not_found.text"),
            PageError::BadRequest(key) => (StatusCode::BAD_REQUEST, "error.bad_request_title", key),
            PageError::TooManyRequests(key) => {
                (StatusCode::TOO_MANY_REQUESTS, "error.too_many_title", key)
            }
            PageError::Store(StoreError::NotFound) => {
                (StatusCode::NOT_FOUND, "not_found.title", "not_found.text")
            }
            PageError::Store(e) => {
                tracing::error!(error = %e, "storage failure while rendering a page");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error.internal_title",
                    "error.internal",
                )
            }
        };
        if status.is_client_error() {
            tracing::info!(%status, message, "page refused");
        }
        let page = ErrorPage {
            layout: crate::routes::pages::Layout::bare(ctx.lang, ctx.demo),
            title: tr.t(title).to_owned(),
            message: tr.t(message).to_owned(),
        };
        match askama::Template::render(&page) {
            Ok(html) => (status, axum::response::Html(html)).into_response(),
            Err(_) => (status, tr.t(message).to_owned()).into_response(),
        }
    }
}
