//! Batches of claimed deliveries handed to `crieur worker` processes through a
//! work queue. The store stays the source of truth: a batch only names rows
//! already claimed here, and a worker learns from the store, never from the
//! queue, which of them still lack an outcome. Never forget a claimed row:
//! every one ends recorded by a worker, or failed by a dead-letter.

use crate::{ClaimedDelivery, StoreError};

/// A batch just claimed, or one to publish again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedBatch {
    pub id: i64,
    pub channel: String,
    pub size: u32,
}

/// What a worker taking a batch must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenBatch {
    /// Times the batch was taken, this one included: above 1 it is a
    /// redelivery, and `deliveries` are flagged as possibly duplicated.
    pub takes: u32,
    /// The batch's deliveries still without an outcome, with their texts.
    pub deliveries: Vec<ClaimedDelivery>,
}

/// An open batch taken too often, for the dead-letter sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleBatch {
    pub id: i64,
    pub channel: String,
    pub takes: u32,
    pub stream_seq: Option<u64>,
}

/// A batch not closed yet: waiting in the queue or in a worker's hands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBatch {
    pub id: i64,
    pub channel: String,
    pub size: u32,
    pub published: bool,
    pub takes: u32,
    /// The worker that took it last (host-pid).
    pub worker: Option<String>,
    pub taken_at: Option<i64>,
}

/// A batch given up after too many deliveries, kept for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub batch_id: i64,
    pub channel: String,
    /// Deliveries without an outcome, failed as possibly sent.
    pub deliveries: u64,
    pub takes: u32,
    pub worker: Option<String>,
    pub reason: String,
    pub at: i64,
}

#[async_trait::async_trait]
pub trait BatchStore: Send + Sync {
    /// Claims up to `limit` due deliveries of `channel` (as
    /// `claim_deliveries` does) into a new batch; `None` when nothing is due.
    async fn claim_batch(
        &self,
        channel: &str,
        limit: u32,
        now: i64,
    ) -> Result<Option<ClaimedBatch>, StoreError>;
    /// Batches claimed whose message the queue has not confirmed storing.
    async fn unpublished_batches(&self) -> Result<Vec<ClaimedBatch>, StoreError>;
    async fn batch_published(&self, id: i64, now: i64) -> Result<(), StoreError>;
    /// A worker takes a batch: counts the take and returns what is left to
    /// send. On a second take, those are flagged as possibly duplicated before
    /// anything is sent again. `NotFound` for an unknown batch.
    async fn take_batch(
        &self,
        id: i64,
        worker: &str,
        stream_seq: u64,
        now: i64,
    ) -> Result<TakenBatch, StoreError>;
    /// Every delivery of the batch has an outcome.
    async fn close_batch(&self, id: i64, now: i64) -> Result<(), StoreError>;
    /// Open batches taken at least `min_takes` times, last before `before`.
    async fn stale_batches(
        &self,
        min_takes: u32,
        before: i64,
    ) -> Result<Vec<StaleBatch>, StoreError>;
    /// Gives a batch up: its deliveries without an outcome fail (possibly
    /// sent), a dead-letter record is kept, the batch is closed. Returns how
    /// many deliveries failed.
    async fn dead_letter_batch(&self, id: i64, reason: &str, now: i64) -> Result<u64, StoreError>;
    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError>;
    /// Batches not closed yet, the most recently taken first.
    async fn open_batches(&self) -> Result<Vec<OpenBatch>, StoreError>;
    /// At a coordinator's start-up: deliveries claimed by an embedded engine
    /// that stopped (in no batch) go back to the queue, flagged as possibly
    /// duplicated. Batches are left alone: workers may be sending them.
    async fn recover_unbatched_deliveries(&self) -> Result<u64, StoreError>;
}
