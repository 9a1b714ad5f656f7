//! Writes outcomes and receipts in batches: one store write per few
//! milliseconds instead of one per message. A receipt is acknowledged to its
//! provider only once written; one whose reference is not known yet (its
//! outcome may still be on the way) waits for the next writes, and is refused
//! after a minute so the provider delivers it again later.

use crate::{Settings, unix_now};
use crieur_channels::Receipt;
use crieur_store::{DeliveryOutcome, ReceiptRecord, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;

/// How long a receipt for an unknown reference is kept waiting.
const RECEIPT_PATIENCE: Duration = Duration::from_secs(60);

struct Pending {
    record: ReceiptRecord,
    answer: oneshot::Sender<bool>,
    since: Instant,
}

pub(crate) async fn run(
    store: Store,
    mut records: mpsc::UnboundedReceiver<DeliveryOutcome>,
    mut receipts: mpsc::Receiver<(Receipt, oneshot::Sender<bool>)>,
    unrecorded: Arc<Semaphore>,
    settings: Settings,
    recorded: Option<mpsc::UnboundedSender<Vec<i64>>>,
) {
    let mut outcomes: Vec<DeliveryOutcome> = Vec::new();
    let mut fresh: Vec<Pending> = Vec::new();
    let mut waiting: Vec<Pending> = Vec::new();
    let (mut open, mut receipts_open) = (true, true);
    let pending = |r: Receipt, answer| Pending {
        record: ReceiptRecord {
            provider: r.provider,
            reference: r.reference,
            failure: r.failure,
        },
        answer,
        since: Instant::now(),
    };
    loop {
        if outcomes.is_empty() && fresh.is_empty() {
            if !open {
                break;
            }
            tokio::select! {
                o = records.recv() => match o {
                    Some(o) => outcomes.push(o),
                    None => open = false,
                },
                r = receipts.recv(), if receipts_open => match r {
                    Some((r, answer)) => fresh.push(pending(r, answer)),
                    None => receipts_open = false,
                },
                () = tokio::time::sleep(Duration::from_millis(250)), if !waiting.is_empty() => {}
            }
            // Gather what arrives within the flush interval.
            let deadline = Instant::now() + settings.flush_interval;
            while open && outcomes.len() + fresh.len() < settings.flush_max {
                tokio::select! {
                    biased;
                    o = records.recv() => match o {
                        Some(o) => outcomes.push(o),
                        None => open = false,
                    },
                    r = receipts.recv(), if receipts_open => match r {
                        Some((r, answer)) => fresh.push(pending(r, answer)),
                        None => receipts_open = false,
                    },
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
            if outcomes.is_empty() && fresh.is_empty() && waiting.is_empty() {
                continue;
            }
        }
        fresh.append(&mut waiting);
        let receipt_records = fresh.iter().map(|p| p.record.clone()).collect();
        let writing = Instant::now();
        let count = outcomes.len();
        let result = store
            .deliveries()
            .record_deliveries(outcomes.clone(), receipt_records, unix_now())
            .await;
        tracing::trace!(
            count,
            took_us = writing.elapsed().as_micros() as u64,
            "outcomes recorded"
        );
        match result {
            Ok(known) => {
                // Recorded: the lanes may claim as many again.
                unrecorded.add_permits(outcomes.len());
                if let Some(recorded) = &recorded {
                    // A worker acknowledges a batch once all of it is here.
                    let _ = recorded.send(outcomes.iter().map(|o| o.id).collect());
                }
                outcomes.clear();
                for (p, known) in fresh.drain(..).zip(known) {
                    if known {
                        let _ = p.answer.send(true);
                    } else if p.since.elapsed() > RECEIPT_PATIENCE {
                        tracing::warn!(
                            provider = %p.record.provider,
                            reference = %p.record.reference,
                            "a receipt names a message we do not know; refused"
                        );
                        let _ = p.answer.send(false);
                    } else {
                        waiting.push(p);
                    }
                }
            }
            Err(e) => {
                // Nothing is lost: the outcomes stay here and are written
                // again; the rows stay claimed meanwhile.
                tracing::error!(error = %e, count = outcomes.len(), "recording outcomes failed; retrying");
                waiting.append(&mut fresh);
                tokio::time::sleep(Duration::from_secs(1)).await;
                if outcomes.is_empty() {
                    continue;
                }
            }
        }
    }
    for p in waiting {
        let _ = p.answer.send(false);
    }
}
