//! Routing each new server transaction: in-dialog requests to their dialog,
//! INVITEs through admission (per-source rate, dialog cap, queue) to the
//! application, OPTIONS and REGISTER answered here, the rest refused.

use super::Shared;
use super::call::{Session, watch_dialog};
use super::guard::ALLOW;
use super::incoming::{IncomingCall, Party};
use super::registrar::via_source;
use super::stats::bump;
use rsipstack::dialog::dialog::Dialog;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::transaction::Transaction;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

pub(crate) async fn dispatch(
    shared: Arc<Shared>,
    mut incoming: TransactionReceiver,
    calls: mpsc::Sender<IncomingCall>,
) {
    loop {
        let tx = tokio::select! {
            () = shared.cancel.cancelled() => break,
            tx = incoming.recv() => match tx {
                Some(tx) => tx,
                None => break,
            },
        };
        let in_dialog = tx
            .original
            .to_header()
            .and_then(|to| to.tag())
            .is_ok_and(|tag| tag.is_some());
        if in_dialog {
            to_dialog(&shared, tx);
            continue;
        }
        match tx.original.method {
            Method::Invite => admit_invite(&shared, tx, &calls),
            Method::Options => {
                tokio::spawn(reply(tx, StatusCode::OK, options_headers()));
            }
            Method::Register => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut tx = tx;
                    let source = via_source(&tx.original, remote(&tx));
                    shared.registrar.handle(&mut tx, source).await;
                });
            }
            Method::Bye | Method::Cancel | Method::PRack | Method::Ack => {
                tokio::spawn(reply(
                    tx,
                    StatusCode::CallTransactionDoesNotExist,
                    Vec::new(),
                ));
            }
            _ => {
                tokio::spawn(reply(tx, StatusCode::MethodNotAllowed, options_headers()));
            }
        }
    }
    debug!("SIP dispatcher stopped");
}

fn options_headers() -> Vec<Header> {
    vec![
        Header::Allow(ALLOW.into()),
        Header::Accept("application/sdp".into()),
    ]
}

async fn reply(mut tx: Transaction, status: StatusCode, headers: Vec<Header>) {
    if let Err(e) = tx.reply_with(status, headers, None).await {
        debug!(key = %tx.key, error = %e, "reply not sent");
    }
}

/// Where the transaction's request came from.
fn remote(tx: &Transaction) -> SocketAddr {
    tx.connection
        .as_ref()
        .and_then(|c| c.get_remote_addr())
        .and_then(|a| a.get_socketaddr().ok())
        .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
}

/// An in-dialog request (BYE, re-INVITE, INFO…) goes to its dialog, whose
/// watcher answers what needs an answer; an unknown dialog gets 481.
fn to_dialog(shared: &Shared, tx: Transaction) {
    match shared.layer.match_dialog(&tx) {
        Some(Dialog::Invite(mut dialog)) => {
            tokio::spawn(async move {
                let mut tx = tx;
                let needs_confirmed = !matches!(
                    tx.original.method,
                    Method::Bye | Method::Cancel | Method::Ack | Method::PRack
                );
                if needs_confirmed && !confirmed(&dialog).await {
                    // rsipstack leaves these unanswered outside a confirmed
                    // dialog; RFC 3261 §14.2 answers an overlapping INVITE so.
                    let retry = vec![Header::RetryAfter("1".into())];
                    reply(tx, StatusCode::ServerInternalError, retry).await;
                    return;
                }
                if let Err(e) = dialog.handle(&mut tx).await {
                    debug!(key = %tx.key, error = %e, "in-dialog request failed");
                }
            });
        }
        _ => {
            tokio::spawn(reply(
                tx,
                StatusCode::CallTransactionDoesNotExist,
                Vec::new(),
            ));
        }
    }
}

/// Whether the dialog is (or very soon is) confirmed. A request can overtake
/// the ACK of the 200 that confirms the dialog (the ACK is handled by another
/// task), and rsipstack would then take a re-INVITE for the initial INVITE and
/// never answer it: the ACK gets up to a second.
async fn confirmed(dialog: &InviteDialog) -> bool {
    for _ in 0..100 {
        let state = dialog.state();
        if !state.waiting_ack() {
            return state.is_confirmed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

fn service_unavailable(shared: &Shared) -> Vec<Header> {
    vec![Header::RetryAfter(
        shared.config.retry_after.to_string().into(),
    )]
}

/// A new INVITE: refused 503 when its source floods or the endpoint is full,
/// otherwise turned into a dialog, a watcher, and an [`IncomingCall`].
fn admit_invite(shared: &Arc<Shared>, tx: Transaction, calls: &mpsc::Sender<IncomingCall>) {
    let source = remote(&tx);
    let call_id = tx
        .original
        .call_id_header()
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if !shared.invite_rate.admit(source.ip(), Instant::now()) {
        bump(&shared.counters.flood_rejected);
        if let Some(held_back) = shared.flood_log.allow() {
            warn!(%source, %call_id, held_back, "INVITE flood: refusing with 503");
        }
        tokio::spawn(reply(
            tx,
            StatusCode::ServiceUnavailable,
            service_unavailable(shared),
        ));
        return;
    }
    let permit = match calls.try_reserve() {
        Ok(permit) if shared.layer.len() < shared.config.max_dialogs => permit,
        _ => {
            bump(&shared.counters.overload_rejected);
            if let Some(held_back) = shared.flood_log.allow() {
                warn!(%source, %call_id, held_back, dialogs = shared.layer.len(), "overloaded: refusing INVITE with 503");
            }
            tokio::spawn(reply(
                tx,
                StatusCode::ServiceUnavailable,
                service_unavailable(shared),
            ));
            return;
        }
    };

    let req = &tx.original;
    let callee = req
        .uri
        .auth
        .as_ref()
        .map(|a| a.user.clone())
        .unwrap_or_default();
    let caller = match req.from_header().and_then(|f| f.typed()) {
        Ok(from) => Party {
            user: from.uri.auth.map(|a| a.user).unwrap_or_default(),
            display: from.display_name.filter(|d| !d.is_empty()),
        },
        Err(_) => {
            tokio::spawn(reply(tx, StatusCode::BadRequest, Vec::new()));
            return;
        }
    };
    let tcp = tx.connection.as_ref().is_some_and(|c| c.is_reliable());
    let contact = match shared.contact_uri(&callee, tcp) {
        Ok(contact) => contact,
        Err(_) => {
            tokio::spawn(reply(tx, StatusCode::ServerInternalError, Vec::new()));
            return;
        }
    };
    let (state_tx, states) = shared.layer.new_dialog_state_channel();
    let dialog = match shared
        .layer
        .get_or_create_server_invite(&tx, state_tx, None, Some(contact))
    {
        Ok(dialog) => dialog,
        Err(e) => {
            debug!(%source, %call_id, error = %e, "INVITE refused");
            tokio::spawn(reply(tx, StatusCode::BadRequest, Vec::new()));
            return;
        }
    };
    let sdp_offer = String::from_utf8_lossy(&req.body).into_owned();
    let session = Session::new(call_id.clone(), String::new(), sdp_offer.clone());
    info!(%call_id, from = %caller.user, to = %callee, %source, "incoming call");
    bump(&shared.counters.calls_in);
    tokio::spawn(watch_dialog(
        shared.layer.clone(),
        dialog.clone(),
        states,
        session.clone(),
        Some(shared.config.max_ringing),
        shared.cancel.clone(),
    ));
    let mut server = dialog.clone();
    tokio::spawn(async move {
        let mut tx = tx;
        if let Err(e) = server.handle(&mut tx).await {
            debug!(error = %e, "INVITE transaction ended with an error");
        }
    });
    permit.send(IncomingCall {
        dialog,
        session,
        caller,
        callee,
        sdp_offer,
        remote_addr: source,
        decided: false,
    });
}
