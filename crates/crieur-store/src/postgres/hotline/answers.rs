//! Approved answers, versioned. Publishing locks the table against other
//! publishers, so the next key or version read is never taken twice.

use crate::postgres::{PgStore, refused};
use crate::rows::hotline::{ANSWER, answer, to_json};
use crate::rules::next_answer_version;
use crate::{AnswerVersion, NewAnswerVersion, StoreError};

/// Reads versions: `condition` binds $1 and $2 and may name the table `a`.
async fn read(
    store: &PgStore,
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
    store: &PgStore,
    a: &NewAnswerVersion,
) -> Result<AnswerVersion, StoreError> {
    let mut tx = store.pool.begin().await?;
    sqlx::query("LOCK TABLE hotline_answers IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let (key, version) = match a.answer_key {
        None => {
            let key: i64 =
                sqlx::query_scalar("SELECT coalesce(max(answer_key), 0) + 1 FROM hotline_answers")
                    .fetch_one(&mut *tx)
                    .await?;
            (key, 1)
        }
        Some(key) => {
            let latest: Option<(i64, String)> = sqlx::query_as(
                "SELECT version, state FROM hotline_answers
                 WHERE incident_id = $1 AND answer_key = $2
                 ORDER BY version DESC LIMIT 1",
            )
            .bind(a.incident_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            (key, next_answer_version(latest)?)
        }
    };
    let sql = format!(
        "INSERT INTO hotline_answers AS a (incident_id, answer_key, version, language, title,
             body, topics, author, published_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {ANSWER}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(a.incident_id)
        .bind(key)
        .bind(version)
        .bind(a.language.code())
        .bind(&a.title)
        .bind(&a.body)
        .bind(to_json(a.topics.iter().map(String::as_str)))
        .bind(a.author)
        .bind(a.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| refused(e, "this version of the answer exists already"))?;
    let published = answer(&row)?;
    tx.commit().await?;
    Ok(published)
}

pub(super) async fn withdraw(
    store: &PgStore,
    incident_id: i64,
    answer_key: i64,
    by: i64,
    at: i64,
) -> Result<(), StoreError> {
    let mut tx = store.pool.begin().await?;
    let changed = sqlx::query(
        "UPDATE hotline_answers SET state = 'withdrawn', withdrawn_by = $3, withdrawn_at = $4
         WHERE incident_id = $1 AND answer_key = $2 AND state = 'published'",
    )
    .bind(incident_id)
    .bind(answer_key)
    .bind(by)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(|e| refused(e, "the answer changed meanwhile"))?
    .rows_affected();
    if changed > 0 {
        tx.commit().await?;
        return Ok(());
    }
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM hotline_answers WHERE incident_id = $1 AND answer_key = $2)",
    )
    .bind(incident_id)
    .bind(answer_key)
    .fetch_one(&mut *tx)
    .await?;
    Err(if exists {
        StoreError::Conflict("the answer is already withdrawn".into())
    } else {
        StoreError::NotFound
    })
}

pub(super) async fn current(
    store: &PgStore,
    incident_id: i64,
) -> Result<Vec<AnswerVersion>, StoreError> {
    // Every version of an answer shares its state: a withdrawn answer takes
    // no new version.
    read(
        store,
        "incident_id = $1 AND $2 = $2 AND state = 'published'
         AND version = (SELECT max(version) FROM hotline_answers b
                        WHERE b.answer_key = a.answer_key)
         ORDER BY answer_key",
        incident_id,
        0,
    )
    .await
}

pub(super) async fn history(
    store: &PgStore,
    incident_id: i64,
    answer_key: i64,
) -> Result<Vec<AnswerVersion>, StoreError> {
    read(
        store,
        "incident_id = $1 AND answer_key = $2 ORDER BY version",
        incident_id,
        answer_key,
    )
    .await
}
