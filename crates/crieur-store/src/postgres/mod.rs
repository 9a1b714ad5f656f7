//! The scale-out backend: PostgreSQL, shared by any number of processes. Every
//! write is one transaction; rules that SQLite gets from its single writer
//! (the audit chain's order, the next answer key) take a lock here instead.
//! The URL's password never reaches a log.

mod accounts;
mod addresses;
mod alerts;
mod audit;
mod batches;
mod boundaries;
mod citizens;
mod deliveries;
mod hotline;
mod relatives;
mod sessions;

use crate::{Backend, StoreError};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

pub(crate) static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pub(crate) pool: PgPool,
}

/// A PostgreSQL URL with the schema it names (`?schema=NAME`), if any.
#[derive(Debug, Clone)]
pub(crate) struct PgUrl {
    pub(crate) options: PgConnectOptions,
    pub(crate) schema: Option<String>,
}

/// Parses `postgres://…`, taking out the `schema` parameter (which libpq does
/// not know): the store then lives in that schema, created if missing.
pub(crate) fn parse_url(url: &str) -> Result<PgUrl, StoreError> {
    let invalid = |why: String| {
        StoreError::Unsupported(format!(
            "invalid PostgreSQL URL {}: {why}",
            crate::redact_url(url)
        ))
    };
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut schema = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some(name) => schema = Some(name.to_owned()),
            None => kept.push(pair),
        }
    }
    if let Some(name) = &schema {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(invalid(format!(
                "schema {name:?} must be lowercase letters, digits and _"
            )));
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut options = PgConnectOptions::from_str(&rest).map_err(|e| invalid(e.to_string()))?;
    if let Some(name) = &schema {
        options = options.options([("search_path", name.as_str())]);
    }
    Ok(PgUrl { options, schema })
}

impl PgStore {
    pub(crate) async fn open(url: &str) -> Result<PgStore, StoreError> {
        let PgUrl { options, schema } = parse_url(url)?;
        if let Some(schema) = &schema {
            // The schema must exist before the pool's search_path names it.
            let mut conn = sqlx::PgConnection::connect_with(&options).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&mut conn)
            .await?;
            conn.close().await?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        MIGRATIONS.run(&pool).await?;
        tracing::debug!(url = %crate::redact_url(url), "PostgreSQL store open and migrated");
        Ok(PgStore { pool })
    }
}

#[async_trait::async_trait]
impl Backend for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

/// A write the schema refused: a broken uniqueness rule is a conflict, a
/// reference to a missing row is not found; anything else stays what it is.
pub(crate) fn refused(e: sqlx::Error, conflict: &str) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        match d.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                return StoreError::Conflict(conflict.into());
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => return StoreError::NotFound,
            _ => {}
        }
    }
    e.into()
}

/// Any broken rule of the schema is a conflict, as SQLite's constraint errors
/// are where this is used.
pub(crate) fn constraint(e: sqlx::Error, conflict: impl FnOnce() -> String) -> StoreError {
    use sqlx::error::ErrorKind::*;
    match &e {
        sqlx::Error::Database(d)
            if matches!(
                d.kind(),
                UniqueViolation | ForeignKeyViolation | NotNullViolation | CheckViolation
            ) =>
        {
            StoreError::Conflict(conflict())
        }
        _ => e.into(),
    }
}
