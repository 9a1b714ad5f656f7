//! One bind's life: connect, bind, serve until the session ends, back off,
//! again. smpp34 never reconnects by itself and reports a refused bind with no
//! callback at all, so a bind not confirmed in time counts as failed.

use super::receipt::ReceiptHandler;
use super::{BindSlot, Shared};
use smpp34::client::{BIND_TYPE, SMSC, SmppClient, SmppClientListener};
use smpp34::{SmppConnectionInformation, deliver_sm, deliver_sm_resp};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// A session that lasted this long was healthy: the next failure starts the
/// backoff again from its minimum.
const STABLE_SESSION: Duration = Duration::from_secs(60);
/// How long a polite unbind may take at shutdown.
const UNBIND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a closing session's writer gets to send what is queued.
const WRITER_FLUSH: Duration = Duration::from_millis(50);
/// Read buffer of a session: room for many PDUs per read.
const READ_BUFFER: usize = 16 * 1024;

enum Event {
    Bound(SMSC),
    Unbound,
    ConnectionFailed(String),
}

/// smpp34's callbacks, turned into events for the supervisor (which owns the
/// client) and receipt handling.
struct BindListener {
    events: mpsc::UnboundedSender<Event>,
    receipts: Arc<ReceiptHandler>,
}

#[async_trait::async_trait]
impl SmppClientListener for BindListener {
    async fn on_smsc_bound(&self, smsc: SMSC, _session_id: &String) {
        let _ = self.events.send(Event::Bound(smsc));
    }

    async fn on_smsc_unbound(&self, _session_id: &String) {
        let _ = self.events.send(Event::Unbound);
        // smpp34 aborts the session's writer as soon as this returns, and an
        // unbind_resp to an SMSC-initiated unbind is still queued there: give it
        // the time to leave, or the SMSC sees the connection drop instead.
        tokio::time::sleep(WRITER_FLUSH).await;
    }

    async fn on_connection_failed(&self, error: &str) {
        let _ = self.events.send(Event::ConnectionFailed(error.to_owned()));
    }

    async fn on_deliver_sm(
        &self,
        pdu: deliver_sm,
        _connection_information: &SmppConnectionInformation,
        _session_id: &String,
    ) -> deliver_sm_resp {
        self.receipts.on_deliver_sm(pdu).await
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The delay before attempt number `failures` (1 for the first retry):
/// `min · 2^(failures-1)` capped at `max`, drawn between half and all of it so
/// binds that fell together do not return together.
fn backoff(failures: u32, min: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    let ceiling = min.saturating_mul(factor).min(max).max(min);
    ceiling.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// Waits for `future`, or returns `None` once shutdown is asked.
async fn unless_shutdown<F: Future>(
    shutdown: &mut watch::Receiver<bool>,
    future: F,
) -> Option<F::Output> {
    tokio::select! {
        output = future => Some(output),
        _ = shutdown.wait_for(|stop| *stop) => None,
    }
}

/// Keeps bind `index` bound until shutdown.
pub(super) async fn supervise(
    shared: Arc<Shared>,
    index: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = &shared.config;
    let slot: &BindSlot = &shared.binds[index];
    let name = config.name.as_str();
    let receipts = Arc::new(ReceiptHandler {
        provider: config.name.clone(),
        sink: shared.receipts.clone(),
        answer_timeout: config.submit_timeout,
    });
    let mut failures: u32 = 0;
    while !*shutdown.borrow() {
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let listener = Arc::new(BindListener {
            events: events_tx,
            receipts: receipts.clone(),
        });
        let mut client = SmppClient::new_with_default_timers(
            config.host.clone(),
            config.port,
            false,
            BIND_TYPE::TRX,
            config.system_id.clone(),
            config.password.clone(),
            config.system_type.clone(),
            0,
            0,
            String::new(),
            listener,
            millis(config.bind_timeout),
            millis(config.enquire_link_interval),
            millis(config.enquire_link_interval.saturating_mul(3)),
            // Our own submit timeout fires first; this one only bounds the
            // session's bookkeeping and the enquire_link answer.
            millis(config.submit_timeout + Duration::from_secs(1)),
            READ_BUFFER,
            config.window,
        );
        // Connecting has no timeout of its own in smpp34.
        let waited = unless_shutdown(&mut shutdown, async {
            tokio::time::timeout(config.bind_timeout, client.start())
                .await
                .ok()?;
            tokio::time::timeout(config.bind_timeout + Duration::from_secs(1), events.recv())
                .await
                .ok()
                .flatten()
        })
        .await;
        let Some(first) = waited else {
            client.stop().await;
            break;
        };
        match first {
            Some(Event::Bound(smsc)) => {
                slot.set(Some(Arc::new(smsc)));
                let since = Instant::now();
                tracing::info!(provider = name, bind = index, host = %config.host, port = config.port, "SMPP bind up");
                let ended = unless_shutdown(&mut shutdown, events.recv()).await;
                let session = slot.set(None);
                if ended.is_none() {
                    if let Some(smsc) = session {
                        let _ = tokio::time::timeout(UNBIND_TIMEOUT, smsc.send_unbind()).await;
                    }
                    client.stop().await;
                    tracing::info!(provider = name, bind = index, "SMPP bind closed");
                    break;
                }
                failures = if since.elapsed() >= STABLE_SESSION {
                    1
                } else {
                    failures + 1
                };
                tracing::warn!(
                    provider = name,
                    bind = index,
                    "SMPP bind lost; reconnecting"
                );
                // Let the session task finish its own teardown (it stops its
                // writer and enquire_link tasks after telling us).
                let closing = Instant::now();
                while client.is_alive() && closing.elapsed() < Duration::from_secs(1) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            Some(Event::ConnectionFailed(error)) => {
                failures += 1;
                tracing::warn!(provider = name, bind = index, %error, "SMPP connection failed");
            }
            Some(Event::Unbound) | None => {
                failures += 1;
                tracing::warn!(
                    provider = name,
                    bind = index,
                    timeout = ?config.bind_timeout,
                    "SMPP bind not confirmed in time (credentials refused, or no answer)"
                );
            }
        }
        client.stop().await;
        drop(client);
        let delay = backoff(failures, config.reconnect_min, config.reconnect_max);
        if unless_shutdown(&mut shutdown, tokio::time::sleep(delay))
            .await
            .is_none()
        {
            break;
        }
    }
    slot.set(None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_ceiling() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(30));
        for _ in 0..100 {
            let first = backoff(1, min, max);
            assert!(first >= min / 2 && first <= min, "{first:?}");
            let third = backoff(3, min, max);
            assert!(third >= min * 2 && third <= min * 4, "{third:?}");
            let late = backoff(40, min, max);
            assert!(late >= max / 2 && late <= max, "{late:?}");
        }
    }
}
