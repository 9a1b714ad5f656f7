//! A worker's side of the queue: takes one batch at a time for a lane, learns
//! from the store what of it is left to send, keeps the message alive with
//! in-progress acknowledgements while it is sent, and acknowledges it once
//! every outcome is recorded. It never acknowledges a batch with an outcome
//! still unwritten, so a worker that dies leaves its batches to be delivered
//! again, where the store tells what was already done.

use super::{QueueSettings, consumer, stream, unix_now};
use crate::stopping::Stopping;
use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use crieur_store::{ClaimedDelivery, Store, StoreError};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The batches a worker has taken and not yet acknowledged.
#[derive(Default)]
struct Open {
    batches: HashMap<i64, (jetstream::Message, usize)>,
    of_delivery: HashMap<i64, i64>,
}

pub(crate) struct Intake {
    store: Store,
    settings: QueueSettings,
    /// Stored with each take, for operators.
    worker: String,
    js: jetstream::Context,
    consumers: tokio::sync::Mutex<HashMap<&'static str, PullConsumer>>,
    open: Mutex<Open>,
    /// Acknowledgements under way, awaited at stop.
    finishing: Arc<std::sync::atomic::AtomicUsize>,
    /// Consecutive queue failures, for the back-off and to log an outage once.
    failures: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Intake({})", self.worker)
    }
}

impl Intake {
    pub(crate) fn new(
        store: Store,
        settings: QueueSettings,
        worker: String,
        client: async_nats::Client,
    ) -> Intake {
        Intake {
            store,
            settings,
            worker,
            js: jetstream::new(client),
            consumers: tokio::sync::Mutex::default(),
            open: Mutex::default(),
            finishing: Arc::default(),
            failures: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Takes the next batch of `channel` (waiting up to a second for one):
    /// what is left of it to send. Empty when there is none, or the queue is
    /// unreachable (after a pause, logged once per outage).
    pub(crate) async fn take(
        &self,
        channel: &'static str,
        stopping: &Stopping,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let msg = match self.next(channel).await {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(Vec::new()),
            Err(e) => {
                let n = self
                    .failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n == 0 {
                    tracing::error!(channel, error = %e, "the work queue is unreachable; retrying");
                }
                let pause = Duration::from_millis(100u64 << n.min(4));
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stopping.stopped() => {}
                }
                return Ok(Vec::new());
            }
        };
        if self.failures.swap(0, std::sync::atomic::Ordering::Relaxed) > 0 {
            tracing::info!(channel, "the work queue is back");
        }
        let Some(batch) = std::str::from_utf8(&msg.payload)
            .ok()
            .and_then(|p| p.trim().parse::<i64>().ok())
        else {
            tracing::error!(channel, subject = %msg.subject, "a queued message names no batch; dropped");
            let _ = msg.ack_with(AckKind::Term).await;
            return Ok(Vec::new());
        };
        let (seq, delivered) = match msg.info() {
            Ok(i) => (i.stream_sequence, i.delivered),
            Err(_) => (0, 0),
        };
        let mut tries = 0u32;
        let taken = loop {
            match self
                .store
                .batches()
                .take_batch(batch, &self.worker, seq, unix_now())
                .await
            {
                Ok(t) => break t,
                Err(StoreError::NotFound) => {
                    tracing::error!(batch, "a queued batch is unknown to the store; dropped");
                    let _ = msg.ack_with(AckKind::Term).await;
                    return Ok(Vec::new());
                }
                Err(e) => {
                    // Kept in hand (reported in progress) rather than given
                    // back: each redelivery counts towards max_deliver, and a
                    // database outage must not use them up.
                    if tries == 0 {
                        tracing::error!(batch, error = %e, "taking a batch failed; retrying");
                    }
                    tries += 1;
                    let _ = msg.ack_with(AckKind::Progress).await;
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(200u64 << tries.min(4))) => {}
                        () = stopping.stopped() => return Err(e),
                    }
                }
            }
        };
        if taken.takes > 1 {
            tracing::warn!(
                batch,
                takes = taken.takes,
                delivered,
                left = taken.deliveries.len(),
                "a batch delivered again: what it has left is sent, flagged as possibly duplicated"
            );
        }
        if taken.deliveries.is_empty() {
            // Everything was recorded before: only the acknowledgement was lost.
            self.finish(batch, msg);
            return Ok(Vec::new());
        }
        let mut open = self.open.lock().expect("never poisoned");
        for d in &taken.deliveries {
            open.of_delivery.insert(d.id, batch);
        }
        open.batches.insert(batch, (msg, taken.deliveries.len()));
        Ok(taken.deliveries)
    }

    async fn next(&self, channel: &'static str) -> Result<Option<jetstream::Message>, String> {
        let consumer = {
            let mut consumers = self.consumers.lock().await;
            if let Some(c) = consumers.get(channel) {
                c.clone()
            } else {
                let s = stream(&self.js, &self.settings)
                    .await
                    .map_err(|e| format!("the stream {}: {e}", self.settings.stream))?;
                let c = consumer(&s, &self.settings, channel)
                    .await
                    .map_err(|e| format!("the consumer of {channel}: {e}"))?;
                consumers.insert(channel, c.clone());
                c
            }
        };
        let mut batch = consumer
            .fetch()
            .max_messages(1)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .map_err(|e| format!("fetching from {channel}: {e}"))?;
        match batch.next().await {
            None => Ok(None),
            Some(Ok(m)) => Ok(Some(m)),
            Some(Err(e)) => Err(format!("fetching from {channel}: {e}")),
        }
    }

    /// Outcomes just written: batches with nothing left are acknowledged.
    fn recorded(&self, ids: &[i64]) {
        let mut done = Vec::new();
        {
            let mut open = self.open.lock().expect("never poisoned");
            for id in ids {
                let Some(batch) = open.of_delivery.remove(id) else {
                    continue;
                };
                if let Some((_, left)) = open.batches.get_mut(&batch) {
                    *left -= 1;
                    if *left == 0 {
                        let (msg, _) = open.batches.remove(&batch).expect("just seen");
                        done.push((batch, msg));
                    }
                }
            }
        }
        for (batch, msg) in done {
            self.finish(batch, msg);
        }
    }

    /// Closes the batch in the store and acknowledges its message. A lost
    /// acknowledgement costs a redelivery that finds nothing left to send.
    fn finish(&self, batch: i64, msg: jetstream::Message) {
        let store = self.store.clone();
        let finishing = self.finishing.clone();
        finishing.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            if let Err(e) = store.batches().close_batch(batch, unix_now()).await {
                tracing::warn!(batch, error = %e, "closing a finished batch failed");
            }
            if let Err(e) = msg.double_ack().await {
                tracing::warn!(batch, error = %e, "acknowledging a finished batch failed; it will come again with nothing left");
            }
            finishing.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }

    /// Tells the queue the open batches are still being worked on.
    async fn progress(&self) {
        let msgs: Vec<jetstream::Message> = self
            .open
            .lock()
            .expect("never poisoned")
            .batches
            .values()
            .map(|(m, _)| m.clone())
            .collect();
        for m in msgs {
            let _ = m.ack_with(AckKind::Progress).await;
        }
    }
}

/// Acknowledges batches as their outcomes are written, and keeps the open
/// ones alive, until the flusher has written its last outcomes.
pub(crate) async fn track(intake: Arc<Intake>, mut recorded: mpsc::UnboundedReceiver<Vec<i64>>) {
    let every = (intake.settings.ack_wait / 3).max(Duration::from_millis(200));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ids = recorded.recv() => match ids {
                Some(ids) => intake.recorded(&ids),
                None => break,
            },
            _ = tick.tick() => intake.progress().await,
        }
    }
    let waiting = std::time::Instant::now();
    while intake.finishing.load(std::sync::atomic::Ordering::SeqCst) > 0
        && waiting.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = intake.open.lock().expect("never poisoned").batches.len();
    if left > 0 {
        tracing::warn!(
            batches = left,
            "batches not finished at stop are left to the queue's redelivery"
        );
    }
}
