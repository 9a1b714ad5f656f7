use super::SqliteStore;
use crate::rows::{ALERT, INCIDENT, alert, incident, moved};
use crate::{AlertStore, Incident, NewAlert, Release, StoreError, StoredAlert};
use crieur_domain::NisCode;
use rusqlite::params;

impl SqliteStore {
    async fn alerts_where(
        &self,
        condition: &str,
        bind: i64,
        limit: u32,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        let sql = format!("SELECT {ALERT} FROM alerts WHERE {condition} LIMIT ?2");
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
impl AlertStore for SqliteStore {
    async fn open_incident(
        &self,
        title: &str,
        territory: NisCode,
        by: i64,
    ) -> Result<Incident, StoreError> {
        let title = title.to_owned();
        let id = self
            .writer
            .write(move |db| {
                Ok(db
                    .prepare_cached(
                        "INSERT INTO incidents (title, territory, opened_by) VALUES (?1, ?2, ?3) RETURNING id",
                    )?
                    .query_row(params![title, territory.as_str(), by], |r| r.get::<_, i64>(0))?)
            })
            .await?;
        self.incident(id).await?.ok_or(StoreError::NotFound)
    }

    async fn close_incident(&self, id: i64, by: i64) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                let changed = db
                    .prepare_cached(
                        "UPDATE incidents SET closed_by = ?2, closed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                         WHERE id = ?1 AND closed_at IS NULL",
                    )?
                    .execute(params![id, by])?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        let sql = format!("SELECT {INCIDENT} FROM incidents WHERE id = ?1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(incident)
            .transpose()
    }

    async fn incidents(&self, limit: u32) -> Result<Vec<Incident>, StoreError> {
        let sql = format!("SELECT {INCIDENT} FROM incidents ORDER BY id DESC LIMIT ?1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(incident)
            .collect()
    }

    async fn create_alert(&self, a: &NewAlert) -> Result<i64, StoreError> {
        let a = a.clone();
        self.writer
            .write(move |db| {
                Ok(db
                    .prepare_cached(
                        "INSERT INTO alerts (incident_id, identifier, territory, status, msg_type, references_id,
                             state, composition, area, fingerprint, author_id, test_group)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', ?7, ?8, ?9, ?10, ?11) RETURNING id",
                    )?
                    .query_row(
                        params![
                            a.incident_id,
                            a.identifier,
                            a.territory.as_str(),
                            a.status,
                            a.msg_type,
                            a.references_id,
                            a.composition,
                            a.area,
                            a.fingerprint,
                            a.author_id,
                            a.test_group
                        ],
                        |r| r.get::<_, i64>(0),
                    )?)
            })
            .await
    }

    async fn alert(&self, id: i64) -> Result<Option<StoredAlert>, StoreError> {
        Ok(self.alerts_where("id = ?1", id, 1).await?.pop())
    }

    async fn alerts_of_incident(&self, incident_id: i64) -> Result<Vec<StoredAlert>, StoreError> {
        self.alerts_where("incident_id = ?1 ORDER BY id", incident_id, 10_000)
            .await
    }

    async fn released_alerts(&self, limit: u32) -> Result<Vec<StoredAlert>, StoreError> {
        self.alerts_where(
            "state = 'released' AND ?1 = ?1 ORDER BY released_at DESC, id DESC",
            0,
            limit,
        )
        .await
    }

    async fn successors(&self, id: i64) -> Result<Vec<StoredAlert>, StoreError> {
        self.alerts_where("references_id = ?1 ORDER BY id", id, 10_000)
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
        let (composition, area, fingerprint, status) = (
            composition.to_owned(),
            area.to_owned(),
            fingerprint.to_owned(),
            status.to_owned(),
        );
        self.writer
            .write(move |db| {
                moved(
                    db.prepare_cached(
                        "UPDATE alerts SET composition = ?2, area = ?3, fingerprint = ?4, status = ?5,
                             test_group = ?6, state = 'draft', submitted_at = NULL
                         WHERE id = ?1 AND state IN ('draft', 'rejected')",
                    )?
                    .execute(params![id, composition, area, fingerprint, status, test_group])? as u64,
                )
            })
            .await
    }

    async fn submit_alert(&self, id: i64) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                moved(
                    db.prepare_cached(
                        "UPDATE alerts SET state = 'pending', submitted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                             decided_by = NULL, decided_at = NULL, decision_comment = NULL
                         WHERE id = ?1 AND state = 'draft'",
                    )?
                    .execute([id])? as u64,
                )
            })
            .await
    }

    async fn reject_alert(&self, id: i64, by: i64, comment: &str) -> Result<(), StoreError> {
        let comment = comment.to_owned();
        self.writer
            .write(move |db| {
                moved(
                    db.prepare_cached(
                        "UPDATE alerts SET state = 'rejected', decided_by = ?2,
                             decided_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), decision_comment = ?3
                         WHERE id = ?1 AND state = 'pending'",
                    )?
                    .execute(params![id, by, comment])? as u64,
                )
            })
            .await
    }

    async fn release_alert(&self, id: i64, release: &Release) -> Result<(), StoreError> {
        let Release {
            fingerprint,
            from,
            approver,
            by,
            now,
            sent,
            recipients,
            texts,
            deliveries,
            priority,
        } = release.clone();
        self.writer
            .write(move |db| {
                let (decided_by, comment) = approver.unzip();
                let released = moved(
                    db.prepare_cached(
                        "UPDATE alerts SET state = 'released', released_by = ?3, released_at = ?4, sent = ?5,
                             recipients = ?6,
                             decided_by = coalesce(?7, decided_by),
                             decided_at = CASE WHEN ?7 IS NULL THEN decided_at
                                          ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
                             decision_comment = coalesce(?8, decision_comment)
                         WHERE id = ?1 AND state = ?2 AND fingerprint = ?9",
                    )?
                    .execute(params![
                        id,
                        from.as_str(),
                        by,
                        now,
                        sent,
                        recipients,
                        decided_by,
                        comment,
                        fingerprint
                    ])? as u64,
                );
                released?;
                // The plan is stored with the release: nothing leaves before it.
                let mut text = db.prepare_cached(
                    "INSERT INTO dispatch_texts (alert_id, channel, language, subject, body)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for t in &texts {
                    text.execute(params![id, t.channel, t.language, t.subject, t.body])?;
                }
                let mut delivery = db.prepare_cached(
                    "INSERT INTO deliveries (alert_id, priority, channel, language, address)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for d in &deliveries {
                    delivery.execute(params![id, priority as i64, d.channel, d.language, d.address])?;
                }
                Ok(())
            })
            .await
    }

    async fn releases_since(&self, account: i64, since: i64) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM alerts WHERE released_by = ?1 AND released_at >= ?2",
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
            "SELECT id FROM alerts WHERE fingerprint = ?1 AND state = 'released' AND released_at >= ?2
             ORDER BY released_at DESC LIMIT 1",
        )
        .bind(fingerprint)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?)
    }
}
