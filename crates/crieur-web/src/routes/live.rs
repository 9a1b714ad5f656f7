//! The supervisor's live view: queues and operators as the page draws them,
//! as JSON, and as server-sent events pushed when the hotline changes (at
//! most twice a second, so a busy hotline does not flood the browser).

use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::i18n::{Lang, Tr};
use crate::routes::supervisor::{Access, supervised};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use crieur_domain::Language;
use crieur_hotline::HotlineEvent;
use crieur_store::StoreError;
use serde::Serialize;
use std::collections::HashMap;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hotlines/{id}/live", get(live_api))
        .route("/api/hotlines/{id}/live/events", get(live_events))
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct QueueRow {
    pub queue: String,
    pub line: String,
    pub language: &'static str,
    pub waiting: usize,
    pub longest_wait_s: u64,
    pub staffed: usize,
    pub available: usize,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct OperatorRow {
    pub operator: i64,
    pub name: String,
    pub presence: &'static str,
    pub presence_label: String,
    pub since_s: u64,
    pub call: Option<String>,
    pub answered: u64,
    pub missed: u32,
}

/// The live part of the view, as the page draws it and the stream sends it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LiveOut {
    pub running: bool,
    pub waiting: usize,
    pub longest_wait_s: u64,
    pub available: usize,
    /// One sentence for the polite live region; it changes only when the
    /// number waiting or available does, so screen readers are not flooded.
    pub summary: String,
    pub queues: Vec<QueueRow>,
    pub operators: Vec<OperatorRow>,
}

/// Display names of accounts, looked up once per page or stream.
pub(crate) async fn name_of(
    state: &AppState,
    names: &mut HashMap<i64, String>,
    id: i64,
) -> Result<String, StoreError> {
    if let Some(n) = names.get(&id) {
        return Ok(n.clone());
    }
    let name = state
        .store
        .accounts()
        .account(id)
        .await?
        .map(|a| a.display_name)
        .unwrap_or_else(|| format!("#{id}"));
    names.insert(id, name.clone());
    Ok(name)
}

pub(crate) async fn live_out(
    state: &AppState,
    hotline: i64,
    lang: Language,
    names: &mut HashMap<i64, String>,
) -> Result<LiveOut, StoreError> {
    let tr = Tr::new(lang);
    let Some(live) = state.hotlines.live(hotline) else {
        return Ok(LiveOut {
            running: false,
            waiting: 0,
            longest_wait_s: 0,
            available: 0,
            summary: tr.t("supervisor.not_running").to_owned(),
            queues: Vec::new(),
            operators: Vec::new(),
        });
    };
    let queues: Vec<QueueRow> = live
        .snapshot
        .queues
        .iter()
        .map(|q| QueueRow {
            queue: q.queue.to_string(),
            line: tr
                .t(&format!("hotline.line.{}", q.queue.line.as_str()))
                .to_owned(),
            language: q.queue.language.code(),
            waiting: q.waiting,
            longest_wait_s: q.longest_wait_s,
            staffed: q.staffed,
            available: q.available,
        })
        .collect();
    let mut operators = Vec::new();
    for o in &live.snapshot.operators {
        let name = match live.desks.get(&o.operator) {
            Some(d) if !d.name.is_empty() => d.name.clone(),
            _ => name_of(state, names, o.operator).await?,
        };
        operators.push(OperatorRow {
            operator: o.operator,
            name,
            presence: o.presence.as_str(),
            presence_label: tr
                .t(&format!("supervisor.presence.{}", o.presence.as_str()))
                .to_owned(),
            since_s: o.since_s,
            call: o.call.clone(),
            answered: o.answered,
            missed: o.missed,
        });
    }
    operators.sort_by(|a, b| a.name.cmp(&b.name));
    let waiting = queues.iter().map(|q| q.waiting).sum();
    let available = live
        .snapshot
        .operators
        .iter()
        .filter(|o| o.presence == crieur_domain::acd::Presence::Available)
        .count();
    Ok(LiveOut {
        running: true,
        waiting,
        longest_wait_s: queues.iter().map(|q| q.longest_wait_s).max().unwrap_or(0),
        available,
        summary: tr.fmt(
            "supervisor.live_summary",
            &[
                ("waiting", &waiting.to_string()),
                ("available", &available.to_string()),
                ("operators", &operators.len().to_string()),
            ],
        ),
        queues,
        operators,
    })
}

async fn live_api(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<LiveOut>, ApiError> {
    supervised(&state, &staff, id, Access::Read).await?;
    Ok(Json(live_out(&state, id, lang, &mut HashMap::new()).await?))
}

/// The live view as server-sent events: `live` (the whole live view) when
/// queues or presences change, at most twice a second and at least every five
/// seconds (waits grow); `answers` when the incident's approved answers
/// changed; `closed` when the hotline is switched off.
async fn live_events(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use std::time::Duration;
    use tokio::sync::broadcast::error::RecvError;
    use tokio::time::Instant;
    let s = supervised(&state, &staff, id, Access::Read).await?;
    struct Follow {
        state: AppState,
        rx: tokio::sync::broadcast::Receiver<HotlineEvent>,
        incident: i64,
        names: HashMap<i64, String>,
        last_live: Option<Instant>,
        dirty: bool,
        queued: std::collections::VecDeque<&'static str>,
        done: bool,
    }
    let start = Follow {
        rx: state.hotlines.events(),
        state,
        incident: s.incident.id,
        names: HashMap::new(),
        last_live: None,
        dirty: true,
        queued: Default::default(),
        done: false,
    };
    const MIN_GAP: Duration = Duration::from_millis(500);
    const HEARTBEAT: Duration = Duration::from_secs(5);
    let stream = futures_util::stream::unfold(start, move |mut f| async move {
        loop {
            if let Some(kind) = f.queued.pop_front() {
                f.done = kind == "closed";
                let event = Event::default().event(kind).data(f.incident.to_string());
                return Some((Ok::<_, std::convert::Infallible>(event), f));
            }
            if f.done {
                return None;
            }
            if f.dirty {
                if let Some(last) = f.last_live {
                    tokio::time::sleep_until(last + MIN_GAP).await;
                }
                // What came in meanwhile is in the snapshot about to be taken.
                while let Ok(e) = f.rx.try_recv() {
                    f.note(&e, id);
                }
                f.dirty = false;
                f.last_live = Some(Instant::now());
                let live = live_out(&f.state, id, lang, &mut f.names).await.ok()?;
                let event = Event::default()
                    .event("live")
                    .data(serde_json::to_string(&live).unwrap_or_default());
                return Some((Ok(event), f));
            }
            match tokio::time::timeout(HEARTBEAT, f.rx.recv()).await {
                Err(_) | Ok(Err(RecvError::Lagged(_))) => f.dirty = true,
                Ok(Err(RecvError::Closed)) => return None,
                Ok(Ok(e)) => f.note(&e, id),
            }
        }
    });
    impl Follow {
        fn note(&mut self, e: &HotlineEvent, id: i64) {
            match e {
                HotlineEvent::Closed { hotline } if *hotline == id => {
                    self.dirty = true;
                    self.queued.push_back("closed");
                }
                HotlineEvent::AnswersChanged { incident }
                    if *incident == self.incident && !self.queued.contains(&"answers") =>
                {
                    self.queued.push_back("answers");
                }
                HotlineEvent::Changed { hotline }
                | HotlineEvent::Offer { hotline, .. }
                | HotlineEvent::Withdrawn { hotline, .. }
                | HotlineEvent::Connected { hotline, .. }
                | HotlineEvent::Released { hotline, .. }
                    if *hotline == id =>
                {
                    self.dirty = true
                }
                _ => {}
            }
        }
    }
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
