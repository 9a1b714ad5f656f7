//! One call to the hotline, as the engine drives it: answered or refused, then
//! prompts, digits, hold, and bridges to operators until someone hangs up.

mod bridging;

use super::bridge::{Control, Running};
use super::hold::HoldState;
use super::{
    Activity, BridgeReport, CallEventKind, CallsError, CollectEnd, Context, Hold, Operator, Sound,
    send_event,
};
use crate::calls::Announcements;
use crate::dtmf::Digit;
use crate::g711::Codec;
use crate::media::{MediaSession, MediaSocket, MediaStats, Playback};
use crate::sdp::{LocalMedia, NegotiationError, SessionDescription};
use crate::sip::{Call, CallError, EndReason, IncomingCall, Party, Session};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{debug, info};

/// How many keys to read, and how long to wait for them (an IVR question).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitRequest {
    /// Stop after this many keys (0: no limit, stop on the terminator or a timeout).
    pub max: usize,
    /// How long to wait for the first key (after the prompt, when there is one).
    pub first_timeout: Duration,
    /// How long to wait for each further key.
    pub inter_digit_timeout: Duration,
    /// A key that ends the input early and is not part of it, usually '#'.
    pub terminator: Option<char>,
}

impl DigitRequest {
    pub fn new(
        max: usize,
        first_timeout: Duration,
        inter_digit_timeout: Duration,
        terminator: Option<char>,
    ) -> Self {
        Self {
            max,
            first_timeout,
            inter_digit_timeout,
            terminator,
        }
    }

    /// One key within 5 seconds: a menu choice.
    pub fn menu() -> Self {
        Self::new(1, Duration::from_secs(5), Duration::from_secs(3), None)
    }
}

/// What a call is doing, as far as the engine is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallState {
    /// Ringing: not answered or refused yet.
    Offered,
    Answered,
    Bridged {
        operator: Operator,
    },
    Ended,
}

/// The caller's answered leg.
struct Line {
    call: Arc<Call>,
    media: MediaSession,
    codec: Codec,
}

enum Stage {
    Offered(IncomingCall),
    Up(Line),
    Bridged(Running),
    Over,
}

impl Stage {
    fn name(&self) -> &'static str {
        match self {
            Stage::Offered(_) => "not answered",
            Stage::Up(_) => "answered",
            Stage::Bridged(_) => "bridged to an operator",
            Stage::Over => "over",
        }
    }
}

/// Stops a playback when the operation that started it ends or is cancelled.
struct StopOnDrop(Playback);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A call to one of the hotline's numbers. See the [module](super) for what may
/// be done with it, and how cancellation and hang-ups are handled.
pub struct InboundCall {
    ctx: Arc<Context>,
    call_id: String,
    caller: Party,
    dialed: String,
    offered_at: jiff::Timestamp,
    session: Arc<Session>,
    stage: Stage,
    hold: Option<Arc<HoldState>>,
    /// A bridge that ended without the engine asking how yet.
    unclaimed: Option<BridgeReport>,
    activity: Activity,
}

impl fmt::Debug for InboundCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundCall")
            .field("call_id", &self.call_id)
            .field("caller", &self.caller)
            .field("dialed", &self.dialed)
            .field("state", &self.state())
            .finish()
    }
}

impl InboundCall {
    pub(super) fn offered(ctx: Arc<Context>, incoming: IncomingCall) -> Self {
        let call_id = incoming.call_id().to_owned();
        let caller = incoming.caller().clone();
        let dialed = incoming.callee().to_owned();
        let session = incoming.session.clone();
        ctx.emit(
            &call_id,
            CallEventKind::Offered {
                caller: caller.clone(),
                dialed: dialed.clone(),
            },
        );
        // Publishes the end however it comes, even while the engine is busy
        // elsewhere, once what is under way has said its last word (a relay
        // hangs up the operator's leg in at most a few seconds). It holds
        // neither the call nor the endpoint.
        let (activity, mut quiet) = Activity::new();
        let events = ctx.events.clone();
        let watched = session.clone();
        let id = call_id.clone();
        tokio::spawn(async move {
            let reason = watched.ended().await;
            let settled = quiet.wait_for(|busy| *busy == 0);
            let _ = tokio::time::timeout(Duration::from_secs(10), settled).await;
            send_event(&events, &id, CallEventKind::Ended { reason });
        });
        Self {
            ctx,
            call_id,
            caller,
            dialed,
            offered_at: jiff::Timestamp::now(),
            session,
            stage: Stage::Offered(incoming),
            hold: None,
            unclaimed: None,
            activity,
        }
    }

    /// The caller's SIP Call-ID, also in every [`CallEvent`](super::CallEvent).
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Who calls, as the From header says (usually their number).
    pub fn caller(&self) -> &Party {
        &self.caller
    }

    /// The number dialed (the Request-URI's user): which hotline line.
    pub fn dialed(&self) -> &str {
        &self.dialed
    }

    pub fn offered_at(&self) -> jiff::Timestamp {
        self.offered_at
    }

    pub fn state(&self) -> CallState {
        if self.session.end_reason().is_some() {
            return CallState::Ended;
        }
        match &self.stage {
            Stage::Offered(_) => CallState::Offered,
            Stage::Up(_) => CallState::Answered,
            Stage::Bridged(running) => CallState::Bridged {
                operator: running.operator.clone(),
            },
            Stage::Over => CallState::Ended,
        }
    }

    /// Why the call ended, once it has.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.session.end_reason()
    }

    /// Waits until the call ends, whoever ends it. Cancel-safe: made for
    /// `select!` beside whatever the engine waits for (an operator, a timer).
    pub async fn ended(&self) -> EndReason {
        self.session.ended().await
    }

    /// Sends 180 Ringing (before a slow answer).
    pub fn ringing(&self) -> Result<(), CallsError> {
        match &self.stage {
            Stage::Offered(incoming) => Ok(incoming.ringing()?),
            other => Err(self.invalid("ring", other)),
        }
    }

    /// Answers: negotiates the media with the caller's offer and starts it. An
    /// offer with no codec in common is refused 488 ([`CallsError::NotAcceptable`]),
    /// an unreadable or missing one 400 or 488 ([`CallsError::BadOffer`]).
    pub async fn answer(&mut self) -> Result<(), CallsError> {
        let _busy = self.activity.begin();
        let offer = match &self.stage {
            Stage::Offered(incoming) => incoming.sdp_offer().to_owned(),
            other => return Err(self.invalid("answer", other)),
        };
        if let Some(reason) = self.session.end_reason() {
            self.close();
            return Err(CallsError::CallEnded(reason));
        }
        if offer.trim().is_empty() {
            let why = "no SDP offer in the INVITE (late offers are not taken)".to_owned();
            return self.refuse(NegotiationError::SIP_STATUS, CallsError::BadOffer(why));
        }
        let offer = match SessionDescription::parse(&offer) {
            Ok(offer) => offer,
            Err(e) => return self.refuse(400, e.into()),
        };
        let socket = match MediaSocket::bind(&self.ctx.media).await {
            Ok(socket) => socket,
            Err(e) => return self.refuse(503, CallsError::Media(e)),
        };
        let addr = socket.local_addr();
        let local = LocalMedia::new(self.ctx.sdp_ip(addr.ip()), addr.port());
        let (answer, negotiated) = match local.answer(&offer) {
            Ok(agreed) => agreed,
            Err(e) => {
                info!(call_id = %self.call_id, error = %e, "caller's media refused");
                return self.refuse(NegotiationError::SIP_STATUS, CallsError::NotAcceptable(e));
            }
        };
        let Stage::Offered(incoming) = std::mem::replace(&mut self.stage, Stage::Over) else {
            return Err(CallsError::InvalidState {
                operation: "answer",
                state: "over",
            });
        };
        let call = incoming
            .answer(answer.to_string())
            .map_err(|e| self.ended_or(e))?;
        self.stage = Stage::Up(Line {
            call: Arc::new(call),
            media: socket.start(negotiated),
            codec: negotiated.codec,
        });
        self.ctx.emit(&self.call_id, CallEventKind::Answered);
        Ok(())
    }

    /// Refuses the call with a final status from 300 to 699 (486 busy, 480
    /// temporarily unavailable, 503 overloaded...).
    pub fn reject(&mut self, code: u16) -> Result<(), CallsError> {
        let _busy = self.activity.begin();
        if !(300..700).contains(&code) {
            return Err(CallError::InvalidCode(code).into());
        }
        match std::mem::replace(&mut self.stage, Stage::Over) {
            Stage::Offered(incoming) => {
                incoming.reject(code).map_err(|e| self.ended_or(e))?;
                self.ctx
                    .emit(&self.call_id, CallEventKind::Rejected { code });
                Ok(())
            }
            other => {
                let error = self.invalid("reject", &other);
                self.stage = other;
                Err(error)
            }
        }
    }

    /// Plays a sound to the end (it ends the hold, if any).
    pub async fn play(&mut self, sound: impl Into<Sound>) -> Result<(), CallsError> {
        let sound = sound.into();
        self.stop_hold();
        let session = self.session.clone();
        let line = self.live("play to")?;
        let mut playing = StopOnDrop(line.media.play_clip(&sound.clip(line.codec)));
        let ended = tokio::select! {
            _ = playing.0.finished() => None,
            reason = session.ended() => Some(reason),
        };
        drop(playing);
        match ended {
            Some(reason) => Err(self.ended_with(reason)),
            None => Ok(()),
        }
    }

    /// Says `text` in `language` (rendered by the switchboard's text-to-speech,
    /// cached), to the end.
    pub async fn say(&mut self, language: &str, text: &str) -> Result<(), CallsError> {
        self.live("speak to")?;
        let prompt = tokio::select! {
            prompt = self.ctx.tts.render(language, text) => prompt?,
            reason = self.session.ended() => return Err(self.ended_with(reason)),
        };
        self.play(prompt).await
    }

    /// Reads keys as `request` says: the IVR's question, answered. Keys pressed
    /// earlier and not read yet count (callers who know the menu type ahead);
    /// [`InboundCall::clear_digits`] forgets them. Returns the keys without the
    /// terminator, empty if none came in time. A hold keeps playing meanwhile.
    pub async fn collect_digits(&mut self, request: &DigitRequest) -> Result<String, CallsError> {
        self.collect(None, request).await
    }

    /// Plays `prompt` and reads keys as `request` says; the first key stops the
    /// prompt (barge-in), and the first-key timeout starts when the prompt ends.
    pub async fn prompt_digits(
        &mut self,
        prompt: impl Into<Sound>,
        request: &DigitRequest,
    ) -> Result<String, CallsError> {
        let prompt = prompt.into();
        self.stop_hold();
        self.collect(Some(prompt), request).await
    }

    /// Forgets keys pressed and not read yet; how many.
    pub fn clear_digits(&mut self) -> usize {
        match &mut self.stage {
            Stage::Up(line) => line.media.clear_digits(),
            _ => 0,
        }
    }

    /// Puts the caller on hold: `music` on a loop (silence if empty), with
    /// `announcements` between. Keys can still be collected meanwhile. The hold
    /// lasts until the handle is stopped or dropped, another sound is played,
    /// the call is bridged, or the call ends.
    pub fn hold(
        &mut self,
        music: impl Into<Sound>,
        announcements: Option<Announcements>,
    ) -> Result<Hold, CallsError> {
        let music = music.into();
        self.stop_hold();
        let busy = self.activity.begin();
        let ctx = self.ctx.clone();
        let session = self.session.clone();
        let call_id = self.call_id.clone();
        let line = self.live("hold")?;
        let media = &line.media;
        let hold = Hold::start(
            ctx,
            call_id,
            session,
            busy,
            line.codec,
            |frames| media.play(frames),
            &music,
            announcements,
        );
        self.hold = Some(hold.state());
        Ok(hold)
    }

    /// Ends the call: refuses it (480) if not answered yet, otherwise sends BYE
    /// (after hanging up the operator's leg, if bridged). Nothing happens to a
    /// call that is already over.
    pub async fn hangup(&mut self) -> Result<(), CallsError> {
        let _busy = self.activity.begin();
        self.stop_hold();
        self.settle();
        match std::mem::replace(&mut self.stage, Stage::Over) {
            Stage::Offered(incoming) => {
                if incoming.end_reason().is_none() {
                    incoming.reject(480).map_err(|e| self.ended_or(e))?;
                    self.ctx
                        .emit(&self.call_id, CallEventKind::Rejected { code: 480 });
                }
            }
            Stage::Up(line) => {
                drop(line.media);
                line.call.hangup().await?;
            }
            Stage::Bridged(mut running) => {
                let _ = running.control.send(Control::Release).await;
                if let Ok(outcome) = (&mut running.outcome).await {
                    self.unclaimed = Some(outcome.report);
                }
                running.call.hangup().await?;
            }
            Stage::Over => {}
        }
        // The dialog ends as soon as the BYE is answered: wait for it, so that
        // what follows sees the call's end reason.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.session.ended()).await;
        Ok(())
    }

    /// The caller's media counters, while answered and not bridged (see
    /// [`InboundCall::bridge_stats`] for a bridged call).
    pub fn media_stats(&self) -> Option<MediaStats> {
        match &self.stage {
            Stage::Up(line) => Some(line.media.stats()),
            _ => None,
        }
    }

    async fn collect(
        &mut self,
        prompt: Option<Sound>,
        request: &DigitRequest,
    ) -> Result<String, CallsError> {
        let _busy = self.activity.begin();
        let session = self.session.clone();
        let line = self.live("collect digits from")?;
        let mut playing =
            prompt.map(|sound| StopOnDrop(line.media.play_clip(&sound.clip(line.codec))));
        let terminator = request.terminator.and_then(Digit::from_char);
        let mut digits = String::new();
        let mut deadline = playing
            .is_none()
            .then(|| Instant::now() + request.first_timeout);
        let outcome = loop {
            let prompt_done = async {
                match playing.as_mut() {
                    Some(playing) => {
                        playing.0.finished().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                digit = line.media.next_digit() => {
                    let Some(digit) = digit else {
                        break Ok(CollectEnd::Timeout);
                    };
                    playing = None;
                    if Some(digit) == terminator {
                        break Ok(CollectEnd::Terminator);
                    }
                    digits.push(digit.as_char());
                    if request.max > 0 && digits.chars().count() >= request.max {
                        break Ok(CollectEnd::Max);
                    }
                    deadline = Some(Instant::now() + request.inter_digit_timeout);
                }
                () = prompt_done => {
                    playing = None;
                    deadline = Some(Instant::now() + request.first_timeout);
                }
                () = sleep_until(deadline), if deadline.is_some() => break Ok(CollectEnd::Timeout),
                reason = session.ended() => break Err(reason),
            }
        };
        drop(playing);
        match outcome {
            Ok(ended_by) => {
                debug!(call_id = %self.call_id, %digits, ?ended_by, "digits collected");
                self.ctx.emit(
                    &self.call_id,
                    CallEventKind::DigitsCollected {
                        digits: digits.clone(),
                        ended_by,
                    },
                );
                Ok(digits)
            }
            Err(reason) => Err(self.ended_with(reason)),
        }
    }

    /// The answered, unbridged caller leg, or why the operation cannot run.
    fn live(&mut self, operation: &'static str) -> Result<&mut Line, CallsError> {
        self.settle();
        if let Some(reason) = self.session.end_reason() {
            return Err(self.ended_with(reason));
        }
        match &mut self.stage {
            Stage::Up(line) => Ok(line),
            // Ended by us an instant ago (the dialog is finishing).
            Stage::Over => Err(CallsError::CallEnded(EndReason::LocalHangup)),
            other => Err(CallsError::InvalidState {
                operation,
                state: other.name(),
            }),
        }
    }

    fn stop_hold(&mut self) {
        if let Some(hold) = self.hold.take() {
            hold.stop();
        }
    }

    /// Drops what is left of an ended call (its media first).
    fn close(&mut self) {
        self.stop_hold();
        self.stage = Stage::Over;
    }

    fn ended_with(&mut self, reason: EndReason) -> CallsError {
        self.close();
        CallsError::CallEnded(reason)
    }

    /// A SIP refusal because the caller has just gone, or a real error.
    fn ended_or(&self, error: CallError) -> CallsError {
        match (error, self.session.end_reason()) {
            (_, Some(reason)) => CallsError::CallEnded(reason),
            (CallError::InvalidState, None) => CallsError::CallEnded(EndReason::Cancelled),
            (error, None) => error.into(),
        }
    }

    fn invalid(&self, operation: &'static str, stage: &Stage) -> CallsError {
        match (self.session.end_reason(), stage) {
            (Some(reason), _) => CallsError::CallEnded(reason),
            (None, Stage::Over) => CallsError::CallEnded(EndReason::LocalHangup),
            (None, stage) => CallsError::InvalidState {
                operation,
                state: stage.name(),
            },
        }
    }

    fn not_bridged(&mut self, operation: &'static str) -> CallsError {
        if let Some(reason) = self.session.end_reason() {
            return self.ended_with(reason);
        }
        self.invalid(operation, &self.stage)
    }

    /// Refuses the offered call because of `error`.
    fn refuse(&mut self, code: u16, error: CallsError) -> Result<(), CallsError> {
        if let Stage::Offered(incoming) = std::mem::replace(&mut self.stage, Stage::Over) {
            match incoming.reject(code) {
                Ok(()) => self
                    .ctx
                    .emit(&self.call_id, CallEventKind::Rejected { code }),
                Err(e) => debug!(call_id = %self.call_id, error = %e, "refusal not sent"),
            }
        }
        Err(error)
    }
}

impl Drop for InboundCall {
    fn drop(&mut self) {
        // The rest hangs up by itself: the IncomingCall refuses, the Call sends
        // BYE, the relay sees its control channel close.
        self.stop_hold();
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
