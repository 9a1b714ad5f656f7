//! Decisions both backends take the same way on what they have just read, so
//! that only the SQL around them differs. Nothing here touches a database.

use crate::{AnswerState, SecretCheck, StoreError};

/// What a guess at a contact's pending secret comes to. The caller then
/// forgets the secret (expired or verified) or counts the attempt (wrong).
pub(crate) fn judge_secret(
    stored: &str,
    expires_at: i64,
    attempts: u32,
    now: i64,
    max_attempts: u32,
    given: &str,
) -> SecretCheck {
    if expires_at < now || attempts >= max_attempts {
        SecretCheck::Expired
    } else if crieur_domain::credentials::same_secret(stored, given) {
        SecretCheck::Verified
    } else {
        SecretCheck::Wrong {
            attempts_left: max_attempts.saturating_sub(attempts + 1),
        }
    }
}

/// An incident a hotline may be activated for: it exists (`closed_at` read)
/// and is not closed.
pub(crate) fn incident_open(closed_at: Option<Option<String>>) -> Result<(), StoreError> {
    match closed_at {
        None => Err(StoreError::NotFound),
        Some(Some(_)) => Err(StoreError::Conflict("the incident is closed".into())),
        Some(None) => Ok(()),
    }
}

/// Whether an active hotline already holds the number (`Some(true)`) or the
/// incident (`Some(false)`), as read first for a clear message.
pub(crate) fn activation_free(number_taken: Option<bool>, number: &str) -> Result<(), StoreError> {
    match number_taken {
        Some(true) => Err(StoreError::Conflict(format!(
            "the number {number} already serves an active hotline"
        ))),
        Some(false) => Err(StoreError::Conflict(
            "the incident already has an active hotline".into(),
        )),
        None => Ok(()),
    }
}

/// The next version of an answer from its latest (version, state).
pub(crate) fn next_answer_version(latest: Option<(i64, String)>) -> Result<i64, StoreError> {
    match latest {
        None => Err(StoreError::NotFound),
        Some((_, state)) if state != AnswerState::Published.as_str() => {
            Err(StoreError::Conflict("the answer was withdrawn".into()))
        }
        Some((version, _)) => Ok(version + 1),
    }
}
