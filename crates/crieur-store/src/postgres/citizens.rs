use super::PgStore;
use crate::rows::{ADDRESS, CITIZEN, CONTACT, Cols, address, citizen, contact, registration_count};
use crate::rules::judge_secret;
use crate::{Citizen, CitizenStore, NewCitizen, SecretCheck, StoreError, StoredContact};
use crieur_domain::NisCode;

#[async_trait::async_trait]
impl CitizenStore for PgStore {
    async fn register_citizen(&self, c: &NewCitizen) -> Result<(i64, Vec<i64>), StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO citizens (language, general_interest, consent_version, consent_at, source)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
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
            contact_ids.push(
                sqlx::query_scalar(
                    "INSERT INTO citizen_contacts (citizen_id, kind, value, line, sms, voice, verified_at, verified_by)
                     VALUES ($1, $2, $3, $4, $5, $6,
                             CASE WHEN $7::TEXT IS NULL THEN NULL ELSE crieur_now() END, $7)
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
                .await?,
            );
        }
        for (position, a) in c.addresses.iter().enumerate() {
            sqlx::query(
                "INSERT INTO citizen_addresses
                     (citizen_id, position, label, street, house_number, postcode, municipality, lon, lat, placed)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        sqlx::query(
            "INSERT INTO registration_counts AS r (municipality, registered)
             SELECT m, 1 FROM UNNEST($1::TEXT[]) AS u(m)
             ON CONFLICT (municipality) DO UPDATE SET registered = r.registered + 1",
        )
        .bind(municipalities)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((id, contact_ids))
    }

    async fn citizen(&self, id: i64) -> Result<Option<Citizen>, StoreError> {
        let sql = format!("SELECT {CITIZEN} FROM citizens WHERE id = $1");
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let mut c = citizen(&r)?;
        let sql =
            format!("SELECT {CONTACT} FROM citizen_contacts WHERE citizen_id = $1 ORDER BY id");
        c.contacts = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(contact)
            .collect::<Result<_, _>>()?;
        let sql = format!(
            "SELECT {ADDRESS} FROM citizen_addresses WHERE citizen_id = $1 ORDER BY position"
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
             WHERE kind = $1 AND value = $2 AND verified_at IS NOT NULL ORDER BY id LIMIT 1",
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
             VALUES ($1, $2, $3, 0, $4)
             ON CONFLICT (contact_id) DO UPDATE SET secret_digest = excluded.secret_digest,
                 expires_at = excluded.expires_at, attempts = 0, sent_at = excluded.sent_at",
        )
        .bind(contact_id)
        .bind(secret_digest)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        // Locked, so two guesses at once both count.
        let Some((stored, expires_at, attempts)) = sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT secret_digest, expires_at, attempts FROM verification_secrets
             WHERE contact_id = $1 FOR UPDATE",
        )
        .bind(contact_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(SecretCheck::NonePending);
        };
        let attempts = attempts as u32;
        let forget = "DELETE FROM verification_secrets WHERE contact_id = $1";
        let verdict = judge_secret(
            &stored,
            expires_at,
            attempts,
            now,
            max_attempts,
            secret_digest,
        );
        if let SecretCheck::Verified = verdict {
            sqlx::query(
                "UPDATE citizen_contacts SET verified_at = crieur_now(), verified_by = $2 WHERE id = $1",
            )
            .bind(contact_id)
            .bind(verified_by)
            .execute(&mut *tx)
            .await?;
        }
        let write = match verdict {
            SecretCheck::Wrong { .. } => {
                "UPDATE verification_secrets SET attempts = attempts + 1 WHERE contact_id = $1"
            }
            _ => forget,
        };
        sqlx::query(write)
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(verdict)
    }

    async fn verify_by_secret(
        &self,
        secret_digest: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let contact: Option<i64> = sqlx::query_scalar(
            "DELETE FROM verification_secrets WHERE contact_id =
                 (SELECT contact_id FROM verification_secrets
                  WHERE secret_digest = $1 AND expires_at >= $2 LIMIT 1 FOR UPDATE)
             RETURNING contact_id",
        )
        .bind(secret_digest)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = contact {
            sqlx::query(
                "UPDATE citizen_contacts SET verified_at = crieur_now(), verified_by = 'link' WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(contact)
    }

    async fn set_general_interest(&self, citizen_id: i64, on: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE citizens SET general_interest = $2 WHERE id = $1")
            .bind(citizen_id)
            .bind(on)
            .execute(&self.pool)
            .await?;
        crate::rows::one_row(done.rows_affected())
    }

    async fn delete_citizen(&self, citizen_id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Only anonymous counts outlive the citizen.
        sqlx::query(
            "UPDATE registration_counts SET deleted = deleted + 1
             WHERE municipality IN
                 (SELECT DISTINCT municipality FROM citizen_addresses WHERE citizen_id = $1)",
        )
        .bind(citizen_id)
        .execute(&mut *tx)
        .await?;
        // Their contacts leave the delivery plans too: what was not sent yet is
        // not sent, and no report shows them any more.
        sqlx::query(
            "UPDATE deliveries SET address = 'erased', subject = NULL, body = NULL,
                 state = CASE WHEN state IN (0, 5) THEN 4 ELSE state END,
                 error = CASE WHEN state IN (0, 5) THEN 'recipient erased' ELSE error END
             WHERE address IN (SELECT value FROM citizen_contacts WHERE citizen_id = $1)",
        )
        .bind(citizen_id)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM citizens WHERE id = $1")
            .bind(citizen_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        crate::rows::one_row(deleted)?;
        tx.commit().await?;
        Ok(())
    }

    async fn hit_rates(
        &self,
        keys: &[String],
        now: i64,
        window_secs: i64,
    ) -> Result<Vec<u32>, StoreError> {
        let window_start = now - now.rem_euclid(window_secs.max(1));
        let mut tx = self.pool.begin().await?;
        let mut counts = Vec::with_capacity(keys.len());
        // One statement per key: one statement cannot count a key twice.
        for key in keys {
            let n: i64 = sqlx::query_scalar(
                "INSERT INTO rate_counters AS r (key, window_start, count) VALUES ($1, $2, 1)
                 ON CONFLICT (key) DO UPDATE SET
                     count = CASE WHEN r.window_start = excluded.window_start THEN r.count + 1 ELSE 1 END,
                     window_start = excluded.window_start
                 RETURNING count",
            )
            .bind(key)
            .bind(window_start)
            .fetch_one(&mut *tx)
            .await?;
            counts.push(n as u32);
        }
        tx.commit().await?;
        Ok(counts)
    }

    async fn contact_owner(&self, contact_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT citizen_id FROM citizen_contacts WHERE id = $1")
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
        for chunk in citizen_ids.chunks(10_000) {
            for k in sqlx::query(
                "SELECT k.citizen_id, z.language, k.id, k.kind, k.value, k.line, k.sms, k.voice,
                        k.verified_at, k.verified_by
                 FROM citizen_contacts k JOIN citizens z ON z.id = k.citizen_id
                 WHERE k.citizen_id = ANY($1) AND k.verified_at IS NOT NULL
                 ORDER BY k.citizen_id, k.id",
            )
            .bind(chunk)
            .fetch_all(&self.pool)
            .await?
            {
                out.push((k.col("citizen_id")?, k.col("language")?, contact(&k)?));
            }
        }
        Ok(out)
    }

    async fn all_citizens(&self) -> Result<Vec<Citizen>, StoreError> {
        // One snapshot for the three reads, so a citizen registered meanwhile
        // is either whole or absent.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let sql = format!("SELECT {CITIZEN} FROM citizens ORDER BY id");
        let mut citizens: Vec<Citizen> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(citizen)
            .collect::<Result<_, StoreError>>()?;
        let position: std::collections::HashMap<i64, usize> = citizens
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        let sql = format!("SELECT citizen_id, {CONTACT} FROM citizen_contacts ORDER BY id");
        for k in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *tx)
            .await?
        {
            if let Some(&i) = position.get(&k.col::<i64>("citizen_id")?) {
                citizens[i].contacts.push(contact(&k)?);
            }
        }
        let sql = format!(
            "SELECT citizen_id, {ADDRESS} FROM citizen_addresses ORDER BY citizen_id, position"
        );
        for a in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *tx)
            .await?
        {
            if let Some(&i) = position.get(&a.col::<i64>("citizen_id")?) {
                citizens[i].addresses.push(address(&a)?);
            }
        }
        tx.commit().await?;
        Ok(citizens)
    }

    async fn registration_counts(&self) -> Result<Vec<(NisCode, u64, u64)>, StoreError> {
        sqlx::query(
            "SELECT municipality, registered, deleted FROM registration_counts ORDER BY municipality",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(registration_count)
        .collect()
    }
}
