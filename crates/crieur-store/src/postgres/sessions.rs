use super::PgStore;
use crate::rows::{SESSION, session};
use crate::{Session, SessionStore, StoreError};

#[async_trait::async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_digest, account_id, stage, csrf_token, created_at, last_seen_at, address, citizen_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.token_digest)
        .bind(s.account_id)
        .bind(s.stage.as_str())
        .bind(&s.csrf_token)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(&s.address)
        .bind(s.citizen_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {SESSION} FROM sessions WHERE token_digest = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_digest)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session).transpose()
    }

    async fn touch_session(&self, token_digest: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_digest = $1")
            .bind(token_digest)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_digest: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(token_digest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_account_sessions(&self, account_id: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn delete_idle_sessions(&self, before: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn address_failures(&self, address: &str, window_start: i64) -> Result<u32, StoreError> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT failures FROM address_failures WHERE address = $1 AND window_start >= $2",
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
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO address_failures AS f (address, failures, window_start) VALUES ($1, 1, $2)
             ON CONFLICT (address) DO UPDATE SET
                 failures = CASE WHEN f.window_start < $3 THEN 1 ELSE f.failures + 1 END,
                 window_start = CASE WHEN f.window_start < $3 THEN $2 ELSE f.window_start END
             RETURNING failures",
        )
        .bind(address)
        .bind(now)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(failures as u32)
    }
}
