//! An established call (either direction) and the task that watches its dialog.
//!
//! Every INVITE dialog gets one watcher task. It answers what arrives inside the
//! dialog (re-INVITE, UPDATE, INFO, OPTIONS…), publishes the call's phase, and on
//! termination removes the dialog from rsipstack's dialog layer, which keeps
//! terminated dialogs forever otherwise.

use super::CallError;
use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::TransactionHandle;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::platform::CancellationToken;
use rsipstack::sip::{Header, Method, Request, StatusCode};
use rsipstack::transaction::key::TransactionRole;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{debug, info, warn};

/// Why a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The far end sent BYE.
    RemoteHangup,
    /// [`Call::hangup`] (or dropping the [`Call`]) sent BYE.
    LocalHangup,
    /// The caller cancelled before the call was answered.
    Cancelled,
    /// The application rejected the incoming call.
    Rejected,
    /// Nobody answered or rejected the incoming call within `max_ringing`.
    NotAnswered,
    /// Answered, but the caller never acknowledged the 200 OK (64 × T1).
    AckTimeout,
    /// Anything else, described.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Setup,
    Answered,
    Ended(EndReason),
}

/// What the watcher and the handles of one call share.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) phase: watch::Sender<Phase>,
    /// Our SDP (offer or answer), resent when a re-INVITE only refreshes the session.
    pub(crate) local_sdp: Mutex<String>,
    /// The far end's SDP, to recognise a re-INVITE that changes nothing.
    pub(crate) remote_sdp: Mutex<String>,
    pub(crate) call_id: String,
}

impl Session {
    pub(crate) fn new(call_id: String, local_sdp: String, remote_sdp: String) -> Arc<Self> {
        Arc::new(Self {
            phase: watch::channel(Phase::Setup).0,
            local_sdp: Mutex::new(local_sdp),
            remote_sdp: Mutex::new(remote_sdp),
            call_id,
        })
    }

    pub(crate) fn end_reason(&self) -> Option<EndReason> {
        match &*self.phase.borrow() {
            Phase::Ended(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    pub(crate) async fn ended(&self) -> EndReason {
        let mut rx = self.phase.subscribe();
        loop {
            if let Phase::Ended(reason) = &*rx.borrow_and_update() {
                return reason.clone();
            }
            if rx.changed().await.is_err() {
                return EndReason::Failed("call watcher stopped".to_owned());
            }
        }
    }

    fn set(&self, phase: Phase) {
        self.phase.send_if_modified(|current| {
            let change = !matches!(current, Phase::Ended(_)) && *current != phase;
            if change {
                *current = phase;
            }
            change
        });
    }

    pub(crate) fn lock_sdp(sdp: &Mutex<String>) -> std::sync::MutexGuard<'_, String> {
        sdp.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An answered call, placed or received. Dropping it while the call is up hangs
/// up, so that no call outlives the code that was handling it.
pub struct Call {
    pub(crate) dialog: InviteDialog,
    pub(crate) session: Arc<Session>,
    pub(crate) remote_sdp: String,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("call_id", &self.session.call_id)
            .field("role", &self.dialog.role())
            .field("ended", &self.session.end_reason())
            .finish()
    }
}

impl Call {
    pub fn call_id(&self) -> &str {
        &self.session.call_id
    }

    /// The far end's SDP (its answer to our offer, or its offer we answered).
    pub fn remote_sdp(&self) -> &str {
        &self.remote_sdp
    }

    /// Sends BYE and waits for its answer (or its timeout). Nothing happens when
    /// the call has already ended.
    pub async fn hangup(&self) -> Result<(), CallError> {
        if self.session.end_reason().is_some() {
            return Ok(());
        }
        info!(call_id = %self.session.call_id, "hanging up");
        self.dialog
            .hangup()
            .await
            .map_err(|e| CallError::Stack(e.to_string()))
    }

    /// Waits until the call ends, whoever ends it.
    pub async fn ended(&self) -> EndReason {
        self.session.ended().await
    }

    /// Why the call ended, if it has.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.session.end_reason()
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.session.end_reason().is_some() || self.dialog.state().is_terminated() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let dialog = self.dialog.clone();
        let call_id = self.session.call_id.clone();
        runtime.spawn(async move {
            debug!(%call_id, "call handle dropped, hanging up");
            if let Err(e) = dialog.hangup().await {
                debug!(%call_id, error = %e, "hangup of a dropped call failed");
            }
        });
    }
}

/// Watches one INVITE dialog until it terminates, then removes it from the layer.
/// With `max_ringing`, an incoming call still unanswered by then is refused 480.
pub(crate) async fn watch_dialog(
    layer: Arc<DialogLayer>,
    dialog: InviteDialog,
    mut states: DialogStateReceiver,
    session: Arc<Session>,
    max_ringing: Option<Duration>,
    stop: CancellationToken,
) {
    let ringing = tokio::time::sleep(max_ringing.unwrap_or(Duration::MAX));
    tokio::pin!(ringing);
    let mut ringing_armed = max_ringing.is_some();
    let mut timed_out = false;
    loop {
        let state = tokio::select! {
            state = states.recv() => state,
            () = stop.cancelled() => {
                session.set(Phase::Ended(EndReason::Failed("endpoint stopped".to_owned())));
                remove(&layer, &dialog.id());
                return;
            }
            () = &mut ringing, if ringing_armed => {
                ringing_armed = false;
                if dialog.state().can_cancel() {
                    warn!(call_id = %session.call_id, "incoming call neither answered nor rejected in time, refusing it");
                    timed_out = true;
                    if let Err(e) = dialog.reject(Some(StatusCode::TemporarilyUnavailable), None) {
                        debug!(call_id = %session.call_id, error = %e, "reject after ringing timeout failed");
                    }
                }
                continue;
            }
        };
        match state {
            None => {
                session.set(Phase::Ended(EndReason::Failed("dialog dropped".to_owned())));
                remove(&layer, &dialog.id());
                return;
            }
            Some(DialogState::Terminated(id, reason)) => {
                remove(&layer, &id);
                remove(&layer, &dialog.id());
                let reason = if timed_out {
                    EndReason::NotAnswered
                } else {
                    end_reason(dialog.role(), &reason)
                };
                info!(call_id = %session.call_id, ?reason, "call ended");
                session.set(Phase::Ended(reason));
                return;
            }
            Some(DialogState::WaitAck(..) | DialogState::Confirmed(..)) => {
                ringing_armed = false;
                session.set(Phase::Answered);
            }
            Some(DialogState::Updated(_, req, handle)) => {
                answer_update(&session, req, handle).await;
            }
            Some(
                DialogState::Info(_, _, handle)
                | DialogState::Options(_, _, handle)
                | DialogState::Notify(_, _, handle)
                | DialogState::Message(_, _, handle),
            ) => {
                // INFO (e.g. application/dtmf-relay) is acknowledged and dropped:
                // digits are expected as RFC 4733 events in the media.
                let _ = handle.reply(StatusCode::OK).await;
            }
            Some(DialogState::Refer(_, _, handle)) => {
                let _ = handle.reply(StatusCode::Decline).await;
            }
            Some(DialogState::Publish(_, _, handle)) => {
                let _ = handle.reply(StatusCode::MethodNotAllowed).await;
            }
            Some(_) => {}
        }
    }
}

fn remove(layer: &DialogLayer, id: &DialogId) {
    if layer.get_dialog(id).is_some() {
        layer.remove_dialog(id);
    }
}

fn end_reason(role: TransactionRole, reason: &TerminatedReason) -> EndReason {
    let we_are_uas = role == TransactionRole::Server;
    match reason {
        TerminatedReason::UacBye if we_are_uas => EndReason::RemoteHangup,
        TerminatedReason::UasBye if !we_are_uas => EndReason::RemoteHangup,
        TerminatedReason::UacBye | TerminatedReason::UasBye => EndReason::LocalHangup,
        TerminatedReason::UacCancel => EndReason::Cancelled,
        TerminatedReason::UasDecline if we_are_uas => EndReason::Rejected,
        TerminatedReason::Timeout => EndReason::AckTimeout,
        other => EndReason::Failed(format!("{other:?}")),
    }
}

/// A re-INVITE or UPDATE in an established call. Crieur does not renegotiate
/// media mid-call: a request without SDP, or with the same SDP as before (a
/// session refresh; the `o=` version is ignored), gets 200 with our current SDP;
/// a real change (hold, new codec or address) gets 488 and the call carries on
/// as it was.
async fn answer_update(session: &Session, req: Request, handle: TransactionHandle) {
    let offer = String::from_utf8_lossy(&req.body).into_owned();
    let unchanged = {
        let remote = Session::lock_sdp(&session.remote_sdp);
        offer.trim().is_empty() || same_session(&offer, &remote)
    };
    let call_id = &session.call_id;
    let result = if unchanged {
        debug!(%call_id, method = %req.method, "session refresh accepted");
        if req.method == Method::Update && offer.trim().is_empty() {
            handle.reply(StatusCode::OK).await
        } else {
            let sdp = Session::lock_sdp(&session.local_sdp).clone().into_bytes();
            let headers = vec![Header::ContentType("application/sdp".into())];
            handle
                .respond(StatusCode::OK, Some(headers), Some(sdp))
                .await
        }
    } else {
        info!(%call_id, method = %req.method, "mid-call media change refused (488)");
        handle.reply(StatusCode::NotAcceptableHere).await
    };
    if result.is_err() {
        debug!(%call_id, "the re-INVITE transaction ended before our answer");
    }
}

/// Same SDP apart from the `o=` line and line endings.
pub(crate) fn same_session(a: &str, b: &str) -> bool {
    let lines = |s: &str| {
        s.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("o="))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    lines(a) == lines(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_with_a_new_origin_version_is_the_same_session() {
        let a = "v=0\r\no=x 1 1 IN IP4 192.0.2.1\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n";
        let b = "v=0\no=x 1 2 IN IP4 192.0.2.1\ns=-\nm=audio 4000 RTP/AVP 0\n";
        let c = "v=0\no=x 1 2 IN IP4 192.0.2.1\ns=-\nm=audio 4002 RTP/AVP 0\n";
        assert!(same_session(a, b));
        assert!(!same_session(a, c));
    }

    #[test]
    fn the_end_reason_depends_on_who_we_are() {
        let uas = TransactionRole::Server;
        let uac = TransactionRole::Client;
        assert_eq!(
            end_reason(uas, &TerminatedReason::UacBye),
            EndReason::RemoteHangup
        );
        assert_eq!(
            end_reason(uac, &TerminatedReason::UasBye),
            EndReason::RemoteHangup
        );
        assert_eq!(
            end_reason(uac, &TerminatedReason::UacBye),
            EndReason::LocalHangup
        );
        assert_eq!(
            end_reason(uas, &TerminatedReason::UasBye),
            EndReason::LocalHangup
        );
        assert_eq!(
            end_reason(uas, &TerminatedReason::Timeout),
            EndReason::AckTimeout
        );
    }
}
