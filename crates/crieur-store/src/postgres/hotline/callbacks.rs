//! Callbacks owed to callers. Every transition names the hotline, and changes a
//! row only when that hotline owns it.

use crate::postgres::{PgStore, refused};
use crate::rows::hotline::{CALLBACK, callback};
use crate::{Callback, NewCallback, StoreError};
use sqlx::PgConnection;

/// After a transition changed no row: `Conflict` when the hotline has the
/// callback (it is in the wrong state or someone else's), else `NotFound`.
async fn callback_refused(db: &mut PgConnection, id: i64, hotline_id: i64) -> StoreError {
    match sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM hotline_callbacks WHERE id = $1 AND hotline_id = $2)",
    )
    .bind(id)
    .bind(hotline_id)
    .fetch_one(db)
    .await
    {
        Ok(true) => StoreError::Conflict(
            "the callback is assigned to someone else or no longer open".into(),
        ),
        Ok(false) => StoreError::NotFound,
        Err(e) => e.into(),
    }
}

/// Runs a transition that returns the callback, or says why it changed nothing.
async fn transition(
    store: &PgStore,
    id: i64,
    hotline_id: i64,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<Callback, StoreError> {
    let mut tx = store.pool.begin().await?;
    let row = query
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| refused(e, "the callback changed meanwhile"))?;
    match row {
        Some(row) => {
            let c = callback(&row)?;
            tx.commit().await?;
            Ok(c)
        }
        None => Err(callback_refused(&mut tx, id, hotline_id).await),
    }
}

pub(super) async fn create(store: &PgStore, c: &NewCallback) -> Result<Callback, StoreError> {
    let sql = format!(
        "INSERT INTO hotline_callbacks (hotline_id, call_id, number, language, line,
             reason, note, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {CALLBACK}"
    );
    callback(
        &sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(c.hotline_id)
            .bind(&c.call_id)
            .bind(&c.number)
            .bind(c.language.code())
            .bind(c.line.as_str())
            .bind(&c.reason)
            .bind(&c.note)
            .bind(c.at)
            .fetch_one(&store.pool)
            .await
            .map_err(|e| refused(e, "the callback exists already"))?,
    )
}

pub(super) async fn list(
    store: &PgStore,
    hotline_id: i64,
    open_only: bool,
) -> Result<Vec<Callback>, StoreError> {
    let sql = format!(
        "SELECT {CALLBACK} FROM hotline_callbacks
         WHERE hotline_id = $1 AND (NOT $2 OR state IN ('open', 'assigned'))
         ORDER BY id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hotline_id)
        .bind(open_only)
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(callback)
        .collect()
}

pub(super) async fn assign(
    store: &PgStore,
    id: i64,
    hotline_id: i64,
    operator: i64,
    at: i64,
) -> Result<Callback, StoreError> {
    let sql = format!(
        "UPDATE hotline_callbacks SET state = 'assigned', assigned_to = $3, updated_at = $4
         WHERE id = $1 AND hotline_id = $2
           AND (state = 'open' OR (state = 'assigned' AND assigned_to = $3))
         RETURNING {CALLBACK}"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(hotline_id)
        .bind(operator)
        .bind(at);
    transition(store, id, hotline_id, query).await
}

pub(super) async fn finish(
    store: &PgStore,
    id: i64,
    hotline_id: i64,
    operator: i64,
    success: bool,
    note: &str,
    at: i64,
) -> Result<Callback, StoreError> {
    let sql = format!(
        "UPDATE hotline_callbacks
         SET state = CASE WHEN $4 THEN 'done' ELSE 'failed' END,
             attempts = attempts + 1, updated_at = $6,
             note = CASE WHEN $5 = '' THEN note WHEN note = '' THEN $5
                         ELSE note || chr(10) || $5 END
         WHERE id = $1 AND hotline_id = $2 AND state = 'assigned' AND assigned_to = $3
         RETURNING {CALLBACK}"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(hotline_id)
        .bind(operator)
        .bind(success)
        .bind(note.to_owned())
        .bind(at);
    transition(store, id, hotline_id, query).await
}
