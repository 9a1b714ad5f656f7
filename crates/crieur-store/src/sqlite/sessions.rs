use super::SqliteStore;
use crate::rows::{SESSION, session};
use crate::{Session, SessionStore, StoreError};
use rusqlite::params;

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        let s = s.clone();
        self.writer
            .write(move |db| {
                db.prepare_cached(
                    "INSERT INTO sessions (token_digest, account_id, stage, csrf_token, created_at, last_seen_at, address, citizen_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    s.token_digest,
                    s.account_id,
                    s.stage.as_str(),
                    s.csrf_token,
                    s.created_at,
                    s.last_seen_at,
                    s.address,
                    s.citizen_id
                ])?;
                Ok(())
            })
            .await
    }

    async fn session(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {SESSION} FROM sessions WHERE token_digest = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_digest)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session).transpose()
    }

    async fn touch_session(&self, token_digest: &str, now: i64) -> Result<(), StoreError> {
        let token_digest = token_digest.to_owned();
        self.writer
            .write(move |db| {
                db.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE token_digest = ?1")?
                    .execute(params![token_digest, now])?;
                Ok(())
            })
            .await
    }

    async fn delete_session(&self, token_digest: &str) -> Result<(), StoreError> {
        let token_digest = token_digest.to_owned();
        self.writer
            .write(move |db| {
                db.prepare_cached("DELETE FROM sessions WHERE token_digest = ?1")?
                    .execute([token_digest])?;
                Ok(())
            })
            .await
    }

    async fn delete_account_sessions(&self, account_id: i64) -> Result<u64, StoreError> {
        self.writer
            .write(move |db| {
                Ok(db
                    .prepare_cached("DELETE FROM sessions WHERE account_id = ?1")?
                    .execute([account_id])? as u64)
            })
            .await
    }

    async fn delete_idle_sessions(&self, before: i64) -> Result<u64, StoreError> {
        self.writer
            .write(move |db| {
                Ok(db
                    .prepare_cached("DELETE FROM sessions WHERE last_seen_at < ?1")?
                    .execute([before])? as u64)
            })
            .await
    }

    async fn address_failures(&self, address: &str, window_start: i64) -> Result<u32, StoreError> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT failures FROM address_failures WHERE address = ?1 AND window_start >= ?2",
        )
        .bind(address)
        .bind(window_start)
        .fetch_optional(&self.pool)
        .await?;
        Ok(n.unwrap_or(0) as u32)
    }

    async fn record_address_failure(
        &self,
        address: &str,
        now: i64,
        window_start: i64,
    ) -> Result<u32, StoreError> {
        let address = address.to_owned();
        self.writer
            .write(move |db| {
                let failures: i64 = db
                    .prepare_cached(
                        "INSERT INTO address_failures (address, failures, window_start) VALUES (?1, 1, ?2)
                         ON CONFLICT (address) DO UPDATE SET
                             failures = CASE WHEN window_start < ?3 THEN 1 ELSE failures + 1 END,
                             window_start = CASE WHEN window_start < ?3 THEN ?2 ELSE window_start END
                         RETURNING failures",
                    )?
                    .query_row(params![address, now, window_start], |r| r.get(0))?;
                Ok(failures as u32)
            })
            .await
    }
}
