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

tokio::task_local! {
    /// The language of the request being handled, set by the language middleware.
    pub(crate) static REQUEST_LANGUAGE: Language;
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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let lang = REQUEST_LANGUAGE.try_with(|l| *l).unwrap_or(Language::En);
        let tr = Tr::new(lang);
        let (status, key, args) = match self {
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
        };
        (status, Json(body)).into_response()
    }
}
