//! The supervisor's figures, all computed from the stored queue log (the one
//! source the live view, the figures and the export agree on): service level,
//! speed of answer and abandons, the queue log itself (table and CSV export),
//! and the operators needed for the next hour, observed and after each alert.
//!
//! The CSV export follows Asterisk's `queue_log`: `time,callid,queue,agent,
//! event,data1,data2,data3`, with `time` in Unix seconds and a millisecond
//! fraction (`1767225600.250`), so existing queue_log tools can read it.

use crate::AppState;
use crate::auth::{Staff, audit};
use crate::error::ApiError;
use crate::routes::supervisor::{Access, supervised};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use crieur_domain::acd::{QueueEvent, QueueEventKind, QueueStats, StatsWindow};
use crieur_domain::audit::Outcome;
use crieur_domain::hotline::HotlineConfig;
use crieur_domain::staffing::{
    AlertForecast, ServiceTarget, StaffingPlan, StaffingPolicy, plan_after_alert,
    plan_from_observed,
};
use crieur_store::{Hotline, QueueLogEntry, StoreError};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hotlines/{id}/figures", get(figures_api))
        .route("/api/hotlines/{id}/queue-log", get(queue_log_api))
        .route("/api/hotlines/{id}/queue-log.csv", get(queue_log_csv))
        .route("/api/hotlines/{id}/staffing", get(staffing_api))
}

/// Lines read at most for figures since activation: about two days at the
/// Belgian centre's 2015 peak.
const MAX_LOG_LINES: u32 = 500_000;
/// Completed calls needed before their mean handling time replaces the
/// configured one.
pub(crate) const MIN_MEASURED_CALLS: u64 = 10;
const HOUR_MS: i64 = 3_600_000;

/// Queue-log lines as the domain reads them; a line with an unknown event is
/// left out (the export keeps it).
pub(crate) fn events(entries: &[QueueLogEntry]) -> Vec<QueueEvent> {
    entries
        .iter()
        .filter_map(|e| {
            Some(QueueEvent {
                at: u64::try_from(e.at).ok()?,
                call: e.call_id.clone(),
                queue: e.queue.clone(),
                agent: e.agent.clone(),
                event: QueueEventKind::parse(&e.event)?,
                data: [e.data1.clone(), e.data2.clone(), e.data3.clone()],
            })
        })
        .collect()
}

/// The hotline's configuration: the running one, else the stored one.
pub(crate) fn config_of(state: &AppState, hotline: &Hotline) -> HotlineConfig {
    state
        .hotlines
        .active(hotline.id)
        .map(|a| a.config())
        .or_else(|| serde_json::from_str(&hotline.config).ok())
        .unwrap_or_default()
}

fn end_ms(hotline: &Hotline, now_ms: i64) -> i64 {
    hotline.closed_at.map_or(now_ms, |c| (c * 1000).min(now_ms))
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Figures {
    pub target: ServiceTarget,
    pub last_hour: QueueStats,
    pub since_activation: QueueStats,
    /// From the live queues; 0 when the hotline is not running.
    pub waiting: usize,
    pub longest_wait_s: u64,
    /// True when the log since activation was longer than what was read.
    pub truncated: bool,
}

/// The service figures and the log they come from (since activation).
pub(crate) async fn figures(
    state: &AppState,
    hotline: &Hotline,
    target: ServiceTarget,
    now_ms: i64,
) -> Result<(Figures, Vec<QueueEvent>), StoreError> {
    // The log is the hotline's own: nothing in it predates the activation,
    // but the last hour is read whole even when the hotline is younger.
    let from = (hotline.activated_at * 1000).min(now_ms - HOUR_MS);
    let log = state
        .store
        .hotline()
        .queue_log(hotline.id, from, MAX_LOG_LINES)
        .await?;
    let truncated = log.len() >= MAX_LOG_LINES as usize;
    let events = events(&log);
    let to = end_ms(hotline, now_ms);
    let within = target.within_seconds.round() as u64;
    let window = |from: i64| StatsWindow {
        from: u64::try_from(from).unwrap_or(0),
        to: u64::try_from(to).unwrap_or(0),
        answer_within_s: within,
    };
    let live = state.hotlines.live(hotline.id);
    let queues = live.as_ref().map(|l| l.snapshot.queues.as_slice());
    Ok((
        Figures {
            target,
            last_hour: QueueStats::from_log(&events, window(to - HOUR_MS), |_| true),
            since_activation: QueueStats::from_log(&events, window(from), |_| true),
            waiting: queues.map_or(0, |q| q.iter().map(|q| q.waiting).sum()),
            longest_wait_s: queues
                .and_then(|q| q.iter().map(|q| q.longest_wait_s).max())
                .unwrap_or(0),
            truncated,
        },
        events,
    ))
}

/// Forecast settings, in percent as the supervisor types them.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ForecastQuery {
    pub call_rate_percent: Option<String>,
    pub first_hour_percent: Option<String>,
    /// `percent/seconds`, e.g. `80/20`.
    pub target: Option<String>,
}

impl ForecastQuery {
    /// The forecast and the target asked for; a message key when unreadable.
    pub(crate) fn parse(&self) -> Result<(AlertForecast, ServiceTarget), &'static str> {
        let mut forecast = AlertForecast::default();
        let percent = |v: &Option<String>, default: f64| -> Result<f64, &'static str> {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(default),
                Some(s) => s
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .filter(|p| p.is_finite())
                    .map(|p| p / 100.0)
                    .ok_or("supervisor.bad_forecast"),
            }
        };
        forecast.call_rate = percent(&self.call_rate_percent, forecast.call_rate)?;
        forecast.first_hour_share = percent(&self.first_hour_percent, forecast.first_hour_share)?;
        forecast
            .calls_in_first_hour(0)
            .map_err(|_| "supervisor.bad_forecast")?;
        let target = match self.target.as_deref().filter(|t| !t.trim().is_empty()) {
            None => ServiceTarget::default(),
            Some(t) => t.parse().map_err(|_| "supervisor.bad_target")?,
        };
        Ok((forecast, target))
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Observed {
    /// Callers who entered a queue in the last hour.
    pub calls: u64,
    pub window_seconds: f64,
    /// Completed calls the handling time was measured on.
    pub completed: u64,
    /// Talk plus wrap-up, seconds.
    pub handle_seconds: f64,
    /// `measured` from the last hour's calls, or `configured` while fewer than
    /// [`MIN_MEASURED_CALLS`] were completed.
    pub handle_source: &'static str,
    /// `None` without any call in the last hour.
    pub plan: Option<StaffingPlan>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct AlertLoad {
    pub alert_id: i64,
    pub identifier: String,
    pub msg_type: String,
    pub headline: String,
    /// Unix seconds.
    pub released_at: Option<i64>,
    pub recipients: u64,
    pub expected_calls: f64,
    /// `None` when no call is expected (no recipient).
    pub plan: Option<StaffingPlan>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Staffing {
    pub observed: Observed,
    pub forecast: AlertForecast,
    pub alerts: Vec<AlertLoad>,
    pub signed_in: usize,
}

/// Operators needed for the next hour if calls keep coming as in the last
/// one, and for the first hour after each released alert of the incident.
pub(crate) async fn staffing(
    state: &AppState,
    hotline: &Hotline,
    events: &[QueueEvent],
    forecast: AlertForecast,
    target: ServiceTarget,
    lang: crieur_domain::Language,
    now_ms: i64,
) -> Result<Staffing, StoreError> {
    let config = config_of(state, hotline);
    let policy = StaffingPolicy {
        target,
        ..StaffingPolicy::default()
    };
    let to = u64::try_from(end_ms(hotline, now_ms)).unwrap_or(0);
    let from = to.saturating_sub(HOUR_MS as u64);
    let recent = || events.iter().filter(move |e| e.at >= from && e.at < to);
    let stats = QueueStats::from_log(
        recent(),
        StatsWindow {
            from,
            to,
            answer_within_s: target.within_seconds.round() as u64,
        },
        |_| true,
    );
    let completed = recent()
        .filter(|e| {
            matches!(
                e.event,
                QueueEventKind::Completecaller | QueueEventKind::Completeagent
            )
        })
        .count() as u64;
    let configured = config.acd.expected_handle_ms as f64 / 1000.0;
    let (handle_seconds, handle_source) = match stats.talk_s {
        Some(talk) if completed >= MIN_MEASURED_CALLS => {
            (talk + config.acd.wrap_up_ms as f64 / 1000.0, "measured")
        }
        _ => (configured, "configured"),
    };
    let window_seconds = 3600.0;
    let observed = Observed {
        calls: stats.offered,
        window_seconds,
        completed,
        handle_seconds,
        handle_source,
        plan: plan_from_observed(stats.offered, window_seconds, handle_seconds, &policy).ok(),
    };
    let mut alerts = Vec::new();
    for a in state
        .store
        .alerts()
        .alerts_of_incident(hotline.incident_id)
        .await?
        .into_iter()
        .filter(|a| a.state == crieur_store::AlertState::Released)
    {
        let recipients = a
            .recipients
            .as_deref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
            .and_then(|r| r["persons"].as_u64())
            .unwrap_or(0);
        let composition: serde_json::Value =
            serde_json::from_str(&a.composition).unwrap_or_default();
        let texts = &composition["texts"];
        let headline = texts[lang.code()]["headline"]
            .as_str()
            .or_else(|| {
                texts
                    .as_object()
                    .and_then(|t| t.values().find_map(|t| t["headline"].as_str()))
            })
            .unwrap_or_default()
            .to_owned();
        alerts.push(AlertLoad {
            alert_id: a.id,
            identifier: a.identifier,
            msg_type: a.msg_type,
            headline,
            released_at: a.released_at,
            recipients,
            expected_calls: forecast.calls_in_first_hour(recipients).unwrap_or(0.0),
            plan: plan_after_alert(recipients, &forecast, handle_seconds, &policy).ok(),
        });
    }
    alerts.sort_by_key(|a| std::cmp::Reverse((a.released_at, a.alert_id)));
    Ok(Staffing {
        observed,
        forecast,
        alerts,
        signed_in: state.hotlines.live(hotline.id).map_or(0, |l| l.desks.len()),
    })
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn figures_api(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<ForecastQuery>,
) -> Result<Json<Figures>, ApiError> {
    let s = supervised(&state, &staff, id, Access::Read).await?;
    let (_, target) = q.parse().map_err(|k| ApiError::bad_request(k, &[]))?;
    Ok(Json(figures(&state, &s.hotline, target, now_ms()).await?.0))
}

async fn staffing_api(
    State(state): State<AppState>,
    crate::i18n::Lang(lang): crate::i18n::Lang,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<ForecastQuery>,
) -> Result<Json<Staffing>, ApiError> {
    let s = supervised(&state, &staff, id, Access::Read).await?;
    let (forecast, target) = q.parse().map_err(|k| ApiError::bad_request(k, &[]))?;
    let now = now_ms();
    let (_, events) = figures(&state, &s.hotline, target, now).await?;
    Ok(Json(
        staffing(&state, &s.hotline, &events, forecast, target, lang, now).await?,
    ))
}

#[derive(Deserialize)]
struct LogQuery {
    /// Only lines at or after this many minutes ago; by default all of them.
    minutes: Option<u32>,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub(crate) struct LogLine {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub call_id: String,
    pub queue: String,
    pub agent: String,
    pub event: String,
    pub data: [String; 3],
}

impl From<QueueLogEntry> for LogLine {
    fn from(e: QueueLogEntry) -> Self {
        LogLine {
            id: e.id,
            at: e.at,
            call_id: e.call_id,
            queue: e.queue,
            agent: e.agent,
            event: e.event,
            data: [e.data1, e.data2, e.data3],
        }
    }
}

/// The most recent lines, newest first.
pub(crate) async fn recent_log(
    state: &AppState,
    hotline: &Hotline,
    since_ms: i64,
    limit: usize,
) -> Result<Vec<QueueLogEntry>, StoreError> {
    let mut log = state
        .store
        .hotline()
        .queue_log(hotline.id, since_ms, MAX_LOG_LINES)
        .await?;
    let skip = log.len().saturating_sub(limit);
    log.drain(..skip);
    log.reverse();
    Ok(log)
}

async fn queue_log_api(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<LogQuery>,
) -> Result<Json<Vec<LogLine>>, ApiError> {
    let s = supervised(&state, &staff, id, Access::Read).await?;
    let since = match q.minutes {
        Some(m) => now_ms() - i64::from(m) * 60_000,
        None => 0,
    };
    let limit = q.limit.unwrap_or(200).clamp(1, 10_000) as usize;
    let log = recent_log(&state, &s.hotline, since, limit).await?;
    Ok(Json(log.into_iter().map(LogLine::from).collect()))
}

/// The hotline's whole queue log, oldest first. Reading it is audited: it
/// holds callers' numbers.
async fn queue_log_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let s = supervised(&state, &staff, id, Access::Read).await?;
    let log = state
        .store
        .hotline()
        .queue_log(id, 0, MAX_LOG_LINES)
        .await?;
    audit(
        &state,
        staff
            .record("hotline.queue_log_export", Outcome::Success)
            .territory(s.incident.territory)
            .target(format!("hotline:{id}"))
            .detail(format!("{} rows", log.len())),
    )
    .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"hotline-{id}-queue_log.csv\""),
            ),
        ],
        queue_log_text(&log),
    ))
}

/// Asterisk's queue_log columns, with a header line.
pub(crate) fn queue_log_text(log: &[QueueLogEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "time", "callid", "queue", "agent", "event", "data1", "data2", "data3",
    ]);
    for e in log {
        let time = format!("{}.{:03}", e.at.div_euclid(1000), e.at.rem_euclid(1000));
        let _ = w.write_record([
            time.as_str(),
            &e.call_id,
            &e.queue,
            &e.agent,
            &e.event,
            &e.data1,
            &e.data2,
            &e.data3,
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_has_asterisk_columns_and_escapes() {
        let e = QueueLogEntry {
            id: 1,
            hotline_id: 1,
            at: 1_767_225_600_250,
            call_id: "c1@host".into(),
            queue: "information-fr".into(),
            agent: "NONE".into(),
            event: "ENTERQUEUE".into(),
            data1: "+32470, \"x\"".into(),
            data2: "0".into(),
            data3: String::new(),
        };
        let text = queue_log_text(&[e]);
        assert_eq!(
            text,
            "time,callid,queue,agent,event,data1,data2,data3\n\
             1767225600.250,c1@host,information-fr,NONE,ENTERQUEUE,\"+32470, \"\"x\"\"\",0,\n"
        );
    }

    #[test]
    fn forecast_percentages_are_read_and_checked() {
        let q = ForecastQuery {
            call_rate_percent: Some("1,5".into()),
            first_hour_percent: Some("50".into()),
            target: Some("90/15".into()),
        };
        let (f, t) = q.parse().unwrap();
        assert!((f.call_rate - 0.015).abs() < 1e-12);
        assert!((f.first_hour_share - 0.5).abs() < 1e-12);
        assert_eq!(t.within_seconds, 15.0);
        let bad = ForecastQuery {
            first_hour_percent: Some("0".into()),
            ..ForecastQuery::default()
        };
        assert_eq!(bad.parse().unwrap_err(), "supervisor.bad_forecast");
    }
}
