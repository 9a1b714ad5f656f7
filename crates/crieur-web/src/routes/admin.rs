//! Administration: accounts within the administrator's territory, and the audit log.

use crate::AppState;
use crate::auth::{Staff, audit};
use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crieur_domain::access::{Action, Role, check_binding, valid_username};
use crieur_domain::audit::{AuditEntry, Outcome, verify_chain};
use crieur_domain::credentials::{generate_password, hash_password};
use crieur_domain::{Language, NisCode};
use crieur_store::{Account, NewAccount, StoreError};
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/accounts", get(accounts).post(create_account))
        .route("/admin/accounts/{id}/{operation}", post(account_operation))
        .route("/admin/audit", get(audit_log))
        .route("/admin/audit.csv", get(audit_export))
}

pub(crate) struct AccountRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub territory: String,
    pub second_factor: bool,
    pub disabled: bool,
    pub locked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_accounts.html")]
struct AccountsPage {
    layout: Layout,
    csrf: String,
    rows: Vec<AccountRow>,
    roles: Vec<(String, String)>,
    error: Option<String>,
    created: Option<(String, String)>,
    form: CreateForm,
}

fn row(state: &AppState, a: &Account, lang: Language, tr: Tr, now: i64) -> AccountRow {
    AccountRow {
        id: a.id,
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        role: tr.t(&format!("role.{}", a.role)).to_owned(),
        territory: format!(
            "{} {}",
            a.territory,
            state
                .territories
                .get(a.territory)
                .map(|u| u.name(lang))
                .unwrap_or("")
        ),
        second_factor: a.totp_secret.is_some(),
        disabled: a.disabled,
        locked: a.locked_until.is_some_and(|t| t > now),
    }
}

async fn accounts_page(
    state: &AppState,
    lang: Language,
    staff: &Staff,
    error: Option<String>,
    created: Option<(String, String)>,
    form: CreateForm,
) -> Result<AccountsPage, PageError> {
    let tr = Tr::new(lang);
    let now = crate::auth::now();
    let rows = state
        .store
        .accounts()
        .accounts()
        .await?
        .iter()
        .filter(|a| {
            state
                .territories
                .contains(staff.principal.territory, a.territory)
        })
        .map(|a| row(state, a, lang, tr, now))
        .collect();
    Ok(AccountsPage {
        layout: Layout::new(lang, state, "/admin/accounts"),
        csrf: staff.csrf().to_owned(),
        rows,
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), tr.t(&format!("role.{r}")).to_owned()))
            .collect(),
        error,
        created,
        form,
    })
}

async fn accounts(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
) -> Result<AccountsPage, PageError> {
    staff
        .authorize(&state, Action::ManageAccounts, staff.principal.territory)
        .await?;
    accounts_page(&state, lang, &staff, None, None, CreateForm::default()).await
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct CreateForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub territory: String,
}

async fn create_account(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    let tr = Tr::new(lang);
    let refuse = |key: &str| tr.t(key).to_owned();
    let username = form.username.trim().to_ascii_lowercase();
    let display_name = form.display_name.trim().to_owned();
    let problem = if !valid_username(&username) {
        Some(refuse("admin.bad_username"))
    } else if display_name.is_empty() || display_name.chars().count() > 100 {
        Some(refuse("admin.bad_display_name"))
    } else {
        None
    };
    let role: Option<Role> = form.role.parse().ok();
    let territory: Option<NisCode> = form.territory.trim().parse().ok();
    let (role, territory) = match (problem, role, territory) {
        (None, Some(r), Some(t)) => (r, t),
        (p, r, _) => {
            let message = p.unwrap_or_else(|| {
                refuse(if r.is_none() {
                    "admin.bad_role"
                } else {
                    "admin.bad_territory"
                })
            });
            let page = accounts_page(&state, lang, &staff, Some(message), None, form).await?;
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    staff
        .authorize(&state, Action::ManageAccounts, territory)
        .await?;
    if let Err(e) = check_binding(role, territory, &state.territories) {
        let message = format!("{} ({e})", refuse("admin.bad_binding"));
        let page = accounts_page(&state, lang, &staff, Some(message), None, form).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let password = generate_password();
    let hash = {
        let p = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&p))
            .await
            .map_err(|e| PageError::Store(StoreError::Corrupt(e.to_string())))?
            .map_err(|e| PageError::Store(StoreError::Corrupt(e)))?
    };
    let new = NewAccount {
        username: username.clone(),
        display_name,
        role,
        territory,
        password_hash: hash,
        totp_secret: None,
    };
    match state.store.accounts().create_account(&new).await {
        Ok(created) => {
            audit(
                &state,
                staff
                    .record("account.create", Outcome::Success)
                    .territory(territory)
                    .target(created.username.clone())
                    .detail(format!("role {role}")),
            )
            .await?;
            let page = accounts_page(
                &state,
                lang,
                &staff,
                None,
                Some((username, password)),
                CreateForm::default(),
            )
            .await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(StoreError::Conflict(_)) => {
            let page = accounts_page(
                &state,
                lang,
                &staff,
                Some(refuse("admin.username_taken")),
                None,
                form,
            )
            .await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn account_operation(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, operation)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    let accounts = state.store.accounts();
    let account = accounts.account(id).await?.ok_or(PageError::NotFound)?;
    staff
        .authorize(&state, Action::ManageAccounts, account.territory)
        .await?;
    let action = match operation.as_str() {
        "disable" => {
            accounts.set_disabled(id, true).await?;
            state.store.sessions().delete_account_sessions(id).await?;
            "account.disable"
        }
        "enable" => {
            accounts.set_disabled(id, false).await?;
            accounts.clear_sign_in_failures(id).await?;
            "account.enable"
        }
        "reset-2fa" => {
            accounts.reset_second_factor(id).await?;
            state.store.sessions().delete_account_sessions(id).await?;
            "account.reset_second_factor"
        }
        "sign-out" => {
            state.store.sessions().delete_account_sessions(id).await?;
            "account.sign_out_everywhere"
        }
        _ => return Err(PageError::NotFound),
    };
    audit(
        &state,
        staff
            .record(action, Outcome::Success)
            .territory(account.territory)
            .target(account.username),
    )
    .await?;
    Ok(Redirect::to("/admin/accounts").into_response())
}

#[derive(Deserialize)]
struct AuditQuery {
    q: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditEntry>,
    query: String,
    chain: String,
    chain_ok: bool,
}

/// Reads the whole chain in pages and checks it.
async fn check_chain(state: &AppState) -> Result<Result<u64, String>, StoreError> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = state.store.audit().audit_entries(after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page);
    }
    Ok(verify_chain(all).map_err(|e| e.to_string()))
}

async fn audit_log(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> Result<AuditPage, PageError> {
    staff
        .authorize(&state, Action::ViewAudit, NisCode::BELGIUM)
        .await?;
    let tr = Tr::new(lang);
    let query: String = q.q.unwrap_or_default().trim().chars().take(100).collect();
    let entries = state.store.audit().recent_audit(Some(&query), 200).await?;
    let (chain, chain_ok) = match check_chain(&state).await? {
        Ok(n) => (tr.fmt("audit.chain_ok", &[("count", &n.to_string())]), true),
        Err(e) => (format!("{} {e}", tr.t("audit.chain_broken")), false),
    };
    Ok(AuditPage {
        layout: Layout::new(lang, &state, "/admin/audit"),
        entries,
        query,
        chain,
        chain_ok,
    })
}

async fn audit_export(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff
        .authorize(&state, Action::ViewAudit, NisCode::BELGIUM)
        .await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "seq",
        "at",
        "actor",
        "action",
        "outcome",
        "territory",
        "target",
        "detail",
        "address",
        "prev_hash",
        "hash",
    ];
    let io = |e: csv::Error| PageError::Store(StoreError::Corrupt(e.to_string()));
    out.write_record(header).map_err(io)?;
    let mut after = 0;
    let mut count = 0u64;
    loop {
        let page = state.store.audit().audit_entries(after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            let seq = e.seq.to_string();
            out.write_record([
                seq.as_str(),
                &e.at,
                &e.actor,
                &e.action,
                &e.outcome,
                e.territory.as_deref().unwrap_or(""),
                e.target.as_deref().unwrap_or(""),
                &e.detail,
                e.address.as_deref().unwrap_or(""),
                &e.prev_hash,
                &e.hash,
            ])
            .map_err(io)?;
            count += 1;
        }
    }
    let body = out
        .into_inner()
        .map_err(|e| PageError::Store(StoreError::Corrupt(e.to_string())))?;
    audit(
        &state,
        staff
            .record("audit.export", Outcome::Success)
            .detail(format!("{count} entries")),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"crieur-audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
