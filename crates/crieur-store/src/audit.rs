//! The append-only, hash-chained audit log.

use crate::StoreError;
use crieur_domain::audit::{AuditEntry, AuditRecord};

#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Seals `record` onto the end of the chain at time `at` (RFC 3339), durably,
    /// before returning.
    async fn append_audit(&self, record: AuditRecord, at: String)
    -> Result<AuditEntry, StoreError>;
    /// Entries after `after_seq`, oldest first, at most `limit`.
    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// The latest entries, newest first, optionally only those whose actor or
    /// action contains `filter`.
    async fn recent_audit(
        &self,
        filter: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
