//! The device simulator's phone: "call the hotline" from the browser. The call
//! goes over SIP on loopback to the hotline's own endpoint, so it meets the real
//! IVR, queues and operators; the page sends keys and plays what the phone hears.
//! Beside it, a simulated operator's headset: a SIP line that answers every call
//! put through to it, for an operator without a phone in the demo. Exists only
//! where the simulator does, and says it is a simulation.

use crate::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Json, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crieur_telephony::calls::{Switchboard, SwitchboardConfig};
use crieur_telephony::media::MediaConfig;
use crieur_telephony::sip::{SipConfig, SipEndpoint};
use crieur_telephony::softphone::Softphone;
use crieur_telephony::tts::{Tts, TtsConfig};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Simulated calls at once, so the demo cannot be turned into a call flood.
const MAX_CALLS: usize = 4;

/// The simulator's phone line: its own SIP endpoint, started on first use.
#[derive(Default)]
pub struct SimPhones {
    endpoint: OnceCell<SipEndpoint>,
    calls: Mutex<HashMap<u64, Arc<Placed>>>,
    next: AtomicU64,
}

impl std::fmt::Debug for SimPhones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimPhones").finish_non_exhaustive()
    }
}

struct Placed {
    phone: Softphone,
    hotline: i64,
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/simulator/hotline-calls", post(dial))
        .route(
            "/api/simulator/hotline-calls/{id}",
            get(status).delete(hang_up),
        )
        .route("/api/simulator/hotline-calls/{id}/keys", post(press))
        .route("/simulator/hotline-calls/{id}/audio", get(audio))
        .route("/api/simulator/headset", get(headset))
}

impl SimPhones {
    /// The simulator's SIP endpoint, started on first use. Calls put through to
    /// it (the headset) are answered and held until the other side hangs up.
    async fn endpoint(&self) -> Result<&SipEndpoint, String> {
        self.endpoint
            .get_or_try_init(|| async {
                let (endpoint, incoming) = SipEndpoint::start(SipConfig {
                    user_agent: "Crieur device simulator".into(),
                    ..SipConfig::default()
                })
                .await
                .map_err(|e| e.to_string())?;
                let tts = Tts::new(TtsConfig::default()).map_err(|e| e.to_string())?;
                let mut headset = Switchboard::new(
                    endpoint.clone(),
                    incoming,
                    tts,
                    SwitchboardConfig::default(),
                );
                tokio::spawn(async move {
                    while let Some(mut call) = headset.next_call().await {
                        tokio::spawn(async move {
                            if call.answer().await.is_ok() {
                                call.ended().await;
                            }
                        });
                    }
                });
                Ok(endpoint)
            })
            .await
    }

    /// The extension an operator gives at the desk to answer with the
    /// simulator's headset.
    pub(crate) async fn headset(&self) -> Option<String> {
        let endpoint = self.endpoint().await.ok()?;
        endpoint.udp_addr().map(|a| format!("sip:headset@{a}"))
    }
}

#[derive(Serialize)]
struct Headset {
    extension: String,
}

/// The simulated headset's extension, for the desk in the demo.
async fn headset(State(state): State<AppState>) -> Response {
    if state.simulator.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.sim_phones.headset().await {
        Some(extension) => Json(Headset { extension }).into_response(),
        None => problem(StatusCode::SERVICE_UNAVAILABLE, "no_telephony"),
    }
}

fn calls(state: &AppState) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Placed>>> {
    state
        .sim_phones
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn placed(state: &AppState, id: u64) -> Result<Arc<Placed>, StatusCode> {
    if state.simulator.is_none() {
        return Err(StatusCode::NOT_FOUND);
    }
    calls(state).get(&id).cloned().ok_or(StatusCode::NOT_FOUND)
}

#[derive(Serialize)]
struct Dialled {
    id: u64,
    call_id: String,
    number: String,
}

#[derive(Serialize)]
struct Problem {
    error: &'static str,
}

fn problem(status: StatusCode, error: &'static str) -> Response {
    (status, Json(Problem { error })).into_response()
}

async fn dial(State(state): State<AppState>) -> Response {
    if state.simulator.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(target) = state.hotlines.sip_address() else {
        return problem(StatusCode::CONFLICT, "no_telephony");
    };
    let hotline = match state.store.hotline().active_hotlines().await {
        Ok(h) => h.into_iter().next(),
        Err(e) => {
            tracing::error!(error = %e, "simulator: hotlines unreadable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let Some(hotline) = hotline else {
        return problem(StatusCode::CONFLICT, "no_hotline");
    };
    {
        let mut calls = calls(&state);
        calls.retain(|_, p| p.phone.end_reason().is_none());
        if calls.len() >= MAX_CALLS {
            return problem(StatusCode::TOO_MANY_REQUESTS, "too_many_calls");
        }
    }
    let endpoint = match state.sim_phones.endpoint().await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "simulator: no SIP endpoint");
            return problem(StatusCode::SERVICE_UNAVAILABLE, "no_telephony");
        }
    };
    let id = state.sim_phones.next.fetch_add(1, Ordering::Relaxed) + 1;
    let from = format!("+3247099{:04}", id % 10_000);
    let to = format!("sip:{}@{target}", hotline.number);
    match Softphone::dial(
        endpoint,
        &to,
        &from,
        &MediaConfig::default(),
        Duration::from_secs(20),
    )
    .await
    {
        Ok(phone) => {
            let call_id = phone.call_id().to_owned();
            tracing::info!(%call_id, number = %hotline.number, "simulator: calling the hotline");
            calls(&state).insert(
                id,
                Arc::new(Placed {
                    phone,
                    hotline: hotline.id,
                }),
            );
            Json(Dialled {
                id,
                call_id,
                number: hotline.number,
            })
            .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "simulator: the hotline did not answer");
            problem(StatusCode::BAD_GATEWAY, "not_answered")
        }
    }
}

#[derive(Serialize)]
struct Status {
    /// ivr, queued, connected or ended.
    state: &'static str,
    line: Option<String>,
    language: Option<String>,
    position: Option<usize>,
    estimated_wait_s: Option<u64>,
}

async fn status(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<Status>, StatusCode> {
    let placed = placed(&state, id)?;
    if placed.phone.end_reason().is_some() {
        return Ok(Json(Status {
            state: "ended",
            line: None,
            language: None,
            position: None,
            estimated_wait_s: None,
        }));
    }
    let stand = state
        .hotlines
        .call_state(placed.hotline, placed.phone.call_id());
    Ok(Json(match stand {
        None => Status {
            state: "ivr",
            line: None,
            language: None,
            position: None,
            estimated_wait_s: None,
        },
        Some((queue, place, operator)) => Status {
            state: if operator.is_some() {
                "connected"
            } else {
                "queued"
            },
            line: Some(queue.line.as_str().to_owned()),
            language: Some(queue.language.code().to_owned()),
            position: place.map(|p| p.position),
            estimated_wait_s: place.and_then(|p| p.estimated_wait_s),
        },
    }))
}

#[derive(Deserialize)]
struct Key {
    key: char,
}

async fn press(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Json(key): Json<Key>,
) -> StatusCode {
    match placed(&state, id) {
        Ok(p) => match p.phone.press(key.key) {
            Ok(()) => StatusCode::NO_CONTENT,
            Err(_) => StatusCode::BAD_REQUEST,
        },
        Err(s) => s,
    }
}

async fn hang_up(State(state): State<AppState>, Path(id): Path<u64>) -> StatusCode {
    match placed(&state, id) {
        Ok(p) => {
            let _ = p.phone.hang_up().await;
            calls(&state).remove(&id);
            StatusCode::NO_CONTENT
        }
        Err(s) => s,
    }
}

/// What the phone hears, as a WAV stream (8 kHz, 16-bit, mono) the page plays.
async fn audio(State(state): State<AppState>, Path(id): Path<u64>) -> Result<Response, StatusCode> {
    let placed = placed(&state, id)?;
    let mut heard = placed.phone.listen(256);
    let header = wav_header();
    // The stream ends with the call, so that no response stays open after it.
    let stream = async_stream(header, move |tx| async move {
        loop {
            let pcm = tokio::select! {
                pcm = heard.recv() => pcm,
                _ = placed.phone.ended() => None,
            };
            let Some(pcm) = pcm else { return };
            let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
            if tx.send(Ok(bytes)).await.is_err() {
                return;
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A WAV header for a stream of unknown length (sizes at their maximum).
fn wav_header() -> Vec<u8> {
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&8000u32.to_le_bytes());
    h.extend_from_slice(&16000u32.to_le_bytes()); // bytes per second
    h.extend_from_slice(&2u16.to_le_bytes()); // block align
    h.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(u32::MAX - 36).to_le_bytes());
    h
}

/// A byte stream: `first`, then what `fill` sends.
fn async_stream<F, Fut>(
    first: Vec<u8>,
    fill: F,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let _ = tx.try_send(Ok(first));
    tokio::spawn(fill(tx));
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wav_header_says_8_khz_16_bit_mono() {
        let h = super::wav_header();
        assert_eq!(h.len(), 44);
        assert_eq!(&h[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(h[24..28].try_into().unwrap()), 8000);
        assert_eq!(u16::from_le_bytes(h[34..36].try_into().unwrap()), 16);
    }
}
