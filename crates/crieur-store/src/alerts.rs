//! Incidents and the alerts that belong to them, with the workflow states an
//! alert moves through. Every transition is conditional on the state it leaves,
//! so two people acting at once cannot both succeed.

use crate::StoreError;
use crieur_domain::NisCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub territory: NisCode,
    pub opened_by: i64,
    pub opened_at: String,
    pub closed_at: Option<String>,
}

/// Where an alert stands in Crieur's workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Draft,
    Pending,
    Released,
    Rejected,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Draft => "draft",
            AlertState::Pending => "pending",
            AlertState::Released => "released",
            AlertState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<AlertState> {
        Some(match s {
            "draft" => AlertState::Draft,
            "pending" => AlertState::Pending,
            "released" => AlertState::Released,
            "rejected" => AlertState::Rejected,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub incident_id: i64,
    pub identifier: String,
    pub territory: NisCode,
    /// CAP status: Actual, Exercise or Test.
    pub status: String,
    /// CAP msgType: Alert, Update or Cancel.
    pub msg_type: String,
    pub references_id: Option<i64>,
    /// Sent only to the test group (an Exercise or Test).
    pub test_group: bool,
    pub composition: String,
    pub area: String,
    pub fingerprint: String,
    pub author_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub id: i64,
    pub incident_id: i64,
    pub identifier: String,
    pub territory: NisCode,
    pub status: String,
    pub msg_type: String,
    pub references_id: Option<i64>,
    pub test_group: bool,
    pub state: AlertState,
    pub composition: String,
    pub area: String,
    pub fingerprint: String,
    pub author_id: i64,
    pub created_at: String,
    pub submitted_at: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<String>,
    pub decision_comment: Option<String>,
    pub released_by: Option<i64>,
    /// Unix seconds.
    pub released_at: Option<i64>,
    pub sent: Option<String>,
    pub recipients: Option<String>,
}

/// What a release records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The content released: the release fails if the alert changed since.
    pub fingerprint: String,
    /// The state the alert leaves: draft, or pending when approved.
    pub from: AlertState,
    /// The approver and their comment, when a second person decided.
    pub approver: Option<(i64, String)>,
    pub by: i64,
    /// Unix seconds.
    pub now: i64,
    /// CAP `sent`.
    pub sent: String,
    /// JSON counts per channel and language.
    pub recipients: String,
    /// The texts and the deliveries to store with the release, before anything
    /// is sent.
    pub texts: Vec<crate::PlannedText>,
    pub deliveries: Vec<crate::PlannedDelivery>,
    /// Where the deliveries stand in the queue.
    pub priority: crate::Priority,
}

#[async_trait::async_trait]
pub trait AlertStore: Send + Sync {
    async fn open_incident(
        &self,
        title: &str,
        territory: NisCode,
        by: i64,
    ) -> Result<Incident, StoreError>;
    /// Closes an open incident; `NotFound` when there is no such open incident.
    async fn close_incident(&self, id: i64, by: i64) -> Result<(), StoreError>;
    async fn incident(&self, id: i64) -> Result<Option<Incident>, StoreError>;
    /// Newest first.
    async fn incidents(&self, limit: u32) -> Result<Vec<Incident>, StoreError>;

    async fn create_alert(&self, alert: &NewAlert) -> Result<i64, StoreError>;
    async fn alert(&self, id: i64) -> Result<Option<StoredAlert>, StoreError>;
    async fn alerts_of_incident(&self, incident_id: i64) -> Result<Vec<StoredAlert>, StoreError>;
    /// Released alerts, newest first.
    async fn released_alerts(&self, limit: u32) -> Result<Vec<StoredAlert>, StoreError>;
    /// Alerts that reference `id` (its updates and cancellations).
    async fn successors(&self, id: i64) -> Result<Vec<StoredAlert>, StoreError>;
    /// Replaces a draft's or a rejected alert's content; it becomes a draft again.
    async fn edit_alert(
        &self,
        id: i64,
        composition: &str,
        area: &str,
        fingerprint: &str,
        status: &str,
        test_group: bool,
    ) -> Result<(), StoreError>;
    /// draft → pending.
    async fn submit_alert(&self, id: i64) -> Result<(), StoreError>;
    /// pending → rejected, with the reviewer's comment.
    async fn reject_alert(&self, id: i64, by: i64, comment: &str) -> Result<(), StoreError>;
    /// `from` → released: records the approver (when approval was needed), the
    /// releasing account, CAP `sent` and the recipient counts.
    async fn release_alert(&self, id: i64, release: &Release) -> Result<(), StoreError>;
    /// Releases by `account` since `since` (unix seconds), for the safety limiter.
    async fn releases_since(&self, account: i64, since: i64) -> Result<u32, StoreError>;
    /// The latest release of the same texts and area since `since`.
    async fn released_with_fingerprint(
        &self,
        fingerprint: &str,
        since: i64,
    ) -> Result<Option<i64>, StoreError>;
}
