use super::SqliteStore;
use crate::rows::{AUDIT as COLUMNS, audit_entry as entry};
use crate::{AuditStore, StoreError};
use crieur_domain::audit::{AuditEntry, AuditRecord, GENESIS};
use rusqlite::{OptionalExtension, params};

#[async_trait::async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(
        &self,
        record: AuditRecord,
        at: String,
    ) -> Result<AuditEntry, StoreError> {
        // The writer's transaction is IMMEDIATE: it holds the write lock before
        // reading the chain's end, so two writers (even in two processes) cannot
        // both extend the same entry.
        self.writer
            .write(move |db| {
                let last = db
                    .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
                    .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                    .optional()?;
                let (seq, prev_hash) = match last {
                    Some((seq, hash)) => (seq + 1, hash),
                    None => (1, GENESIS.to_owned()),
                };
                let e = AuditEntry::seal(record, seq, at, prev_hash);
                db.prepare_cached(
                    "INSERT INTO audit_log (seq, at, actor, action, outcome, territory, target, detail, address, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![
                    e.seq,
                    e.at,
                    e.actor,
                    e.action,
                    e.outcome,
                    e.territory,
                    e.target,
                    e.detail,
                    e.address,
                    e.prev_hash,
                    e.hash
                ])?;
                Ok(e)
            })
            .await
    }

    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after_seq)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry).collect()
    }

    async fn recent_audit(
        &self,
        filter: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log
             WHERE ?1 IS NULL OR instr(actor, ?1) > 0 OR instr(action, ?1) > 0
             ORDER BY seq DESC LIMIT ?2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.filter(|f| !f.is_empty()))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry).collect()
    }
}
