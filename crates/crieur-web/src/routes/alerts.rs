//! The staff API for incidents and alerts (session cookie and CSRF header, as
//! the console uses it). The rules live in `crate::alerts`.

use crate::AppState;
use crate::alerts::{self, Draft};
use crate::auth::{Staff, audit};
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use crieur_domain::access::Action;
use crieur_domain::audit::Outcome;
use crieur_domain::cap::MsgType;
use crieur_domain::templates::TemplateLibrary;
use crieur_store::{AlertState, StoredAlert};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/incidents", get(incidents).post(open_incident))
        .route("/api/incidents/{id}", get(incident))
        .route("/api/incidents/{id}/close", post(close_incident))
        .route("/api/incidents/{id}/alerts", post(create_alert))
        .route("/api/incidents/{id}/alerts/cap", post(import_cap))
        .route("/api/alerts/preview", post(preview))
        .route("/api/alerts/{id}", get(show).put(edit))
        .route("/api/alerts/{id}/submit", post(submit))
        .route("/api/alerts/{id}/reject", post(reject))
        .route("/api/alerts/{id}/release", post(release))
        .route("/api/alerts/{id}/follow-up", post(follow_up))
        .route("/api/alerts/{id}/progress", get(progress))
        .route("/api/alerts/{id}/stop", post(stop))
        .route("/api/alerts/{id}/retry-failed", post(retry_failed))
        .route("/api/alerts/{id}/deliveries.csv", get(deliveries_csv))
        .route("/api/templates", get(templates))
}

#[derive(Deserialize)]
struct OpenIncident {
    title: String,
}

#[derive(Serialize)]
struct IncidentOut {
    id: i64,
    title: String,
    territory: String,
    opened_at: String,
    closed_at: Option<String>,
}

impl From<crieur_store::Incident> for IncidentOut {
    fn from(i: crieur_store::Incident) -> Self {
        IncidentOut {
            id: i.id,
            title: i.title,
            territory: i.territory.to_string(),
            opened_at: i.opened_at,
            closed_at: i.closed_at,
        }
    }
}

async fn open_incident(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<OpenIncident>,
) -> Result<impl IntoResponse, ApiError> {
    let territory = staff.principal.territory;
    if crieur_domain::access::authorize(
        &staff.principal,
        Action::DraftAlert,
        territory,
        &state.territories,
    )
    .is_err()
    {
        return Err(ApiError::Forbidden("error.forbidden"));
    }
    let title = body.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::Problems(vec![(
            "title".into(),
            "alert.bad_title",
            String::new(),
        )]));
    }
    let incident = state
        .store
        .alerts()
        .open_incident(title, territory, staff.principal.account_id)
        .await?;
    audit(
        &state,
        staff
            .record("incident.open", Outcome::Success)
            .territory(territory)
            .target(format!("incident:{}", incident.id)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(IncidentOut::from(incident))))
}

/// The incidents of the caller's jurisdiction, newest first.
async fn incidents(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<Vec<IncidentOut>>, ApiError> {
    let own = staff.principal.territory;
    alerts::allowed(&state, &staff, Action::DraftAlert, own).await?;
    let list = state.store.alerts().incidents(500).await?;
    Ok(Json(
        list.into_iter()
            .filter(|i| state.territories.contains(own, i.territory))
            .map(IncidentOut::from)
            .collect(),
    ))
}

async fn incident_of(
    state: &AppState,
    staff: &Staff,
    id: i64,
) -> Result<crieur_store::Incident, ApiError> {
    let incident = state
        .store
        .alerts()
        .incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("error.not_found", &[]))?;
    // Another authority's incident does not exist, as far as the caller can tell.
    if !state
        .territories
        .contains(staff.principal.territory, incident.territory)
    {
        return Err(ApiError::not_found("error.not_found", &[]));
    }
    // Alerts and their recipients are for those who may write alerts.
    alerts::allowed(state, staff, Action::DraftAlert, incident.territory).await?;
    Ok(incident)
}

#[derive(Serialize)]
struct IncidentDetail {
    #[serde(flatten)]
    incident: IncidentOut,
    alerts: Vec<AlertOut>,
}

async fn incident(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let incident = incident_of(&state, &staff, id).await?;
    let alerts = state.store.alerts().alerts_of_incident(id).await?;
    Ok(Json(IncidentDetail {
        incident: incident.into(),
        alerts: alerts.into_iter().map(AlertOut::from).collect(),
    }))
}

async fn close_incident(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let incident = incident_of(&state, &staff, id).await?;
    if crieur_domain::access::authorize(
        &staff.principal,
        Action::DraftAlert,
        incident.territory,
        &state.territories,
    )
    .is_err()
    {
        return Err(ApiError::Forbidden("error.forbidden"));
    }
    state
        .store
        .alerts()
        .close_incident(id, staff.principal.account_id)
        .await
        .map_err(alerts::conflict("alert.incident_closed"))?;
    audit(
        &state,
        staff
            .record("incident.close", Outcome::Success)
            .territory(incident.territory)
            .target(format!("incident:{id}")),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct AlertOut {
    id: i64,
    incident_id: i64,
    identifier: String,
    territory: String,
    status: String,
    msg_type: String,
    references_id: Option<i64>,
    state: &'static str,
    composition: serde_json::Value,
    area: serde_json::Value,
    author_id: i64,
    decided_by: Option<i64>,
    decision_comment: Option<String>,
    sent: Option<String>,
    recipients: Option<serde_json::Value>,
}

impl From<StoredAlert> for AlertOut {
    fn from(a: StoredAlert) -> Self {
        AlertOut {
            id: a.id,
            incident_id: a.incident_id,
            identifier: a.identifier,
            territory: a.territory.to_string(),
            status: a.status,
            msg_type: a.msg_type,
            references_id: a.references_id,
            state: a.state.as_str(),
            composition: serde_json::from_str(&a.composition).unwrap_or_default(),
            area: serde_json::from_str(&a.area).unwrap_or_default(),
            author_id: a.author_id,
            decided_by: a.decided_by,
            decision_comment: a.decision_comment,
            sent: a.sent,
            recipients: a.recipients.and_then(|r| serde_json::from_str(&r).ok()),
        }
    }
}

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn create_alert(
    State(state): State<AppState>,
    staff: Staff,
    Path(incident_id): Path<i64>,
    Json(draft): Json<Draft>,
) -> Result<impl IntoResponse, ApiError> {
    incident_of(&state, &staff, incident_id).await?;
    let id = alerts::create(&state, &staff, incident_id, &draft, None).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, Default)]
struct ImportQuery {
    /// Clip the message's area to the caller's jurisdiction.
    #[serde(default)]
    clip: bool,
}

/// A CAP 1.2 message from another system becomes a draft.
async fn import_cap(
    State(state): State<AppState>,
    staff: Staff,
    Path(incident_id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<ImportQuery>,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    incident_of(&state, &staff, incident_id).await?;
    let id = alerts::import_cap(&state, &staff, incident_id, &body, q.clip).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

async fn preview(
    State(state): State<AppState>,
    staff: Staff,
    Json(draft): Json<Draft>,
) -> Result<Json<alerts::Reckoning>, ApiError> {
    Ok(Json(alerts::preview(&state, &staff, &draft).await?))
}

/// An alert the caller may see: within their jurisdiction.
async fn alert_of(state: &AppState, staff: &Staff, id: i64) -> Result<StoredAlert, ApiError> {
    let a = state
        .store
        .alerts()
        .alert(id)
        .await?
        .ok_or_else(|| ApiError::not_found("error.not_found", &[]))?;
    if !state
        .territories
        .contains(staff.principal.territory, a.territory)
    {
        return Err(ApiError::not_found("error.not_found", &[]));
    }
    alerts::allowed(state, staff, Action::DraftAlert, a.territory).await?;
    Ok(a)
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<AlertOut>, ApiError> {
    Ok(Json(alert_of(&state, &staff, id).await?.into()))
}

async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(draft): Json<Draft>,
) -> Result<StatusCode, ApiError> {
    let a = alert_of(&state, &staff, id).await?;
    alerts::edit(&state, &staff, &a, &draft).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let a = alert_of(&state, &staff, id).await?;
    alerts::submit(&state, &staff, &a).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct Decision {
    #[serde(default)]
    comment: String,
    /// Release even though the same texts went to the same area minutes ago.
    #[serde(default)]
    confirm_repeat: bool,
}

async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(d): Json<Decision>,
) -> Result<StatusCode, ApiError> {
    let a = alert_of(&state, &staff, id).await?;
    if d.comment.trim().is_empty() || d.comment.chars().count() > 2000 {
        return Err(ApiError::Problems(vec![(
            "comment".into(),
            "alert.comment_required",
            String::new(),
        )]));
    }
    alerts::reject(&state, &staff, &a, d.comment.trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn release(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(d): Json<Decision>,
) -> Result<Json<alerts::Reckoning>, ApiError> {
    let a = alert_of(&state, &staff, id).await?;
    let comment = Some(d.comment.trim()).filter(|c| !c.is_empty());
    Ok(Json(
        alerts::release(&state, &staff, &a, comment, d.confirm_repeat).await?,
    ))
}

#[derive(Deserialize)]
struct FollowUp {
    /// Update or Cancel (an all-clear is an Update from the all-clear template).
    msg_type: String,
    #[serde(flatten)]
    draft: Draft,
}

async fn follow_up(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(body): Json<FollowUp>,
) -> Result<impl IntoResponse, ApiError> {
    let original = alert_of(&state, &staff, id).await?;
    let msg_type = match body.msg_type.as_str() {
        "Update" => MsgType::Update,
        "Cancel" => MsgType::Cancel,
        other => {
            return Err(ApiError::Problems(vec![(
                "msg_type".into(),
                "alert.bad_msg_type",
                other.to_owned(),
            )]));
        }
    };
    if original.state != AlertState::Released {
        return Err(ApiError::Conflict("alert.not_released"));
    }
    let id = alerts::create(
        &state,
        &staff,
        original.incident_id,
        &body.draft,
        Some((&original, msg_type)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// The template library, every language.
async fn templates(_staff: Staff) -> Json<serde_json::Value> {
    let library = TemplateLibrary::builtin();
    let list: Vec<serde_json::Value> = library
        .iter()
        .map(|t| {
            let texts: serde_json::Map<String, serde_json::Value> = crieur_domain::Language::ALL
                .iter()
                .map(|l| {
                    let x = t.texts(*l);
                    (
                        l.code().to_owned(),
                        serde_json::json!({
                            "event": x.event, "headline": x.headline, "sms": x.sms,
                            "voice": x.voice, "email_subject": x.email_subject,
                            "email_body": x.email_body, "cell_broadcast": x.cell_broadcast,
                            "instruction": x.instruction,
                        }),
                    )
                })
                .collect();
            serde_json::json!({
                "id": t.id(), "category": t.category(), "urgency": t.urgency(),
                "severity": t.severity(), "certainty": t.certainty(), "texts": texts,
            })
        })
        .collect();
    Json(serde_json::Value::Array(list))
}

/// One channel and provider of an alert's delivery.
#[derive(Serialize, PartialEq, Clone)]
struct LaneProgress {
    channel: String,
    provider: Option<String>,
    queued: u64,
    sending: u64,
    sent: u64,
    delivered: u64,
    failed: u64,
    retrying: u64,
    cancelled: u64,
    confirmed: u64,
    possible_duplicates: u64,
    reach: u64,
}

impl LaneProgress {
    fn pending(&self) -> u64 {
        self.queued + self.sending + self.retrying
    }

    fn finished(&self) -> u64 {
        self.sent + self.delivered + self.failed + self.confirmed + self.cancelled
    }
}

/// An alert's delivery: each lane, and the pace of the whole.
#[derive(Serialize, PartialEq)]
struct Progress {
    lanes: Vec<LaneProgress>,
    pending: u64,
    finished: u64,
    /// Messages finished per second, smoothed.
    rate: f64,
    /// At that rate, when everything pending will be finished.
    seconds_left: Option<u64>,
    done: bool,
}

async fn lanes(state: &AppState, id: i64) -> Result<Vec<LaneProgress>, ApiError> {
    Ok(state
        .store
        .deliveries()
        .delivery_counts(id)
        .await?
        .into_iter()
        .map(|c| LaneProgress {
            channel: c.channel,
            provider: c.provider,
            queued: c.queued,
            sending: c.sending,
            sent: c.sent,
            delivered: c.delivered,
            failed: c.failed,
            retrying: c.retrying,
            cancelled: c.cancelled,
            confirmed: c.confirmed,
            possible_duplicates: c.possible_duplicates,
            reach: c.reach,
        })
        .collect())
}

/// Live progress of a released alert per channel and provider, as
/// server-sent events: a `progress` event when the counts change (sampled four
/// times a second), and `done` once nothing is pending.
async fn progress(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    alert_of(&state, &staff, id).await?;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use std::time::{Duration, Instant};
    struct Follow {
        state: AppState,
        last: Option<String>,
        finished: bool,
        sample: Option<(Instant, u64)>,
        rate: f64,
    }
    let start = Follow {
        state,
        last: None,
        finished: false,
        sample: None,
        rate: 0.0,
    };
    let stream = futures_util::stream::unfold(start, move |mut f| async move {
        if f.finished {
            return None;
        }
        loop {
            let lanes = lanes(&f.state, id).await.ok()?;
            let pending: u64 = lanes.iter().map(LaneProgress::pending).sum();
            let finished: u64 = lanes.iter().map(LaneProgress::finished).sum();
            let now = Instant::now();
            if let Some((then, before)) = f.sample {
                let dt = now.duration_since(then).as_secs_f64();
                if dt > 0.0 {
                    let instant = finished.saturating_sub(before) as f64 / dt;
                    // Smoothed over about two seconds.
                    let weight = (dt / 2.0).min(1.0);
                    f.rate += (instant - f.rate) * weight;
                }
            } else {
                f.rate = 0.0;
            }
            f.sample = Some((now, finished));
            let done = pending == 0;
            let seconds_left =
                (f.rate >= 0.5 && !done).then(|| (pending as f64 / f.rate).ceil() as u64);
            let p = Progress {
                lanes,
                pending,
                finished,
                rate: (f.rate * 10.0).round() / 10.0,
                seconds_left,
                done,
            };
            let counts = serde_json::to_string(&p.lanes).unwrap_or_default();
            if f.last.as_deref() != Some(counts.as_str()) || done {
                let event = Event::default()
                    .event(if done { "done" } else { "progress" })
                    .data(serde_json::to_string(&p).unwrap_or_default());
                f.last = Some(counts);
                f.finished = done;
                return Some((Ok::<_, std::convert::Infallible>(event), f));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Stops sending what the alert has not sent yet.
async fn stop(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let a = alert_of(&state, &staff, id).await?;
    let stopped = alerts::stop_delivery(&state, &staff, &a).await?;
    Ok(Json(serde_json::json!({ "cancelled": stopped })))
}

/// Queues the alert's failed messages again.
async fn retry_failed(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let a = alert_of(&state, &staff, id).await?;
    let queued = alerts::retry_failed(&state, &staff, &a).await?;
    Ok(Json(serde_json::json!({ "queued": queued })))
}

/// The final delivery report: one line per message with its outcome. It holds
/// contact details, so reading it is audited.
async fn deliveries_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let a = alert_of(&state, &staff, id).await?;
    let rows = state.store.deliveries().delivery_report(id).await?;
    audit(
        &state,
        staff
            .record("alert.delivery_report", Outcome::Success)
            .territory(a.territory)
            .target(format!("alert:{id}"))
            .detail(format!("{} rows", rows.len())),
    )
    .await?;
    let mut csv = String::from(
        "channel,language,address,state,attempts,provider,reach,possible_duplicate,error\n",
    );
    for r in rows {
        let field = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.channel,
            r.language,
            field(&r.address),
            r.state,
            r.attempts,
            field(r.provider.as_deref().unwrap_or("")),
            r.reach.map(|n| n.to_string()).unwrap_or_default(),
            r.possible_duplicate,
            field(r.error.as_deref().unwrap_or(""))
        ));
    }
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"alert-{id}-deliveries.csv\""),
            ),
        ],
        csv,
    ))
}
