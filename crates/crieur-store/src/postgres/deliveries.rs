//! Deliveries in PostgreSQL. Claims lock what they take with FOR UPDATE SKIP
//! LOCKED, so processes claiming at once never take one row twice; outcomes
//! are written one statement per kind over arrays, never one per row.

use super::PgStore;
use crate::rows::{DELIVERY_LINE, delivery_counts, delivery_line};
use crate::{
    ClaimedDelivery, DeliveryCounts, DeliveryLine, DeliveryOutcome, DeliveryStore, OutcomeKind,
    Priority, ReceiptRecord, SingleMessage, StoreError,
};
use sqlx::{PgConnection, Row};
use std::collections::{BTreeMap, HashMap};

/// Claims the rows `pick` selects (it binds $1 channel, $2 limit, $3 now and
/// must lock what it returns).
async fn claim(
    db: &mut PgConnection,
    pick: &str,
    channel: &str,
    limit: u32,
    now: i64,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let sql = format!(
        "WITH picked AS ({pick} FOR UPDATE SKIP LOCKED)
         UPDATE deliveries d SET state = 1, attempts = d.attempts + 1, updated_at = $3,
             batch_id = NULL
         FROM picked WHERE d.id = picked.id
         RETURNING d.id, d.alert_id, d.priority, d.channel, d.language, d.address, d.subject,
                   d.body, d.attempts"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(channel)
        .bind(limit as i64)
        .bind(now)
        .fetch_all(db)
        .await?
        .iter()
        .map(|r| {
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
        })
        .collect()
}

#[derive(Default)]
struct Sent {
    id: Vec<i64>,
    provider: Vec<String>,
    reference: Vec<Option<String>>,
    due: Vec<i64>,
    reach: Vec<Option<i64>>,
    state: Vec<i64>,
}

#[derive(Default)]
struct Retry {
    id: Vec<i64>,
    provider: Vec<String>,
    at: Vec<i64>,
    reason: Vec<String>,
    dup: Vec<i64>,
}

#[derive(Default)]
struct Failed {
    id: Vec<i64>,
    provider: Vec<String>,
    reason: Vec<String>,
    dup: Vec<i64>,
}

#[derive(Default)]
struct Requeue {
    id: Vec<i64>,
    at: Vec<i64>,
}

/// Outcomes of one batch, as columns per kind.
#[derive(Default)]
struct Columns {
    sent: Sent,
    retry: Retry,
    failed: Failed,
    requeue: Requeue,
    /// The references to store for each sent delivery awaiting receipts.
    references: HashMap<i64, (String, Vec<String>)>,
}

fn columns(outcomes: Vec<DeliveryOutcome>) -> Columns {
    let mut c = Columns::default();
    for o in outcomes {
        match o.result {
            OutcomeKind::Sent {
                references,
                await_receipts,
                reach,
                confirmed,
            } => {
                let due = if await_receipts { references.len() } else { 0 };
                c.sent.id.push(o.id);
                c.sent.provider.push(o.provider.clone());
                c.sent.reference.push(references.first().cloned());
                c.sent.due.push(due as i64);
                c.sent.reach.push(reach.map(|r| r as i64));
                c.sent.state.push(if confirmed { 7 } else { 2 });
                if await_receipts {
                    c.references.insert(o.id, (o.provider, references));
                }
            }
            OutcomeKind::Retry {
                at,
                reason,
                possibly_sent,
            } => {
                c.retry.id.push(o.id);
                c.retry.provider.push(o.provider);
                c.retry.at.push(at);
                c.retry.reason.push(reason);
                c.retry.dup.push(i64::from(possibly_sent));
            }
            OutcomeKind::Failed {
                reason,
                possibly_sent,
            } => {
                c.failed.id.push(o.id);
                c.failed.provider.push(o.provider);
                c.failed.reason.push(reason);
                c.failed.dup.push(i64::from(possibly_sent));
            }
            OutcomeKind::Requeue { at } => {
                c.requeue.id.push(o.id);
                c.requeue.at.push(at);
            }
        }
    }
    c
}

async fn record_outcomes(db: &mut PgConnection, c: Columns, now: i64) -> Result<(), StoreError> {
    if !c.sent.id.is_empty() {
        let changed: Vec<i64> = sqlx::query_scalar(
            "UPDATE deliveries d SET state = u.state, provider = u.provider, provider_ref = u.ref,
                 receipts_due = u.due, reach = u.reach, error = NULL, updated_at = $7,
                 subject = CASE WHEN d.alert_id IS NULL THEN NULL ELSE d.subject END,
                 body = CASE WHEN d.alert_id IS NULL THEN NULL ELSE d.body END
             FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[],
                         $6::BIGINT[]) AS u(id, provider, ref, due, reach, state)
             WHERE d.id = u.id AND d.state = 1
             RETURNING d.id",
        )
        .bind(&c.sent.id)
        .bind(&c.sent.provider)
        .bind(&c.sent.reference)
        .bind(&c.sent.due)
        .bind(&c.sent.reach)
        .bind(&c.sent.state)
        .bind(now)
        .fetch_all(&mut *db)
        .await?;
        // Later references replace earlier ones with the same key, as the
        // embedded store's INSERT OR REPLACE does.
        let mut refs: BTreeMap<(String, String), i64> = BTreeMap::new();
        for id in changed {
            if let Some((provider, references)) = c.references.get(&id) {
                for r in references {
                    refs.insert((provider.clone(), r.clone()), id);
                }
            }
        }
        if !refs.is_empty() {
            let (keys, ids): (Vec<_>, Vec<i64>) = refs.into_iter().unzip();
            let (providers, references): (Vec<String>, Vec<String>) = keys.into_iter().unzip();
            sqlx::query(
                "INSERT INTO provider_refs (provider, ref, delivery_id)
                 SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[])
                 ON CONFLICT (provider, ref) DO UPDATE SET delivery_id = excluded.delivery_id,
                     done = 0",
            )
            .bind(providers)
            .bind(references)
            .bind(ids)
            .execute(&mut *db)
            .await?;
        }
    }
    if !c.retry.id.is_empty() {
        sqlx::query(
            "UPDATE deliveries d SET state = 5, provider = u.provider, next_at = u.at,
                 error = u.reason, possible_dup = greatest(d.possible_dup, u.dup), updated_at = $6
             FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::BIGINT[])
                  AS u(id, provider, at, reason, dup)
             WHERE d.id = u.id AND d.state = 1",
        )
        .bind(&c.retry.id)
        .bind(&c.retry.provider)
        .bind(&c.retry.at)
        .bind(&c.retry.reason)
        .bind(&c.retry.dup)
        .bind(now)
        .execute(&mut *db)
        .await?;
    }
    if !c.failed.id.is_empty() {
        sqlx::query(
            "UPDATE deliveries d SET state = 4, provider = u.provider, error = u.reason,
                 possible_dup = greatest(d.possible_dup, u.dup), updated_at = $5,
                 subject = CASE WHEN d.alert_id IS NULL THEN NULL ELSE d.subject END,
                 body = CASE WHEN d.alert_id IS NULL THEN NULL ELSE d.body END
             FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[])
                  AS u(id, provider, reason, dup)
             WHERE d.id = u.id AND d.state = 1",
        )
        .bind(&c.failed.id)
        .bind(&c.failed.provider)
        .bind(&c.failed.reason)
        .bind(&c.failed.dup)
        .bind(now)
        .execute(&mut *db)
        .await?;
    }
    if !c.requeue.id.is_empty() {
        sqlx::query(
            "UPDATE deliveries d SET state = 5, next_at = u.at, attempts = d.attempts - 1,
                 updated_at = $3
             FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS u(id, at)
             WHERE d.id = u.id AND d.state = 1",
        )
        .bind(&c.requeue.id)
        .bind(&c.requeue.at)
        .bind(now)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

/// Applies receipts; returns for each whether its reference was known.
async fn record_receipts(
    db: &mut PgConnection,
    receipts: Vec<ReceiptRecord>,
    now: i64,
) -> Result<Vec<bool>, StoreError> {
    if receipts.is_empty() {
        return Ok(Vec::new());
    }
    let providers: Vec<&str> = receipts.iter().map(|r| r.provider.as_str()).collect();
    let references: Vec<&str> = receipts.iter().map(|r| r.reference.as_str()).collect();
    let known: Vec<bool> = sqlx::query_scalar(
        "SELECT p.provider IS NOT NULL
         FROM UNNEST($1::TEXT[], $2::TEXT[]) WITH ORDINALITY AS u(provider, ref, n)
         LEFT JOIN provider_refs p ON p.provider = u.provider AND p.ref = u.ref
         ORDER BY u.n",
    )
    .bind(&providers)
    .bind(&references)
    .fetch_all(&mut *db)
    .await?;
    // A receipt counts once, however often it comes: only the references
    // spent now move their delivery.
    let spent = sqlx::query(
        "UPDATE provider_refs p SET done = 1
         FROM (SELECT DISTINCT ON (provider, ref) provider, ref, n
               FROM UNNEST($1::TEXT[], $2::TEXT[]) WITH ORDINALITY AS u(provider, ref, n)
               ORDER BY provider, ref, n) u
         WHERE p.provider = u.provider AND p.ref = u.ref AND p.done = 0
         RETURNING p.delivery_id, u.n",
    )
    .bind(&providers)
    .bind(&references)
    .fetch_all(&mut *db)
    .await?;
    let mut spent: Vec<(i64, i64)> = spent
        .iter()
        .map(|r| Ok((r.try_get::<i64, _>("n")?, r.try_get("delivery_id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    spent.sort_unstable();
    // Taken in order, a delivery's receipts come to: its first failure (which
    // ends it whatever came before), or so many successes.
    let mut failure: BTreeMap<i64, String> = BTreeMap::new();
    let mut delivered: BTreeMap<i64, i64> = BTreeMap::new();
    for (n, id) in spent {
        match &receipts[(n - 1) as usize].failure {
            Some(reason) => {
                failure.entry(id).or_insert_with(|| reason.clone());
            }
            None => *delivered.entry(id).or_default() += 1,
        }
    }
    delivered.retain(|id, _| !failure.contains_key(id));
    if !delivered.is_empty() {
        let (ids, counts): (Vec<i64>, Vec<i64>) = delivered.into_iter().unzip();
        sqlx::query(
            "UPDATE deliveries d SET receipts_due = greatest(d.receipts_due - u.n, 0),
                 state = CASE WHEN d.receipts_due <= u.n THEN 3 ELSE d.state END, updated_at = $3
             FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS u(id, n)
             WHERE d.id = u.id AND d.state = 2",
        )
        .bind(ids)
        .bind(counts)
        .bind(now)
        .execute(&mut *db)
        .await?;
    }
    if !failure.is_empty() {
        let (ids, reasons): (Vec<i64>, Vec<String>) = failure.into_iter().unzip();
        sqlx::query(
            "UPDATE deliveries d SET state = 4, error = u.reason, receipts_due = 0, updated_at = $3
             FROM UNNEST($1::BIGINT[], $2::TEXT[]) AS u(id, reason)
             WHERE d.id = u.id AND d.state IN (2, 3)",
        )
        .bind(ids)
        .bind(reasons)
        .bind(now)
        .execute(&mut *db)
        .await?;
    }
    Ok(known)
}

#[async_trait::async_trait]
impl DeliveryStore for PgStore {
    async fn enqueue_messages(&self, messages: Vec<SingleMessage>) -> Result<(), StoreError> {
        if messages.is_empty() {
            return Ok(());
        }
        let column =
            |f: fn(&SingleMessage) -> &str| -> Vec<&str> { messages.iter().map(f).collect() };
        sqlx::query(
            "INSERT INTO deliveries (priority, channel, language, address, subject, body)
             SELECT $1, c, l, a, s, b
             FROM UNNEST($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[])
                  WITH ORDINALITY AS u(c, l, a, s, b, n)
             ORDER BY n",
        )
        .bind(Priority::Code as i64)
        .bind(column(|m| &m.channel))
        .bind(column(|m| &m.language))
        .bind(column(|m| &m.address))
        .bind(column(|m| &m.subject))
        .bind(column(|m| &m.body))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_deliveries(
        &self,
        channel: &str,
        limit: u32,
        now: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut out = claim(
            &mut tx,
            "SELECT id FROM deliveries WHERE state = 5 AND next_at <= $3 AND channel = $1
             ORDER BY next_at LIMIT $2",
            channel,
            limit,
            now,
        )
        .await?;
        let rest = limit.saturating_sub(out.len() as u32);
        if rest > 0 {
            out.extend(
                claim(
                    &mut tx,
                    "SELECT id FROM deliveries WHERE state = 0 AND channel = $1
                     ORDER BY priority, id LIMIT $2",
                    channel,
                    rest,
                    now,
                )
                .await?,
            );
        }
        // The alerts' shared texts, read once.
        let mut alerts: Vec<i64> = out.iter().filter_map(|d| d.alert_id).collect();
        alerts.sort_unstable();
        alerts.dedup();
        if !alerts.is_empty() {
            let mut texts: HashMap<(i64, String), (String, String)> = HashMap::new();
            for r in sqlx::query(
                "SELECT alert_id, language, subject, body FROM dispatch_texts
                 WHERE alert_id = ANY($1) AND channel = $2",
            )
            .bind(&alerts)
            .bind(channel)
            .fetch_all(&mut *tx)
            .await?
            {
                texts.insert(
                    (r.try_get("alert_id")?, r.try_get("language")?),
                    (r.try_get("subject")?, r.try_get("body")?),
                );
            }
            for d in &mut out {
                let Some(alert) = d.alert_id else { continue };
                if let Some((subject, body)) = texts.get(&(alert, d.language.clone())) {
                    d.subject.clone_from(subject);
                    d.body.clone_from(body);
                }
            }
        }
        tx.commit().await?;
        out.sort_by_key(|d| (d.priority, d.id));
        Ok(out)
    }

    async fn record_deliveries(
        &self,
        outcomes: Vec<DeliveryOutcome>,
        receipts: Vec<ReceiptRecord>,
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.pool.begin().await?;
        record_outcomes(&mut tx, columns(outcomes), now).await?;
        let known = record_receipts(&mut tx, receipts, now).await?;
        tx.commit().await?;
        Ok(known)
    }

    async fn recover_deliveries(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE deliveries SET state = 0, possible_dup = 1, batch_id = NULL WHERE state = 1",
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
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
             UNION SELECT DISTINCT channel FROM deliveries WHERE state = 5
             ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn cancel_deliveries(&self, alert_id: i64, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE deliveries SET state = 6, updated_at = $2
             WHERE alert_id = $1 AND state IN (0, 5)",
        )
        .bind(alert_id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn retry_failed(&self, alert_id: i64, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE deliveries SET state = 5, next_at = $2, attempts = 0, updated_at = $2
             WHERE alert_id = $1 AND state = 4 AND address <> 'erased'",
        )
        .bind(alert_id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn delivery_counts(&self, alert_id: i64) -> Result<Vec<DeliveryCounts>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel, provider, state, count(*) AS n, sum(possible_dup)::BIGINT AS dups,
                    coalesce(sum(reach), 0)::BIGINT AS reach
             FROM deliveries WHERE alert_id = $1
             GROUP BY channel, provider, state ORDER BY channel, provider NULLS FIRST",
        )
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        delivery_counts(rows)
    }

    async fn delivery_report(&self, alert_id: i64) -> Result<Vec<DeliveryLine>, StoreError> {
        let sql = format!("SELECT {DELIVERY_LINE} FROM deliveries WHERE alert_id = $1 ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(alert_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(delivery_line)
            .collect()
    }
}
