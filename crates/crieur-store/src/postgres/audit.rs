use super::PgStore;
use crate::rows::{AUDIT, audit_entry};
use crate::{AuditStore, StoreError};
use crieur_domain::audit::{AuditEntry, AuditRecord, GENESIS};

#[async_trait::async_trait]
impl AuditStore for PgStore {
    async fn append_audit(
        &self,
        record: AuditRecord,
        at: String,
    ) -> Result<AuditEntry, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One appender at a time, in any process: the lock is held from before
        // reading the chain's end until the commit, so no two entries extend the
        // same one. Readers are not blocked.
        sqlx::query("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS.to_owned()),
        };
        let e = AuditEntry::seal(record, seq, at, prev_hash);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, outcome, territory, target, detail, address, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(e.seq)
        .bind(&e.at)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.outcome)
        .bind(&e.territory)
        .bind(&e.target)
        .bind(&e.detail)
        .bind(&e.address)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(e)
    }

    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!("SELECT {AUDIT} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after_seq)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(audit_entry)
            .collect()
    }

    async fn recent_audit(
        &self,
        filter: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT} FROM audit_log
             WHERE $1::TEXT IS NULL OR strpos(actor, $1) > 0 OR strpos(action, $1) > 0
             ORDER BY seq DESC LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.filter(|f| !f.is_empty()))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(audit_entry)
            .collect()
    }
}
