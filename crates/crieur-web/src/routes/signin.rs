//! Staff sign-in: password, then a TOTP code (or enrolment of one), then the
//! console. Sign-out, here and everywhere.

use crate::AppState;
use crate::auth::{SessionContext, Staff, audit, clear_cookie, now, start_session};
use crate::error::PageError;
use crate::i18n::Lang;
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crieur_domain::Language;
use crieur_domain::audit::{AuditRecord, Outcome};
use crieur_domain::credentials::{TotpProblem, TotpSecret, decoy_hash, qr_svg, verify_password};
use crieur_store::{Account, Stage};
use serde::Deserialize;

/// The password of every demo account; shown on the demo's sign-in page only.
pub const DEMO_PASSWORD: &str = "demo-password-not-secret";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/code", get(code_form).post(code))
        .route("/login/enrol", get(enrol_form).post(enrol))
        .route("/logout", post(logout))
        .route("/logout/everywhere", post(logout_everywhere))
}

/// A demo account with its current code, for the demo's sign-in page.
pub(crate) struct DemoAccount {
    pub username: String,
    pub role: String,
    pub code: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    username: String,
    error: Option<String>,
    demo_accounts: Vec<DemoAccount>,
    demo_password: &'static str,
}

async fn demo_accounts(state: &AppState) -> Vec<DemoAccount> {
    if !state.settings.demo {
        return Vec::new();
    }
    let accounts = state.store.accounts().accounts().await.unwrap_or_default();
    let now = now() as u64;
    accounts
        .into_iter()
        .filter(|a| !a.disabled)
        .map(|a| DemoAccount {
            code: a
                .totp_secret
                .as_deref()
                .and_then(TotpSecret::from_base32)
                .map(|s| s.code_at(now))
                .unwrap_or_else(|| "—".into()),
            role: a.role.to_string(),
            username: a.username,
        })
        .collect()
}

async fn login_page(
    state: &AppState,
    lang: Language,
    csrf: String,
    username: String,
    error: Option<String>,
) -> LoginPage {
    LoginPage {
        layout: Layout::new(lang, state, "/login"),
        csrf,
        username,
        error,
        demo_accounts: demo_accounts(state).await,
        demo_password: DEMO_PASSWORD,
    }
}

/// The sign-in form. Opens an anonymous session to carry the form's CSRF token.
async fn login_form(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    if let Some(s) = &ctx.session {
        match s.stage {
            Stage::Authenticated => return Ok(Redirect::to("/console").into_response()),
            Stage::Anonymous => {
                return Ok(
                    login_page(&state, lang, s.csrf_token.clone(), String::new(), None)
                        .await
                        .into_response(),
                );
            }
            // Abandoning a half-done sign-in starts afresh.
            Stage::SecondFactor | Stage::Enrol | Stage::Citizen => {}
        }
    }
    let (session, cookie) = start_session(
        &state,
        ctx.session.as_ref(),
        None,
        Stage::Anonymous,
        ctx.address.clone(),
        None,
    )
    .await?;
    let page = login_page(&state, lang, session.csrf_token, String::new(), None).await;
    Ok(([(header::SET_COOKIE, cookie)], page).into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

const MAX_USERNAME: usize = 100;

async fn verify_off_thread(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

async fn login(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let Some(session) = ctx.session.clone() else {
        return Ok(Redirect::to("/login").into_response());
    };
    let tr = crate::i18n::Tr::new(lang);
    let auth = &state.settings.auth;
    let now = now();
    let address = ctx.address.clone();
    let username: String = form.username.trim().chars().take(MAX_USERNAME).collect();
    let refuse = |key: &'static str, status: StatusCode| {
        let state = state.clone();
        let csrf = session.csrf_token.clone();
        let username = username.clone();
        async move {
            let page = login_page(&state, lang, csrf, username, Some(tr.t(key).to_owned())).await;
            Ok::<Response, PageError>((status, page).into_response())
        }
    };
    let failure = |detail: &str| {
        AuditRecord::new(&username, "auth.sign_in", Outcome::Failure)
            .detail(detail)
            .address(address.clone())
    };

    if let Some(addr) = &address {
        let window_start = now - auth.address_window_secs;
        if state
            .store
            .sessions()
            .address_failures(addr, window_start)
            .await?
            >= auth.address_max_failures
        {
            audit(&state, failure("too many failures from this address")).await?;
            return refuse("signin.address_throttled", StatusCode::TOO_MANY_REQUESTS).await;
        }
    }

    let account = if username.is_empty() {
        None
    } else {
        state
            .store
            .accounts()
            .account_by_username(&username)
            .await?
    };
    let usable = account.filter(|a| !a.disabled);
    let locked = usable
        .as_ref()
        .and_then(|a| a.locked_until)
        .is_some_and(|t| t > now);
    if locked {
        audit(&state, failure("account locked")).await?;
        return refuse("signin.locked", StatusCode::TOO_MANY_REQUESTS).await;
    }
    let hash = usable
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_owned());
    let password_ok = form.password.len() <= crieur_domain::credentials::MAX_PASSWORD_BYTES
        && verify_off_thread(form.password, hash).await;

    let account = match (usable, password_ok) {
        (Some(a), true) => a,
        (account, _) => {
            if let Some(addr) = &address {
                state
                    .store
                    .sessions()
                    .record_address_failure(addr, now, now - auth.address_window_secs)
                    .await?;
            }
            let detail = if account.is_some() {
                "wrong password"
            } else {
                "unknown or disabled account"
            };
            audit(&state, failure(detail)).await?;
            if let Some(a) = account {
                let after = state
                    .store
                    .accounts()
                    .record_sign_in_failure(a.id, now, auth.max_failures, auth.lockout_secs)
                    .await?;
                if after.locked_until.is_some() {
                    let lock = AuditRecord::new(&a.username, "auth.lockout", Outcome::Success)
                        .detail(format!("{} failed sign-ins", after.failed_attempts))
                        .address(address.clone());
                    audit(&state, lock).await?;
                }
            }
            return refuse("signin.wrong", StatusCode::UNAUTHORIZED).await;
        }
    };

    let stage = if account.totp_secret.is_some() {
        Stage::SecondFactor
    } else if account.role.requires_second_factor() {
        Stage::Enrol
    } else {
        Stage::Authenticated
    };
    let (_, cookie) = start_session(
        &state,
        Some(&session),
        Some(account.id),
        stage,
        address.clone(),
        None,
    )
    .await?;
    let to = match stage {
        Stage::SecondFactor => "/login/code",
        Stage::Enrol => "/login/enrol",
        _ => {
            signed_in(&state, &account, address, "password only").await?;
            "/console"
        }
    };
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response())
}

async fn signed_in(
    state: &AppState,
    account: &Account,
    address: Option<String>,
    how: &str,
) -> Result<(), PageError> {
    state
        .store
        .accounts()
        .clear_sign_in_failures(account.id)
        .await?;
    let record = AuditRecord::new(&account.username, "auth.sign_in", Outcome::Success)
        .territory(account.territory)
        .detail(how)
        .address(address);
    audit(state, record).await?;
    Ok(())
}

/// The last step of sign-in: a new session token at full privilege, the
/// failure count cleared, the success audited, and on to the console.
async fn complete_sign_in(
    state: &AppState,
    previous: &crieur_store::Session,
    account: &Account,
    address: Option<String>,
    how: &str,
) -> Result<Response, PageError> {
    let (_, cookie) = start_session(
        state,
        Some(previous),
        Some(account.id),
        Stage::Authenticated,
        address.clone(),
        None,
    )
    .await?;
    signed_in(state, account, address, how).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/console")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "login_code.html")]
struct CodePage {
    layout: Layout,
    csrf: String,
    error: Option<String>,
}

/// The session must be at `stage`, with its account.
fn at_stage(ctx: &SessionContext, stage: Stage) -> Option<(crieur_store::Session, Account)> {
    match (&ctx.session, &ctx.account) {
        (Some(s), Some(a)) if s.stage == stage => Some((s.clone(), a.clone())),
        _ => None,
    }
}

async fn code_form(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Response {
    match at_stage(&ctx, Stage::SecondFactor) {
        Some((session, _)) => CodePage {
            layout: Layout::new(lang, &state, "/login/code"),
            csrf: session.csrf_token,
            error: None,
        }
        .into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Checks a code; on failure counts it against the account like a wrong password.
async fn check_code(
    state: &AppState,
    account: &Account,
    secret: &TotpSecret,
    code: &str,
    last_step: Option<u64>,
    address: Option<String>,
) -> Result<Result<u64, &'static str>, PageError> {
    let now = now();
    let verdict = match secret.verify(code, now as u64, last_step) {
        Ok(step)
            if last_step.is_none()
                || state
                    .store
                    .accounts()
                    .use_totp_step(account.id, step)
                    .await? =>
        {
            Ok(step)
        }
        Ok(_) | Err(TotpProblem::Replayed) => Err(("replayed code", "signin.code_replayed")),
        Err(TotpProblem::Invalid) => Err(("wrong or expired code", "signin.code_wrong")),
    };
    match verdict {
        Ok(step) => Ok(Ok(step)),
        Err((detail, key)) => {
            let record =
                AuditRecord::new(&account.username, "auth.second_factor", Outcome::Failure)
                    .detail(detail)
                    .address(address.clone());
            audit(state, record).await?;
            let auth = &state.settings.auth;
            let after = state
                .store
                .accounts()
                .record_sign_in_failure(account.id, now, auth.max_failures, auth.lockout_secs)
                .await?;
            if after.locked_until.is_some() {
                let lock = AuditRecord::new(&account.username, "auth.lockout", Outcome::Success)
                    .detail(format!("{} failed sign-ins", after.failed_attempts))
                    .address(address);
                audit(state, lock).await?;
                return Ok(Err("signin.locked"));
            }
            Ok(Err(key))
        }
    }
}

async fn code(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let Some((session, account)) = at_stage(&ctx, Stage::SecondFactor) else {
        return Ok(Redirect::to("/login").into_response());
    };
    if account.locked_until.is_some_and(|t| t > now()) {
        state
            .store
            .sessions()
            .delete_session(&session.token_digest)
            .await?;
        return Err(PageError::TooManyRequests("signin.locked"));
    }
    let secret = account
        .totp_secret
        .as_deref()
        .and_then(TotpSecret::from_base32)
        .ok_or_else(|| {
            PageError::Store(crieur_store::StoreError::Corrupt(
                "unreadable TOTP secret".into(),
            ))
        })?;
    // Replays are refused even of the very first code after enrolment.
    let last_step = account.totp_last_step.or(Some(0));
    match check_code(
        &state,
        &account,
        &secret,
        &form.code,
        last_step,
        ctx.address.clone(),
    )
    .await?
    {
        Ok(_) => {
            complete_sign_in(&state, &session, &account, ctx.address, "password and TOTP").await
        }
        Err(key) => {
            let tr = crate::i18n::Tr::new(lang);
            let page = CodePage {
                layout: Layout::new(lang, &state, "/login/code"),
                csrf: session.csrf_token,
                error: Some(tr.t(key).to_owned()),
            };
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login_enrol.html")]
struct EnrolPage {
    layout: Layout,
    csrf: String,
    secret: String,
    uri: String,
    qr: String,
    error: Option<String>,
}

async fn enrol_page(
    state: &AppState,
    lang: Language,
    session: &crieur_store::Session,
    account: &Account,
    error: Option<String>,
) -> Result<EnrolPage, PageError> {
    let secret = match account
        .totp_pending
        .as_deref()
        .and_then(TotpSecret::from_base32)
    {
        Some(s) => s,
        None => {
            let s = TotpSecret::generate();
            state
                .store
                .accounts()
                .set_totp_pending(account.id, &s.to_base32())
                .await?;
            s
        }
    };
    let uri = secret.uri(&account.username);
    Ok(EnrolPage {
        layout: Layout::new(lang, state, "/login/enrol"),
        csrf: session.csrf_token.clone(),
        secret: secret.to_base32(),
        qr: qr_svg(&uri),
        uri,
        error,
    })
}

async fn enrol_form(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
) -> Result<Response, PageError> {
    match at_stage(&ctx, Stage::Enrol) {
        Some((session, account)) => Ok(enrol_page(&state, lang, &session, &account, None)
            .await?
            .into_response()),
        None => Ok(Redirect::to("/login").into_response()),
    }
}

async fn enrol(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ctx: SessionContext,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let Some((session, account)) = at_stage(&ctx, Stage::Enrol) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let Some(secret) = account
        .totp_pending
        .as_deref()
        .and_then(TotpSecret::from_base32)
    else {
        return Ok(Redirect::to("/login/enrol").into_response());
    };
    match check_code(
        &state,
        &account,
        &secret,
        &form.code,
        None,
        ctx.address.clone(),
    )
    .await?
    {
        Ok(step) => {
            state
                .store
                .accounts()
                .confirm_totp(account.id, &secret.to_base32(), step)
                .await?;
            let record = AuditRecord::new(
                &account.username,
                "auth.second_factor_enrolled",
                Outcome::Success,
            )
            .territory(account.territory)
            .address(ctx.address.clone());
            audit(&state, record).await?;
            complete_sign_in(
                &state,
                &session,
                &account,
                ctx.address,
                "password and new TOTP",
            )
            .await
        }
        Err(key) => {
            let tr = crate::i18n::Tr::new(lang);
            let page =
                enrol_page(&state, lang, &session, &account, Some(tr.t(key).to_owned())).await?;
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
    }
}

async fn logout(State(state): State<AppState>, ctx: SessionContext) -> Result<Response, PageError> {
    if let Some(s) = &ctx.session {
        state
            .store
            .sessions()
            .delete_session(&s.token_digest)
            .await?;
        if ctx.account.is_some() {
            let record = AuditRecord::new(ctx.actor(), "auth.sign_out", Outcome::Success)
                .address(ctx.address.clone());
            audit(&state, record).await?;
        }
    }
    Ok((
        [(header::SET_COOKIE, clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response())
}

async fn logout_everywhere(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, PageError> {
    let ended = state
        .store
        .sessions()
        .delete_account_sessions(staff.account.id)
        .await?;
    audit(
        &state,
        staff
            .record("auth.sign_out_everywhere", Outcome::Success)
            .detail(format!("{ended} session(s) ended")),
    )
    .await?;
    Ok((
        [(header::SET_COOKIE, clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response())
}
