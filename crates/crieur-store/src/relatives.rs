//! The relatives line's records: inquiries about people sought, the lists they
//! are matched against, and trained operators' decisions on candidates.
//!
//! The store keeps decisions, never candidates: candidates are computed afresh
//! from the lists by `crieur_domain::matching`. A confirmed match and the
//! callback task it creates are written in one transaction.

use crate::{Callback, NewCallback, StoreError};
use crieur_domain::Language;
use crieur_domain::matching::{ListKind, PartialDate, Sex};
use crieur_domain::relatives::{Involvement, ListPerson, Relationship};

/// The person a caller seeks, as the operator wrote it down.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SoughtPerson {
    pub given_names: String,
    pub family_names: String,
    pub birth: PartialDate,
    pub sex: Option<Sex>,
    pub nationality: Option<String>,
    /// Build, clothes, marks: what helps recognise them.
    pub description: String,
    pub phone: Option<String>,
    pub last_place: Option<String>,
    /// When and where last seen or heard from, as the caller said it.
    pub last_seen: String,
    /// Why the caller thinks they may be involved.
    pub why_involved: String,
}

/// Who asks.
#[derive(Debug, Clone, PartialEq)]
pub struct Enquirer {
    pub name: String,
    pub relationship: Relationship,
    /// E.164, the first one preferred.
    pub callback_numbers: Vec<String>,
    pub language: Language,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewInquiry {
    pub incident_id: i64,
    /// The call it was taken on, when taken at the desk.
    pub hotline_id: Option<i64>,
    pub call_id: Option<String>,
    pub sought: SoughtPerson,
    pub caller: Enquirer,
    pub involvement: Involvement,
    pub notes: String,
    /// Another inquiry of the same incident about the same person.
    pub same_person_as: Option<i64>,
    pub by: i64,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InquiryState {
    Open,
    /// A candidate was confirmed.
    Matched,
    Closed,
}

impl InquiryState {
    pub fn as_str(self) -> &'static str {
        match self {
            InquiryState::Open => "open",
            InquiryState::Matched => "matched",
            InquiryState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<InquiryState> {
        [
            InquiryState::Open,
            InquiryState::Matched,
            InquiryState::Closed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inquiry {
    pub id: i64,
    pub incident_id: i64,
    /// Shared by every inquiry about the same person.
    pub person: i64,
    pub hotline_id: Option<i64>,
    pub call_id: Option<String>,
    pub sought: SoughtPerson,
    pub caller: Enquirer,
    pub involvement: Involvement,
    pub notes: String,
    pub state: InquiryState,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How a list came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrigin {
    Csv,
    Json,
    /// Entered by hand, one person at a time: entries with the same kind and
    /// source go to the same list.
    Manual,
}

impl ListOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            ListOrigin::Csv => "csv",
            ListOrigin::Json => "json",
            ListOrigin::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<ListOrigin> {
        [ListOrigin::Csv, ListOrigin::Json, ListOrigin::Manual]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewPersonList {
    pub incident_id: i64,
    pub kind: ListKind,
    /// Who sent it: "CHU Charleroi", "Red Cross shelter Jumet".
    pub source: String,
    /// When the sender drew it up (unix seconds).
    pub drawn_up_at: i64,
    pub origin: ListOrigin,
    pub by: i64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonList {
    pub id: i64,
    pub incident_id: i64,
    pub kind: ListKind,
    pub source: String,
    pub drawn_up_at: i64,
    pub origin: ListOrigin,
    pub entries: u32,
    pub uploaded_by: i64,
    pub uploaded_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    pub id: i64,
    pub list_id: i64,
    pub kind: ListKind,
    pub person: ListPerson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Confirmed,
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirmed => "confirmed",
            Decision::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        [Decision::Confirmed, Decision::Rejected]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDecision {
    pub inquiry_id: i64,
    pub entry_id: i64,
    /// The score and reasons (their keys) the operator saw.
    pub score: f64,
    pub reasons: Vec<String>,
    pub decision: Decision,
    pub note: String,
    /// For a confirmation: the callback task to create with it.
    pub callback: Option<NewCallback>,
    pub by: i64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchDecision {
    pub id: i64,
    pub inquiry_id: i64,
    pub entry_id: i64,
    pub score: f64,
    pub reasons: Vec<String>,
    pub decision: Decision,
    pub note: String,
    pub decided_by: i64,
    pub decided_at: i64,
    pub callback: Option<Callback>,
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub incidents: u64,
    pub inquiries: u64,
    pub lists: u64,
    pub entries: u64,
    pub callbacks: u64,
}

#[async_trait::async_trait]
pub trait RelativesStore: Send + Sync {
    /// Records an inquiry. `same_person_as` must name an inquiry of the same
    /// incident (`NotFound` otherwise); the incident must be open (`Conflict`).
    async fn create_inquiry(&self, inquiry: &NewInquiry) -> Result<Inquiry, StoreError>;
    async fn inquiry(&self, id: i64) -> Result<Option<Inquiry>, StoreError>;
    /// An incident's inquiries, newest first.
    async fn inquiries(&self, incident_id: i64) -> Result<Vec<Inquiry>, StoreError>;
    /// Every inquiry about the person `person` names, oldest first.
    async fn inquiries_about(&self, person: i64) -> Result<Vec<Inquiry>, StoreError>;
    /// Declares two inquiries of one incident to be about the same person:
    /// both groups become one.
    async fn link_inquiries(&self, a: i64, b: i64, at: i64) -> Result<(), StoreError>;
    async fn set_inquiry_state(
        &self,
        id: i64,
        state: InquiryState,
        at: i64,
    ) -> Result<(), StoreError>;

    /// Stores a list and all its entries in one transaction. A hand-entered
    /// entry (origin `Manual`) joins the manual list of the same kind and
    /// source when there is one.
    async fn add_list(
        &self,
        list: &NewPersonList,
        entries: Vec<ListPerson>,
    ) -> Result<PersonList, StoreError>;
    /// An incident's lists, newest first.
    async fn lists(&self, incident_id: i64) -> Result<Vec<PersonList>, StoreError>;
    /// Every entry of an incident's lists.
    async fn list_entries(&self, incident_id: i64) -> Result<Vec<StoredEntry>, StoreError>;
    async fn entry(&self, id: i64) -> Result<Option<(i64, StoredEntry)>, StoreError>;

    /// Records a decision on a candidate (and, with a confirmation, creates its
    /// callback task and marks the inquiry matched) in one transaction.
    /// `Conflict` when the pair was decided already; `NotFound` when the entry
    /// is not on one of the inquiry's incident's lists.
    async fn decide_match(&self, decision: &NewDecision) -> Result<MatchDecision, StoreError>;
    /// The decisions taken on an inquiry, oldest first.
    async fn decisions(&self, inquiry_id: i64) -> Result<Vec<MatchDecision>, StoreError>;

    /// Deletes every inquiry, list, entry, decision and relatives-line callback
    /// of the incidents closed before `closed_before` (RFC 3339, as incidents
    /// store it).
    async fn purge_relatives(&self, closed_before: &str) -> Result<Purged, StoreError>;
}
