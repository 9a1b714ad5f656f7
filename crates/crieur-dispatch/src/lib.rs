//! Durable fan-out of a released alert: the plan is stored with the release;
//! this loop claims queued deliveries in batches, hands each to its channel and
//! records the outcomes in batches.
//!
//! Nothing here may drop or silently duplicate a message: a delivery is claimed
//! (durably) before it leaves, so after a crash the only uncertain ones are those
//! claimed and not yet recorded. They are sent again and counted as possibly
//! duplicated. Provider rate limits, retries, failover and receipts come with the
//! SMPP and SMTP connectors.

use crieur_channels::{Outbound, Outbox};
use crieur_store::{ClaimedDelivery, DeliveryOutcome, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Deliveries claimed at once: the most that may be sent twice after a crash.
pub const CLAIM_BATCH: u32 = 256;
/// How long the loop sleeps when nothing is queued and nobody wakes it.
const IDLE: Duration = Duration::from_secs(2);

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The message a claimed delivery becomes.
pub fn message(d: &ClaimedDelivery) -> Option<Outbound> {
    Some(match d.channel.as_str() {
        "sms" => Outbound::Sms {
            to: d.address.clone(),
            text: d.body.clone(),
        },
        "voice" => Outbound::Voice {
            to: d.address.clone(),
            language: d.language.clone(),
            script: d.body.clone(),
        },
        "email" => Outbound::Email {
            to: d.address.clone(),
            subject: d.subject.clone(),
            body: d.body.clone(),
        },
        _ => return None,
    })
}

/// Sends what is queued until `stop` is notified; `wake` starts a round at once
/// (a release just stored its plan).
pub async fn run(
    store: Store,
    outbox: Arc<dyn Outbox>,
    wake: Arc<Notify>,
    stop: Arc<Notify>,
) -> Result<(), StoreError> {
    let recovered = store.deliveries().recover_deliveries().await?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "deliveries claimed before a stop are sent again, counted as possibly duplicated"
        );
    }
    loop {
        let pause = match round(&store, outbox.as_ref()).await {
            Ok(0) => IDLE,
            Ok(_) => Duration::ZERO,
            Err(e) => {
                // A storage hiccup must not end sending for the life of the
                // process: wait a little and try again.
                tracing::error!(error = %e, "a dispatch round failed; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            biased;
            () = stop.notified() => return Ok(()),
            () = wake.notified(), if !pause.is_zero() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// One batch: claim, send, record. Returns how many were claimed.
pub async fn round(store: &Store, outbox: &dyn Outbox) -> Result<usize, StoreError> {
    let claimed = store
        .deliveries()
        .claim_deliveries(CLAIM_BATCH, unix_now())
        .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut outcomes = Vec::with_capacity(claimed.len());
    for d in &claimed {
        let error = match message(d) {
            Some(m) => outbox.send(m).await.err().map(|e| e.to_string()),
            None => Some(format!("unknown channel {}", d.channel)),
        };
        if let Some(e) = &error {
            tracing::warn!(delivery = d.id, channel = %d.channel, error = %e, "a delivery failed");
        }
        outcomes.push(DeliveryOutcome { id: d.id, error });
    }
    store
        .deliveries()
        .record_deliveries(outcomes, unix_now())
        .await?;
    Ok(claimed.len())
}
