//! Durable fan-out: released alerts' deliveries and single messages
//! (verification codes) are claimed in batches from the store, handed to the
//! providers of their channel, and their outcomes and receipts recorded in
//! batches.
//!
//! Nothing here may drop or silently duplicate a message: a delivery is claimed
//! (durably) before it leaves, so after a crash the only uncertain ones are
//! those claimed and not yet recorded. They are sent again and counted as
//! possibly duplicated. Each channel has its own lane: a provider's trouble
//! (throttling, a lost connection) slows or moves only that lane.

mod flusher;
mod lane;
mod message;
mod pace;
pub mod queue;
mod stopping;

pub use message::{html_of, message};

use crieur_channels::{Provider, Receipt, ReceiptSink};
use crieur_store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

/// The channels the engine knows; a channel with no provider fails its
/// deliveries with a clear reason instead of keeping them queued forever.
pub const CHANNELS: [&str; 4] = ["sms", "voice", "email", "operator"];

/// How the engine retries and batches.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Attempts before a temporary failure becomes final.
    pub max_attempts: u32,
    /// The first retry waits about this long, each next one twice as long.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Outcomes are written together at most this long after the first.
    pub flush_interval: Duration,
    /// … or as soon as this many are waiting.
    pub flush_max: usize,
    /// The most deliveries one claim takes for one channel.
    pub claim_max: u32,
    /// The most deliveries claimed and not yet recorded, all channels
    /// together: what a crash may leave uncertain (sent again, flagged as
    /// possibly duplicated). Claims wait while the recording falls behind.
    pub unrecorded_max: u32,
    /// How long a lane sleeps when nothing is due and nobody wakes it.
    pub idle: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_attempts: 8,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            flush_interval: Duration::from_millis(10),
            flush_max: 2_000,
            claim_max: 1_024,
            unrecorded_max: 4_096,
            idle: Duration::from_secs(1),
        }
    }
}

/// Receipts from providers, for the engine; created with [`receipts`].
#[derive(Debug)]
pub struct ReceiptQueue(mpsc::Receiver<(Receipt, oneshot::Sender<bool>)>);

/// A sink to give providers that report receipts, and the queue the engine
/// reads them from.
pub fn receipts() -> (ReceiptSink, ReceiptQueue) {
    let (tx, rx) = mpsc::channel(8_192);
    (tx, ReceiptQueue(rx))
}

/// The dispatch engine, ready to run.
#[derive(Debug)]
pub struct Dispatcher {
    pub store: Store,
    /// In order of preference per channel: the first ready one sends, the
    /// next ones take over while it cannot.
    pub providers: Vec<Arc<dyn Provider>>,
    pub receipts: ReceiptQueue,
    pub settings: Settings,
    /// Notified when new deliveries are stored (a release, a code).
    pub wake: Arc<Notify>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Dispatcher {
    /// Sends until `stop` is notified, then lets what is in flight finish
    /// (up to a few seconds) and records it.
    pub async fn run(self, stop: Arc<Notify>) -> Result<(), StoreError> {
        let recovered = self.store.deliveries().recover_deliveries().await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "deliveries claimed before a stop are sent again, counted as possibly duplicated"
            );
        }
        run_lanes(self, lane::Source::Store, None, stop).await;
        Ok(())
    }

    /// Runs as a `crieur worker`: the lanes take batches from the work queue
    /// instead of claiming from the store, and each batch is acknowledged
    /// once its outcomes are recorded. Nothing is recovered at start-up: the
    /// queue delivers again what a stopped worker left.
    pub async fn run_worker(
        self,
        queue: queue::QueueSettings,
        worker: String,
        stop: Arc<Notify>,
    ) -> Result<(), StoreError> {
        let client = queue::connect(&queue.url, &worker)
            .await
            .map_err(StoreError::Unsupported)?;
        let intake = Arc::new(queue::Intake::new(
            self.store.clone(),
            queue,
            worker,
            client,
        ));
        let (recorded, written) = mpsc::unbounded_channel();
        let tracker = tokio::spawn(queue::track(intake.clone(), written));
        run_lanes(self, lane::Source::Queue(intake), Some(recorded), stop).await;
        let _ = tracker.await;
        Ok(())
    }
}

/// The lanes and the flusher, until `stop`; then what is in flight finishes
/// (up to a few seconds) and is recorded.
async fn run_lanes(
    dispatcher: Dispatcher,
    source: lane::Source,
    recorded: Option<mpsc::UnboundedSender<Vec<i64>>>,
    stop: Arc<Notify>,
) {
    let Dispatcher {
        store,
        providers,
        receipts,
        settings,
        wake,
    } = dispatcher;
    let (records, queue) = mpsc::unbounded_channel();
    let unrecorded = Arc::new(tokio::sync::Semaphore::new(
        settings.unrecorded_max.max(settings.claim_max) as usize,
    ));
    let flusher = tokio::spawn(flusher::run(
        store.clone(),
        queue,
        receipts.0,
        unrecorded.clone(),
        settings.clone(),
        recorded,
    ));
    let stopping = Arc::new(stopping::Stopping::default());
    let mut lanes = Vec::new();
    for channel in CHANNELS {
        let serving: Vec<_> = providers
            .iter()
            .filter(|p| p.channels().contains(&channel))
            .cloned()
            .collect();
        lanes.push(tokio::spawn(lane::run(lane::Lane {
            channel,
            store: store.clone(),
            providers: serving,
            records: records.clone(),
            unrecorded: unrecorded.clone(),
            settings: settings.clone(),
            wake: wake.clone(),
            stopping: stopping.clone(),
            source: source.clone(),
        })));
    }
    drop(records);
    stop.notified().await;
    stopping.stop();
    for l in lanes {
        let _ = l.await;
    }
    // Every lane has ended and dropped its record sender: the flusher
    // writes what is left and ends.
    let _ = flusher.await;
}
