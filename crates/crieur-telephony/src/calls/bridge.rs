//! A caller bridged to an operator's phone: the call to the operator, and the
//! relay task that carries audio and key presses between the two media sessions
//! until one side hangs up or the engine releases the operator.

use super::{Busy, CallEventKind, Context, Sound};
use crate::g711::Codec;
use crate::media::{MediaSession, MediaStats, ReceivedFrame};
use crate::rtp::{FRAME_BYTES, Frame};
use crate::sip::{Call, EndReason};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info};

/// Received frames waiting to be relayed, per direction (beyond, they are dropped
/// and counted by the media session).
const RELAY_QUEUE: usize = 32;
/// Relayed audio held back beyond this is cut to [`KEEP_AFTER_TRIM`]: the two
/// phones' clocks drift, and latency must not grow with the call.
const MAX_BACKLOG: usize = 8 * FRAME_BYTES;
const KEEP_AFTER_TRIM: usize = 2 * FRAME_BYTES;
/// How long the relay waits for a BYE's answer before letting it finish in the
/// background (a vanished phone would hold a transfer up for 32 s otherwise).
const HANGUP_WAIT: Duration = Duration::from_secs(2);

/// Whom to bridge the caller to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// A phone registered with Crieur's registrar under this user name.
    Registered(String),
    /// Any SIP URI (`sip:1002@192.0.2.7:5060`, or `user@host`; `;transport=tcp`).
    Uri(String),
}

impl Operator {
    pub fn registered(user: impl Into<String>) -> Self {
        Operator::Registered(user.into())
    }

    pub fn uri(uri: impl Into<String>) -> Self {
        Operator::Uri(uri.into())
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operator::Registered(user) => f.write_str(user),
            Operator::Uri(uri) => f.write_str(uri),
        }
    }
}

/// Why the operator's phone could not be bridged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OperatorUnavailable {
    #[error("no live registration")]
    NotRegistered,
    #[error("busy")]
    Busy,
    #[error("no answer")]
    NoAnswer,
    #[error("refused with {code} {reason}")]
    Rejected { code: u16, reason: String },
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// Answered, but with media we cannot use (the call was hung up).
    #[error("unusable media: {0}")]
    Media(String),
    /// The call could not even be placed (bad URI, too many calls...).
    #[error("{0}")]
    Failed(String),
}

/// What happens to the caller when the operator hangs up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AfterOperator {
    /// The caller is hung up as well: the conversation is over.
    #[default]
    HangUp,
    /// The caller stays answered and the engine decides (re-queue after an
    /// operator's phone dropped, a satisfaction question...).
    ReturnToEngine,
}

/// How to call the operator.
#[derive(Clone, Debug)]
pub struct BridgeOptions {
    /// Give up (CANCEL) after this long ringing.
    pub ring_timeout: Duration,
    /// Display name shown on the operator's phone (the line, the language...).
    pub display: Option<String>,
    /// Show the caller's number to the operator (From user); otherwise "crieur".
    pub present_caller: bool,
    /// Played to the caller, looped, while the operator's phone rings. `None`
    /// leaves whatever is playing (hold music) until the operator answers.
    pub ringback: Option<Sound>,
    pub after_operator: AfterOperator,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        Self {
            ring_timeout: Duration::from_secs(20),
            display: None,
            present_caller: true,
            ringback: None,
            after_operator: AfterOperator::HangUp,
        }
    }
}

/// How a bridge ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BridgeEnd {
    /// The caller hung up; the operator's leg was hung up.
    CallerHungUp,
    /// The operator's leg ended (`reason`: a hang-up, or a failure); the caller
    /// was hung up too unless [`AfterOperator::ReturnToEngine`].
    OperatorHungUp { reason: EndReason },
    /// The engine released the operator (`unbridge`, `transfer`, or `hangup`
    /// of the whole call): the operator's leg was hung up first.
    Released,
    /// The `InboundCall` was dropped: both legs were hung up.
    Dropped,
}

/// Audio relayed in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayCounts {
    /// 20 ms frames of received audio sent on.
    pub frames: u64,
    /// Frames of silence sent because nothing had arrived in time.
    pub filled: u64,
    /// Bytes of received audio dropped to keep latency low.
    pub trimmed_bytes: u64,
    /// Key presses sent on as RFC 4733 events.
    pub digits: u64,
}

/// Both legs of a bridge so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BridgeStats {
    /// The caller's media session (towards the caller's phone).
    pub caller: MediaStats,
    /// The operator's media session.
    pub operator: MediaStats,
    pub to_operator: RelayCounts,
    pub to_caller: RelayCounts,
}

/// One finished bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeReport {
    pub operator: Operator,
    pub end: BridgeEnd,
    /// From the operator's answer to the end of the bridge.
    pub duration: Duration,
    pub stats: BridgeStats,
    /// How the operator's leg ended, if it had by the time the bridge ended.
    pub operator_leg: Option<EndReason>,
}

pub(super) enum Control {
    Stats(oneshot::Sender<BridgeStats>),
    Release,
}

/// What the relay gives back: the caller's media, and the report.
pub(super) struct RelayOutcome {
    pub(super) caller_media: MediaSession,
    pub(super) report: BridgeReport,
}

/// The engine's side of a running bridge.
pub(super) struct Running {
    pub(super) operator: Operator,
    pub(super) call: Arc<Call>,
    /// The caller's codec.
    pub(super) codec: Codec,
    pub(super) control: mpsc::Sender<Control>,
    pub(super) outcome: oneshot::Receiver<RelayOutcome>,
}

#[derive(Debug, Default)]
struct Counters {
    frames: AtomicU64,
    filled: AtomicU64,
    trimmed_bytes: AtomicU64,
    digits: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> RelayCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RelayCounts {
            frames: get(&self.frames),
            filled: get(&self.filled),
            trimmed_bytes: get(&self.trimmed_bytes),
            digits: get(&self.digits),
        }
    }
}

/// One leg of the bridge.
pub(super) struct Leg {
    pub(super) call: Arc<Call>,
    pub(super) media: MediaSession,
    pub(super) codec: Codec,
}

/// The relay task: audio and keys both ways until the bridge ends.
pub(super) struct Relay {
    pub(super) ctx: Arc<Context>,
    pub(super) call_id: String,
    pub(super) operator: Operator,
    pub(super) caller: Leg,
    pub(super) agent: Leg,
    pub(super) after: AfterOperator,
    /// Keeps the call's `Ended` behind `Unbridged`.
    pub(super) busy: Busy,
}

impl Relay {
    pub(super) async fn run(
        self,
        mut control: mpsc::Receiver<Control>,
        done: oneshot::Sender<RelayOutcome>,
    ) {
        let Relay {
            ctx,
            call_id,
            operator,
            mut caller,
            mut agent,
            after,
            busy,
        } = self;
        let started = Instant::now();
        let to_agent = Arc::new(Counters::default());
        let to_caller = Arc::new(Counters::default());
        let into_agent = agent.media.play(RelayFrames::new(
            caller.media.audio_frames(RELAY_QUEUE),
            caller.codec,
            agent.codec,
            to_agent.clone(),
        ));
        let into_caller = caller.media.play(RelayFrames::new(
            agent.media.audio_frames(RELAY_QUEUE),
            agent.codec,
            caller.codec,
            to_caller.clone(),
        ));
        let stats = |caller: &MediaSession, agent: &MediaSession| BridgeStats {
            caller: caller.stats(),
            operator: agent.stats(),
            to_operator: to_agent.snapshot(),
            to_caller: to_caller.snapshot(),
        };
        let end = {
            let caller_call = caller.call.clone();
            let agent_call = agent.call.clone();
            let caller_gone = caller_call.ended();
            let agent_gone = agent_call.ended();
            tokio::pin!(caller_gone, agent_gone);
            loop {
                tokio::select! {
                    _ = &mut caller_gone => break BridgeEnd::CallerHungUp,
                    reason = &mut agent_gone => break BridgeEnd::OperatorHungUp { reason },
                    Some(digit) = caller.media.next_digit() => {
                        debug!(%call_id, %digit, "key relayed to the operator");
                        agent.media.send_digit(digit);
                        to_agent.digits.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(digit) = agent.media.next_digit() => {
                        debug!(%call_id, %digit, "key relayed to the caller");
                        caller.media.send_digit(digit);
                        to_caller.digits.fetch_add(1, Ordering::Relaxed);
                    }
                    command = control.recv() => match command {
                        Some(Control::Stats(reply)) => {
                            let _ = reply.send(stats(&caller.media, &agent.media));
                        }
                        Some(Control::Release) => break BridgeEnd::Released,
                        None => break BridgeEnd::Dropped,
                    },
                }
            }
        };
        into_agent.stop();
        into_caller.stop();
        // Waits for the BYE's answer and the dialog's end (so that the report
        // says how the leg ended), but not for a phone that has vanished.
        let hang_up = |call: Arc<Call>| async move {
            let bye = async {
                let _ = call.hangup().await;
                call.ended().await
            };
            if tokio::time::timeout(HANGUP_WAIT, bye).await.is_err() {
                debug!(call_id = %call.call_id(), "BYE not answered yet, finishing in the background");
            }
        };
        match &end {
            BridgeEnd::OperatorHungUp { .. } if after == AfterOperator::HangUp => {
                hang_up(caller.call.clone()).await;
            }
            BridgeEnd::OperatorHungUp { .. } => {}
            BridgeEnd::CallerHungUp | BridgeEnd::Released | BridgeEnd::Dropped => {
                hang_up(agent.call.clone()).await;
            }
        }
        let report = BridgeReport {
            operator: operator.clone(),
            end: end.clone(),
            duration: started.elapsed(),
            stats: stats(&caller.media, &agent.media),
            operator_leg: agent.call.end_reason(),
        };
        info!(%call_id, %operator, end = ?end, duration = ?report.duration, "bridge ended");
        ctx.emit(&call_id, CallEventKind::Unbridged { operator, end });
        drop(busy);
        let _ = done.send(RelayOutcome {
            caller_media: caller.media,
            report,
        });
    }
}

/// Audio received on one leg, played on the other: whatever arrived since the
/// last 20 ms tick, transcoded and cut into 20 ms frames; silence when nothing
/// came in time; the oldest audio dropped when too much waits.
struct RelayFrames {
    rx: mpsc::Receiver<ReceivedFrame>,
    from: Codec,
    to: Codec,
    pending: VecDeque<u8>,
    counters: Arc<Counters>,
}

impl RelayFrames {
    fn new(
        rx: mpsc::Receiver<ReceivedFrame>,
        from: Codec,
        to: Codec,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            rx,
            from,
            to,
            pending: VecDeque::with_capacity(MAX_BACKLOG + FRAME_BYTES),
            counters,
        }
    }
}

impl Iterator for RelayFrames {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        loop {
            match self.rx.try_recv() {
                Ok(frame) => {
                    let (from, to) = (self.from, self.to);
                    self.pending.extend(
                        frame
                            .payload
                            .iter()
                            .map(|&code| to.transcode_from(from, code)),
                    );
                }
                Err(TryRecvError::Empty) => break,
                // The other leg's session is gone: the relay is ending.
                Err(TryRecvError::Disconnected) => return None,
            }
        }
        if self.pending.len() > MAX_BACKLOG {
            let cut = self.pending.len() - KEEP_AFTER_TRIM;
            self.pending.drain(..cut);
            self.counters
                .trimmed_bytes
                .fetch_add(cut as u64, Ordering::Relaxed);
        }
        let mut frame = [self.to.silence(); FRAME_BYTES];
        if self.pending.len() >= FRAME_BYTES {
            for (slot, code) in frame.iter_mut().zip(self.pending.drain(..FRAME_BYTES)) {
                *slot = code;
            }
            self.counters.frames.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.filled.fetch_add(1, Ordering::Relaxed);
        }
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(payload: Vec<u8>) -> ReceivedFrame {
        ReceivedFrame {
            ssrc: 1,
            sequence: 0,
            timestamp: 0,
            marker: false,
            payload,
        }
    }

    #[test]
    fn relayed_audio_is_reframed_transcoded_and_kept_short() {
        let (tx, rx) = mpsc::channel(64);
        let counters = Arc::new(Counters::default());
        let mut frames = RelayFrames::new(rx, Codec::Pcmu, Codec::Pcma, counters.clone());
        // Nothing yet: silence in the target law.
        assert_eq!(frames.next(), Some([Codec::Pcma.silence(); FRAME_BYTES]));
        // 30 ms packets come out as 20 ms frames.
        let code = Codec::Pcmu.encode(1000);
        tx.try_send(received(vec![code; 240])).unwrap();
        let first = frames.next().unwrap();
        assert!(
            first
                .iter()
                .all(|c| *c == Codec::Pcma.transcode_from(Codec::Pcmu, code))
        );
        // 80 bytes left: not a whole frame, so silence until more comes.
        assert_eq!(frames.next(), Some([Codec::Pcma.silence(); FRAME_BYTES]));
        tx.try_send(received(vec![code; 80])).unwrap();
        assert!(frames.next().unwrap()[0] != Codec::Pcma.silence());
        // A burst of a second is cut down to two frames.
        for _ in 0..50 {
            tx.try_send(received(vec![code; 160])).unwrap();
        }
        assert!(frames.next().is_some());
        assert!(frames.next().is_some());
        assert_eq!(frames.next(), Some([Codec::Pcma.silence(); FRAME_BYTES]));
        let counts = counters.snapshot();
        assert_eq!(counts.frames, 4);
        assert_eq!(counts.filled, 3);
        assert_eq!(counts.trimmed_bytes, 50 * 160 - 2 * 160);
        drop(tx);
        assert_eq!(frames.next(), None);
    }
}
