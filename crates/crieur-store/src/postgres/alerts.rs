use super::PgStore;
use crate::rows::{ALERT, INCIDENT, alert, incident, moved};
use crate::{AlertStore, Incident, NewAlert, Release, StoreError, StoredAlert};
use crieur_domain::NisCode;

/// Rows per INSERT of a delivery plan.
const CHUNK: usize = 20_000;

impl PgStore {
    async fn alerts_where(
        &self,
        condition: &str,
        bind: i64,
        limit: u32,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        let sql = format!("SELECT {ALERT} FROM alerts WHERE {condition} LIMIT $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bind)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(alert)
            .collect()
    }
}

#[async_trait::async_trait]
impl AlertStore for PgStore {
    async fn open_incident(
        &self,
        title: &str,
        territory: NisCode,
        by: i64,
    ) -> Result<Incident, StoreError> {
        let sql = format!(
            "INSERT INTO incidents (title, territory, opened_by) VALUES ($1, $2, $3) RETURNING {INCIDENT}"
        );
        incident(
            &sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(title)
                .bind(territory.as_str())
                .bind(by)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn close_incident(&self, id: i64, by: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE incidents SET closed_by = $2, closed_at = crieur_now()
             WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(id)
        .bind(by)
        .execute(&self.pool)
        .await?;
        crate::rows::one_row(done.rows_affected())
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        let sql = format!("SELECT {INCIDENT} FROM incidents WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(incident)
            .transpose()
    }

    async fn incidents(&self, limit: u32) -> Result<Vec<Incident>, StoreError> {
        let sql = format!("SELECT {INCIDENT} FROM incidents ORDER BY id DESC LIMIT $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(incident)
            .collect()
    }

    async fn create_alert(&self, a: &NewAlert) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO alerts (incident_id, identifier, territory, status, msg_type, references_id,
                 state, composition, area, fingerprint, author_id, test_group)
             VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(a.incident_id)
        .bind(&a.identifier)
        .bind(a.territory.as_str())
        .bind(&a.status)
        .bind(&a.msg_type)
        .bind(a.references_id)
        .bind(&a.composition)
        .bind(&a.area)
        .bind(&a.fingerprint)
        .bind(a.author_id)
        .bind(a.test_group)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn alert(&self, id: i64) -> Result<Option<StoredAlert>, StoreError> {
        Ok(self.alerts_where("id = $1", id, 1).await?.pop())
    }

    async fn alerts_of_incident(&self, incident_id: i64) -> Result<Vec<StoredAlert>, StoreError> {
        self.alerts_where("incident_id = $1 ORDER BY id", incident_id, 10_000)
            .await
    }

    async fn released_alerts(&self, limit: u32) -> Result<Vec<StoredAlert>, StoreError> {
        self.alerts_where(
            "state = 'released' AND $1 = $1 ORDER BY released_at DESC, id DESC",
            0,
            limit,
        )
        .await
    }

    async fn successors(&self, id: i64) -> Result<Vec<StoredAlert>, StoreError> {
        self.alerts_where("references_id = $1 ORDER BY id", id, 10_000)
            .await
    }

    async fn edit_alert(
        &self,
        id: i64,
        composition: &str,
        area: &str,
        fingerprint: &str,
        status: &str,
        test_group: bool,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE alerts SET composition = $2, area = $3, fingerprint = $4, status = $5,
                 test_group = $6, state = 'draft', submitted_at = NULL
             WHERE id = $1 AND state IN ('draft', 'rejected')",
        )
        .bind(id)
        .bind(composition)
        .bind(area)
        .bind(fingerprint)
        .bind(status)
        .bind(test_group)
        .execute(&self.pool)
        .await?;
        moved(done.rows_affected())
    }

    async fn submit_alert(&self, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE alerts SET state = 'pending', submitted_at = crieur_now(),
                 decided_by = NULL, decided_at = NULL, decision_comment = NULL
             WHERE id = $1 AND state = 'draft'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        moved(done.rows_affected())
    }

    async fn reject_alert(&self, id: i64, by: i64, comment: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE alerts SET state = 'rejected', decided_by = $2,
                 decided_at = crieur_now(), decision_comment = $3
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(by)
        .bind(comment)
        .execute(&self.pool)
        .await?;
        moved(done.rows_affected())
    }

    async fn release_alert(&self, id: i64, release: &Release) -> Result<(), StoreError> {
        let r = release;
        let (decided_by, comment) = r.approver.clone().unzip();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE alerts SET state = 'released', released_by = $3, released_at = $4, sent = $5,
                 recipients = $6,
                 decided_by = coalesce($7, decided_by),
                 decided_at = CASE WHEN $7::BIGINT IS NULL THEN decided_at ELSE crieur_now() END,
                 decision_comment = coalesce($8, decision_comment)
             WHERE id = $1 AND state = $2 AND fingerprint = $9",
        )
        .bind(id)
        .bind(r.from.as_str())
        .bind(r.by)
        .bind(r.now)
        .bind(&r.sent)
        .bind(&r.recipients)
        .bind(decided_by)
        .bind(comment)
        .bind(&r.fingerprint)
        .execute(&mut *tx)
        .await?;
        moved(done.rows_affected())?;
        // The plan is stored with the release: nothing leaves before it.
        for t in &r.texts {
            sqlx::query(
                "INSERT INTO dispatch_texts (alert_id, channel, language, subject, body)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(&t.channel)
            .bind(&t.language)
            .bind(&t.subject)
            .bind(&t.body)
            .execute(&mut *tx)
            .await?;
        }
        for chunk in r.deliveries.chunks(CHUNK) {
            let column = |f: fn(&crate::PlannedDelivery) -> &str| -> Vec<&str> {
                chunk.iter().map(f).collect()
            };
            sqlx::query(
                "INSERT INTO deliveries (alert_id, priority, channel, language, address)
                 SELECT $1, $2, c, l, a FROM UNNEST($3::TEXT[], $4::TEXT[], $5::TEXT[])
                     WITH ORDINALITY AS u(c, l, a, n)
                 ORDER BY n",
            )
            .bind(id)
            .bind(r.priority as i64)
            .bind(column(|d| &d.channel))
            .bind(column(|d| &d.language))
            .bind(column(|d| &d.address))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn releases_since(&self, account: i64, since: i64) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM alerts WHERE released_by = $1 AND released_at >= $2",
        )
        .bind(account)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u32)
    }

    async fn released_with_fingerprint(
        &self,
        fingerprint: &str,
        since: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM alerts WHERE fingerprint = $1 AND state = 'released' AND released_at >= $2
             ORDER BY released_at DESC LIMIT 1",
        )
        .bind(fingerprint)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?)
    }
}
