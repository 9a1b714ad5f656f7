use super::SqliteStore;
use crate::rows::{DELIVERY_LINE, delivery_counts, delivery_line};
use crate::{
    ClaimedDelivery, DeliveryCounts, DeliveryLine, DeliveryOutcome, DeliveryStore, OutcomeKind,
    Priority, ReceiptRecord, SingleMessage, StoreError,
};
use rusqlite::{Connection, params};

/// Claims and returns the rows selected by `ids_sql` (which binds ?1 channel,
/// ?2 limit, ?3 now) into `batch` (none for the embedded engine), without
/// the alerts' shared texts.
fn claim(
    db: &Connection,
    ids_sql: &str,
    channel: &str,
    limit: u32,
    now: i64,
    batch: Option<i64>,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let sql = format!(
        "UPDATE deliveries SET state = 1, attempts = attempts + 1, updated_at = ?3, batch_id = ?4
         WHERE id IN ({ids_sql})
         RETURNING id, alert_id, priority, channel, language, address, subject, body, attempts"
    );
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![channel, limit, now, batch], |r| {
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
    Ok(rows)
}

/// Claims up to `limit` due deliveries of `channel`: retries whose time has
/// come, then queued ones by priority and age.
pub(super) fn claim_due(
    db: &Connection,
    channel: &str,
    limit: u32,
    now: i64,
    batch: Option<i64>,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let mut out = claim(
        db,
        "SELECT id FROM deliveries WHERE state = 5 AND next_at <= ?3 AND channel = ?1
         ORDER BY next_at LIMIT ?2",
        channel,
        limit,
        now,
        batch,
    )?;
    let rest = limit.saturating_sub(out.len() as u32);
    if rest > 0 {
        out.extend(claim(
            db,
            "SELECT id FROM deliveries WHERE state = 0 AND channel = ?1
             ORDER BY priority, id LIMIT ?2",
            channel,
            rest,
            now,
            batch,
        )?);
    }
    Ok(out)
}

/// Fills in each alert delivery's shared text, read once per alert, channel
/// and language, and puts the rows in sending order.
pub(super) fn with_texts(db: &Connection, out: &mut [ClaimedDelivery]) -> Result<(), StoreError> {
    let mut text = db.prepare_cached(
        "SELECT subject, body FROM dispatch_texts
         WHERE alert_id = ?1 AND channel = ?2 AND language = ?3",
    )?;
    let mut texts = std::collections::HashMap::new();
    for d in out.iter_mut() {
        let Some(alert) = d.alert_id else { continue };
        let key = (alert, d.channel.clone(), d.language.clone());
        if !texts.contains_key(&key) {
            let found: Option<(String, String)> = text
                .query_map(params![alert, d.channel, d.language], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .next()
                .transpose()?;
            texts.insert(key.clone(), found);
        }
        if let Some(Some((subject, body))) = texts.get(&key) {
            d.subject.clone_from(subject);
            d.body.clone_from(body);
        }
    }
    out.sort_by_key(|d| (d.priority, d.id));
    Ok(())
}

#[async_trait::async_trait]
impl DeliveryStore for SqliteStore {
    async fn enqueue_messages(&self, messages: Vec<SingleMessage>) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                let mut insert = db.prepare_cached(
                    "INSERT INTO deliveries (priority, channel, language, address, subject, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for m in &messages {
                    insert.execute(params![
                        Priority::Code as i64,
                        m.channel,
                        m.language,
                        m.address,
                        m.subject,
                        m.body
                    ])?;
                }
                Ok(())
            })
            .await
    }

    async fn claim_deliveries(
        &self,
        channel: &str,
        limit: u32,
        now: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let channel = channel.to_owned();
        self.writer
            .write(move |db| {
                let mut out = claim_due(db, &channel, limit, now, None)?;
                with_texts(db, &mut out)?;
                Ok(out)
            })
            .await
    }

    async fn record_deliveries(
        &self,
        outcomes: Vec<DeliveryOutcome>,
        receipts: Vec<ReceiptRecord>,
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        self.writer
            .write(move |db| {
                let mut sent = db.prepare_cached(
                    "UPDATE deliveries SET state = ?7, provider = ?2, provider_ref = ?3,
                         receipts_due = ?4, reach = ?5, error = NULL, updated_at = ?6,
                         subject = CASE WHEN alert_id IS NULL THEN NULL ELSE subject END,
                         body = CASE WHEN alert_id IS NULL THEN NULL ELSE body END
                     WHERE id = ?1 AND state = 1",
                )?;
                let mut reference = db.prepare_cached(
                    "INSERT OR REPLACE INTO provider_refs (provider, ref, delivery_id) VALUES (?1, ?2, ?3)",
                )?;
                let mut retry = db.prepare_cached(
                    "UPDATE deliveries SET state = 5, provider = ?2, next_at = ?3, error = ?4,
                         possible_dup = max(possible_dup, ?5), updated_at = ?6
                     WHERE id = ?1 AND state = 1",
                )?;
                let mut failed = db.prepare_cached(
                    "UPDATE deliveries SET state = 4, provider = ?2, error = ?3,
                         possible_dup = max(possible_dup, ?4), updated_at = ?5,
                         subject = CASE WHEN alert_id IS NULL THEN NULL ELSE subject END,
                         body = CASE WHEN alert_id IS NULL THEN NULL ELSE body END
                     WHERE id = ?1 AND state = 1",
                )?;
                let mut requeue = db.prepare_cached(
                    "UPDATE deliveries SET state = 5, next_at = ?2, attempts = attempts - 1, updated_at = ?3
                     WHERE id = ?1 AND state = 1",
                )?;
                for o in &outcomes {
                    match &o.result {
                        OutcomeKind::Sent {
                            references,
                            await_receipts,
                            reach,
                            confirmed,
                        } => {
                            let due = if *await_receipts { references.len() } else { 0 };
                            let changed = sent.execute(params![
                                o.id,
                                o.provider,
                                references.first(),
                                due as i64,
                                reach.map(|r| r as i64),
                                now,
                                if *confirmed { 7 } else { 2 }
                            ])?;
                            if changed > 0 && *await_receipts {
                                for r in references {
                                    reference.execute(params![o.provider, r, o.id])?;
                                }
                            }
                        }
                        OutcomeKind::Retry {
                            at,
                            reason,
                            possibly_sent,
                        } => {
                            retry.execute(params![
                                o.id,
                                o.provider,
                                at,
                                reason,
                                i64::from(*possibly_sent),
                                now
                            ])?;
                        }
                        OutcomeKind::Failed {
                            reason,
                            possibly_sent,
                        } => {
                            failed.execute(params![
                                o.id,
                                o.provider,
                                reason,
                                i64::from(*possibly_sent),
                                now
                            ])?;
                        }
                        OutcomeKind::Requeue { at } => {
                            requeue.execute(params![o.id, at, now])?;
                        }
                    }
                }
                let mut find = db.prepare_cached(
                    "SELECT delivery_id FROM provider_refs WHERE provider = ?1 AND ref = ?2",
                )?;
                let mut delivered = db.prepare_cached(
                    "UPDATE deliveries SET receipts_due = max(receipts_due - 1, 0),
                         state = CASE WHEN receipts_due <= 1 THEN 3 ELSE state END, updated_at = ?2
                     WHERE id = ?1 AND state = 2",
                )?;
                let mut undelivered = db.prepare_cached(
                    "UPDATE deliveries SET state = 4, error = ?2, receipts_due = 0, updated_at = ?3
                     WHERE id = ?1 AND state IN (2, 3)",
                )?;
                let mut known = Vec::with_capacity(receipts.len());
                for r in &receipts {
                    let id: Option<i64> = find
                        .query_map(params![r.provider, r.reference], |row| row.get(0))?
                        .next()
                        .transpose()?;
                    let Some(id) = id else {
                        known.push(false);
                        continue;
                    };
                    // A receipt counts once, however often it comes.
                    let spent = db
                        .prepare_cached(
                            "UPDATE provider_refs SET done = 1
                             WHERE provider = ?1 AND ref = ?2 AND done = 0",
                        )?
                        .execute(params![r.provider, r.reference])?;
                    if spent > 0 {
                        match &r.failure {
                            None => delivered.execute(params![id, now])?,
                            Some(reason) => undelivered.execute(params![id, reason, now])?,
                        };
                    }
                    known.push(true);
                }
                Ok(known)
            })
            .await
    }

    async fn recover_deliveries(&self) -> Result<u64, StoreError> {
        self.writer
            .write(|db| {
                Ok(db
                    .prepare_cached(
                        "UPDATE deliveries SET state = 0, possible_dup = 1, batch_id = NULL
                         WHERE state = 1",
                    )?
                    .execute([])? as u64)
            })
            .await
    }

    async fn unfinished_deliveries(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM deliveries WHERE state = 0)
                  + (SELECT count(*) FROM deliveries WHERE state = 1)
                  + (SELECT count(*) FROM deliveries WHERE state = 5)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    async fn channels_with_work(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT channel FROM deliveries WHERE state = 0
             UNION SELECT DISTINCT channel FROM deliveries WHERE state = 5",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn cancel_deliveries(&self, alert_id: i64, now: i64) -> Result<u64, StoreError> {
        self.writer
            .write(move |db| {
                Ok(db
                    .prepare_cached(
                        "UPDATE deliveries SET state = 6, updated_at = ?2
                         WHERE alert_id = ?1 AND state IN (0, 5)",
                    )?
                    .execute(params![alert_id, now])? as u64)
            })
            .await
    }

    async fn retry_failed(&self, alert_id: i64, now: i64) -> Result<u64, StoreError> {
        self.writer
            .write(move |db| {
                Ok(db
                    .prepare_cached(
                        "UPDATE deliveries SET state = 5, next_at = ?2, attempts = 0, updated_at = ?2
                         WHERE alert_id = ?1 AND state = 4 AND address <> 'erased'",
                    )?
                    .execute(params![alert_id, now])? as u64)
            })
            .await
    }

    async fn delivery_counts(&self, alert_id: i64) -> Result<Vec<DeliveryCounts>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel, provider, state, count(*) AS n, sum(possible_dup) AS dups,
                    coalesce(sum(reach), 0) AS reach
             FROM deliveries WHERE alert_id = ?1
             GROUP BY channel, provider, state ORDER BY channel, provider",
        )
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        delivery_counts(rows)
    }

    async fn delivery_report(&self, alert_id: i64) -> Result<Vec<DeliveryLine>, StoreError> {
        let sql = format!("SELECT {DELIVERY_LINE} FROM deliveries WHERE alert_id = ?1 ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(alert_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(delivery_line)
            .collect()
    }
}
