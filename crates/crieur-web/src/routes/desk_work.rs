//! What an operator writes down at the desk: the call form (topics, tags, the
//! question, the caller's municipality, how worried they were, notes, the
//! outcome) and the hotline's callback tasks. A form is saved only by an
//! operator who is or was connected to the call, and only when every field is
//! valid: a refused form stores nothing.

use crate::AppState;
use crate::auth::{Staff, audit, now};
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::routes::desk::{OUTCOMES, relatives_trained};
use crate::routes::desk_api::{desk_error, desk_of, line_label};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use crieur_domain::acd::{AcdError, Line};
use crieur_domain::audit::Outcome;
use crieur_domain::hotline::TOPICS;
use crieur_domain::{Level, NisCode};
use crieur_hotline::DeskError;
use crieur_store::{CallForm, CallbackState, StoreError, Worry};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/hotlines/{id}/desk/calls/{call_id}/form",
            get(form).put(save_form),
        )
        .route("/api/hotlines/{id}/desk/callbacks", get(callbacks))
        .route("/api/hotlines/{id}/desk/callbacks/{cb}/take", post(take))
        .route(
            "/api/hotlines/{id}/desk/callbacks/{cb}/finish",
            post(finish),
        )
}

const MAX_TAGS: usize = 10;
const MAX_TAG_CHARS: usize = 40;
const MAX_QUESTION_CHARS: usize = 1000;
const MAX_NOTES_CHARS: usize = 4000;

/// The form as the page sends it.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct FormIn {
    #[serde(default)]
    topics: Vec<String>,
    /// Comma-separated.
    #[serde(default)]
    tags: String,
    #[serde(default)]
    question: String,
    /// A municipality's NIS code, or empty.
    #[serde(default)]
    municipality: String,
    /// 1 to 5, or absent.
    #[serde(default)]
    worry: Option<u8>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    outcome: String,
}

/// Checks every field; the first problem names the translated message.
fn parse_form(state: &AppState, f: &FormIn) -> Result<CallForm, &'static str> {
    let mut topics = Vec::new();
    for t in &f.topics {
        if !TOPICS.iter().any(|(k, _)| k == t) {
            return Err("desk.form.bad_topic");
        }
        if !topics.contains(t) {
            topics.push(t.clone());
        }
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in f.tags.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if tag.chars().count() > MAX_TAG_CHARS || tag.chars().any(char::is_control) {
            return Err("desk.form.tag_too_long");
        }
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err("desk.form.too_many_tags");
    }
    if f.question.chars().count() > MAX_QUESTION_CHARS {
        return Err("desk.form.question_too_long");
    }
    if f.notes.chars().count() > MAX_NOTES_CHARS {
        return Err("desk.form.notes_too_long");
    }
    let municipality = match f.municipality.trim() {
        "" => None,
        code => {
            let nis: NisCode = code.parse().map_err(|_| "desk.form.bad_municipality")?;
            match state.territories.get(nis) {
                Some(t) if t.level == Level::Municipality => Some(nis),
                _ => return Err("desk.form.bad_municipality"),
            }
        }
    };
    let worry = match f.worry {
        None => None,
        Some(level) => Some(Worry::new(level).ok_or("desk.form.bad_worry")?),
    };
    let outcome = f.outcome.trim();
    if !outcome.is_empty() && !OUTCOMES.contains(&outcome) {
        return Err("desk.form.bad_outcome");
    }
    Ok(CallForm {
        topics,
        tags,
        question: f.question.trim().to_owned(),
        municipality,
        worry,
        notes: f.notes.trim().to_owned(),
        outcome: outcome.to_owned(),
    })
}

/// Whether the operator is, or was, connected to the call: the call on their
/// desk now, or the operator the call record names. Not while signed in to
/// another hotline.
async fn check_call_is_theirs(
    state: &AppState,
    hotline: i64,
    operator: i64,
    call_id: &str,
) -> Result<(), ApiError> {
    if let Some(other) = state.hotlines.signed_in_to(operator)
        && other != hotline
    {
        return Err(desk_error(DeskError::OtherHotline {
            operator,
            hotline: other,
        }));
    }
    let call = state
        .store
        .hotline()
        .call(hotline, call_id)
        .await?
        .ok_or_else(|| ApiError::not_found("desk.unknown_call", &[]))?;
    let on_desk = state
        .hotlines
        .desk(hotline, operator)
        .ok()
        .and_then(|d| d.call)
        .is_some_and(|c| c.call_id == call_id);
    if on_desk || call.record.operator_id == Some(operator) {
        Ok(())
    } else {
        Err(desk_error(DeskError::Acd(AcdError::NotConnected {
            call: call_id.to_owned(),
            operator,
        })))
    }
}

/// The form as saved, to fill the page again.
async fn form(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, call_id)): Path<(i64, String)>,
) -> Result<Json<FormIn>, ApiError> {
    desk_of(&state, &staff, id).await?;
    check_call_is_theirs(&state, id, staff.principal.account_id, &call_id).await?;
    let call = state
        .store
        .hotline()
        .call(id, &call_id)
        .await?
        .ok_or_else(|| ApiError::not_found("desk.unknown_call", &[]))?;
    let Some(filed) = call.form else {
        return Ok(Json(FormIn::default()));
    };
    let f = filed.form;
    Ok(Json(FormIn {
        topics: f.topics,
        tags: f.tags.join(", "),
        question: f.question,
        municipality: f.municipality.map(|m| m.to_string()).unwrap_or_default(),
        worry: f.worry.map(Worry::level),
        notes: f.notes,
        outcome: f.outcome,
    }))
}

async fn save_form(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, call_id)): Path<(i64, String)>,
    Json(body): Json<FormIn>,
) -> Result<StatusCode, ApiError> {
    let (_, incident) = desk_of(&state, &staff, id).await?;
    let me = staff.principal.account_id;
    if let Err(e) = check_call_is_theirs(&state, id, me, &call_id).await {
        if !matches!(e, ApiError::Forbidden(_) | ApiError::Conflict(_)) {
            return Err(e);
        }
        audit(
            &state,
            staff
                .record("hotline.call_form", Outcome::Denied)
                .territory(incident.territory)
                .target(format!("hotline:{id}"))
                .detail(format!("call {call_id} is not theirs")),
        )
        .await?;
        return Err(e);
    }
    let form = parse_form(&state, &body).map_err(|key| ApiError::bad_request(key, &[]))?;
    state
        .store
        .hotline()
        .save_call_form(id, &call_id, &form, me, now())
        .await?;
    audit(
        &state,
        staff
            .record("hotline.call_form", Outcome::Success)
            .territory(incident.territory)
            .target(format!("hotline:{id}"))
            .detail(format!("call {call_id}")),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct CallbackOut {
    id: i64,
    number: String,
    language: &'static str,
    line: String,
    reason: String,
    note: String,
    state: &'static str,
    state_label: String,
    mine: bool,
    /// Someone else's.
    taken: bool,
    attempts: u32,
    created: String,
}

async fn callbacks(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<Vec<CallbackOut>>, ApiError> {
    desk_of(&state, &staff, id).await?;
    let tr = Tr::new(lang);
    let me = staff.principal.account_id;
    let list = state.store.hotline().callbacks(id, true).await?;
    // Relatives-line callbacks carry what a confirmed match says: only
    // staff trained for that line see them.
    let trained = relatives_trained(staff.principal.role);
    Ok(Json(
        list.into_iter()
            .filter(|c| trained || c.line != Line::Relatives)
            .map(|c| CallbackOut {
                id: c.id,
                language: c.language.code(),
                line: line_label(&tr, c.line),
                state: c.state.as_str(),
                state_label: tr
                    .t(&format!("desk.callback.{}", c.state.as_str()))
                    .to_owned(),
                mine: c.assigned_to == Some(me),
                taken: c.state == CallbackState::Assigned && c.assigned_to != Some(me),
                attempts: c.attempts,
                created: jiff::Timestamp::from_second(c.created_at)
                    .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                number: c.number,
                reason: c.reason,
                note: c.note,
            })
            .collect(),
    ))
}

/// Callbacks are worked from the desk of this hotline only.
fn signed_in_here(state: &AppState, hotline: i64, operator: i64) -> Result<(), ApiError> {
    match state.hotlines.signed_in_to(operator) {
        Some(h) if h == hotline => Ok(()),
        Some(h) => Err(desk_error(DeskError::OtherHotline {
            operator,
            hotline: h,
        })),
        None => Err(desk_error(DeskError::Acd(AcdError::NotSignedIn(operator)))),
    }
}

fn callback_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::Conflict("desk.callback_taken"),
        StoreError::NotFound => ApiError::not_found("desk.unknown_callback", &[]),
        e => e.into(),
    }
}

async fn take(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, cb)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    desk_of(&state, &staff, id).await?;
    let me = staff.principal.account_id;
    signed_in_here(&state, id, me)?;
    if !relatives_trained(staff.principal.role)
        && state
            .store
            .hotline()
            .callbacks(id, true)
            .await?
            .iter()
            .any(|c| c.id == cb && c.line == Line::Relatives)
    {
        return Err(ApiError::Forbidden("desk.callback_relatives_only"));
    }
    state
        .store
        .hotline()
        .assign_callback(cb, id, me, now())
        .await
        .map_err(callback_conflict)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Finish {
    success: bool,
    #[serde(default)]
    note: String,
}

async fn finish(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, cb)): Path<(i64, i64)>,
    Json(body): Json<Finish>,
) -> Result<StatusCode, ApiError> {
    let (_, incident) = desk_of(&state, &staff, id).await?;
    let me = staff.principal.account_id;
    signed_in_here(&state, id, me)?;
    if body.note.chars().count() > MAX_NOTES_CHARS {
        return Err(ApiError::bad_request("desk.form.notes_too_long", &[]));
    }
    state
        .store
        .hotline()
        .finish_callback(cb, id, me, body.success, body.note.trim(), now())
        .await
        .map_err(callback_conflict)?;
    audit(
        &state,
        staff
            .record("hotline.callback", Outcome::Success)
            .territory(incident.territory)
            .target(format!("hotline:{id}"))
            .detail(format!(
                "callback {cb} {}",
                if body.success { "done" } else { "failed" }
            )),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
