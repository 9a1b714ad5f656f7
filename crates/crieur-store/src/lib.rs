//! Crieur's storage: small traits split by role, and the backends implementing them.
//!
//! The backend is chosen once, from the database URL's scheme. Nothing above this
//! crate writes SQL, and no error is ever turned into "not found".

mod accounts;
mod addresses;
mod alerts;
mod audit;
mod batches;
mod boundaries;
mod citizens;
mod deliveries;
mod error;
mod hotline;
mod postgres;
mod relatives;
mod rows;
mod rules;
mod sessions;
mod sqlite;
pub mod transfer;

pub use accounts::{Account, AccountStore, FailureState, NewAccount};
pub use addresses::{AddressRegistryStore, ImportOutcome, RegistrySource};
pub use alerts::{AlertState, AlertStore, Incident, NewAlert, Release, StoredAlert};
pub use audit::AuditStore;
pub use batches::{BatchStore, ClaimedBatch, DeadLetter, OpenBatch, StaleBatch, TakenBatch};
pub use boundaries::{BoundaryStore, StoredBoundary};
pub use citizens::{
    Citizen, CitizenStore, NewCitizen, NewContact, SecretCheck, StoredAddress, StoredContact,
};
pub use deliveries::{
    ClaimedDelivery, DeliveryCounts, DeliveryLine, DeliveryOutcome, DeliveryStore, OutcomeKind,
    PlannedDelivery, PlannedText, Priority, ReceiptRecord, SingleMessage, state_name,
};
pub use error::StoreError;
pub use hotline::{
    AnswerState, AnswerVersion, Call, CallForm, CallRecord, Callback, CallbackState, Callout,
    CalloutChannel, CalloutResponse, DEFAULT_STAFFING_TARGET, FiledForm, Hotline, HotlineLine,
    HotlineState, HotlineStore, NewAnswerVersion, NewCallback, NewCallout, NewHotline,
    NewQueueLogEntry, QueueLogEntry, TopicCount, Worry,
};
pub use relatives::{
    Decision, Enquirer, Inquiry, InquiryState, ListOrigin, MatchDecision, NewDecision, NewInquiry,
    NewPersonList, PersonList, Purged, RelativesStore, SoughtPerson, StoredEntry,
};
pub use sessions::{Session, SessionStore, Stage};

use std::sync::Arc;

/// Everything a backend provides.
#[async_trait::async_trait]
pub trait Backend:
    BoundaryStore
    + AddressRegistryStore
    + AccountStore
    + SessionStore
    + AuditStore
    + CitizenStore
    + AlertStore
    + DeliveryStore
    + BatchStore
    + HotlineStore
    + RelativesStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Checks the database answers (for `/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// "sqlite" or "postgres", for logs and the health report.
    fn kind(&self) -> &'static str;
}

/// The URL with its password, if any, replaced by `***`: for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let redacted = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let path = match path.split_once('?') {
        Some((p, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{p}?{}", query.join("&"))
        }
        None => path.to_owned(),
    };
    format!("{scheme}://{redacted}{path}")
}

/// A handle on the chosen backend, cheap to clone.
#[derive(Debug, Clone)]
pub struct Store(Arc<dyn Backend>);

impl Store {
    /// Opens the database named by `url`, creating it if needed, and brings its
    /// schema up to date.
    ///
    /// `sqlite://path` (or `sqlite:path`) selects the embedded backend;
    /// `postgres://…` (or `postgresql://…`) the shared one, in the schema that a
    /// `schema=NAME` parameter names (created if missing), else in the
    /// connection's search_path.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Store(Arc::new(sqlite::SqliteStore::open(url).await?))),
            "postgres" | "postgresql" => Ok(Store(Arc::new(postgres::PgStore::open(url).await?))),
            _ => Err(StoreError::Unsupported(format!(
                "unknown database URL scheme {scheme:?}: expected sqlite://FILE or postgres://…"
            ))),
        }
    }

    pub fn boundaries(&self) -> &dyn BoundaryStore {
        &*self.0
    }

    pub fn addresses(&self) -> &dyn AddressRegistryStore {
        &*self.0
    }

    pub fn accounts(&self) -> &dyn AccountStore {
        &*self.0
    }

    pub fn sessions(&self) -> &dyn SessionStore {
        &*self.0
    }

    pub fn audit(&self) -> &dyn AuditStore {
        &*self.0
    }

    pub fn citizens(&self) -> &dyn CitizenStore {
        &*self.0
    }

    pub fn alerts(&self) -> &dyn AlertStore {
        &*self.0
    }

    pub fn deliveries(&self) -> &dyn DeliveryStore {
        &*self.0
    }

    pub fn batches(&self) -> &dyn BatchStore {
        &*self.0
    }

    pub fn hotline(&self) -> &dyn HotlineStore {
        &*self.0
    }

    pub fn relatives(&self) -> &dyn RelativesStore {
        &*self.0
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }

    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            redact_url("postgres://crieur:s3cret@db.example:5432/crieur?schema=x"),
            "postgres://crieur:***@db.example:5432/crieur?schema=x"
        );
        assert_eq!(
            redact_url("postgresql://db/crieur?user=crieur&password=s3cret&sslmode=require"),
            "postgresql://db/crieur?user=crieur&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://crieur@127.0.0.1/test"),
            "postgres://crieur@127.0.0.1/test"
        );
        assert_eq!(redact_url("sqlite://crieur.db"), "sqlite://crieur.db");
    }
}
