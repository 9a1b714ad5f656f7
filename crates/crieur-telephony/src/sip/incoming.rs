//! Calls arriving at Crieur (the hotline's public number), as the application
//! sees them: who calls, which number, the SDP offer, and what it may do next.

use super::CallError;
use super::call::{Call, EndReason, Session};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, StatusCode};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::{debug, info};

/// The caller as the From header names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// User part of the From URI (usually the calling number).
    pub user: String,
    /// Display name, when one was given.
    pub display: Option<String>,
}

/// A call waiting for the application's decision. Dropping it undecided refuses
/// the call with 480 Temporarily Unavailable.
pub struct IncomingCall {
    pub(crate) dialog: InviteDialog,
    pub(crate) session: Arc<Session>,
    pub(crate) caller: Party,
    pub(crate) callee: String,
    pub(crate) sdp_offer: String,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) decided: bool,
}

impl fmt::Debug for IncomingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingCall")
            .field("call_id", &self.session.call_id)
            .field("caller", &self.caller)
            .field("callee", &self.callee)
            .field("remote_addr", &self.remote_addr)
            .finish()
    }
}

impl IncomingCall {
    pub fn call_id(&self) -> &str {
        &self.session.call_id
    }

    pub fn caller(&self) -> &Party {
        &self.caller
    }

    /// The dialed number: the user part of the Request-URI.
    pub fn callee(&self) -> &str {
        &self.callee
    }

    /// The caller's SDP offer, as received.
    pub fn sdp_offer(&self) -> &str {
        &self.sdp_offer
    }

    /// Where the INVITE came from (source address of the packet or connection).
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// Sends 180 Ringing.
    pub fn ringing(&self) -> Result<(), CallError> {
        self.dialog
            .ringing(None, None)
            .map_err(|e| CallError::Stack(e.to_string()))
    }

    /// Answers 200 OK with `sdp_answer` (Content-Type: application/sdp). The call
    /// is up from here; [`Call::ended`] tells when the caller hangs up, or
    /// [`EndReason::AckTimeout`] when the caller never acknowledges the answer.
    pub fn answer(mut self, sdp_answer: impl Into<String>) -> Result<Call, CallError> {
        if !self.dialog.state().can_cancel() {
            return Err(CallError::InvalidState);
        }
        let sdp = sdp_answer.into();
        *Session::lock_sdp(&self.session.local_sdp) = sdp.clone();
        let headers = vec![Header::ContentType("application/sdp".into())];
        self.dialog
            .accept(Some(headers), Some(sdp.into_bytes()))
            .map_err(|e| CallError::Stack(e.to_string()))?;
        self.decided = true;
        info!(call_id = %self.session.call_id, caller = %self.caller.user, callee = %self.callee, "call answered");
        Ok(Call {
            dialog: self.dialog.clone(),
            session: self.session.clone(),
            remote_sdp: std::mem::take(&mut self.sdp_offer),
        })
    }

    /// Refuses the call with a final status from 300 to 699 (486 busy, 488 no
    /// common codec, 503 overloaded…).
    pub fn reject(mut self, code: u16) -> Result<(), CallError> {
        if !(300..700).contains(&code) {
            return Err(CallError::InvalidCode(code));
        }
        if !self.dialog.state().can_cancel() {
            return Err(CallError::InvalidState);
        }
        self.decided = true;
        info!(call_id = %self.session.call_id, code, "call rejected");
        self.dialog
            .reject(Some(StatusCode::from(code)), None)
            .map_err(|e| CallError::Stack(e.to_string()))
    }

    /// Resolves when the call ends before being answered: the caller cancelled
    /// (CANCEL, answered 200 then 487), or `max_ringing` passed.
    pub async fn ended(&self) -> EndReason {
        self.session.ended().await
    }

    /// Why the call already ended, if it did.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.session.end_reason()
    }
}

impl Drop for IncomingCall {
    fn drop(&mut self) {
        if !self.decided && self.dialog.state().can_cancel() {
            debug!(call_id = %self.session.call_id, "incoming call dropped undecided, refusing it");
            let _ = self
                .dialog
                .reject(Some(StatusCode::TemporarilyUnavailable), None);
        }
    }
}

/// The stream of incoming calls of one endpoint.
#[derive(Debug)]
pub struct IncomingCalls {
    pub(crate) rx: mpsc::Receiver<IncomingCall>,
}

impl IncomingCalls {
    /// The next call, or None once the endpoint has shut down.
    pub async fn next(&mut self) -> Option<IncomingCall> {
        self.rx.recv().await
    }
}
