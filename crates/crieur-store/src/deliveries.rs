//! The delivery plan of released alerts, single messages (verification codes),
//! and each message's outcome. Rows are claimed before they are handed to a
//! provider, so after a crash the only uncertain ones are those claimed and not
//! yet recorded: they are sent again and counted as possibly duplicated.

use crate::StoreError;

/// A text every delivery of one alert, channel and language shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedText {
    pub channel: String,
    pub language: String,
    pub subject: String,
    pub body: String,
}

/// One message to one address on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelivery {
    pub channel: String,
    pub language: String,
    pub address: String,
}

/// Which deliveries go first when there is more to send than providers take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Verification and access codes: a citizen is waiting for them.
    Code = 0,
    /// Alerts with CAP status Actual.
    Actual = 1,
    /// Test and Exercise alerts.
    Practice = 2,
    /// General-interest messages.
    General = 3,
}

/// A single message with its own text (a verification code).
#[derive(Clone, PartialEq, Eq)]
pub struct SingleMessage {
    pub channel: String,
    pub language: String,
    pub address: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for SingleMessage {
    // The body carries a secret code: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SingleMessage({} to {})", self.channel, self.address)
    }
}

/// A delivery claimed for sending, with its text.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: i64,
    /// `None` for a single message.
    pub alert_id: Option<i64>,
    pub priority: i64,
    pub channel: String,
    pub language: String,
    pub address: String,
    pub subject: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

impl std::fmt::Debug for ClaimedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ClaimedDelivery({} {} to {})",
            self.id, self.channel, self.address
        )
    }
}

/// What became of a claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub id: i64,
    /// The provider that took it, or was asked to.
    pub provider: String,
    pub result: OutcomeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeKind {
    /// Accepted by the provider; receipts are awaited for each reference when
    /// `await_receipts`.
    Sent {
        references: Vec<String>,
        await_receipts: bool,
        reach: Option<u64>,
        /// The recipient confirmed (a voice call answered with 1): final.
        confirmed: bool,
    },
    /// To be tried again at `at` (unix seconds). `possibly_sent` when it may
    /// have left already.
    Retry {
        at: i64,
        reason: String,
        possibly_sent: bool,
    },
    /// Failed for good.
    Failed { reason: String, possibly_sent: bool },
    /// The provider could not take it: back to the queue at `at`, the attempt
    /// not counted.
    Requeue { at: i64 },
}

/// A receipt, matched to its delivery by the provider's reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRecord {
    pub provider: String,
    pub reference: String,
    /// `None` when delivered.
    pub failure: Option<String>,
}

/// One line of an alert's delivery report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLine {
    pub channel: String,
    pub language: String,
    pub address: String,
    pub state: &'static str,
    pub attempts: u32,
    pub provider: Option<String>,
    pub reach: Option<u64>,
    pub possible_duplicate: bool,
    pub error: Option<String>,
}

/// The name of a stored delivery state.
pub fn state_name(state: i64) -> Option<&'static str> {
    Some(match state {
        0 => "queued",
        1 => "sending",
        2 => "sent",
        3 => "delivered",
        4 => "failed",
        5 => "retrying",
        6 => "cancelled",
        7 => "confirmed",
        _ => return None,
    })
}

/// Counts for one alert, channel and provider (`None`: not yet given to one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub channel: String,
    pub provider: Option<String>,
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
    pub retrying: u64,
    pub cancelled: u64,
    pub confirmed: u64,
    pub possible_duplicates: u64,
    /// People operators report reaching.
    pub reach: u64,
}

#[async_trait::async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Stores single messages (verification codes) to be sent first.
    async fn enqueue_messages(&self, messages: Vec<SingleMessage>) -> Result<(), StoreError>;
    /// Claims up to `limit` deliveries of `channel` that are due: retries whose
    /// time has come, then queued ones by priority and age.
    async fn claim_deliveries(
        &self,
        channel: &str,
        limit: u32,
        now: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records outcomes and receipts, all in one write. Returns, for each
    /// receipt in order, whether its reference was known (an unknown one may
    /// belong to an outcome not yet recorded).
    async fn record_deliveries(
        &self,
        outcomes: Vec<DeliveryOutcome>,
        receipts: Vec<ReceiptRecord>,
        now: i64,
    ) -> Result<Vec<bool>, StoreError>;
    /// At start-up: deliveries claimed by a process that stopped go back to the
    /// queue, marked as possibly duplicated. Returns how many.
    async fn recover_deliveries(&self) -> Result<u64, StoreError>;
    /// Deliveries not yet in a final state (queued, sending, waiting to retry).
    async fn unfinished_deliveries(&self) -> Result<u64, StoreError>;
    /// The channels that have deliveries due or waiting to retry.
    async fn channels_with_work(&self) -> Result<Vec<String>, StoreError>;
    /// Stops what an alert has not sent yet; returns how many were cancelled.
    async fn cancel_deliveries(&self, alert_id: i64, now: i64) -> Result<u64, StoreError>;
    /// Puts an alert's failed deliveries back in the queue; returns how many.
    async fn retry_failed(&self, alert_id: i64, now: i64) -> Result<u64, StoreError>;
    async fn delivery_counts(&self, alert_id: i64) -> Result<Vec<DeliveryCounts>, StoreError>;
    /// Every delivery of an alert, in plan order.
    async fn delivery_report(&self, alert_id: i64) -> Result<Vec<DeliveryLine>, StoreError>;
}
