//! Calls Crieur places: voice alerts, call-outs, and the hotline reaching an
//! operator's registered phone.
//!
//! rsipstack waits for a final answer up to Timer C (180 s); a voice alert has
//! its own ring timeout, after which the INVITE is cancelled here.

use super::call::{Call, Session, watch_dialog};
use super::config::Credentials;
use super::{CallError, Shared};
use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Response, StatusCode, StatusCodeKind, Uri};
use rsipstack::transport::SipAddr;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

type InviteTask = JoinHandle<rsipstack::Result<(DialogId, Option<Response>)>>;

/// A call to place.
#[derive(Clone, Debug)]
pub struct CallRequest {
    /// `sip:+32470123456@trunk.example:5060` or `+32470123456@192.0.2.7:5060`
    /// (`sip:` is implied); `;transport=tcp` selects TCP.
    pub to: String,
    /// User part of our From URI (the number shown to the callee).
    pub from_user: String,
    pub from_display: Option<String>,
    /// Our SDP offer, built by the media layer.
    pub sdp_offer: String,
    /// How long to wait for an answer before cancelling.
    pub ring_timeout: Duration,
    /// Account on the operator's trunk, for a 401/407 digest challenge.
    pub credentials: Option<Credentials>,
}

impl CallRequest {
    pub fn new(to: impl Into<String>, sdp_offer: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            from_user: "crieur".to_owned(),
            from_display: None,
            sdp_offer: sdp_offer.into(),
            ring_timeout: Duration::from_secs(45),
            credentials: None,
        }
    }
}

/// How a placed call turned out.
pub enum OutgoingCall {
    /// 2xx: the call is up.
    Answered { sdp_answer: String, call: Call },
    /// 486 Busy Here or 600 Busy Everywhere.
    Busy,
    /// Rang out (we sent CANCEL at the ring timeout), or 480/408 from the far end.
    NoAnswer,
    /// Any other final answer, with its code and reason phrase.
    Rejected { code: u16, reason: String },
    /// Nothing answered at all (no response before the ring timeout or Timer B,
    /// or a transport error).
    Unreachable { reason: String },
}

impl fmt::Debug for OutgoingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answered { call, .. } => f.debug_struct("Answered").field("call", call).finish(),
            Self::Busy => f.write_str("Busy"),
            Self::NoAnswer => f.write_str("NoAnswer"),
            Self::Rejected { code, reason } => f
                .debug_struct("Rejected")
                .field("code", code)
                .field("reason", reason)
                .finish(),
            Self::Unreachable { reason } => f
                .debug_struct("Unreachable")
                .field("reason", reason)
                .finish(),
        }
    }
}

/// Reads `to` as a SIP URI (`sip:` implied when absent).
pub(crate) fn parse_target(to: &str) -> Result<Uri, CallError> {
    let text = to.trim();
    let with_scheme = if text.starts_with("sip:") || text.starts_with("sips:") {
        text.to_owned()
    } else {
        format!("sip:{text}")
    };
    Uri::try_from(with_scheme.as_str()).map_err(|_| CallError::InvalidTarget(to.to_owned()))
}

/// Cancels and cleans up an INVITE whose caller went away before its outcome.
struct PendingInvite {
    dialog: InviteDialog,
    task: Option<InviteTask>,
    shared: Arc<Shared>,
}

impl Drop for PendingInvite {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else {
            return;
        };
        let dialog = self.dialog.clone();
        let layer = self.shared.layer.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            debug!(call_id = %dialog.id().call_id, "abandoned outgoing call, cancelling it");
            let _ = dialog.cancel().await;
            if let Ok(Ok((id, Some(resp)))) = task.await
                && resp.status_code.kind() == StatusCodeKind::Successful
                && dialog.state().is_confirmed()
            {
                let _ = dialog.hangup().await;
                layer.remove_dialog(&id);
            }
        });
    }
}

pub(crate) async fn place(
    shared: Arc<Shared>,
    req: CallRequest,
    callee: Uri,
    destination: Option<SipAddr>,
) -> Result<OutgoingCall, CallError> {
    if shared.layer.len() >= shared.config.max_dialogs {
        return Err(CallError::Overloaded);
    }
    super::stats::bump(&shared.counters.calls_out);
    let caller = Uri {
        scheme: Some(rsipstack::sip::Scheme::Sip),
        auth: Some(rsipstack::sip::Auth {
            user: req.from_user.clone(),
            password: None,
        }),
        host_with_port: callee.host_with_port.clone(),
        params: Vec::new(),
        headers: Vec::new(),
    };
    let tcp = destination
        .as_ref()
        .and_then(|d| d.r#type)
        .or_else(|| transport_param(&callee))
        .is_some_and(|t| t != rsipstack::sip::Transport::Udp);
    let contact = shared.contact_uri(&req.from_user, tcp)?;
    let option = InviteOption {
        caller_display_name: req.from_display.clone(),
        caller,
        callee: callee.clone(),
        destination,
        content_type: Some("application/sdp".to_owned()),
        offer: Some(req.sdp_offer.clone().into_bytes()),
        contact,
        credential: req.credentials.as_ref().map(|c| Credential {
            username: c.user.clone(),
            password: c.password.clone(),
            realm: None,
            auth_username: None,
        }),
        ..InviteOption::default()
    };
    let (state_tx, mut states) = shared.layer.new_dialog_state_channel();
    let (dialog, task) = shared
        .layer
        .do_invite_async(option, state_tx)
        .map_err(|e| CallError::Stack(e.to_string()))?;
    let call_id = dialog.id().call_id;
    info!(%call_id, to = %callee, from = %req.from_user, "placing call");
    let mut pending = PendingInvite {
        dialog: dialog.clone(),
        task: Some(task),
        shared: shared.clone(),
    };
    let Some(task) = pending.task.as_mut() else {
        return Err(CallError::InvalidState);
    };

    let result = tokio::select! {
        result = &mut *task => result,
        () = tokio::time::sleep(req.ring_timeout) => {
            match dialog.state() {
                DialogState::Calling(_) => {
                    // No response at all: nothing to CANCEL yet (RFC 3261 §9.1).
                    // Dropping rsipstack's INVITE task ends the dialog now; its
                    // guard still CANCELs the INVITE if a provisional comes
                    // within 64 × T1 (and BYEs a late 2xx).
                    task.abort();
                    pending.task = None;
                    info!(%call_id, "no response before the ring timeout");
                    return Ok(OutgoingCall::Unreachable {
                        reason: "no response before the ring timeout".to_owned(),
                    });
                }
                state if state.can_cancel() => {
                    info!(%call_id, "ring timeout, cancelling");
                    if let Err(e) = dialog.cancel().await {
                        debug!(%call_id, error = %e, "CANCEL was not accepted");
                    }
                }
                _ => {}
            }
            // The 487 (or a 2xx that crossed the CANCEL, which rsipstack ends
            // with a BYE) follows; wait for it so the outcome is known.
            let grace = (shared.config.t1 * 64).min(Duration::from_secs(8));
            match tokio::time::timeout(grace, &mut *task).await {
                Ok(result) => result,
                Err(_) => {
                    warn!(%call_id, "no final answer after CANCEL");
                    pending.task = None;
                    return Ok(OutgoingCall::NoAnswer);
                }
            }
        }
    };
    pending.task = None;
    let outcome = match result {
        Ok(Ok((_, Some(resp)))) => outcome_of(
            &shared,
            &dialog,
            states_seen_early(&mut states),
            resp,
            &req,
            states,
        ),
        Ok(Ok((_, None))) => OutgoingCall::Unreachable {
            reason: "no final response".to_owned(),
        },
        Ok(Err(e)) => OutgoingCall::Unreachable {
            reason: e.to_string(),
        },
        Err(e) => OutgoingCall::Unreachable {
            reason: format!("invite task failed: {e}"),
        },
    };
    info!(%call_id, outcome = ?outcome, "call outcome");
    Ok(outcome)
}

/// Whether any provisional answer arrived (drains the early states).
fn states_seen_early(states: &mut DialogStateReceiver) -> bool {
    let mut early = false;
    while let Ok(state) = states.try_recv() {
        match state {
            DialogState::Trying(_) | DialogState::Early(..) => early = true,
            DialogState::Confirmed(..) | DialogState::Terminated(..) => break,
            _ => {}
        }
    }
    early
}

fn outcome_of(
    shared: &Arc<Shared>,
    dialog: &InviteDialog,
    early: bool,
    resp: Response,
    req: &CallRequest,
    states: DialogStateReceiver,
) -> OutgoingCall {
    let code = resp.status_code.code();
    // A response we made up ourselves (Timer B/C, a dead TCP connection) has
    // no To tag: every real final answer carries one.
    let local = resp
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_none();
    match resp.status_code.kind() {
        StatusCodeKind::Successful if dialog.state().is_confirmed() => {
            let sdp_answer = String::from_utf8_lossy(&resp.body).into_owned();
            let session = Session::new(
                dialog.id().call_id,
                req.sdp_offer.clone(),
                sdp_answer.clone(),
            );
            session.phase.send_replace(super::call::Phase::Answered);
            tokio::spawn(watch_dialog(
                shared.layer.clone(),
                dialog.clone(),
                states,
                session.clone(),
                None,
                shared.cancel.clone(),
            ));
            OutgoingCall::Answered {
                sdp_answer: sdp_answer.clone(),
                call: Call {
                    dialog: dialog.clone(),
                    session,
                    remote_sdp: sdp_answer,
                },
            }
        }
        // A 2xx to a cancelled INVITE: rsipstack has already sent the BYE.
        StatusCodeKind::Successful => OutgoingCall::NoAnswer,
        _ if local && !early => OutgoingCall::Unreachable {
            reason: format!("{code} {}", resp.status_code.text()),
        },
        _ => match resp.status_code {
            StatusCode::BusyHere | StatusCode::BusyEverywhere => OutgoingCall::Busy,
            StatusCode::TemporarilyUnavailable
            | StatusCode::RequestTimeout
            | StatusCode::RequestTerminated => OutgoingCall::NoAnswer,
            _ => OutgoingCall::Rejected {
                code,
                reason: resp
                    .reason_phrase()
                    .unwrap_or(resp.status_code.text())
                    .to_owned(),
            },
        },
    }
}

fn transport_param(uri: &Uri) -> Option<rsipstack::sip::Transport> {
    uri.params.iter().find_map(|p| match p {
        rsipstack::sip::Param::Transport(t) => Some(*t),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_without_scheme_is_a_sip_uri() {
        let uri = parse_target("+3247012@192.0.2.7:5070").unwrap();
        assert_eq!(uri.to_string(), "sip:+3247012@192.0.2.7:5070");
        let tcp = parse_target("sip:1001@192.0.2.7;transport=tcp").unwrap();
        assert_eq!(transport_param(&tcp), Some(rsipstack::sip::Transport::Tcp));
        assert!(parse_target("sip:").is_err());
    }
}
