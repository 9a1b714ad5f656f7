//! The embedded backend: one SQLite file in WAL mode.

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
mod writer;

use crate::{Backend, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    /// Readers: several connections, reading in parallel under WAL.
    pool: SqlitePool,
    /// The one writer. SQLite serialises writers anyway; queueing them on one
    /// thread avoids lock contention and lets concurrent writes share a commit.
    writer: writer::Writer,
}

impl SqliteStore {
    pub(crate) async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unsupported(format!("invalid SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed transaction survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-16384");
        let migrator = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATIONS.run(&migrator).await?;
        migrator.close().await;
        let writer = writer::Writer::open(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        tracing::debug!(%url, "SQLite store open and migrated");
        Ok(SqliteStore { pool, writer })
    }
}

#[async_trait::async_trait]
impl Backend for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}
