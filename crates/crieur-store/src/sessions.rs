//! Server-side sessions and per-address sign-in throttling.

use crate::StoreError;

/// How far a session has come through sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// No one signed in; exists to carry the sign-in form's CSRF token.
    Anonymous,
    /// Password accepted; waiting for the TOTP code.
    SecondFactor,
    /// Password accepted; the account must enrol a second factor first.
    Enrol,
    Authenticated,
    /// A citizen managing their own registration.
    Citizen,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Anonymous => "anonymous",
            Stage::SecondFactor => "second_factor",
            Stage::Enrol => "enrol",
            Stage::Authenticated => "authenticated",
            Stage::Citizen => "citizen",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        [
            Stage::Anonymous,
            Stage::SecondFactor,
            Stage::Enrol,
            Stage::Authenticated,
            Stage::Citizen,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub token_digest: String,
    pub account_id: Option<i64>,
    /// Set for a citizen's session (stage `Citizen`).
    pub citizen_id: Option<i64>,
    pub stage: Stage,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub address: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("account_id", &self.account_id)
            .field("stage", &self.stage)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn session(&self, token_digest: &str) -> Result<Option<Session>, StoreError>;
    async fn touch_session(&self, token_digest: &str, now: i64) -> Result<(), StoreError>;
    async fn delete_session(&self, token_digest: &str) -> Result<(), StoreError>;
    /// Signs an account out everywhere; returns how many sessions ended.
    async fn delete_account_sessions(&self, account_id: i64) -> Result<u64, StoreError>;
    /// Removes sessions idle since before `before`.
    async fn delete_idle_sessions(&self, before: i64) -> Result<u64, StoreError>;
    /// Failed sign-ins from `address` within the window starting `window_start`.
    async fn address_failures(&self, address: &str, window_start: i64) -> Result<u32, StoreError>;
    /// Counts one more failure from `address`; a window older than `window_start`
    /// starts afresh at `now`. Returns the count in the window.
    async fn record_address_failure(
        &self,
        address: &str,
        now: i64,
        window_start: i64,
    ) -> Result<u32, StoreError>;
}
