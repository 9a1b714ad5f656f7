use super::PgStore;
use crate::rows::{ACCOUNT, account, one_row};
use crate::{Account, AccountStore, FailureState, NewAccount, StoreError};

impl PgStore {
    /// Runs an update of one account: `sql` takes the id as $1, the value as $2.
    async fn update<V>(&self, sql: &'static str, id: i64, value: V) -> Result<(), StoreError>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        let done = sqlx::query(sql)
            .bind(id)
            .bind(value)
            .execute(&self.pool)
            .await?;
        one_row(done.rows_affected())
    }

    async fn account_where(&self, condition: &str, bind: &str) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT} FROM accounts WHERE {condition}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bind)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account)
            .collect()
    }
}

#[async_trait::async_trait]
impl AccountStore for PgStore {
    async fn create_account(&self, a: &NewAccount) -> Result<Account, StoreError> {
        let sql = format!(
            "INSERT INTO accounts (username, display_name, role, territory, password_hash, totp_secret)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ACCOUNT}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&a.username)
            .bind(&a.display_name)
            .bind(a.role.as_str())
            .bind(a.territory.as_str())
            .bind(&a.password_hash)
            .bind(&a.totp_secret)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| {
                super::constraint(e, || format!("the username {} is taken", a.username))
            })?;
        account(&row)
    }

    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT} FROM accounts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account).transpose()
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        Ok(self
            .account_where("lower(username) = lower($1)", username.trim())
            .await?
            .pop())
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        // As SQLite's NOCASE column sorts.
        self.account_where("$1 = $1 ORDER BY lower(username) COLLATE \"C\"", "")
            .await
    }

    async fn set_disabled(&self, id: i64, disabled: bool) -> Result<(), StoreError> {
        self.update(
            "UPDATE accounts SET disabled = $2 WHERE id = $1",
            id,
            disabled,
        )
        .await
    }

    async fn set_password_hash(&self, id: i64, hash: &str) -> Result<(), StoreError> {
        self.update(
            "UPDATE accounts SET password_hash = $2 WHERE id = $1",
            id,
            hash.to_owned(),
        )
        .await
    }

    async fn set_totp_pending(&self, id: i64, secret: &str) -> Result<(), StoreError> {
        self.update(
            "UPDATE accounts SET totp_pending = $2 WHERE id = $1",
            id,
            secret.to_owned(),
        )
        .await
    }

    async fn confirm_totp(&self, id: i64, secret: &str, step: u64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET totp_secret = $2, totp_pending = NULL, totp_last_step = $3
             WHERE id = $1 AND totp_pending = $2",
        )
        .bind(id)
        .bind(secret)
        .bind(step as i64)
        .execute(&self.pool)
        .await?;
        one_row(done.rows_affected())
    }

    async fn reset_second_factor(&self, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL
             WHERE id = $1",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        one_row(done.rows_affected())
    }

    async fn use_totp_step(&self, id: i64, step: u64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET totp_last_step = $2
             WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(id)
        .bind(step as i64)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_sign_in_failure(
        &self,
        id: i64,
        now: i64,
        max_failures: u32,
        lockout_secs: i64,
    ) -> Result<FailureState, StoreError> {
        let (failed_attempts, locked_until): (i64, Option<i64>) = sqlx::query_as(
            "UPDATE accounts SET
                 failed_attempts = failed_attempts + 1,
                 locked_until = CASE WHEN failed_attempts + 1 >= $3 THEN $2 + $4 ELSE locked_until END
             WHERE id = $1
             RETURNING failed_attempts, locked_until",
        )
        .bind(id)
        .bind(now)
        .bind(max_failures as i64)
        .bind(lockout_secs)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let failed_attempts = failed_attempts as u32;
        Ok(FailureState {
            failed_attempts,
            locked_until: locked_until.filter(|_| failed_attempts >= max_failures),
        })
    }

    async fn clear_sign_in_failures(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
