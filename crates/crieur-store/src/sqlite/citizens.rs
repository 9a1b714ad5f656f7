use super::SqliteStore;
use crate::{
    Citizen, CitizenStore, NewCitizen, SecretCheck, StoreError, StoredAddress, StoredContact,
};
use crieur_domain::NisCode;
use sqlx::Row;

fn nis(s: String, table: &str) -> Result<NisCode, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("{table}: {e}")))
}

#[async_trait::async_trait]
impl CitizenStore for SqliteStore {
    async fn register_citizen(&self, c: &NewCitizen) -> Result<(i64, Vec<i64>), StoreError> {
        let mut tx = self.writer.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO citizens (language, general_interest, consent_version, consent_at, source)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )
        .bind(&c.language)
        .bind(c.general_interest)
        .bind(&c.consent_version)
        .bind(&c.consent_at)
        .bind(&c.source)
        .fetch_one(&mut *tx)
        .await?;
        let mut contact_ids = Vec::with_capacity(c.contacts.len());
        for k in &c.contacts {
            let contact_id: i64 = sqlx::query_scalar(
                "INSERT INTO citizen_contacts (citizen_id, kind, value, line, sms, voice, verified_at, verified_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6,
                         CASE WHEN ?7 IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END, ?7)
                 RETURNING id",
            )
            .bind(id)
            .bind(&k.kind)
            .bind(&k.value)
            .bind(&k.line)
            .bind(k.sms)
            .bind(k.voice)
            .bind(&k.verified_by)
            .fetch_one(&mut *tx)
            .await?;
            contact_ids.push(contact_id);
        }
        for (position, a) in c.addresses.iter().enumerate() {
            sqlx::query(
                "INSERT INTO citizen_addresses
                     (citizen_id, position, label, street, house_number, postcode, municipality, lon, lat, placed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .bind(id)
            .bind(position as i64)
            .bind(&a.label)
            .bind(&a.street)
            .bind(&a.house_number)
            .bind(&a.postcode)
            .bind(a.municipality.as_str())
            .bind(a.lon)
            .bind(a.lat)
            .bind(&a.placed)
            .execute(&mut *tx)
            .await?;
        }
        let mut municipalities: Vec<&str> = c
            .addresses
            .iter()
            .map(|a| a.municipality.as_str())
            .collect();
        municipalities.sort_unstable();
        municipalities.dedup();
        for m in municipalities {
            sqlx::query(
                "INSERT INTO registration_counts (municipality, registered) VALUES (?1, 1)
                 ON CONFLICT (municipality) DO UPDATE SET registered = registered + 1",
            )
            .bind(m)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((id, contact_ids))
    }

    async fn citizen(&self, id: i64) -> Result<Option<Citizen>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT id, language, general_interest, consent_version, consent_at, source, created_at
             FROM citizens WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let contacts = sqlx::query(
            "SELECT id, kind, value, line, sms, voice, verified_at, verified_by
             FROM citizen_contacts WHERE citizen_id = ?1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|k| {
            Ok(StoredContact {
                id: k.try_get("id")?,
                kind: k.try_get("kind")?,
                value: k.try_get("value")?,
                line: k.try_get("line")?,
                sms: k.try_get("sms")?,
                voice: k.try_get("voice")?,
                verified_at: k.try_get("verified_at")?,
                verified_by: k.try_get("verified_by")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let addresses = sqlx::query(
            "SELECT label, street, house_number, postcode, municipality, lon, lat, placed
             FROM citizen_addresses WHERE citizen_id = ?1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|a| {
            Ok(StoredAddress {
                label: a.try_get("label")?,
                street: a.try_get("street")?,
                house_number: a.try_get("house_number")?,
                postcode: a.try_get("postcode")?,
                municipality: nis(a.try_get("municipality")?, "citizen_addresses")?,
                lon: a.try_get("lon")?,
                lat: a.try_get("lat")?,
                placed: a.try_get("placed")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(Citizen {
            id: r.try_get("id")?,
            language: r.try_get("language")?,
            general_interest: r.try_get("general_interest")?,
            consent_version: r.try_get("consent_version")?,
            consent_at: r.try_get("consent_at")?,
            source: r.try_get("source")?,
            created_at: r.try_get("created_at")?,
            contacts,
            addresses,
        }))
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
        sqlx::query(
            "INSERT INTO verification_secrets (contact_id, secret_digest, expires_at, attempts, sent_at)
             VALUES (?1, ?2, ?3, 0, ?4)
             ON CONFLICT (contact_id) DO UPDATE SET secret_digest = excluded.secret_digest,
                 expires_at = excluded.expires_at, attempts = 0, sent_at = excluded.sent_at",
        )
        .bind(contact_id)
        .bind(secret_digest)
        .bind(expires_at)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn check_contact_secret(
        &self,
        contact_id: i64,
        secret_digest: &str,
        now: i64,
        max_attempts: u32,
        verified_by: &str,
    ) -> Result<SecretCheck, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let Some(r) = sqlx::query(
            "SELECT secret_digest, expires_at, attempts FROM verification_secrets WHERE contact_id = ?1",
        )
        .bind(contact_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(SecretCheck::NonePending);
        };
        let stored: String = r.try_get("secret_digest")?;
        let expires_at: i64 = r.try_get("expires_at")?;
        let attempts = r.try_get::<i64, _>("attempts")? as u32;
        if expires_at < now || attempts >= max_attempts {
            sqlx::query("DELETE FROM verification_secrets WHERE contact_id = ?1")
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(SecretCheck::Expired);
        }
        let outcome = if crieur_domain::credentials::same_secret(&stored, secret_digest) {
            sqlx::query(
                "UPDATE citizen_contacts SET verified_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), verified_by = ?2
                 WHERE id = ?1",
            )
            .bind(contact_id)
            .bind(verified_by)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM verification_secrets WHERE contact_id = ?1")
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
            SecretCheck::Verified
        } else {
            sqlx::query(
                "UPDATE verification_secrets SET attempts = attempts + 1 WHERE contact_id = ?1",
            )
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
            SecretCheck::Wrong {
                attempts_left: max_attempts.saturating_sub(attempts + 1),
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn verify_by_secret(
        &self,
        secret_digest: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let contact: Option<i64> = sqlx::query_scalar(
            "SELECT contact_id FROM verification_secrets WHERE secret_digest = ?1 AND expires_at >= ?2",
        )
        .bind(secret_digest)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = contact {
            sqlx::query(
                "UPDATE citizen_contacts SET verified_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), verified_by = 'link'
                 WHERE id = ?1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM verification_secrets WHERE contact_id = ?1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(contact)
    }

    async fn set_general_interest(&self, citizen_id: i64, on: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE citizens SET general_interest = ?2 WHERE id = ?1")
            .bind(citizen_id)
            .bind(on)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_citizen(&self, citizen_id: i64) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let municipalities: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT municipality FROM citizen_addresses WHERE citizen_id = ?1",
        )
        .bind(citizen_id)
        .fetch_all(&mut *tx)
        .await?;
        for m in municipalities {
            sqlx::query(
                "UPDATE registration_counts SET deleted = deleted + 1 WHERE municipality = ?1",
            )
            .bind(m)
            .execute(&mut *tx)
            .await?;
        }
        let done = sqlx::query("DELETE FROM citizens WHERE id = ?1")
            .bind(citizen_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn hit_rate(&self, key: &str, now: i64, window_secs: i64) -> Result<u32, StoreError> {
        let window_start = now - now.rem_euclid(window_secs.max(1));
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO rate_counters (key, window_start, count) VALUES (?1, ?2, 1)
             ON CONFLICT (key) DO UPDATE SET
                 count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
                 window_start = excluded.window_start
             RETURNING count",
        )
        .bind(key)
        .bind(window_start)
        .fetch_one(&self.writer)
        .await?;
        Ok(n as u32)
    }

    async fn registration_counts(&self) -> Result<Vec<(NisCode, u64, u64)>, StoreError> {
        sqlx::query("SELECT municipality, registered, deleted FROM registration_counts ORDER BY municipality")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| {
                Ok((
                    nis(r.try_get("municipality")?, "registration_counts")?,
                    r.try_get::<i64, _>("registered")? as u64,
                    r.try_get::<i64, _>("deleted")? as u64,
                ))
            })
            .collect()
    }
}
