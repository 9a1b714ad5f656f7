//! Approved answers, versioned. The writer's transaction holds the write lock
//! from its start, so the next key or version read there is never taken twice.

use super::refused;
use crate::rows::hotline::{ANSWER, answer, to_json};
use crate::rules::next_answer_version;
use crate::sqlite::SqliteStore;
use crate::{AnswerVersion, NewAnswerVersion, StoreError};
use rusqlite::{OptionalExtension, params};

/// Reads versions: `condition` binds ?1 and ?2 and may name the table `a`.
async fn read(
    store: &SqliteStore,
    condition: &str,
    first: i64,
    second: i64,
) -> Result<Vec<AnswerVersion>, StoreError> {
    let sql = format!("SELECT {ANSWER} FROM hotline_answers a WHERE {condition}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(first)
        .bind(second)
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(answer)
        .collect()
}

pub(super) async fn publish(
    store: &SqliteStore,
    a: &NewAnswerVersion,
) -> Result<AnswerVersion, StoreError> {
    let a = a.clone();
    let id = store
        .writer
        .write(move |db| {
            let (key, version) = match a.answer_key {
                None => {
                    let key: i64 = db
                        .prepare_cached(
                            "SELECT coalesce(max(answer_key), 0) + 1 FROM hotline_answers",
                        )?
                        .query_row([], |r| r.get(0))?;
                    (key, 1)
                }
                Some(key) => {
                    let latest: Option<(i64, String)> = db
                        .prepare_cached(
                            "SELECT version, state FROM hotline_answers
                             WHERE incident_id = ?1 AND answer_key = ?2
                             ORDER BY version DESC LIMIT 1",
                        )?
                        .query_row(params![a.incident_id, key], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    (key, next_answer_version(latest)?)
                }
            };
            db.prepare_cached(
                "INSERT INTO hotline_answers (incident_id, answer_key, version, language, title,
                     body, topics, author, published_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
            )?
            .query_row(
                params![
                    a.incident_id,
                    key,
                    version,
                    a.language.code(),
                    a.title,
                    a.body,
                    to_json(a.topics.iter().map(String::as_str)),
                    a.author,
                    a.at
                ],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| refused(e, "this version of the answer exists already"))
        })
        .await?;
    read(store, "id = ?1 AND ?2 = ?2", id, 0)
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

pub(super) async fn withdraw(
    store: &SqliteStore,
    incident_id: i64,
    answer_key: i64,
    by: i64,
    at: i64,
) -> Result<(), StoreError> {
    store
        .writer
        .write(move |db| {
            let changed = db
                .prepare_cached(
                    "UPDATE hotline_answers SET state = 'withdrawn', withdrawn_by = ?3,
                         withdrawn_at = ?4
                     WHERE incident_id = ?1 AND answer_key = ?2 AND state = 'published'",
                )?
                .execute(params![incident_id, answer_key, by, at])
                .map_err(|e| refused(e, "the answer changed meanwhile"))?;
            if changed > 0 {
                return Ok(());
            }
            let exists = db
                .prepare_cached(
                    "SELECT 1 FROM hotline_answers WHERE incident_id = ?1 AND answer_key = ?2",
                )?
                .exists([incident_id, answer_key])?;
            Err(if exists {
                StoreError::Conflict("the answer is already withdrawn".into())
            } else {
                StoreError::NotFound
            })
        })
        .await
}

pub(super) async fn current(
    store: &SqliteStore,
    incident_id: i64,
) -> Result<Vec<AnswerVersion>, StoreError> {
    // Every version of an answer shares its state: a withdrawn answer takes
    // no new version.
    read(
        store,
        "incident_id = ?1 AND ?2 = ?2 AND state = 'published'
         AND version = (SELECT max(version) FROM hotline_answers b
                        WHERE b.answer_key = a.answer_key)
         ORDER BY answer_key",
        incident_id,
        0,
    )
    .await
}

pub(super) async fn history(
    store: &SqliteStore,
    incident_id: i64,
    answer_key: i64,
) -> Result<Vec<AnswerVersion>, StoreError> {
    read(
        store,
        "incident_id = ?1 AND answer_key = ?2 ORDER BY version",
        incident_id,
        answer_key,
    )
    .await
}
