//! The outcome of resolving a target: who the alert reaches.

use super::index::PersonId;
use crate::NisCode;

/// One person to alert, with the municipality of their first address in the zone:
/// the fallback for their language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    pub person: PersonId,
    pub municipality: NisCode,
}

/// Who an alert reaches: distinct persons, sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    recipients: Vec<Recipient>,
}

impl Resolution {
    pub(super) fn sorted(mut recipients: Vec<Recipient>) -> Resolution {
        recipients.sort_unstable_by_key(|r| r.person);
        Resolution { recipients }
    }

    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    pub fn len(&self) -> usize {
        self.recipients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recipients.is_empty()
    }

    /// The recipient entry of a person, if the alert reaches them.
    pub fn get(&self, person: PersonId) -> Option<&Recipient> {
        self.recipients
            .binary_search_by_key(&person, |r| r.person)
            .ok()
            .map(|i| &self.recipients[i])
    }

    pub fn into_recipients(self) -> Vec<Recipient> {
        self.recipients
    }
}
