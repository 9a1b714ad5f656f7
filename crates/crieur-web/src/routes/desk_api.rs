//! The operator desk's API (session cookie and CSRF header): the desk's state,
//! signing in and out, presence, taking a ring-all offer, transfers, the
//! incident's approved answers, and the live event stream. Every request is
//! authorised for `AnswerCalls` on the incident's territory; the hotline
//! runtime then allows an operator to act only on the hotline they are signed
//! in to. The call form and callbacks are in `desk_work`.

use crate::AppState;
use crate::auth::{Staff, audit};
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::routes::desk::{relatives_trained, visible};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use crieur_domain::Language;
use crieur_domain::access::Action;
use crieur_domain::acd::{AcdError, Line, Presence, Skills, Strategy, TransferKind};
use crieur_domain::audit::Outcome;
use crieur_domain::hotline::topic_label;
use crieur_hotline::{DeskError, HotlineEvent};
use crieur_store::{Hotline, Incident};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hotlines/{id}/desk", get(desk_state))
        .route("/api/hotlines/{id}/desk/sign-in", post(sign_in))
        .route("/api/hotlines/{id}/desk/sign-out", post(sign_out))
        .route("/api/hotlines/{id}/desk/presence", post(presence))
        .route("/api/hotlines/{id}/desk/take", post(take))
        .route("/api/hotlines/{id}/desk/transfer", post(transfer))
        .route("/api/hotlines/{id}/desk/answers", get(answers))
        .route("/api/hotlines/{id}/desk/events", get(events))
}

/// The hotline and its incident, once `staff` may answer its calls. Another
/// authority's hotline is not found; a role without `AnswerCalls` is refused
/// (audited).
pub(crate) async fn desk_of(
    state: &AppState,
    staff: &Staff,
    id: i64,
) -> Result<(Hotline, Incident), ApiError> {
    let (hotline, incident) = visible(state, staff, id)
        .await?
        .ok_or_else(|| ApiError::not_found("error.not_found", &[]))?;
    crate::alerts::allowed(state, staff, Action::AnswerCalls, incident.territory).await?;
    Ok((hotline, incident))
}

/// The one mapping of the runtime's refusals to HTTP.
pub(crate) fn desk_error(e: DeskError) -> ApiError {
    match e {
        DeskError::NotActive(_) => ApiError::Conflict("desk.not_active"),
        DeskError::OtherHotline { .. } => ApiError::Conflict("desk.other_hotline"),
        DeskError::BadExtension => ApiError::bad_request("desk.bad_extension", &[]),
        DeskError::Acd(e) => match e {
            AcdError::NotSignedIn(_) => ApiError::Conflict("desk.not_signed_in"),
            AcdError::AlreadySignedIn(_) => ApiError::Conflict("desk.already_signed_in"),
            AcdError::Busy { .. } => ApiError::Conflict("desk.busy"),
            AcdError::NotOffered { .. } => ApiError::Conflict("desk.not_offered"),
            AcdError::NotConnected { .. } => ApiError::Forbidden("desk.not_your_call"),
            AcdError::SameQueue { .. } => ApiError::bad_request("desk.same_line", &[]),
            AcdError::UnknownCall(_) | AcdError::DuplicateCall(_) => {
                ApiError::Conflict("desk.unknown_call")
            }
        },
    }
}

pub(crate) fn line_label(tr: &Tr, line: Line) -> String {
    tr.t(&format!("hotline.line.{}", line.as_str())).to_owned()
}

#[derive(Serialize)]
struct DeskState {
    active: bool,
    signed_in: bool,
    /// Another hotline this operator is signed in to.
    elsewhere: Option<i64>,
    /// The server's clock (Unix ms), for the wait counter.
    now_ms: i64,
    presence: Option<&'static str>,
    presence_label: String,
    desk: Option<DeskOut>,
    call: Option<CallOut>,
}

#[derive(Serialize)]
struct DeskOut {
    name: String,
    extension: String,
    native: Vec<&'static str>,
    spoken: Vec<&'static str>,
    relatives: bool,
    psychosocial: bool,
}

#[derive(Serialize)]
struct CallOut {
    call_id: String,
    caller: String,
    line: Line,
    line_label: String,
    language: &'static str,
    language_name: &'static str,
    ivr_path: String,
    entered_at: i64,
    transferred_from: Option<String>,
    /// Offered to everyone (ring-all): the operator takes it from the desk.
    offer: bool,
    ringing: bool,
    earlier: Vec<EarlierCall>,
}

#[derive(Serialize)]
struct EarlierCall {
    call_id: String,
    /// UTC, `YYYY-MM-DD HH:MM`.
    when: String,
    line: String,
    ending: String,
    topics: Vec<String>,
    question: String,
}

fn utc(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

async fn desk_state(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<DeskState>, ApiError> {
    let (hotline, _) = desk_of(&state, &staff, id).await?;
    let tr = Tr::new(lang);
    let me = staff.principal.account_id;
    let mut out = DeskState {
        active: state.hotlines.active(id).is_some(),
        signed_in: false,
        elsewhere: state.hotlines.signed_in_to(me).filter(|h| *h != id),
        now_ms: jiff::Timestamp::now().as_millisecond(),
        presence: None,
        presence_label: tr.t("desk.presence.signed_out").to_owned(),
        desk: None,
        call: None,
    };
    let Ok(view) = state.hotlines.desk(id, me) else {
        return Ok(Json(out));
    };
    out.signed_in = true;
    out.presence = Some(view.presence.as_str());
    out.presence_label = tr
        .t(&format!("desk.presence.{}", view.presence.as_str()))
        .to_owned();
    let codes = |l: &[Language]| l.iter().map(|l| l.code()).collect::<Vec<_>>();
    out.desk = Some(DeskOut {
        name: view.desk.name.clone(),
        extension: view.desk.extension.clone(),
        native: codes(&view.desk.skills.native),
        spoken: codes(&view.desk.skills.spoken),
        relatives: view.desk.skills.relatives,
        psychosocial: view.desk.skills.psychosocial,
    });
    if let Some(call) = view.call {
        let ringing = view.presence == Presence::Ringing;
        let ring_all = state
            .hotlines
            .active(id)
            .is_some_and(|a| a.config().acd.policy(call.line).strategy == Strategy::RingAll);
        let mut earlier = Vec::new();
        for c in state
            .store
            .hotline()
            .calls_from(hotline.id, &call.caller, 11)
            .await?
            .into_iter()
            .filter(|c| c.record.call_id != call.call_id)
            .take(10)
        {
            let form = c.form.map(|f| f.form).unwrap_or_default();
            earlier.push(EarlierCall {
                call_id: c.record.call_id,
                when: utc(c.record.entered_at),
                line: c
                    .record
                    .line
                    .map(|l| line_label(&tr, l))
                    .unwrap_or_default(),
                ending: c.record.ending.unwrap_or_default(),
                topics: form
                    .topics
                    .iter()
                    .map(|t| topic_label(t, lang).unwrap_or(t).to_owned())
                    .collect(),
                question: form.question,
            });
        }
        out.call = Some(CallOut {
            line_label: line_label(&tr, call.line),
            language: call.language.code(),
            language_name: call.language.endonym(),
            transferred_from: call.transferred_from.map(|l| line_label(&tr, l)),
            offer: ringing && ring_all,
            ringing,
            earlier,
            call_id: call.call_id,
            caller: call.caller,
            line: call.line,
            ivr_path: call.ivr_path,
            entered_at: call.entered_at,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
struct SignIn {
    extension: String,
    #[serde(default)]
    native: Vec<String>,
    #[serde(default)]
    spoken: Vec<String>,
    #[serde(default)]
    psychosocial: bool,
}

fn languages(codes: &[String]) -> Result<Vec<Language>, ApiError> {
    let mut out = Vec::new();
    for c in codes {
        let l = c
            .parse::<Language>()
            .map_err(|_| ApiError::bad_request("desk.bad_language", &[]))?;
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

async fn sign_in(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<SignIn>,
) -> Result<StatusCode, ApiError> {
    let (_, incident) = desk_of(&state, &staff, id).await?;
    let native = languages(&body.native)?;
    if native.is_empty() {
        return Err(ApiError::bad_request("desk.no_language", &[]));
    }
    let spoken: Vec<Language> = languages(&body.spoken)?
        .into_iter()
        .filter(|l| !native.contains(l))
        .collect();
    let desk = crieur_hotline::Desk {
        name: staff.account.display_name.clone(),
        extension: body.extension.trim().to_owned(),
        skills: Skills {
            native,
            spoken,
            relatives: relatives_trained(staff.principal.role),
            psychosocial: body.psychosocial,
        },
    };
    let extension = desk.extension.clone();
    state
        .hotlines
        .sign_in(id, staff.principal.account_id, desk)
        .map_err(desk_error)?;
    audit(
        &state,
        staff
            .record("hotline.desk_sign_in", Outcome::Success)
            .territory(incident.territory)
            .target(format!("hotline:{id}"))
            .detail(format!("extension {extension}")),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_out(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let (_, incident) = desk_of(&state, &staff, id).await?;
    state
        .hotlines
        .sign_out(id, staff.principal.account_id)
        .map_err(desk_error)?;
    audit(
        &state,
        staff
            .record("hotline.desk_sign_out", Outcome::Success)
            .territory(incident.territory)
            .target(format!("hotline:{id}")),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct PresenceChange {
    available: bool,
}

async fn presence(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<PresenceChange>,
) -> Result<StatusCode, ApiError> {
    desk_of(&state, &staff, id).await?;
    state
        .hotlines
        .set_available(id, staff.principal.account_id, body.available)
        .map_err(desk_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Take {
    call_id: String,
}

async fn take(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<Take>,
) -> Result<StatusCode, ApiError> {
    desk_of(&state, &staff, id).await?;
    state
        .hotlines
        .take(id, staff.principal.account_id, &body.call_id)
        .map_err(desk_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Transfer {
    call_id: String,
    to: String,
    kind: String,
}

async fn transfer(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<Transfer>,
) -> Result<StatusCode, ApiError> {
    let (_, incident) = desk_of(&state, &staff, id).await?;
    let to = Line::parse(&body.to).ok_or_else(|| ApiError::bad_request("desk.bad_line", &[]))?;
    let kind = match body.kind.as_str() {
        "blind" => TransferKind::Blind,
        "warm" => TransferKind::Warm,
        _ => return Err(ApiError::bad_request("desk.bad_transfer_kind", &[])),
    };
    state
        .hotlines
        .transfer(id, staff.principal.account_id, &body.call_id, to, kind)
        .map_err(desk_error)?;
    audit(
        &state,
        staff
            .record("hotline.transfer", Outcome::Success)
            .territory(incident.territory)
            .target(format!("hotline:{id}"))
            .detail(format!("call {} to {} ({})", body.call_id, to, body.kind)),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct AnswerOut {
    key: i64,
    version: u32,
    language: &'static str,
    title: String,
    body: String,
    topics: Vec<String>,
    published: String,
}

/// The incident's approved answers, latest versions.
async fn answers(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AnswerOut>>, ApiError> {
    let (_, incident) = desk_of(&state, &staff, id).await?;
    let list = state.store.hotline().answers(incident.id).await?;
    Ok(Json(
        list.into_iter()
            .map(|a| AnswerOut {
                key: a.answer_key,
                version: a.version,
                language: a.language.code(),
                topics: a
                    .topics
                    .iter()
                    .map(|t| topic_label(t, lang).unwrap_or(t).to_owned())
                    .collect(),
                published: utc(a.published_at),
                title: a.title,
                body: a.body,
            })
            .collect(),
    ))
}

/// Whether the desk of `operator` on `hotline` (incident `incident`) follows
/// this event.
fn concerns(event: &HotlineEvent, hotline: i64, incident: i64, operator: i64) -> bool {
    match event {
        HotlineEvent::Changed { hotline: h } | HotlineEvent::Closed { hotline: h } => *h == hotline,
        HotlineEvent::Offer {
            hotline: h,
            operator: o,
            ..
        }
        | HotlineEvent::Withdrawn {
            hotline: h,
            operator: o,
            ..
        }
        | HotlineEvent::Connected {
            hotline: h,
            operator: o,
            ..
        }
        | HotlineEvent::Released {
            hotline: h,
            operator: o,
            ..
        } => *h == hotline && *o == operator,
        HotlineEvent::AnswersChanged { incident: i } => *i == incident,
    }
}

/// The desk's live events, as JSON: the page fetches the desk again on each.
async fn events(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let (hotline, incident) = desk_of(&state, &staff, id).await?;
    let (hotline, incident) = (hotline.id, incident.id);
    let operator = staff.principal.account_id;
    let rx = state.hotlines.events();
    let stream = futures_util::stream::unfold(rx, move |mut rx| async move {
        loop {
            let data = match rx.recv().await {
                Ok(e) if concerns(&e, hotline, incident, operator) => {
                    serde_json::to_string(&e).unwrap_or_default()
                }
                Ok(_) => continue,
                // Events were missed: the page fetches everything again anyway.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    serde_json::json!({"type": "changed", "hotline": hotline}).to_string()
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            return Some((
                Ok::<_, std::convert::Infallible>(Event::default().data(data)),
                rx,
            ));
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
