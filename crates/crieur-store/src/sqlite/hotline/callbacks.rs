//! Callbacks owed to callers. Every transition names the hotline, and changes a
//! row only when that hotline owns it.

use super::refused;
use crate::rows::hotline::{CALLBACK, callback};
use crate::sqlite::SqliteStore;
use crate::{Callback, NewCallback, StoreError};
use rusqlite::{Connection, params};

/// After a transition changed no row: `Conflict` when the hotline has the
/// callback (it is in the wrong state or someone else's), else `NotFound`.
fn callback_refused(db: &Connection, id: i64, hotline_id: i64) -> StoreError {
    match db
        .prepare_cached("SELECT 1 FROM hotline_callbacks WHERE id = ?1 AND hotline_id = ?2")
        .and_then(|mut s| s.exists([id, hotline_id]))
    {
        Ok(true) => StoreError::Conflict(
            "the callback is assigned to someone else or no longer open".into(),
        ),
        Ok(false) => StoreError::NotFound,
        Err(e) => e.into(),
    }
}

async fn by_id(store: &SqliteStore, id: i64) -> Result<Callback, StoreError> {
    let sql = format!("SELECT {CALLBACK} FROM hotline_callbacks WHERE id = ?1");
    callback(
        &sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&store.pool)
            .await?
            .ok_or(StoreError::NotFound)?,
    )
}

pub(super) async fn create(store: &SqliteStore, c: &NewCallback) -> Result<Callback, StoreError> {
    let c = c.clone();
    let id = store
        .writer
        .write(move |db| {
            db.prepare_cached(
                "INSERT INTO hotline_callbacks (hotline_id, call_id, number, language, line,
                     reason, note, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id",
            )?
            .query_row(
                params![
                    c.hotline_id,
                    c.call_id,
                    c.number,
                    c.language.code(),
                    c.line.as_str(),
                    c.reason,
                    c.note,
                    c.at
                ],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| refused(e, "the callback exists already"))
        })
        .await?;
    by_id(store, id).await
}

pub(super) async fn list(
    store: &SqliteStore,
    hotline_id: i64,
    open_only: bool,
) -> Result<Vec<Callback>, StoreError> {
    let sql = format!(
        "SELECT {CALLBACK} FROM hotline_callbacks
         WHERE hotline_id = ?1 AND (NOT ?2 OR state IN ('open', 'assigned'))
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
    store: &SqliteStore,
    id: i64,
    hotline_id: i64,
    operator: i64,
    at: i64,
) -> Result<Callback, StoreError> {
    store
        .writer
        .write(move |db| {
            let changed = db
                .prepare_cached(
                    "UPDATE hotline_callbacks SET state = 'assigned', assigned_to = ?3,
                         updated_at = ?4
                     WHERE id = ?1 AND hotline_id = ?2
                       AND (state = 'open' OR (state = 'assigned' AND assigned_to = ?3))",
                )?
                .execute(params![id, hotline_id, operator, at])
                .map_err(|e| refused(e, "the callback changed meanwhile"))?;
            if changed == 0 {
                return Err(callback_refused(db, id, hotline_id));
            }
            Ok(())
        })
        .await?;
    by_id(store, id).await
}

pub(super) async fn finish(
    store: &SqliteStore,
    id: i64,
    hotline_id: i64,
    operator: i64,
    success: bool,
    note: &str,
    at: i64,
) -> Result<Callback, StoreError> {
    let note = note.to_owned();
    store
        .writer
        .write(move |db| {
            let changed = db
                .prepare_cached(
                    "UPDATE hotline_callbacks
                     SET state = CASE WHEN ?4 THEN 'done' ELSE 'failed' END,
                         attempts = attempts + 1, updated_at = ?6,
                         note = CASE WHEN ?5 = '' THEN note WHEN note = '' THEN ?5
                                     ELSE note || char(10) || ?5 END
                     WHERE id = ?1 AND hotline_id = ?2 AND state = 'assigned'
                       AND assigned_to = ?3",
                )?
                .execute(params![id, hotline_id, operator, success, note, at])?;
            if changed == 0 {
                return Err(callback_refused(db, id, hotline_id));
            }
            Ok(())
        })
        .await?;
    by_id(store, id).await
}
