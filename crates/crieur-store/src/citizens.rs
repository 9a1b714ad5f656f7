//! Registered citizens: contacts, addresses, consent, verification secrets,
//! rate-limit counters and the anonymous counts that outlive erased data.

use crate::StoreError;
use crieur_domain::NisCode;

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContact {
    pub id: i64,
    /// `phone` or `email`.
    pub kind: String,
    /// E.164 number or e-mail address.
    pub value: String,
    /// `mobile` or `landline` for phones.
    pub line: Option<String>,
    pub sms: bool,
    pub voice: bool,
    pub verified_at: Option<String>,
    pub verified_by: Option<String>,
}

/// An address as stored, geocoded.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAddress {
    pub label: String,
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub municipality: NisCode,
    pub lon: f64,
    pub lat: f64,
    /// `registry` or `pin`.
    pub placed: String,
}

/// Everything stored about one citizen.
#[derive(Debug, Clone, PartialEq)]
pub struct Citizen {
    pub id: i64,
    pub language: String,
    pub general_interest: bool,
    pub consent_version: String,
    pub consent_at: String,
    pub source: String,
    pub created_at: String,
    pub contacts: Vec<StoredContact>,
    pub addresses: Vec<StoredAddress>,
}

/// A new contact; `verified_by` is set only for imports carrying proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub kind: String,
    pub value: String,
    pub line: Option<String>,
    pub sms: bool,
    pub voice: bool,
    pub verified_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCitizen {
    pub language: String,
    pub general_interest: bool,
    pub consent_version: String,
    pub consent_at: String,
    pub source: String,
    pub contacts: Vec<NewContact>,
    pub addresses: Vec<StoredAddress>,
}

/// The outcome of checking a verification secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    /// The contact is now verified.
    Verified,
    Wrong {
        attempts_left: u32,
    },
    /// Too many attempts or too old: a new secret must be sent.
    Expired,
    /// No secret is pending for this contact.
    NonePending,
}

#[async_trait::async_trait]
pub trait CitizenStore: Send + Sync {
    /// Stores a citizen with all contacts and addresses in one transaction and
    /// counts the registration per municipality. Returns the new id and contact ids
    /// in the given order.
    async fn register_citizen(&self, citizen: &NewCitizen) -> Result<(i64, Vec<i64>), StoreError>;
    async fn citizen(&self, id: i64) -> Result<Option<Citizen>, StoreError>;
    /// The verified contacts of many citizens at once, with each owner's id and
    /// language, ordered by owner then contact (for delivery plans).
    async fn verified_contacts(
        &self,
        citizen_ids: &[i64],
    ) -> Result<Vec<(i64, String, StoredContact)>, StoreError>;
    /// The citizen owning a verified contact with this value, if any.
    async fn citizen_by_verified_contact(
        &self,
        kind: &str,
        value: &str,
    ) -> Result<Option<i64>, StoreError>;
    /// Replaces a contact's pending secret.
    async fn set_verification_secret(
        &self,
        contact_id: i64,
        secret_digest: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Checks a secret for a contact; counts the attempt; verifies on a match.
    async fn check_contact_secret(
        &self,
        contact_id: i64,
        secret_digest: &str,
        now: i64,
        max_attempts: u32,
        verified_by: &str,
    ) -> Result<SecretCheck, StoreError>;
    /// Verifies the contact whose pending secret has this digest (e-mail links).
    async fn verify_by_secret(
        &self,
        secret_digest: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    async fn set_general_interest(&self, citizen_id: i64, on: bool) -> Result<(), StoreError>;
    /// Erases the citizen and everything about them; only anonymous counts stay.
    async fn delete_citizen(&self, citizen_id: i64) -> Result<(), StoreError>;
    /// Counts one event under each key in a fixed window of `window_secs`, in one
    /// write; returns each key's count including this one.
    async fn hit_rates(
        &self,
        keys: &[String],
        now: i64,
        window_secs: i64,
    ) -> Result<Vec<u32>, StoreError>;
    /// The citizen a contact belongs to.
    async fn contact_owner(&self, contact_id: i64) -> Result<Option<i64>, StoreError>;
    /// Every citizen with their contacts and addresses, for the in-memory
    /// targeting index built at start-up.
    async fn all_citizens(&self) -> Result<Vec<Citizen>, StoreError>;
    /// (registered, deleted) per municipality, kept without personal data.
    async fn registration_counts(&self) -> Result<Vec<(NisCode, u64, u64)>, StoreError>;
}
