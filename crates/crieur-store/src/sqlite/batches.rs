use super::SqliteStore;
use super::deliveries::{claim_due, with_texts};
use crate::{
    BatchStore, ClaimedBatch, ClaimedDelivery, DeadLetter, OpenBatch, StaleBatch, StoreError,
    TakenBatch,
};
use rusqlite::{OptionalExtension, params};
use sqlx::Row;

#[async_trait::async_trait]
impl BatchStore for SqliteStore {
    async fn claim_batch(
        &self,
        channel: &str,
        limit: u32,
        now: i64,
    ) -> Result<Option<ClaimedBatch>, StoreError> {
        let channel = channel.to_owned();
        self.writer
            .write(move |db| {
                db.prepare_cached(
                    "INSERT INTO dispatch_batches (channel, created_at) VALUES (?1, ?2)",
                )?
                .execute(params![channel, now])?;
                let id = db.last_insert_rowid();
                let claimed = claim_due(db, &channel, limit, now, Some(id))?;
                if claimed.is_empty() {
                    db.prepare_cached("DELETE FROM dispatch_batches WHERE id = ?1")?
                        .execute([id])?;
                    return Ok(None);
                }
                let size = claimed.len() as u32;
                db.prepare_cached("UPDATE dispatch_batches SET size = ?2 WHERE id = ?1")?
                    .execute(params![id, size])?;
                Ok(Some(ClaimedBatch { id, channel, size }))
            })
            .await
    }

    async fn unpublished_batches(&self) -> Result<Vec<ClaimedBatch>, StoreError> {
        sqlx::query(
            "SELECT id, channel, size FROM dispatch_batches
             WHERE closed_at IS NULL AND published_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(ClaimedBatch {
                id: r.try_get("id")?,
                channel: r.try_get("channel")?,
                size: r.try_get::<i64, _>("size")? as u32,
            })
        })
        .collect()
    }

    async fn batch_published(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                db.prepare_cached(
                    "UPDATE dispatch_batches SET published_at = ?2
                     WHERE id = ?1 AND published_at IS NULL",
                )?
                .execute(params![id, now])?;
                Ok(())
            })
            .await
    }

    async fn take_batch(
        &self,
        id: i64,
        worker: &str,
        stream_seq: u64,
        now: i64,
    ) -> Result<TakenBatch, StoreError> {
        let worker = worker.to_owned();
        self.writer
            .write(move |db| {
                let takes: Option<i64> = db
                    .prepare_cached(
                        "UPDATE dispatch_batches SET takes = takes + 1, taken_at = ?2,
                             worker = ?3, stream_seq = ?4
                         WHERE id = ?1 RETURNING takes",
                    )?
                    .query_row(params![id, now, worker, stream_seq as i64], |r| r.get(0))
                    .optional()?;
                let Some(takes) = takes else {
                    return Err(StoreError::NotFound);
                };
                if takes > 1 {
                    // Whoever took it before may have sent some of what is
                    // left before stopping: flagged before anything goes again.
                    db.prepare_cached(
                        "UPDATE deliveries SET possible_dup = 1, updated_at = ?2
                         WHERE batch_id = ?1 AND state = 1",
                    )?
                    .execute(params![id, now])?;
                }
                let mut deliveries = db
                    .prepare_cached(
                        "SELECT id, alert_id, priority, channel, language, address, subject,
                                body, attempts
                         FROM deliveries WHERE batch_id = ?1 AND state = 1",
                    )?
                    .query_map([id], |r| {
                        Ok(ClaimedDelivery {
                            id: r.get(0)?,
                            alert_id: r.get(1)?,
                            priority: r.get(2)?,
                            channel: r.get(3)?,
                            language: r.get(4)?,
                            address: r.get(5)?,
                            subject: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                            body: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                            attempts: r.get(8)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                with_texts(db, &mut deliveries)?;
                Ok(TakenBatch {
                    takes: takes as u32,
                    deliveries,
                })
            })
            .await
    }

    async fn close_batch(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                db.prepare_cached(
                    "UPDATE dispatch_batches SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
                )?
                .execute(params![id, now])?;
                Ok(())
            })
            .await
    }

    async fn stale_batches(
        &self,
        min_takes: u32,
        before: i64,
    ) -> Result<Vec<StaleBatch>, StoreError> {
        sqlx::query(
            "SELECT id, channel, takes, stream_seq FROM dispatch_batches
             WHERE closed_at IS NULL AND takes >= ?1 AND taken_at < ?2 ORDER BY id",
        )
        .bind(i64::from(min_takes))
        .bind(before)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(StaleBatch {
                id: r.try_get("id")?,
                channel: r.try_get("channel")?,
                takes: r.try_get::<i64, _>("takes")? as u32,
                stream_seq: r.try_get::<Option<i64>, _>("stream_seq")?.map(|s| s as u64),
            })
        })
        .collect()
    }

    async fn dead_letter_batch(&self, id: i64, reason: &str, now: i64) -> Result<u64, StoreError> {
        let reason = reason.to_owned();
        self.writer
            .write(move |db| {
                let batch: Option<(String, i64, Option<String>)> = db
                    .prepare_cached(
                        "SELECT channel, takes, worker FROM dispatch_batches
                         WHERE id = ?1 AND closed_at IS NULL",
                    )?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                let Some((channel, takes, worker)) = batch else {
                    return Ok(0);
                };
                let failed = db
                    .prepare_cached(
                        "UPDATE deliveries SET state = 4, possible_dup = 1, error = ?2,
                             updated_at = ?3,
                             subject = CASE WHEN alert_id IS NULL THEN NULL ELSE subject END,
                             body = CASE WHEN alert_id IS NULL THEN NULL ELSE body END
                         WHERE batch_id = ?1 AND state = 1",
                    )?
                    .execute(params![id, format!("dead-lettered: {reason}"), now])?;
                if failed > 0 {
                    db.prepare_cached(
                        "INSERT INTO dispatch_dead_letters
                             (batch_id, channel, deliveries, takes, worker, reason, at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![
                        id,
                        channel,
                        failed as i64,
                        takes,
                        worker,
                        reason,
                        now
                    ])?;
                }
                db.prepare_cached("UPDATE dispatch_batches SET closed_at = ?2 WHERE id = ?1")?
                    .execute(params![id, now])?;
                Ok(failed as u64)
            })
            .await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        sqlx::query(
            "SELECT batch_id, channel, deliveries, takes, worker, reason, at
             FROM dispatch_dead_letters ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(DeadLetter {
                batch_id: r.try_get("batch_id")?,
                channel: r.try_get("channel")?,
                deliveries: r.try_get::<i64, _>("deliveries")? as u64,
                takes: r.try_get::<i64, _>("takes")? as u32,
                worker: r.try_get("worker")?,
                reason: r.try_get("reason")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
    }

    async fn open_batches(&self) -> Result<Vec<OpenBatch>, StoreError> {
        sqlx::query(
            "SELECT id, channel, size, published_at, takes, worker, taken_at
             FROM dispatch_batches WHERE closed_at IS NULL
             ORDER BY taken_at DESC NULLS LAST, id",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(OpenBatch {
                id: r.try_get("id")?,
                channel: r.try_get("channel")?,
                size: r.try_get::<i64, _>("size")? as u32,
                published: r.try_get::<Option<i64>, _>("published_at")?.is_some(),
                takes: r.try_get::<i64, _>("takes")? as u32,
                worker: r.try_get("worker")?,
                taken_at: r.try_get("taken_at")?,
            })
        })
        .collect()
    }

    async fn recover_unbatched_deliveries(&self) -> Result<u64, StoreError> {
        self.writer
            .write(|db| {
                Ok(db
                    .prepare_cached(
                        "UPDATE deliveries SET state = 0, possible_dup = 1
                         WHERE state = 1 AND batch_id IS NULL",
                    )?
                    .execute([])? as u64)
            })
            .await
    }
}
