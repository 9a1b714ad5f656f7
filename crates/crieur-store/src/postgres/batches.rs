//! Queue batches in PostgreSQL: claims lock what they take with FOR UPDATE
//! SKIP LOCKED (as the embedded engine's claims do here), so a coordinator
//! and anything else claiming never take one row twice.

use super::PgStore;
use crate::{
    BatchStore, ClaimedBatch, ClaimedDelivery, DeadLetter, OpenBatch, StaleBatch, StoreError,
    TakenBatch,
};
use sqlx::{PgConnection, Row};
use std::collections::HashMap;

/// Claims the rows `pick` selects ($1 channel, $2 limit, $3 now) into batch $4.
async fn claim_into(
    db: &mut PgConnection,
    pick: &str,
    channel: &str,
    limit: u32,
    now: i64,
    batch: i64,
) -> Result<u64, StoreError> {
    let sql = format!(
        "WITH picked AS ({pick} FOR UPDATE SKIP LOCKED)
         UPDATE deliveries d SET state = 1, attempts = d.attempts + 1, updated_at = $3,
             batch_id = $4
         FROM picked WHERE d.id = picked.id"
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(channel)
        .bind(i64::from(limit))
        .bind(now)
        .bind(batch)
        .execute(db)
        .await?
        .rows_affected())
}

fn claimed(r: &sqlx::postgres::PgRow) -> Result<ClaimedDelivery, sqlx::Error> {
    Ok(ClaimedDelivery {
        id: r.try_get("id")?,
        alert_id: r.try_get("alert_id")?,
        priority: r.try_get("priority")?,
        channel: r.try_get("channel")?,
        language: r.try_get("language")?,
        address: r.try_get("address")?,
        subject: r
            .try_get::<Option<String>, _>("subject")?
            .unwrap_or_default(),
        body: r.try_get::<Option<String>, _>("body")?.unwrap_or_default(),
        attempts: r.try_get::<i64, _>("attempts")? as u32,
    })
}

#[async_trait::async_trait]
impl BatchStore for PgStore {
    async fn claim_batch(
        &self,
        channel: &str,
        limit: u32,
        now: i64,
    ) -> Result<Option<ClaimedBatch>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO dispatch_batches (channel, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(channel)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let mut size = claim_into(
            &mut tx,
            "SELECT id FROM deliveries WHERE state = 5 AND next_at <= $3 AND channel = $1
             ORDER BY next_at LIMIT $2",
            channel,
            limit,
            now,
            id,
        )
        .await?;
        let rest = u64::from(limit).saturating_sub(size);
        if rest > 0 {
            size += claim_into(
                &mut tx,
                "SELECT id FROM deliveries WHERE state = 0 AND channel = $1
                 ORDER BY priority, id LIMIT $2",
                channel,
                rest as u32,
                now,
                id,
            )
            .await?;
        }
        if size == 0 {
            // Nothing due: the batch row goes with the transaction.
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query("UPDATE dispatch_batches SET size = $2 WHERE id = $1")
            .bind(id)
            .bind(size as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(ClaimedBatch {
            id,
            channel: channel.to_owned(),
            size: size as u32,
        }))
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
        sqlx::query(
            "UPDATE dispatch_batches SET published_at = $2 WHERE id = $1 AND published_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_batch(
        &self,
        id: i64,
        worker: &str,
        stream_seq: u64,
        now: i64,
    ) -> Result<TakenBatch, StoreError> {
        let mut tx = self.pool.begin().await?;
        let takes: Option<i64> = sqlx::query_scalar(
            "UPDATE dispatch_batches SET takes = takes + 1, taken_at = $2, worker = $3,
                 stream_seq = $4
             WHERE id = $1 RETURNING takes",
        )
        .bind(id)
        .bind(now)
        .bind(worker)
        .bind(stream_seq as i64)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(takes) = takes else {
            return Err(StoreError::NotFound);
        };
        if takes > 1 {
            // Whoever took it before may have sent some of what is left
            // before stopping: flagged before anything goes again.
            sqlx::query(
                "UPDATE deliveries SET possible_dup = 1, updated_at = $2
                 WHERE batch_id = $1 AND state = 1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let mut deliveries = sqlx::query(
            "SELECT id, alert_id, priority, channel, language, address, subject, body, attempts
             FROM deliveries WHERE batch_id = $1 AND state = 1 ORDER BY priority, id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(claimed)
        .collect::<Result<Vec<_>, _>>()?;
        let mut alerts: Vec<i64> = deliveries.iter().filter_map(|d| d.alert_id).collect();
        alerts.sort_unstable();
        alerts.dedup();
        if !alerts.is_empty() {
            let mut texts: HashMap<(i64, String, String), (String, String)> = HashMap::new();
            for r in sqlx::query(
                "SELECT alert_id, channel, language, subject, body FROM dispatch_texts
                 WHERE alert_id = ANY($1)",
            )
            .bind(&alerts)
            .fetch_all(&mut *tx)
            .await?
            {
                texts.insert(
                    (
                        r.try_get("alert_id")?,
                        r.try_get("channel")?,
                        r.try_get("language")?,
                    ),
                    (r.try_get("subject")?, r.try_get("body")?),
                );
            }
            for d in &mut deliveries {
                let Some(alert) = d.alert_id else { continue };
                if let Some((subject, body)) =
                    texts.get(&(alert, d.channel.clone(), d.language.clone()))
                {
                    d.subject.clone_from(subject);
                    d.body.clone_from(body);
                }
            }
        }
        tx.commit().await?;
        Ok(TakenBatch {
            takes: takes as u32,
            deliveries,
        })
    }

    async fn close_batch(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE dispatch_batches SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn stale_batches(
        &self,
        min_takes: u32,
        before: i64,
    ) -> Result<Vec<StaleBatch>, StoreError> {
        sqlx::query(
            "SELECT id, channel, takes, stream_seq FROM dispatch_batches
             WHERE closed_at IS NULL AND takes >= $1 AND taken_at < $2 ORDER BY id",
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
        let mut tx = self.pool.begin().await?;
        let batch = sqlx::query(
            "SELECT channel, takes, worker FROM dispatch_batches
             WHERE id = $1 AND closed_at IS NULL FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(batch) = batch else {
            return Ok(0);
        };
        let failed = sqlx::query(
            "UPDATE deliveries SET state = 4, possible_dup = 1, error = $2, updated_at = $3,
                 subject = CASE WHEN alert_id IS NULL THEN NULL ELSE subject END,
                 body = CASE WHEN alert_id IS NULL THEN NULL ELSE body END
             WHERE batch_id = $1 AND state = 1",
        )
        .bind(id)
        .bind(format!("dead-lettered: {reason}"))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if failed > 0 {
            sqlx::query(
                "INSERT INTO dispatch_dead_letters
                     (batch_id, channel, deliveries, takes, worker, reason, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(batch.try_get::<String, _>("channel")?)
            .bind(failed as i64)
            .bind(batch.try_get::<i64, _>("takes")?)
            .bind(batch.try_get::<Option<String>, _>("worker")?)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE dispatch_batches SET closed_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(failed)
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
        Ok(sqlx::query(
            "UPDATE deliveries SET state = 0, possible_dup = 1
             WHERE state = 1 AND batch_id IS NULL",
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
