//! The server's side in queue mode: claims due deliveries in batches, publishes
//! them, re-publishes those the queue never confirmed, and dead-letters batches
//! taken too often. It never sends, and never puts back claims that workers
//! may hold: only the queue's redelivery and the dead-letter sweep do.

use super::{QueueSettings, connect, consumer, message_id, stream, unix_now};
use crate::CHANNELS;
use async_nats::jetstream::{self, consumer::PullConsumer, message::PublishMessage};
use crieur_store::{ClaimedBatch, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Claims and publishes batches until stopped.
#[derive(Debug)]
pub struct Coordinator {
    pub store: Store,
    pub settings: QueueSettings,
    /// Notified when new deliveries are stored (a release, a code).
    pub wake: Arc<Notify>,
    /// How long to sleep when nothing is due and nobody wakes it.
    pub idle: Duration,
}

/// The queue as reached: its stream, each channel's consumer, and the
/// server's word when a message has had its last delivery.
struct Reached {
    js: jetstream::Context,
    stream: jetstream::stream::Stream,
    consumers: HashMap<&'static str, PullConsumer>,
    last_deliveries: async_nats::Subscriber,
}

/// Why a round stopped early.
enum Trouble {
    Queue(String),
    Store(StoreError),
}

impl Coordinator {
    pub async fn run(self, stop: Arc<Notify>) -> Result<(), StoreError> {
        let recovered = self.store.batches().recover_unbatched_deliveries().await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "deliveries claimed by an embedded engine before a stop are sent again, counted as possibly duplicated"
            );
        }
        let client = connect(&self.settings.url, "crieur-coordinator")
            .await
            .map_err(StoreError::Unsupported)?;
        let mut reached: Option<Reached> = None;
        let mut failures = 0u32;
        let mut last_sweep = Instant::now();
        let stopping = async { stop.notified().await };
        tokio::pin!(stopping);
        loop {
            let round = async {
                if reached.is_none() {
                    reached = Some(self.reach(&client).await.map_err(Trouble::Queue)?);
                    // Batches claimed before a stop or an outage and never
                    // confirmed stored: the same ids, so any that did reach
                    // the stream are dropped as duplicates.
                    let pending = self
                        .store
                        .batches()
                        .unpublished_batches()
                        .await
                        .map_err(Trouble::Store)?;
                    if !pending.is_empty() {
                        tracing::info!(count = pending.len(), "publishing batches again");
                    }
                    for b in pending {
                        self.publish(reached.as_ref().expect("just set"), &b)
                            .await?;
                    }
                }
                let q = reached.as_mut().expect("reached above");
                if last_sweep.elapsed() >= Duration::from_secs(2) {
                    last_sweep = Instant::now();
                    self.sweep(q).await.map_err(Trouble::Store)?;
                }
                self.claim_and_publish(q).await
            };
            let outcome = tokio::select! {
                r = round => r,
                () = &mut stopping => return Ok(()),
            };
            let pause = match outcome {
                Ok(true) => {
                    failures = 0;
                    continue;
                }
                Ok(false) => {
                    failures = 0;
                    self.idle
                }
                Err(Trouble::Queue(e)) => {
                    if failures == 0 {
                        tracing::error!(error = %e, "the work queue is unreachable: dispatch paused, claims kept, retrying");
                    }
                    failures += 1;
                    reached = None;
                    backoff(failures)
                }
                Err(Trouble::Store(e)) => {
                    tracing::error!(error = %e, "storage failed while coordinating dispatch; retrying");
                    failures += 1;
                    backoff(failures)
                }
            };
            tokio::select! {
                () = &mut stopping => return Ok(()),
                () = self.wake.notified(), if failures == 0 => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    async fn reach(&self, client: &async_nats::Client) -> Result<Reached, String> {
        let js = jetstream::new(client.clone());
        let stream = stream(&js, &self.settings)
            .await
            .map_err(|e| format!("the stream {}: {e}", self.settings.stream))?;
        let mut consumers = HashMap::new();
        for channel in CHANNELS {
            let c = consumer(&stream, &self.settings, channel)
                .await
                .map_err(|e| format!("the consumer of {channel}: {e}"))?;
            consumers.insert(channel, c);
        }
        if self.settings.outstanding == 0 {
            return Err("[queue] outstanding must be at least 1".into());
        }
        let last_deliveries = client
            .subscribe(format!(
                "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.*",
                self.settings.stream
            ))
            .await
            .map_err(|e| format!("subscribing to the queue's advisories: {e}"))?;
        tracing::info!(stream = %self.settings.stream, "work queue reached");
        Ok(Reached {
            js,
            stream,
            consumers,
            last_deliveries,
        })
    }

    /// One round over the channels; true when anything was published.
    async fn claim_and_publish(&self, q: &Reached) -> Result<bool, Trouble> {
        let mut published = false;
        for channel in CHANNELS {
            let info = q.consumers[channel]
                .get_info()
                .await
                .map_err(|e| Trouble::Queue(format!("the consumer of {channel}: {e}")))?;
            let waiting = info.num_pending + info.num_ack_pending as u64;
            let room = u64::from(self.settings.outstanding).saturating_sub(waiting);
            for _ in 0..room {
                let Some(batch) = self
                    .store
                    .batches()
                    .claim_batch(channel, self.settings.batch, unix_now())
                    .await
                    .map_err(Trouble::Store)?
                else {
                    break;
                };
                self.publish(q, &batch).await?;
                published = true;
            }
        }
        Ok(published)
    }

    /// Publishes a batch and, once the server has stored it, says so in the
    /// store. A failure leaves the batch claimed and unpublished.
    async fn publish(&self, q: &Reached, b: &ClaimedBatch) -> Result<(), Trouble> {
        let subject = self.settings.subject_of(&b.channel);
        let ack =
            q.js.send_publish(
                subject,
                PublishMessage::build()
                    .payload(b.id.to_string().into())
                    .message_id(message_id(b.id)),
            )
            .await
            .map_err(|e| Trouble::Queue(format!("publishing batch {}: {e}", b.id)))?
            .await
            .map_err(|e| Trouble::Queue(format!("publishing batch {}: {e}", b.id)))?;
        tracing::trace!(
            batch = b.id,
            size = b.size,
            duplicate = ack.duplicate,
            "batch published"
        );
        self.store
            .batches()
            .batch_published(b.id, unix_now())
            .await
            .map_err(Trouble::Store)
    }

    /// Dead-letters open batches the queue delivered `max_deliver` times
    /// without them finishing: their deliveries without an outcome fail
    /// (possibly sent), visible in the report and the dead-letter list.
    async fn sweep(&self, q: &mut Reached) -> Result<(), StoreError> {
        self.last_deliveries(q).await?;
        let before = unix_now() - 2 * self.settings.ack_wait.as_secs().max(1) as i64;
        let stale = self
            .store
            .batches()
            .stale_batches(self.settings.max_deliver, before)
            .await?;
        for b in stale {
            let reason = format!(
                "batch {} delivered {} times without finishing (queue max_deliver {})",
                b.id, b.takes, self.settings.max_deliver
            );
            let failed = self
                .store
                .batches()
                .dead_letter_batch(b.id, &reason, unix_now())
                .await?;
            if failed > 0 {
                tracing::error!(batch = b.id, channel = %b.channel, failed, "{reason}: dead-lettered");
            }
            if let Some(seq) = b.stream_seq {
                // The message stays in a work-queue stream after its last
                // delivery; the store has the record now.
                if let Err(e) = q.stream.delete_message(seq).await {
                    tracing::debug!(batch = b.id, seq, error = %e, "dead-lettered message not deleted from the stream");
                }
            }
        }
        Ok(())
    }
}

impl Coordinator {
    /// Messages the server will not deliver again (max_deliver reached),
    /// whatever the store counted: a worker may have died before it could
    /// take the batch. Advisories are not stored: one missed while this
    /// coordinator was down is left to the store's sweep.
    async fn last_deliveries(&self, q: &mut Reached) -> Result<(), StoreError> {
        use futures_util::{FutureExt, StreamExt};
        while let Some(Some(advisory)) = q.last_deliveries.next().now_or_never() {
            let Some(seq) = serde_json::from_slice::<serde_json::Value>(&advisory.payload)
                .ok()
                .and_then(|v| v["stream_seq"].as_u64())
            else {
                continue;
            };
            let message = match q.stream.get_raw_message(seq).await {
                Ok(m) => m,
                Err(e) => {
                    // Already deleted by the sweep, or the queue is away:
                    // the sweep still has the store's count.
                    tracing::debug!(seq, error = %e, "a message at its last delivery is gone");
                    continue;
                }
            };
            let Some(batch) = std::str::from_utf8(&message.payload)
                .ok()
                .and_then(|p| p.trim().parse::<i64>().ok())
            else {
                continue;
            };
            let reason = format!(
                "batch {batch} reached the queue's max_deliver ({}) without finishing",
                self.settings.max_deliver
            );
            let failed = self
                .store
                .batches()
                .dead_letter_batch(batch, &reason, unix_now())
                .await?;
            if failed > 0 {
                tracing::error!(batch, failed, "{reason}: dead-lettered");
            }
            if let Err(e) = q.stream.delete_message(seq).await {
                tracing::debug!(batch, seq, error = %e, "dead-lettered message not deleted from the stream");
            }
        }
        Ok(())
    }
}

/// 100 ms doubling to 5 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100u64 << failures.min(6)).min(Duration::from_secs(5))
}
