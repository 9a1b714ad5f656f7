use thiserror::Error;

/// What can go wrong in storage. Callers map these to their own layer's errors.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The URL names a backend this build does not offer, or is malformed.
    #[error("{0}")]
    Unsupported(String),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Embedded(#[from] rusqlite::Error),
    /// The embedded store's writer could not take or commit a write.
    #[error("database write failed: {0}")]
    Write(String),
    /// Stored data that no longer parses: a defect or tampering, never user input.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}
