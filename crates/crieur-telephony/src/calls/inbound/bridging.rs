//! The bridge operations of an [`InboundCall`]: calling the operator, the
//! relay's life, unbridging and blind transfer.

use super::{InboundCall, Line, Stage, StopOnDrop};
use crate::calls::bridge::{Control, Leg, Relay, RelayOutcome, Running};
use crate::calls::hold::Looped;
use crate::calls::{
    BridgeOptions, BridgeReport, BridgeStats, CallEventKind, CallsError, Operator,
    OperatorUnavailable,
};
use crate::media::MediaSocket;
use crate::sdp::{LocalMedia, SessionDescription};
use crate::sip::{Call, CallError, CallRequest, EndReason, OutgoingCall};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tracing::info;

impl InboundCall {
    /// Calls the operator's phone and, once it answers, relays audio and keys
    /// between caller and operator; returns then. The caller keeps hearing what
    /// was playing (hold music) while it rings, or `options.ringback`. When the
    /// phone is not reached the caller stays answered and
    /// [`CallsError::OperatorUnavailable`] says why. Wait for the end with
    /// [`InboundCall::bridge_ended`].
    pub async fn bridge(
        &mut self,
        operator: &Operator,
        options: &BridgeOptions,
    ) -> Result<(), CallsError> {
        let _busy = self.activity.begin();
        if options.ringback.is_some() {
            self.stop_hold();
        }
        let ctx = self.ctx.clone();
        let session = self.session.clone();
        let call_id = self.call_id.clone();
        let from_user = options
            .present_caller
            .then(|| sip_user(&self.caller.user))
            .flatten();
        let line = self.live("bridge")?;
        let caller_codec = line.codec;
        let socket = MediaSocket::bind(&ctx.media)
            .await
            .map_err(CallsError::Media)?;
        let addr = socket.local_addr();
        let mut local = LocalMedia::new(ctx.sdp_ip(addr.ip()), addr.port());
        // The caller's codec first: no transcoding when the phone takes it.
        local.codecs.sort_by_key(|codec| *codec != caller_codec);
        let target = match operator {
            Operator::Registered(user) => user.clone(),
            Operator::Uri(uri) => uri.clone(),
        };
        let mut request = CallRequest::new(target, local.offer().to_string());
        if let Some(user) = from_user {
            request.from_user = user;
        }
        request.from_display.clone_from(&options.display);
        request.ring_timeout = options.ring_timeout;
        let ringback = options.ringback.as_ref().map(|sound| {
            StopOnDrop(
                line.media
                    .play(Looped::new(sound, caller_codec, session.clone())),
            )
        });
        ctx.emit(
            &call_id,
            CallEventKind::Dialing {
                operator: operator.clone(),
            },
        );
        let placed = async {
            match operator {
                Operator::Registered(user) => ctx.endpoint.call_registered(user, request).await,
                Operator::Uri(_) => ctx.endpoint.call(request).await,
            }
        };
        // Dropping `placed` (caller gone, or this future cancelled) CANCELs the
        // INVITE, and hangs up an answer that crossed it.
        let outcome = tokio::select! {
            outcome = placed => outcome,
            reason = session.ended() => {
                drop(ringback);
                return Err(self.ended_with(reason));
            }
        };
        let why = match outcome {
            Ok(OutgoingCall::Answered { sdp_answer, call }) => {
                let agreed = SessionDescription::parse(&sdp_answer)
                    .map_err(|e| e.to_string())
                    .and_then(|answer| local.accept_answer(&answer).map_err(|e| e.to_string()));
                match agreed {
                    Ok(negotiated) => Ok((call, negotiated)),
                    Err(e) => {
                        hang_up_soon(&call).await;
                        Err(OperatorUnavailable::Media(e))
                    }
                }
            }
            Ok(OutgoingCall::Busy) => Err(OperatorUnavailable::Busy),
            Ok(OutgoingCall::NoAnswer) => Err(OperatorUnavailable::NoAnswer),
            Ok(OutgoingCall::Rejected { code, reason }) => {
                Err(OperatorUnavailable::Rejected { code, reason })
            }
            Ok(OutgoingCall::Unreachable { reason }) => {
                Err(OperatorUnavailable::Unreachable(reason))
            }
            Err(CallError::NotRegistered(_)) => Err(OperatorUnavailable::NotRegistered),
            Err(e) => Err(OperatorUnavailable::Failed(e.to_string())),
        };
        drop(ringback);
        let (agent_call, negotiated) = match why {
            Ok(answered) => answered,
            Err(why) => {
                info!(%call_id, %operator, %why, "operator not reached");
                ctx.emit(
                    &call_id,
                    CallEventKind::BridgeFailed {
                        operator: operator.clone(),
                        why: why.clone(),
                    },
                );
                return Err(CallsError::OperatorUnavailable {
                    operator: operator.clone(),
                    why,
                });
            }
        };
        if let Some(reason) = session.end_reason() {
            hang_up_soon(&agent_call).await;
            return Err(self.ended_with(reason));
        }
        let agent_media = socket.start(negotiated);
        self.stop_hold();
        let Stage::Up(mut line) = std::mem::replace(&mut self.stage, Stage::Over) else {
            hang_up_soon(&agent_call).await;
            return Err(CallsError::InvalidState {
                operation: "bridge",
                state: "over",
            });
        };
        // Keys pressed for the IVR or during hold are not the operator's.
        line.media.clear_digits();
        self.unclaimed = None;
        let (control, control_rx) = mpsc::channel(4);
        let (done, outcome) = oneshot::channel();
        info!(%call_id, %operator, codec = ?negotiated.codec, "bridged");
        ctx.emit(
            &call_id,
            CallEventKind::Bridged {
                operator: operator.clone(),
            },
        );
        let relay = Relay {
            ctx: ctx.clone(),
            call_id,
            operator: operator.clone(),
            caller: Leg {
                call: line.call.clone(),
                media: line.media,
                codec: line.codec,
            },
            agent: Leg {
                call: Arc::new(agent_call),
                media: agent_media,
                codec: negotiated.codec,
            },
            after: options.after_operator,
            busy: self.activity.begin(),
        };
        tokio::spawn(relay.run(control_rx, done));
        self.stage = Stage::Bridged(Running {
            operator: operator.clone(),
            call: line.call,
            codec: line.codec,
            control,
            outcome,
        });
        Ok(())
    }

    /// Waits until the current bridge ends (either side hangs up), and says how.
    /// Cancel-safe. After [`BridgeEnd::CallerHungUp`](crate::calls::BridgeEnd::CallerHungUp), the call
    /// is over; after a [`Released`](crate::calls::BridgeEnd::Released) or an operator
    /// hang-up with [`AfterOperator::ReturnToEngine`](crate::calls::AfterOperator::ReturnToEngine), the
    /// caller is answered again and the engine goes on.
    pub async fn bridge_ended(&mut self) -> Result<BridgeReport, CallsError> {
        let _busy = self.activity.begin();
        if let Some(report) = self.unclaimed.take() {
            return Ok(report);
        }
        let outcome = match &mut self.stage {
            Stage::Bridged(running) => (&mut running.outcome).await,
            _ => return Err(self.not_bridged("wait for the bridge of")),
        };
        self.collect_bridge(outcome)
    }

    /// Both legs' media counters, while bridged.
    pub async fn bridge_stats(&self) -> Option<BridgeStats> {
        let Stage::Bridged(running) = &self.stage else {
            return None;
        };
        let (reply, stats) = oneshot::channel();
        running.control.send(Control::Stats(reply)).await.ok()?;
        stats.await.ok()
    }

    /// Ends the bridge: hangs up the operator's leg and keeps the caller,
    /// answered and in silence (to queue them again). Returns how the bridge
    /// went (it may have ended by itself just before).
    pub async fn unbridge(&mut self) -> Result<BridgeReport, CallsError> {
        let _busy = self.activity.begin();
        self.settle();
        if let Some(report) = self.unclaimed.take() {
            return Ok(report);
        }
        let outcome = match &mut self.stage {
            Stage::Bridged(running) => {
                // Fails only when the relay has already ended: its outcome is ready.
                let _ = running.control.send(Control::Release).await;
                (&mut running.outcome).await
            }
            _ => return Err(self.not_bridged("unbridge")),
        };
        self.collect_bridge(outcome)
    }

    /// Blind transfer: ends the bridge with the current operator (their leg is
    /// hung up, published as `Transferred`), then bridges the caller to `to` as
    /// [`InboundCall::bridge`] does. Returns the report of the first bridge. If
    /// `to` is not reached, the caller stays answered, bridged to nobody.
    /// (Back to a queue: [`InboundCall::unbridge`], then [`InboundCall::hold`].)
    pub async fn transfer(
        &mut self,
        to: &Operator,
        options: &BridgeOptions,
    ) -> Result<BridgeReport, CallsError> {
        let _busy = self.activity.begin();
        let report = self.unbridge().await?;
        if let Some(reason) = self.session.end_reason() {
            return Err(self.ended_with(reason));
        }
        info!(call_id = %self.call_id, from = %report.operator, %to, "blind transfer");
        self.ctx.emit(
            &self.call_id,
            CallEventKind::Transferred {
                from: report.operator.clone(),
                to: to.clone(),
            },
        );
        self.bridge(to, options).await?;
        Ok(report)
    }

    /// Takes in the outcome of a bridge that ended by itself.
    pub(super) fn settle(&mut self) {
        let ready = match &mut self.stage {
            Stage::Bridged(running) => running.outcome.try_recv(),
            _ => return,
        };
        match ready {
            Ok(outcome) => {
                let report = self.finish_bridge(outcome);
                self.unclaimed = Some(report);
            }
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Closed) => self.close(),
        }
    }

    fn collect_bridge(
        &mut self,
        outcome: Result<RelayOutcome, oneshot::error::RecvError>,
    ) -> Result<BridgeReport, CallsError> {
        match outcome {
            Ok(outcome) => Ok(self.finish_bridge(outcome)),
            Err(_) => {
                // The relay task is gone without a word: the caller's media went
                // with it, so the call cannot go on.
                self.close();
                Err(CallsError::CallEnded(self.session.end_reason().unwrap_or(
                    EndReason::Failed("the bridge stopped unexpectedly".to_owned()),
                )))
            }
        }
    }

    /// The caller leg back from the relay; closed if the caller has gone.
    fn finish_bridge(&mut self, outcome: RelayOutcome) -> BridgeReport {
        if let Stage::Bridged(running) = std::mem::replace(&mut self.stage, Stage::Over) {
            self.stage = Stage::Up(Line {
                call: running.call,
                media: outcome.caller_media,
                codec: running.codec,
            });
        }
        if self.session.end_reason().is_some() {
            self.close();
        }
        outcome.report
    }
}

/// Hangs up without waiting long for the answer (the BYE goes on regardless).
async fn hang_up_soon(call: &Call) {
    let _ = tokio::time::timeout(Duration::from_secs(2), call.hangup()).await;
}

/// The caller's number as a SIP user part for the operator's phone, when it is
/// one (digits, +, *, letters, '.', '-', '_').
fn sip_user(user: &str) -> Option<String> {
    let ok = !user.is_empty()
        && user.len() <= 64
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+*.-_".contains(c));
    ok.then(|| user.to_owned())
}
