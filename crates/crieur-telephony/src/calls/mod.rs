//! The hotline's view of a phone call: a [`Switchboard`] hands each call to the
//! public number over as an [`InboundCall`] that the hotline engine drives
//! (answer, prompts, digits, hold music with announcements, a bridge to an
//! operator's phone, transfer, hang-up), and reports what happens as
//! [`CallEvent`]s. It never decides what to do with a call: that is the engine's.
//!
//! ```no_run
//! use crieur_telephony::calls::{BridgeOptions, DigitRequest, Operator, Switchboard};
//! # async fn engine(mut switchboard: Switchboard) -> Result<(), Box<dyn std::error::Error>> {
//! while let Some(mut call) = switchboard.next_call().await {
//!     tokio::spawn(async move {
//!         call.answer().await?;
//!         call.say("fr", "Tapez 1 pour l'information, 2 pour un proche.").await?;
//!         let choice = call.collect_digits(&DigitRequest::menu()).await?;
//!         // ...queue the caller (call.hold(...)) until an operator is free, then:
//!         call.bridge(&Operator::registered("1001"), &BridgeOptions::default()).await?;
//!         let report = call.bridge_ended().await?; // or transfer() meanwhile
//!         Ok::<_, crieur_telephony::calls::CallsError>(())
//!     });
//! }
//! # Ok(()) }
//! ```
//!
//! # Threading and cancellation
//!
//! - One task owns each [`InboundCall`] (its methods take `&mut self`); it is
//!   `Send`, so that task may be spawned anywhere. [`Switchboard::next_call`] is
//!   read by one task. Events go out on a broadcast channel: any number of
//!   subscribers, nothing ever waits for them, and a subscriber that falls more
//!   than `events_capacity` behind gets `Lagged` and loses the oldest events.
//!   Each call's events start with `Offered` and end with `Ended`, published
//!   once, after anything else about the call (a relay's `Unbridged`, a hold's
//!   `HoldStopped`), however the call ends.
//! - Every operation watches the caller. When the caller hangs up (or the call
//!   ends any other way) the pending operation returns
//!   [`CallsError::CallEnded`] within a few milliseconds, the call's media is
//!   closed, and every later operation returns the same error.
//!   [`InboundCall::ended`] waits for that moment on its own (cancel-safe), for
//!   an engine that is waiting on something else (a queue) meanwhile.
//! - Cancelling (dropping) an operation's future is safe, and leaves the call in
//!   a state the next operation understands: `play` stops the prompt;
//!   `collect_digits` loses the digits it had read, while those not read yet stay
//!   queued; `bridge` cancels the INVITE to the operator (the caller stays
//!   answered); `bridge_ended` and `ended` lose nothing; `unbridge`/`transfer`
//!   cancelled after the release was asked finish it at the next operation.
//! - Background tasks, and what ends them: per call one watcher that emits
//!   `Ended` (ends with the SIP dialog, or when the endpoint stops); per media
//!   session a send and a receive task (end when the session is dropped); per
//!   bridge one relay task (ends when either leg ends, on `unbridge`/`transfer`,
//!   or when the `InboundCall` is dropped). None of them can outlive its call.
//! - Dropping an [`InboundCall`] hangs the call up: an unanswered one is refused
//!   480, an answered one gets BYE, a bridged one has both legs hung up.
//!
//! # Bridging
//!
//! [`InboundCall::bridge`] calls the operator's phone with an SDP offer from a
//! second media session and, once answered, relays audio (re-framed to 20 ms,
//! transcoded between µ-law and A-law when the two phones differ) and RFC 4733
//! key presses both ways. When the caller hangs up, the operator's leg is hung
//! up. When the operator hangs up, the caller is hung up too
//! ([`AfterOperator::HangUp`], what the hotline wants), or kept for the engine
//! ([`AfterOperator::ReturnToEngine`], e.g. to re-queue after a dropped phone).
//! [`InboundCall::transfer`] is a blind transfer: the first operator's leg ends,
//! then the next operator is called. A warm (attended) transfer could be built
//! from the same parts: call the second operator on a third media session while
//! the first bridge stays up (the caller on hold music), relay the two operators
//! to each other, and only then move the caller's relay to the second operator.

mod bridge;
mod events;
mod hold;
mod inbound;

pub use bridge::{
    AfterOperator, BridgeEnd, BridgeOptions, BridgeReport, BridgeStats, Operator,
    OperatorUnavailable, RelayCounts,
};
pub use events::{CallEvent, CallEventKind, CollectEnd};
pub use hold::{Announcements, Hold, Sound};
pub use inbound::{CallState, DigitRequest, InboundCall};

use crate::media::MediaConfig;
use crate::sdp::{NegotiationError, SdpError};
use crate::sip::{CallError, EndReason, IncomingCalls, SipEndpoint};
use crate::tts::{Tts, TtsError};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// How the switchboard answers and bridges calls.
#[derive(Debug, Clone)]
pub struct SwitchboardConfig {
    /// Where calls' RTP sockets are bound (both legs of a bridge).
    pub media: MediaConfig,
    /// The address written in our SDP, when it differs from the bound one (a
    /// wildcard bind, or NAT); `None` writes the socket's address.
    pub sdp_address: Option<IpAddr>,
    /// Events kept for a slow subscriber before it starts losing them.
    pub events_capacity: usize,
}

impl Default for SwitchboardConfig {
    fn default() -> Self {
        Self {
            media: MediaConfig::default(),
            sdp_address: None,
            events_capacity: 1024,
        }
    }
}

/// An operation on a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallsError {
    /// The call is over (the caller hung up, or it was ended): nothing more can
    /// be done with it.
    #[error("the call has ended ({0:?})")]
    CallEnded(EndReason),
    /// The caller's SDP offer had no codec we take; the call was refused 488.
    #[error("the caller's media cannot be used (refused 488): {0}")]
    NotAcceptable(#[source] NegotiationError),
    /// The caller's SDP offer was missing or unreadable; the call was refused
    /// (400 for a broken offer, 488 for none).
    #[error("the caller's SDP offer is unusable (refused): {0}")]
    BadOffer(String),
    /// The operation does not fit what the call is doing (playing a prompt to
    /// a bridged call, bridging an unanswered one...).
    #[error("cannot {operation} a call that is {state}")]
    InvalidState {
        operation: &'static str,
        state: &'static str,
    },
    /// The operator's phone was not reached; the caller is still answered.
    #[error("operator {operator} not reached: {why}")]
    OperatorUnavailable {
        operator: Operator,
        why: OperatorUnavailable,
    },
    /// No RTP port could be bound (the call was refused 503 if not answered yet).
    #[error("no RTP port: {0}")]
    Media(#[source] std::io::Error),
    #[error("text-to-speech: {0}")]
    Tts(#[from] TtsError),
    #[error("SIP: {0}")]
    Sip(#[from] CallError),
}

impl From<SdpError> for CallsError {
    fn from(e: SdpError) -> Self {
        CallsError::BadOffer(e.to_string())
    }
}

/// Counts what may still publish events about one call (an operation under
/// way, a hold, a relay), so that `Ended` comes after them: the last event of
/// every call.
#[derive(Clone)]
pub(crate) struct Activity(Arc<watch::Sender<usize>>);

/// One thing under way; its end is counted when dropped.
pub(crate) struct Busy(Arc<watch::Sender<usize>>);

impl Activity {
    pub(crate) fn new() -> (Self, watch::Receiver<usize>) {
        let (tx, rx) = watch::channel(0);
        (Self(Arc::new(tx)), rx)
    }

    pub(crate) fn begin(&self) -> Busy {
        self.0.send_modify(|n| *n += 1);
        Busy(self.0.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// What every call of a switchboard shares.
pub(crate) struct Context {
    pub(crate) endpoint: SipEndpoint,
    pub(crate) media: MediaConfig,
    pub(crate) sdp_address: Option<IpAddr>,
    pub(crate) tts: Tts,
    pub(crate) events: broadcast::Sender<CallEvent>,
}

/// Publishes an event; nobody listening is fine.
pub(crate) fn send_event(
    events: &broadcast::Sender<CallEvent>,
    call_id: &str,
    kind: CallEventKind,
) {
    tracing::debug!(%call_id, ?kind, "call event");
    let _ = events.send(CallEvent {
        call_id: call_id.to_owned(),
        at: jiff::Timestamp::now(),
        kind,
    });
}

impl Context {
    pub(crate) fn emit(&self, call_id: &str, kind: CallEventKind) {
        send_event(&self.events, call_id, kind);
    }

    /// The address our SDP names for a socket bound at `bound`.
    pub(crate) fn sdp_ip(&self, bound: IpAddr) -> IpAddr {
        self.sdp_address.unwrap_or(bound)
    }
}

/// Takes the calls to the hotline's numbers from a SIP endpoint and hands them to
/// the hotline engine, publishing what happens to each.
pub struct Switchboard {
    ctx: Arc<Context>,
    incoming: IncomingCalls,
}

impl fmt::Debug for Switchboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Switchboard")
            .field("endpoint", &self.ctx.endpoint)
            .field("subscribers", &self.ctx.events.receiver_count())
            .finish()
    }
}

impl Switchboard {
    /// Takes over the endpoint's incoming calls. The endpoint keeps working for
    /// others (voice alerts place calls on it); the switchboard also uses it to
    /// call operators' phones.
    pub fn new(
        endpoint: SipEndpoint,
        incoming: IncomingCalls,
        tts: Tts,
        config: SwitchboardConfig,
    ) -> Self {
        let (events, _) = broadcast::channel(config.events_capacity.max(1));
        Self {
            ctx: Arc::new(Context {
                endpoint,
                media: config.media,
                sdp_address: config.sdp_address,
                tts,
                events,
            }),
            incoming,
        }
    }

    /// The next call, not answered yet (`Offered` is published); `None` once the
    /// endpoint has stopped. Cancel-safe.
    pub async fn next_call(&mut self) -> Option<InboundCall> {
        let incoming = self.incoming.next().await?;
        Some(InboundCall::offered(self.ctx.clone(), incoming))
    }

    /// Every call's events from now on.
    pub fn events(&self) -> broadcast::Receiver<CallEvent> {
        self.ctx.events.subscribe()
    }

    pub fn endpoint(&self) -> &SipEndpoint {
        &self.ctx.endpoint
    }

    /// The text-to-speech engine prompts are rendered with (cached per text).
    pub fn tts(&self) -> &Tts {
        &self.ctx.tts
    }
}
