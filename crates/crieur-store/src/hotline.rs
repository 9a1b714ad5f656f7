//! The crisis hotline's records: activations, operators called out, calls and
//! their forms, the queue log, approved answers and callbacks. Every method
//! that names a hotline and one of its rows checks that the row belongs to that
//! hotline (or incident): an operator never reaches another hotline's rows.

use crate::StoreError;
use crieur_domain::{Language, NisCode};
use std::num::NonZeroU32;

/// Declares an enum stored as text, with `as_str` and `parse`.
macro_rules! stored_as_text {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant,)+
        }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

stored_as_text! {
    HotlineState {
        Active = "active",
        Closed = "closed",
    }
}

/// The line a caller chose behind the one public number: the domain's.
pub use crieur_domain::acd::Line as HotlineLine;

stored_as_text! {
    CalloutChannel {
        Sms = "sms",
        Email = "email",
    }
}

stored_as_text! {
    CalloutResponse {
        Coming = "coming",
        Unavailable = "unavailable",
    }
}

stored_as_text! {
    AnswerState {
        Published = "published",
        Withdrawn = "withdrawn",
    }
}

stored_as_text! {
    CallbackState {
        Open = "open",
        Assigned = "assigned",
        Done = "done",
        Failed = "failed",
    }
}

/// Operators wanted at first, as the Belgian centre starts.
pub const DEFAULT_STAFFING_TARGET: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHotline {
    pub incident_id: i64,
    /// The public number as dialled, e.g. `+3217771771` or `1771`.
    pub number: String,
    pub languages: Vec<Language>,
    /// JSON owned by crieur-hotline (greeting, menu, queues); stored as given.
    pub config: String,
    pub staffing_target: u32,
    pub activated_by: i64,
    /// Unix seconds.
    pub activated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hotline {
    pub id: i64,
    pub incident_id: i64,
    pub number: String,
    pub languages: Vec<Language>,
    pub config: String,
    pub staffing_target: u32,
    pub state: HotlineState,
    pub activated_by: i64,
    pub activated_at: i64,
    pub closed_by: Option<i64>,
    pub closed_at: Option<i64>,
    pub closing_message: Option<String>,
}

/// A message asking an on-call operator to come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallout {
    pub account_id: i64,
    pub channel: CalloutChannel,
    pub address: String,
    /// SHA-256, lowercase hex, of the token in the message.
    pub token_hash: String,
    pub sent_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    pub id: i64,
    pub hotline_id: i64,
    pub account_id: i64,
    pub channel: CalloutChannel,
    pub address: String,
    pub token_hash: String,
    pub sent_at: i64,
    pub response: Option<CalloutResponse>,
    pub eta_minutes: Option<u32>,
    pub responded_at: Option<i64>,
}

/// What the telephony knows of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub hotline_id: i64,
    /// The SIP Call-ID.
    pub call_id: String,
    /// E.164 when the number parsed, else as received.
    pub caller: String,
    pub line: Option<HotlineLine>,
    pub language: Option<Language>,
    /// The menu choices so far, e.g. `lang:fr>1`.
    pub ivr_path: String,
    pub entered_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub operator_id: Option<i64>,
    /// How the call ended: answered, abandoned, callback, transferred, closed...
    pub ending: Option<String>,
}

/// What the operator notes about a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallForm {
    /// Keys of the hotline's topic taxonomy.
    pub topics: Vec<String>,
    pub tags: Vec<String>,
    pub question: String,
    pub municipality: Option<NisCode>,
    pub worry: Option<Worry>,
    pub notes: String,
    pub outcome: String,
}

/// How worried a caller sounded, from 1 (calm) to 5 (very worried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Worry(u8);

impl Worry {
    /// `None` outside 1 to 5.
    pub fn new(level: u8) -> Option<Worry> {
        (1..=5).contains(&level).then_some(Worry(level))
    }

    pub fn level(self) -> u8 {
        self.0
    }
}

/// A call form as saved, with who saved it last and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledForm {
    pub form: CallForm,
    pub by: i64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub id: i64,
    pub record: CallRecord,
    /// `None` until an operator saves the form.
    pub form: Option<FiledForm>,
}

/// One line of the queue log, in the shape of Asterisk's queue_log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueueLogEntry {
    pub hotline_id: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// `NONE` for member events, as in Asterisk.
    pub call_id: String,
    pub queue: String,
    pub agent: String,
    /// ENTERQUEUE, CONNECT, ABANDON, COMPLETECALLER, ADDMEMBER, PAUSE...
    pub event: String,
    pub data1: String,
    pub data2: String,
    pub data3: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLogEntry {
    pub id: i64,
    pub hotline_id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub call_id: String,
    pub queue: String,
    pub agent: String,
    pub event: String,
    pub data1: String,
    pub data2: String,
    pub data3: String,
}

/// A new version of an approved answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnswerVersion {
    pub incident_id: i64,
    /// `None` for a new answer, which gets a new key.
    pub answer_key: Option<i64>,
    pub language: Language,
    pub title: String,
    pub body: String,
    pub topics: Vec<String>,
    pub author: i64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerVersion {
    pub id: i64,
    pub incident_id: i64,
    /// The answer this is a version of.
    pub answer_key: i64,
    /// 1, 2, ... within the answer.
    pub version: u32,
    pub language: Language,
    pub title: String,
    pub body: String,
    pub topics: Vec<String>,
    pub state: AnswerState,
    pub author: i64,
    pub published_at: i64,
    pub withdrawn_by: Option<i64>,
    pub withdrawn_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallback {
    pub hotline_id: i64,
    /// The call it comes from, which must be one of the same hotline.
    pub call_id: Option<String>,
    pub number: String,
    pub language: Language,
    pub line: HotlineLine,
    /// max_wait, keep_place_expired, operator, inquiry...
    pub reason: String,
    pub note: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub id: i64,
    pub hotline_id: i64,
    pub call_id: Option<String>,
    pub number: String,
    pub language: Language,
    pub line: HotlineLine,
    pub reason: String,
    pub note: String,
    pub state: CallbackState,
    pub assigned_to: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Attempts finished, successful or not.
    pub attempts: u32,
}

/// Calls that named a topic in one time bucket and municipality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCount {
    pub topic: String,
    /// `None` for calls whose form names no municipality.
    pub municipality: Option<NisCode>,
    /// Unix seconds, a multiple of the bucket's length.
    pub bucket_start: i64,
    pub count: u64,
}

#[async_trait::async_trait]
pub trait HotlineStore: Send + Sync {
    /// `Conflict` when the number already serves an active hotline, when the
    /// incident already has one, or when the incident is closed; `NotFound`
    /// when the incident or the account does not exist.
    async fn activate_hotline(&self, hotline: &NewHotline) -> Result<Hotline, StoreError>;
    /// `NotFound` when no active hotline has this id.
    async fn close_hotline(
        &self,
        id: i64,
        by: i64,
        closing_message: &str,
        at: i64,
    ) -> Result<(), StoreError>;
    async fn hotline(&self, id: i64) -> Result<Option<Hotline>, StoreError>;
    /// Oldest first.
    async fn active_hotlines(&self) -> Result<Vec<Hotline>, StoreError>;
    /// The incident's latest hotline, active or closed.
    async fn hotline_of_incident(&self, incident_id: i64) -> Result<Option<Hotline>, StoreError>;
    /// `NotFound` when no active hotline has this id.
    async fn update_hotline_config(
        &self,
        id: i64,
        config: &str,
        staffing_target: u32,
    ) -> Result<(), StoreError>;

    /// Stores the messages sent, all or none, in the given order. `NotFound`
    /// when no active hotline has this id; `Conflict` when a token hash is
    /// already stored.
    async fn add_callouts(
        &self,
        hotline_id: i64,
        callouts: Vec<NewCallout>,
    ) -> Result<Vec<Callout>, StoreError>;
    /// Records (or changes) an operator's answer. `NotFound` for an unknown hash.
    async fn respond_callout(
        &self,
        token_hash: &str,
        response: CalloutResponse,
        eta_minutes: Option<u32>,
        at: i64,
    ) -> Result<Callout, StoreError>;
    /// The call-out a link's token names, by the token's hash.
    async fn callout_by_token(&self, token_hash: &str) -> Result<Option<Callout>, StoreError>;
    /// In the order sent.
    async fn callouts(&self, hotline_id: i64) -> Result<Vec<Callout>, StoreError>;

    /// Inserts the call, or updates what the telephony knows of it, keyed by
    /// hotline and Call-ID. On update, `caller` and `ivr_path` are replaced,
    /// the optional fields replace what is stored only when given, and
    /// `entered_at` keeps its first value; the form is untouched. `NotFound`
    /// when the hotline does not exist.
    async fn upsert_call(&self, call: &CallRecord) -> Result<(), StoreError>;
    /// Replaces the call's form. `NotFound` when the hotline has no such call.
    async fn save_call_form(
        &self,
        hotline_id: i64,
        call_id: &str,
        form: &CallForm,
        by: i64,
        at: i64,
    ) -> Result<(), StoreError>;
    async fn call(&self, hotline_id: i64, call_id: &str) -> Result<Option<Call>, StoreError>;
    /// The hotline's calls from this caller, newest first.
    async fn calls_from(
        &self,
        hotline_id: i64,
        caller: &str,
        limit: u32,
    ) -> Result<Vec<Call>, StoreError>;
    /// Newest first.
    async fn recent_calls(&self, hotline_id: i64, limit: u32) -> Result<Vec<Call>, StoreError>;

    /// Appends a batch in one transaction: all of it or, on any error, none.
    /// `NotFound` when an entry names a hotline that does not exist.
    async fn append_queue_log(&self, entries: Vec<NewQueueLogEntry>) -> Result<(), StoreError>;
    /// The hotline's entries at or after `since_ms`, in the order appended.
    async fn queue_log(
        &self,
        hotline_id: i64,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueueLogEntry>, StoreError>;

    /// Publishes version 1 of a new answer, or the next version of an existing
    /// one. `NotFound` when the key names no answer of this incident (or the
    /// incident or author does not exist); `Conflict` when it was withdrawn.
    async fn publish_answer(&self, answer: &NewAnswerVersion) -> Result<AnswerVersion, StoreError>;
    /// Withdraws every version of the answer. `NotFound` when the incident has
    /// no such answer; `Conflict` when it is already withdrawn.
    async fn withdraw_answer(
        &self,
        incident_id: i64,
        answer_key: i64,
        by: i64,
        at: i64,
    ) -> Result<(), StoreError>;
    /// The latest version of each answer still published, by key.
    async fn answers(&self, incident_id: i64) -> Result<Vec<AnswerVersion>, StoreError>;
    /// Every version of one answer, oldest first; empty when the incident has
    /// no such answer.
    async fn answer_history(
        &self,
        incident_id: i64,
        answer_key: i64,
    ) -> Result<Vec<AnswerVersion>, StoreError>;

    /// `NotFound` when the hotline, or the call named, does not exist (a call
    /// of another hotline does not count).
    async fn create_callback(&self, callback: &NewCallback) -> Result<Callback, StoreError>;
    /// Oldest first; with `open_only`, those open or assigned.
    async fn callbacks(
        &self,
        hotline_id: i64,
        open_only: bool,
    ) -> Result<Vec<Callback>, StoreError>;
    /// Gives an open callback to `operator` (again, if it is already theirs).
    /// `NotFound` when the hotline has no such callback; `Conflict` when it is
    /// someone else's or finished.
    async fn assign_callback(
        &self,
        id: i64,
        hotline_id: i64,
        operator: i64,
        at: i64,
    ) -> Result<Callback, StoreError>;
    /// Ends the operator's attempt: done, or failed (for good). A non-empty
    /// `note` is added on a new line of the callback's note. `NotFound` when
    /// the hotline has no such callback; `Conflict` unless it is assigned to
    /// `operator`.
    async fn finish_callback(
        &self,
        id: i64,
        hotline_id: i64,
        operator: i64,
        success: bool,
        note: &str,
        at: i64,
    ) -> Result<Callback, StoreError>;

    /// Calls that entered at or after `since`, counted per topic of their form,
    /// time bucket of `entered_at` (aligned on multiples of `bucket_seconds`
    /// since the epoch) and municipality. A call counts once per topic.
    /// Ordered by bucket, topic, municipality.
    async fn topic_counts(
        &self,
        hotline_id: i64,
        since: i64,
        bucket_seconds: NonZeroU32,
    ) -> Result<Vec<TopicCount>, StoreError>;
}
