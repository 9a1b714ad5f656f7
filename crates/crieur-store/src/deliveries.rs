//! The delivery plan of released alerts and each message's outcome. Rows are
//! claimed before they are handed to a channel, so after a crash the only
//! uncertain ones are those claimed and not yet recorded: they are sent again
//! and counted as possibly duplicated.

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

/// A delivery claimed for sending, with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub alert_id: i64,
    pub channel: String,
    pub language: String,
    pub address: String,
    pub subject: String,
    pub body: String,
}

/// What became of a claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub id: i64,
    /// `None` when sent; the reason otherwise.
    pub error: Option<String>,
}

/// One line of an alert's delivery report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLine {
    pub channel: String,
    pub language: String,
    pub address: String,
    /// queued, sending, sent or failed.
    pub state: &'static str,
    pub attempts: u32,
    pub possible_duplicate: bool,
    pub error: Option<String>,
}

/// Counts for one alert and channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub channel: String,
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    pub possible_duplicates: u64,
}

#[async_trait::async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Claims up to `limit` queued deliveries, oldest first.
    async fn claim_deliveries(
        &self,
        limit: u32,
        now: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records outcomes, all in one write.
    async fn record_deliveries(
        &self,
        outcomes: Vec<DeliveryOutcome>,
        now: i64,
    ) -> Result<(), StoreError>;
    /// At start-up: deliveries claimed by a process that stopped go back to the
    /// queue, marked as possibly duplicated. Returns how many.
    async fn recover_deliveries(&self) -> Result<u64, StoreError>;
    async fn delivery_counts(&self, alert_id: i64) -> Result<Vec<DeliveryCounts>, StoreError>;
    /// Every delivery of an alert, in plan order.
    async fn delivery_report(&self, alert_id: i64) -> Result<Vec<DeliveryLine>, StoreError>;
}
