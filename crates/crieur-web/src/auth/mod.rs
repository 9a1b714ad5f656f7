//! Staff sessions: the session cookie, CSRF protection of every state-changing
//! request, the `Staff` extractor, and the guard that applies the domain's single
//! authorization decision and audits every refusal.
//!
//! Session tokens are random 256-bit values; only their SHA-256 is stored. A new
//! token is issued at each step of sign-in, so a token planted before sign-in
//! (session fixation) is worthless after it.

use crate::AppState;
use crate::error::PageError;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use crieur_domain::NisCode;
use crieur_domain::access::{Action, Principal, authorize};
use crieur_domain::audit::{AuditRecord, Outcome};
use crieur_domain::credentials::{new_token, same_secret, token_digest};
use crieur_store::{Account, Session, Stage, StoreError};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "crieur_session";
/// Refresh `last_seen_at` at most this often, to spare the database.
const TOUCH_EVERY_SECS: i64 = 60;

pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Writes an audit entry, durably, before returning.
pub(crate) async fn audit(state: &AppState, record: AuditRecord) -> Result<(), StoreError> {
    let at = jiff::Timestamp::now().to_string();
    match state.store.audit().append_audit(record, at).await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, "could not write the audit log");
            Err(e)
        }
    }
}

/// The session of the current request, as loaded by [`load_session`].
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionContext {
    pub session: Option<Session>,
    pub account: Option<Account>,
    pub address: Option<String>,
}

impl SessionContext {
    pub(crate) fn actor(&self) -> String {
        self.account
            .as_ref()
            .map(|a| a.username.clone())
            .unwrap_or_else(|| "anonymous".into())
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn client_address(req: &Request, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for
        && let Some(forwarded) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next_back())
    {
        return Some(forwarded.trim().to_owned());
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// Loads and validates the session, then refuses any state-changing request whose
/// CSRF token does not match the session's.
pub(crate) async fn load_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let address = client_address(&req, state.settings.trust_forwarded_for);
    let has_cookie = cookie_token(req.headers()).is_some();
    let ctx = match current_session(&state, req.headers(), address).await {
        Ok(ctx) => ctx,
        Err(e) => return PageError::Store(e).into_response(),
    };

    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Requests to the JSON API without a session cookie carry no ambient
    // authority, so there is nothing to forge.
    let needs_csrf = unsafe_method && (has_cookie || !req.uri().path().starts_with("/api/"));
    if needs_csrf {
        let (parts, body) = req.into_parts();
        let header = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // A form carries its token in the body: only then is the body read
        // here (a file upload sends the header, and its body is not buffered).
        let (sent, body) = match header {
            Some(token) => (Some(token), body),
            None => {
                let bytes = match axum::body::to_bytes(body, state.settings.max_body_bytes).await {
                    Ok(b) => b,
                    Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
                };
                let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                    .ok()
                    .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf"))
                    .map(|(_, v)| v);
                (token, axum::body::Body::from(bytes))
            }
        };
        let expected = ctx.session.as_ref().map(|s| s.csrf_token.as_str());
        let valid = matches!((sent.as_deref(), expected), (Some(a), Some(b)) if same_secret(a, b));
        if !valid {
            let record = AuditRecord::new(ctx.actor(), "security.csrf_rejected", Outcome::Denied)
                .target(parts.uri.path().to_owned())
                .detail(if sent.is_none() {
                    "no token"
                } else {
                    "token does not match the session"
                })
                .address(ctx.address.clone());
            let _ = audit(&state, record).await;
            return PageError::Forbidden.into_response();
        }
        req = Request::from_parts(parts, body);
    }
    req.extensions_mut().insert(ctx);
    next.run(req).await
}

async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
    address: Option<String>,
) -> Result<SessionContext, StoreError> {
    let mut ctx = SessionContext {
        address,
        ..Default::default()
    };
    let Some(token) = cookie_token(headers) else {
        return Ok(ctx);
    };
    let digest = token_digest(&token);
    let store = state.store.sessions();
    let Some(session) = store.session(&digest).await? else {
        return Ok(ctx);
    };
    let now = now();
    let auth = &state.settings.auth;
    let expired = now - session.last_seen_at > auth.idle_timeout_secs
        || now - session.created_at > auth.absolute_timeout_secs;
    let account = match session.account_id {
        Some(id) => state.store.accounts().account(id).await?,
        None => None,
    };
    let account_gone = session.account_id.is_some() && account.as_ref().is_none_or(|a| a.disabled);
    if expired || account_gone {
        store.delete_session(&digest).await?;
        return Ok(ctx);
    }
    if now - session.last_seen_at >= TOUCH_EVERY_SECS {
        store.touch_session(&digest, now).await?;
    }
    ctx.session = Some(session);
    ctx.account = account;
    Ok(ctx)
}

/// Starts a new session (ending `previous`, if any) and returns the cookie that
/// carries it.
pub(crate) async fn start_session(
    state: &AppState,
    previous: Option<&Session>,
    account_id: Option<i64>,
    stage: Stage,
    address: Option<String>,
    citizen_id: Option<i64>,
) -> Result<(Session, HeaderValue), StoreError> {
    let (session, token) =
        open_session(state, previous, account_id, stage, address, citizen_id).await?;
    let secure = if state.settings.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((session, cookie))
}

/// Creates a session row and returns it with its token (for cookies, or as a
/// bearer token for the JSON API).
pub(crate) async fn open_session(
    state: &AppState,
    previous: Option<&Session>,
    account_id: Option<i64>,
    stage: Stage,
    address: Option<String>,
    citizen_id: Option<i64>,
) -> Result<(Session, String), StoreError> {
    let store = state.store.sessions();
    if let Some(p) = previous {
        store.delete_session(&p.token_digest).await?;
    }
    let now = now();
    // Anonymous sessions are cheap to create: sweep idle ones, once a minute.
    let last = state.last_sweep.load(std::sync::atomic::Ordering::Relaxed);
    if now - last >= 60
        && state
            .last_sweep
            .compare_exchange(
                last,
                now,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            )
            .is_ok()
    {
        store
            .delete_idle_sessions(now - state.settings.auth.idle_timeout_secs)
            .await?;
    }
    let token = new_token();
    let session = Session {
        token_digest: token_digest(&token),
        account_id,
        citizen_id,
        stage,
        csrf_token: new_token(),
        created_at: now,
        last_seen_at: now,
        address,
    };
    store.create_session(&session).await?;
    Ok((session, token))
}

/// The citizen whose JSON-API token (`Authorization: Bearer …`) this request
/// carries, if it is valid and not expired.
pub(crate) async fn bearer_citizen(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<i64>, StoreError> {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return Ok(None);
    };
    let digest = token_digest(token);
    let store = state.store.sessions();
    let Some(session) = store.session(&digest).await? else {
        return Ok(None);
    };
    let now = now();
    let auth = &state.settings.auth;
    if now - session.last_seen_at > auth.idle_timeout_secs
        || now - session.created_at > auth.absolute_timeout_secs
    {
        store.delete_session(&digest).await?;
        return Ok(None);
    }
    if session.stage != Stage::Citizen {
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_EVERY_SECS {
        store.touch_session(&digest, now).await?;
    }
    Ok(session.citizen_id)
}

/// A header that removes the session cookie.
pub(crate) fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("crieur_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub(crate) struct Staff {
    pub principal: Principal,
    pub account: Account,
    pub session: Session,
    pub address: Option<String>,
}

impl Staff {
    pub(crate) fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    /// Applies the single authorization decision; a refusal is audited and
    /// answered 403.
    pub(crate) async fn authorize(
        &self,
        state: &AppState,
        action: Action,
        target: NisCode,
    ) -> Result<(), PageError> {
        match authorize(&self.principal, action, target, &state.territories) {
            Ok(()) => Ok(()),
            Err(denied) => {
                tracing::warn!(user = %self.principal.username, %denied, "refused");
                let record =
                    AuditRecord::new(&self.principal.username, action.as_str(), Outcome::Denied)
                        .territory(target)
                        .detail(denied.to_string())
                        .address(self.address.clone());
                audit(state, record).await?;
                Err(PageError::Forbidden)
            }
        }
    }

    /// An audit record by this staff member.
    pub(crate) fn record(&self, action: &str, outcome: Outcome) -> AuditRecord {
        AuditRecord::new(&self.principal.username, action, outcome).address(self.address.clone())
    }
}

/// Where a visitor without a valid session is sent.
#[derive(Debug)]
pub(crate) struct SignInRequired;

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        Redirect::to("/login").into_response()
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = SignInRequired;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, SignInRequired> {
        let ctx = parts
            .extensions
            .get::<SessionContext>()
            .cloned()
            .unwrap_or_default();
        match (ctx.session, ctx.account) {
            (Some(session), Some(account)) if session.stage == Stage::Authenticated => Ok(Staff {
                principal: Principal {
                    account_id: account.id,
                    username: account.username.clone(),
                    role: account.role,
                    territory: account.territory,
                },
                account,
                session,
                address: ctx.address,
            }),
            _ => Err(SignInRequired),
        }
    }
}

impl FromRequestParts<AppState> for SessionContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<SessionContext>()
            .cloned()
            .unwrap_or_default())
    }
}
