//! The audit log's tamper evidence: each entry carries the SHA-256 of its own
//! content chained to the previous entry's hash, so editing, deleting or
//! reordering any entry breaks every later link.

use sha2::{Digest, Sha256};

/// The "previous hash" of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The outcome of an audited act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Refused by authorization.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// What happened, before it is sealed into the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Who acted: a username, `cli:<user>` or `anonymous`.
    pub actor: String,
    /// What was attempted, e.g. `auth.sign_in`, `account.create`.
    pub action: String,
    pub outcome: Outcome,
    /// The territory concerned, if any.
    pub territory: Option<String>,
    /// The object acted upon (an account, an alert…).
    pub target: Option<String>,
    /// Free detail; never a secret.
    pub detail: String,
    /// The client's network address, if known.
    pub address: Option<String>,
}

impl AuditRecord {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        outcome: Outcome,
    ) -> AuditRecord {
        AuditRecord {
            actor: actor.into(),
            action: action.into(),
            outcome,
            territory: None,
            target: None,
            detail: String::new(),
            address: None,
        }
    }

    pub fn territory(mut self, t: impl ToString) -> Self {
        self.territory = Some(t.to_string());
        self
    }

    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.target = Some(t.into());
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = d.into();
        self
    }

    pub fn address(mut self, a: Option<String>) -> Self {
        self.address = a;
        self
    }
}

/// A sealed entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    /// RFC 3339 time of the act.
    pub at: String,
    pub actor: String,
    pub action: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub territory: Option<String>,
    pub target: Option<String>,
    pub detail: String,
    pub address: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// Seals a record as entry `seq`, chained to `prev_hash`.
    pub fn seal(record: AuditRecord, seq: i64, at: String, prev_hash: String) -> AuditEntry {
        let mut e = AuditEntry {
            seq,
            at,
            actor: record.actor,
            action: record.action,
            outcome: record.outcome.as_str().to_owned(),
            territory: record.territory,
            target: record.target,
            detail: record.detail,
            address: record.address,
            prev_hash,
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// The hash of every field but `hash`, each length-prefixed so that no two
    /// different entries serialise alike.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let seq = self.seq.to_string();
        let fields: [Option<&str>; 10] = [
            Some(&seq),
            Some(&self.at),
            Some(&self.actor),
            Some(&self.action),
            Some(&self.outcome),
            self.territory.as_deref(),
            self.target.as_deref(),
            Some(&self.detail),
            self.address.as_deref(),
            Some(&self.prev_hash),
        ];
        for f in fields {
            match f {
                None => h.update(b"-"),
                Some(s) => {
                    h.update(s.len().to_string().as_bytes());
                    h.update(b":");
                    h.update(s.as_bytes());
                }
            }
            h.update(b"|");
        }
        hex::encode(h.finalize())
    }
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {reason}")]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// Walks entries in order and reports the first one that does not hold.
pub fn verify_chain(entries: impl IntoIterator<Item = AuditEntry>) -> Result<u64, BrokenLink> {
    let mut prev_hash = GENESIS.to_owned();
    let mut count = 0;
    for (expected_seq, e) in (1..).zip(entries) {
        if e.seq != expected_seq {
            return Err(BrokenLink {
                seq: e.seq,
                reason: format!(
                    "expected entry {expected_seq} here: entries were deleted or reordered"
                ),
            });
        }
        if e.prev_hash != prev_hash {
            return Err(BrokenLink {
                seq: e.seq,
                reason: "its link to the previous entry does not match".into(),
            });
        }
        if e.compute_hash() != e.hash {
            return Err(BrokenLink {
                seq: e.seq,
                reason: "its content was changed after it was written".into(),
            });
        }
        prev_hash = e.hash;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let e = AuditEntry::seal(
                    AuditRecord::new("mayor.namur", "auth.sign_in", Outcome::Success)
                        .territory("92094"),
                    seq,
                    format!("2026-11-29T10:00:0{seq}Z"),
                    prev.clone(),
                );
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(chain(5)), Ok(5));
        assert_eq!(verify_chain(vec![]), Ok(0));
    }

    #[test]
    fn any_edit_deletion_or_reordering_is_found() {
        let mut edited = chain(5);
        edited[2].actor = "someone.else".into();
        assert_eq!(verify_chain(edited).map_err(|e| e.seq), Err(3));

        let mut rehashed = chain(5);
        rehashed[1].outcome = "failure".into();
        rehashed[1].hash = rehashed[1].compute_hash();
        assert_eq!(
            verify_chain(rehashed).map_err(|e| e.seq),
            Err(3),
            "the next link breaks"
        );

        let mut deleted = chain(5);
        deleted.remove(3);
        assert_eq!(verify_chain(deleted).map_err(|e| e.seq), Err(5));

        let mut swapped = chain(5);
        swapped.swap(1, 2);
        assert!(verify_chain(swapped).is_err());
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let a = AuditEntry::seal(
            AuditRecord::new("ab", "c", Outcome::Success),
            1,
            "t".into(),
            GENESIS.into(),
        );
        let b = AuditEntry::seal(
            AuditRecord::new("a", "bc", Outcome::Success),
            1,
            "t".into(),
            GENESIS.into(),
        );
        assert_ne!(a.hash, b.hash);
    }
}
