//! Staff accounts and their credentials.

use crate::StoreError;
use crieur_domain::NisCode;
use crieur_domain::access::Role;

/// A stored account. The password hash and TOTP secrets stay out of `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub territory: NisCode,
    pub password_hash: String,
    /// Base32 TOTP secret once enrolled.
    pub totp_secret: Option<String>,
    /// Base32 TOTP secret being enrolled.
    pub totp_pending: Option<String>,
    pub totp_last_step: Option<u64>,
    pub disabled: bool,
    pub failed_attempts: u32,
    /// Unix time until which sign-in is refused.
    pub locked_until: Option<i64>,
    pub created_at: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("territory", &self.territory)
            .field("second_factor", &self.totp_secret.is_some())
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub territory: NisCode,
    pub password_hash: String,
    /// A second factor already enrolled (the demo's accounts); normally `None`.
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("territory", &self.territory)
            .finish_non_exhaustive()
    }
}

/// The state of an account after a failed sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureState {
    pub failed_attempts: u32,
    /// Set when this failure locked the account.
    pub locked_until: Option<i64>,
}

#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    /// Fails with `Conflict` when the username (case-insensitive) is taken.
    async fn create_account(&self, account: &NewAccount) -> Result<Account, StoreError>;
    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError>;
    async fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError>;
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    async fn set_disabled(&self, id: i64, disabled: bool) -> Result<(), StoreError>;
    async fn set_password_hash(&self, id: i64, hash: &str) -> Result<(), StoreError>;
    /// Keeps the secret shown during enrolment until the first code confirms it.
    async fn set_totp_pending(&self, id: i64, secret: &str) -> Result<(), StoreError>;
    /// Makes the pending secret the account's second factor, `step` being used.
    async fn confirm_totp(&self, id: i64, secret: &str, step: u64) -> Result<(), StoreError>;
    /// Removes the second factor: the next sign-in enrols a new one.
    async fn reset_second_factor(&self, id: i64) -> Result<(), StoreError>;
    /// Records `step` as used unless it (or a later one) already was: false means
    /// a replay. Atomic, so two requests cannot both use one code.
    async fn use_totp_step(&self, id: i64, step: u64) -> Result<bool, StoreError>;
    /// Counts a failed sign-in and locks the account for `lockout_secs` once
    /// `max_failures` is reached.
    async fn record_sign_in_failure(
        &self,
        id: i64,
        now: i64,
        max_failures: u32,
        lockout_secs: i64,
    ) -> Result<FailureState, StoreError>;
    async fn clear_sign_in_failures(&self, id: i64) -> Result<(), StoreError>;
}
