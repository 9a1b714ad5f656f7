use super::SqliteStore;
use crate::rows::{ACCOUNT as COLUMNS, account, one_row};
use crate::{Account, AccountStore, FailureState, NewAccount, StoreError};
use rusqlite::{OptionalExtension, params};

impl SqliteStore {
    /// Sets one column of one account: `sql` takes the id as ?1, the value as ?2.
    async fn update<V>(&self, sql: &'static str, id: i64, value: V) -> Result<(), StoreError>
    where
        V: rusqlite::ToSql + Send + 'static,
    {
        self.writer
            .write(move |db| one_row(db.prepare_cached(sql)?.execute(params![id, value])? as u64))
            .await
    }
}

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(&self, a: &NewAccount) -> Result<Account, StoreError> {
        let a = a.clone();
        let id = self
            .writer
            .write(move |db| {
                db.prepare_cached(
                    "INSERT INTO accounts (username, display_name, role, territory, password_hash, totp_secret)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                )?
                .query_row(
                    params![
                        a.username,
                        a.display_name,
                        a.role.as_str(),
                        a.territory.as_str(),
                        a.password_hash,
                        a.totp_secret
                    ],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => {
                        StoreError::Conflict(format!("the username {} is taken", a.username))
                    }
                    _ => StoreError::from(e),
                })
            })
            .await?;
        self.account(id).await?.ok_or(StoreError::NotFound)
    }

    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account).transpose()
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE username = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username.trim())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account).transpose()
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts ORDER BY username");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account).collect()
    }

    async fn set_disabled(&self, id: i64, disabled: bool) -> Result<(), StoreError> {
        self.update(
            "UPDATE accounts SET disabled = ?2 WHERE id = ?1",
            id,
            disabled,
        )
        .await
    }

    async fn set_password_hash(&self, id: i64, hash: &str) -> Result<(), StoreError> {
        self.update(
            "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
            id,
            hash.to_owned(),
        )
        .await
    }

    async fn set_totp_pending(&self, id: i64, secret: &str) -> Result<(), StoreError> {
        self.update(
            "UPDATE accounts SET totp_pending = ?2 WHERE id = ?1",
            id,
            secret.to_owned(),
        )
        .await
    }

    async fn confirm_totp(&self, id: i64, secret: &str, step: u64) -> Result<(), StoreError> {
        let secret = secret.to_owned();
        self.writer
            .write(move |db| {
                one_row(
                    db.prepare_cached(
                        "UPDATE accounts SET totp_secret = ?2, totp_pending = NULL, totp_last_step = ?3
                         WHERE id = ?1 AND totp_pending = ?2",
                    )?
                    .execute(params![id, secret, step as i64])? as u64,
                )
            })
            .await
    }

    async fn reset_second_factor(&self, id: i64) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                one_row(
                    db.prepare_cached(
                        "UPDATE accounts SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL
                         WHERE id = ?1",
                    )?
                    .execute([id])? as u64,
                )
            })
            .await
    }

    async fn use_totp_step(&self, id: i64, step: u64) -> Result<bool, StoreError> {
        self.writer
            .write(move |db| {
                Ok(db
                    .prepare_cached(
                        "UPDATE accounts SET totp_last_step = ?2
                         WHERE id = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
                    )?
                    .execute(params![id, step as i64])?
                    == 1)
            })
            .await
    }

    async fn record_sign_in_failure(
        &self,
        id: i64,
        now: i64,
        max_failures: u32,
        lockout_secs: i64,
    ) -> Result<FailureState, StoreError> {
        let (failed_attempts, locked_until) = self
            .writer
            .write(move |db| {
                db.prepare_cached(
                    "UPDATE accounts SET
                         failed_attempts = failed_attempts + 1,
                         locked_until = CASE WHEN failed_attempts + 1 >= ?3 THEN ?2 + ?4 ELSE locked_until END
                     WHERE id = ?1
                     RETURNING failed_attempts, locked_until",
                )?
                .query_row(params![id, now, max_failures as i64, lockout_secs], |r| {
                    Ok((r.get::<_, i64>(0)? as u32, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?
                .ok_or(StoreError::NotFound)
            })
            .await?;
        Ok(FailureState {
            failed_attempts,
            locked_until: locked_until.filter(|_| failed_attempts >= max_failures),
        })
    }

    async fn clear_sign_in_failures(&self, id: i64) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                db.prepare_cached(
                    "UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE id = ?1",
                )?
                .execute([id])?;
                Ok(())
            })
            .await
    }
}
