use super::SqliteStore;
use crate::rows::{ADDRESS, CITIZEN, CONTACT, address, citizen, contact, registration_count};
use crate::rules::judge_secret;
use crate::{Citizen, CitizenStore, NewCitizen, SecretCheck, StoreError, StoredContact};
use crieur_domain::NisCode;
use rusqlite::{OptionalExtension, params};
use sqlx::Row;

#[async_trait::async_trait]
impl CitizenStore for SqliteStore {
    async fn register_citizen(&self, c: &NewCitizen) -> Result<(i64, Vec<i64>), StoreError> {
        let c = c.clone();
        self.writer
            .write(move |db| {
                let id: i64 = db
                    .prepare_cached(
                        "INSERT INTO citizens (language, general_interest, consent_version, consent_at, source)
                         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                    )?
                    .query_row(
                        params![c.language, c.general_interest, c.consent_version, c.consent_at, c.source],
                        |r| r.get(0),
                    )?;
                let mut contact = db.prepare_cached(
                    "INSERT INTO citizen_contacts (citizen_id, kind, value, line, sms, voice, verified_at, verified_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6,
                             CASE WHEN ?7 IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END, ?7)
                     RETURNING id",
                )?;
                let contact_ids = c
                    .contacts
                    .iter()
                    .map(|k| {
                        contact.query_row(
                            params![id, k.kind, k.value, k.line, k.sms, k.voice, k.verified_by],
                            |r| r.get::<_, i64>(0),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let mut address = db.prepare_cached(
                    "INSERT INTO citizen_addresses
                         (citizen_id, position, label, street, house_number, postcode, municipality, lon, lat, placed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                for (position, a) in c.addresses.iter().enumerate() {
                    address.execute(params![
                        id,
                        position as i64,
                        a.label,
                        a.street,
                        a.house_number,
                        a.postcode,
                        a.municipality.as_str(),
                        a.lon,
                        a.lat,
                        a.placed
                    ])?;
                }
                let mut municipalities: Vec<&str> =
                    c.addresses.iter().map(|a| a.municipality.as_str()).collect();
                municipalities.sort_unstable();
                municipalities.dedup();
                let mut count = db.prepare_cached(
                    "INSERT INTO registration_counts (municipality, registered) VALUES (?1, 1)
                     ON CONFLICT (municipality) DO UPDATE SET registered = registered + 1",
                )?;
                for m in municipalities {
                    count.execute([m])?;
                }
                Ok((id, contact_ids))
            })
            .await
    }

    async fn citizen(&self, id: i64) -> Result<Option<Citizen>, StoreError> {
        let sql = format!("SELECT {CITIZEN} FROM citizens WHERE id = ?1");
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let mut c = citizen(&r)?;
        let sql =
            format!("SELECT {CONTACT} FROM citizen_contacts WHERE citizen_id = ?1 ORDER BY id");
        c.contacts = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(contact)
            .collect::<Result<_, _>>()?;
        let sql = format!(
            "SELECT {ADDRESS} FROM citizen_addresses WHERE citizen_id = ?1 ORDER BY position"
        );
        c.addresses = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(address)
            .collect::<Result<_, _>>()?;
        Ok(Some(c))
    }

    async fn citizen_by_verified_contact(
        &self,
        kind: &str,
        value: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT citizen_id FROM citizen_contacts
             WHERE kind = ?1 AND value = ?2 AND verified_at IS NOT NULL ORDER BY id LIMIT 1",
        )
        .bind(kind)
        .bind(value)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn set_verification_secret(
        &self,
        contact_id: i64,
        secret_digest: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let secret_digest = secret_digest.to_owned();
        self.writer
            .write(move |db| {
                db.prepare_cached(
                    "INSERT INTO verification_secrets (contact_id, secret_digest, expires_at, attempts, sent_at)
                     VALUES (?1, ?2, ?3, 0, ?4)
                     ON CONFLICT (contact_id) DO UPDATE SET secret_digest = excluded.secret_digest,
                         expires_at = excluded.expires_at, attempts = 0, sent_at = excluded.sent_at",
                )?
                .execute(params![contact_id, secret_digest, expires_at, now])?;
                Ok(())
            })
            .await
    }

    async fn check_contact_secret(
        &self,
        contact_id: i64,
        secret_digest: &str,
        now: i64,
        max_attempts: u32,
        verified_by: &str,
    ) -> Result<SecretCheck, StoreError> {
        let (secret_digest, verified_by) = (secret_digest.to_owned(), verified_by.to_owned());
        self.writer
            .write(move |db| {
                let Some((stored, expires_at, attempts)) = db
                    .prepare_cached(
                        "SELECT secret_digest, expires_at, attempts FROM verification_secrets
                         WHERE contact_id = ?1",
                    )?
                    .query_row([contact_id], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)? as u32))
                    })
                    .optional()?
                else {
                    return Ok(SecretCheck::NonePending);
                };
                let verdict =
                    judge_secret(&stored, expires_at, attempts, now, max_attempts, &secret_digest);
                let mut forget =
                    db.prepare_cached("DELETE FROM verification_secrets WHERE contact_id = ?1")?;
                match verdict {
                    SecretCheck::Verified => {
                        db.prepare_cached(
                            "UPDATE citizen_contacts SET verified_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), verified_by = ?2
                             WHERE id = ?1",
                        )?
                        .execute(params![contact_id, verified_by])?;
                        forget.execute([contact_id])?;
                    }
                    SecretCheck::Wrong { .. } => {
                        db.prepare_cached(
                            "UPDATE verification_secrets SET attempts = attempts + 1 WHERE contact_id = ?1",
                        )?
                        .execute([contact_id])?;
                    }
                    SecretCheck::Expired | SecretCheck::NonePending => {
                        forget.execute([contact_id])?;
                    }
                }
                Ok(verdict)
            })
            .await
    }

    async fn verify_by_secret(
        &self,
        secret_digest: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let secret_digest = secret_digest.to_owned();
        self.writer
            .write(move |db| {
                let contact: Option<i64> = db
                    .prepare_cached(
                        "SELECT contact_id FROM verification_secrets
                         WHERE secret_digest = ?1 AND expires_at >= ?2",
                    )?
                    .query_row(params![secret_digest, now], |r| r.get(0))
                    .optional()?;
                if let Some(id) = contact {
                    db.prepare_cached(
                        "UPDATE citizen_contacts SET verified_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), verified_by = 'link'
                         WHERE id = ?1",
                    )?
                    .execute([id])?;
                    db.prepare_cached("DELETE FROM verification_secrets WHERE contact_id = ?1")?
                        .execute([id])?;
                }
                Ok(contact)
            })
            .await
    }

    async fn set_general_interest(&self, citizen_id: i64, on: bool) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                let changed = db
                    .prepare_cached("UPDATE citizens SET general_interest = ?2 WHERE id = ?1")?
                    .execute(params![citizen_id, on])?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn delete_citizen(&self, citizen_id: i64) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                // Only anonymous counts outlive the citizen.
                db.prepare_cached(
                    "UPDATE registration_counts SET deleted = deleted + 1
                     WHERE municipality IN
                         (SELECT DISTINCT municipality FROM citizen_addresses WHERE citizen_id = ?1)",
                )?
                .execute([citizen_id])?;
                // Their contacts leave the delivery plans too: what was not sent
                // yet is not sent, and no report shows them any more.
                db.prepare_cached(
                    "UPDATE deliveries SET address = 'erased', subject = NULL, body = NULL,
                         state = CASE WHEN state IN (0, 5) THEN 4 ELSE state END,
                         error = CASE WHEN state IN (0, 5) THEN 'recipient erased' ELSE error END
                     WHERE address IN (SELECT value FROM citizen_contacts WHERE citizen_id = ?1)",
                )?
                .execute([citizen_id])?;
                let deleted = db
                    .prepare_cached("DELETE FROM citizens WHERE id = ?1")?
                    .execute([citizen_id])?;
                if deleted == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn hit_rates(
        &self,
        keys: &[String],
        now: i64,
        window_secs: i64,
    ) -> Result<Vec<u32>, StoreError> {
        let window_start = now - now.rem_euclid(window_secs.max(1));
        let keys = keys.to_vec();
        self.writer
            .write(move |db| {
                let mut hit = db.prepare_cached(
                    "INSERT INTO rate_counters (key, window_start, count) VALUES (?1, ?2, 1)
                     ON CONFLICT (key) DO UPDATE SET
                         count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
                         window_start = excluded.window_start
                     RETURNING count",
                )?;
                keys.iter()
                    .map(|key| {
                        Ok(hit.query_row(params![key, window_start], |r| r.get::<_, i64>(0))? as u32)
                    })
                    .collect()
            })
            .await
    }

    async fn contact_owner(&self, contact_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT citizen_id FROM citizen_contacts WHERE id = ?1")
                .bind(contact_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn verified_contacts(
        &self,
        citizen_ids: &[i64],
    ) -> Result<Vec<(i64, String, StoredContact)>, StoreError> {
        let mut out = Vec::new();
        // One query per 10,000 owners, the ids passed as one JSON array.
        for chunk in citizen_ids.chunks(10_000) {
            let ids = serde_json::to_string(chunk)
                .map_err(|e| StoreError::Corrupt(format!("citizen ids: {e}")))?;
            for k in sqlx::query(
                "SELECT k.citizen_id, z.language, k.id, k.kind, k.value, k.line, k.sms, k.voice,
                        k.verified_at, k.verified_by
                 FROM citizen_contacts k JOIN citizens z ON z.id = k.citizen_id
                 WHERE k.citizen_id IN (SELECT value FROM json_each(?1))
                   AND k.verified_at IS NOT NULL
                 ORDER BY k.citizen_id, k.id",
            )
            .bind(ids)
            .fetch_all(&self.pool)
            .await?
            {
                out.push((
                    k.try_get("citizen_id")?,
                    k.try_get("language")?,
                    contact(&k)?,
                ));
            }
        }
        Ok(out)
    }

    async fn all_citizens(&self) -> Result<Vec<Citizen>, StoreError> {
        let sql = format!("SELECT {CITIZEN} FROM citizens ORDER BY id");
        let mut citizens: Vec<Citizen> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(citizen)
            .collect::<Result<_, StoreError>>()?;
        let position: std::collections::HashMap<i64, usize> = citizens
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        for k in sqlx::query(
            "SELECT citizen_id, id, kind, value, line, sms, voice, verified_at, verified_by
             FROM citizen_contacts ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let owner: i64 = k.try_get("citizen_id")?;
            if let Some(&i) = position.get(&owner) {
                citizens[i].contacts.push(contact(&k)?);
            }
        }
        for a in sqlx::query(
            "SELECT citizen_id, label, street, house_number, postcode, municipality, lon, lat, placed
             FROM citizen_addresses ORDER BY citizen_id, position",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let owner: i64 = a.try_get("citizen_id")?;
            if let Some(&i) = position.get(&owner) {
                citizens[i].addresses.push(address(&a)?);
            }
        }
        Ok(citizens)
    }

    async fn registration_counts(&self) -> Result<Vec<(NisCode, u64, u64)>, StoreError> {
        sqlx::query("SELECT municipality, registered, deleted FROM registration_counts ORDER BY municipality")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(registration_count)
            .collect()
    }
}
