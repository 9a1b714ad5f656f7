use super::SqliteStore;
use crate::{
    ClaimedDelivery, DeliveryCounts, DeliveryLine, DeliveryOutcome, DeliveryStore, StoreError,
};
use rusqlite::{OptionalExtension, params};
use sqlx::Row;

#[async_trait::async_trait]
impl DeliveryStore for SqliteStore {
    async fn claim_deliveries(
        &self,
        limit: u32,
        now: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.writer
            .write(move |db| {
                let mut claim = db.prepare_cached(
                    "UPDATE deliveries SET state = 1, attempts = attempts + 1, updated_at = ?2
                     WHERE id IN (SELECT id FROM deliveries WHERE state = 0 ORDER BY id LIMIT ?1)
                     RETURNING id, alert_id, channel, language, address",
                )?;
                let claimed = claim
                    .query_map(params![limit, now], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                let mut text = db.prepare_cached(
                    "SELECT subject, body FROM dispatch_texts
                     WHERE alert_id = ?1 AND channel = ?2 AND language = ?3",
                )?;
                let mut out = Vec::with_capacity(claimed.len());
                for (id, alert_id, channel, language, address) in claimed {
                    let found = text
                        .query_row(params![alert_id, channel, language], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                        })
                        .optional()?;
                    let Some((subject, body)) = found else {
                        // A defect, never to block the queue: this one fails.
                        tracing::error!(delivery = id, "a delivery has no text; it fails");
                        db.prepare_cached(
                            "UPDATE deliveries SET state = 4, error = 'no text for this channel and language'
                             WHERE id = ?1",
                        )?
                        .execute([id])?;
                        continue;
                    };
                    out.push(ClaimedDelivery {
                        id,
                        alert_id,
                        channel,
                        language,
                        address,
                        subject,
                        body,
                    });
                }
                out.sort_by_key(|d| d.id);
                Ok(out)
            })
            .await
    }

    async fn record_deliveries(
        &self,
        outcomes: Vec<DeliveryOutcome>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                let mut record = db.prepare_cached(
                    "UPDATE deliveries SET state = CASE WHEN ?2 IS NULL THEN 2 ELSE 4 END,
                         error = ?2, updated_at = ?3
                     WHERE id = ?1 AND state = 1",
                )?;
                for o in &outcomes {
                    record.execute(params![o.id, o.error, now])?;
                }
                Ok(())
            })
            .await
    }

    async fn recover_deliveries(&self) -> Result<u64, StoreError> {
        self.writer
            .write(|db| {
                Ok(db
                    .prepare_cached(
                        "UPDATE deliveries SET state = 0, possible_dup = 1 WHERE state = 1",
                    )?
                    .execute([])? as u64)
            })
            .await
    }

    async fn delivery_counts(&self, alert_id: i64) -> Result<Vec<DeliveryCounts>, StoreError> {
        sqlx::query(
            "SELECT channel,
                    sum(state = 0) AS queued, sum(state = 1) AS sending,
                    sum(state = 2) AS sent, sum(state = 4) AS failed,
                    sum(possible_dup) AS dups
             FROM deliveries WHERE alert_id = ?1 GROUP BY channel ORDER BY channel",
        )
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(DeliveryCounts {
                channel: r.try_get("channel")?,
                queued: r.try_get::<i64, _>("queued")? as u64,
                sending: r.try_get::<i64, _>("sending")? as u64,
                sent: r.try_get::<i64, _>("sent")? as u64,
                failed: r.try_get::<i64, _>("failed")? as u64,
                possible_duplicates: r.try_get::<i64, _>("dups")? as u64,
            })
        })
        .collect()
    }

    async fn delivery_report(&self, alert_id: i64) -> Result<Vec<DeliveryLine>, StoreError> {
        sqlx::query(
            "SELECT channel, language, address, state, attempts, possible_dup, error
             FROM deliveries WHERE alert_id = ?1 ORDER BY id",
        )
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            let state: i64 = r.try_get("state")?;
            Ok(DeliveryLine {
                channel: r.try_get("channel")?,
                language: r.try_get("language")?,
                address: r.try_get("address")?,
                state: match state {
                    0 => "queued",
                    1 => "sending",
                    2 => "sent",
                    4 => "failed",
                    other => {
                        return Err(StoreError::Corrupt(format!("deliveries.state: {other}")));
                    }
                },
                attempts: r.try_get::<i64, _>("attempts")? as u32,
                possible_duplicate: r.try_get::<i64, _>("possible_dup")? != 0,
                error: r.try_get("error")?,
            })
        })
        .collect()
    }
}
