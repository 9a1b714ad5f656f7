//! The relatives line's records in PostgreSQL. Each write is one transaction:
//! a list with all its entries, a confirmation with its callback task.

use crate::postgres::{PgStore, refused};
use crate::rows::hotline::{CALLBACK, callback};
use crate::rows::relatives::{DECISION, ENTRY, INQUIRY, LIST, decision, entry, inquiry, list};
use crate::{
    Decision, Inquiry, InquiryState, ListOrigin, MatchDecision, NewDecision, NewInquiry,
    NewPersonList, PersonList, Purged, RelativesStore, StoreError, StoredEntry,
};
use crieur_domain::relatives::{ListPerson, list_kind_key, sex_key};
use sqlx::PgConnection;

/// `NotFound` when the incident does not exist, `Conflict` when it is closed.
async fn open_incident(db: &mut PgConnection, incident_id: i64) -> Result<(), StoreError> {
    let closed: Option<Option<String>> =
        sqlx::query_scalar("SELECT closed_at FROM incidents WHERE id = $1 FOR SHARE")
            .bind(incident_id)
            .fetch_optional(db)
            .await?;
    match closed {
        None => Err(StoreError::NotFound),
        Some(Some(_)) => Err(StoreError::Conflict("the incident is closed".into())),
        Some(None) => Ok(()),
    }
}

fn small(v: Option<impl Into<i64>>) -> Option<i64> {
    v.map(Into::into)
}

impl PgStore {
    async fn inquiries_where(
        &self,
        condition: &str,
        bind: i64,
    ) -> Result<Vec<Inquiry>, StoreError> {
        let sql = format!("SELECT {INQUIRY} FROM inquiries WHERE {condition}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bind)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(inquiry)
            .collect()
    }

    async fn with_callback(
        &self,
        (mut d, callback_id): (MatchDecision, Option<i64>),
    ) -> Result<MatchDecision, StoreError> {
        if let Some(id) = callback_id {
            let sql = format!("SELECT {CALLBACK} FROM hotline_callbacks WHERE id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
            d.callback = Some(callback(&row)?);
        }
        Ok(d)
    }
}

#[async_trait::async_trait]
impl RelativesStore for PgStore {
    async fn create_inquiry(&self, q: &NewInquiry) -> Result<Inquiry, StoreError> {
        let mut tx = self.pool.begin().await?;
        open_incident(&mut tx, q.incident_id).await?;
        let person: Option<i64> = match q.same_person_as {
            None => None,
            Some(other) => Some(
                sqlx::query_scalar(
                    "SELECT person FROM inquiries WHERE id = $1 AND incident_id = $2",
                )
                .bind(other)
                .bind(q.incident_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?,
            ),
        };
        let s = &q.sought;
        let numbers = serde_json::to_string(&q.caller.callback_numbers)
            .map_err(|e| StoreError::Write(e.to_string()))?;
        let sql = "INSERT INTO inquiries (incident_id, person, hotline_id, call_id, given_names,
                 family_names, birth_year, birth_month, birth_day, sex, nationality, description,
                 phone, last_place, last_seen, why_involved, involvement, caller_name,
                 relationship, callback_numbers, caller_language, notes, created_by, created_at,
                 updated_at)
             VALUES ($1, COALESCE($2, 0), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                 $22, $23, $24, $24)
             RETURNING id";
        let id: i64 = sqlx::query_scalar(sql)
            .bind(q.incident_id)
            .bind(person)
            .bind(q.hotline_id)
            .bind(&q.call_id)
            .bind(&s.given_names)
            .bind(&s.family_names)
            .bind(small(s.birth.year))
            .bind(small(s.birth.month))
            .bind(small(s.birth.day))
            .bind(s.sex.map(sex_key))
            .bind(&s.nationality)
            .bind(&s.description)
            .bind(&s.phone)
            .bind(&s.last_place)
            .bind(&s.last_seen)
            .bind(&s.why_involved)
            .bind(q.involvement.as_str())
            .bind(&q.caller.name)
            .bind(q.caller.relationship.as_str())
            .bind(numbers)
            .bind(q.caller.language.code())
            .bind(&q.notes)
            .bind(q.by)
            .bind(q.at)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| refused(e, "the inquiry exists already"))?;
        // A new person is known by the first inquiry about them.
        let sql = format!("UPDATE inquiries SET person = $2 WHERE id = $1 RETURNING {INQUIRY}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(person.unwrap_or(id))
            .fetch_one(&mut *tx)
            .await?;
        let created = inquiry(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn inquiry(&self, id: i64) -> Result<Option<Inquiry>, StoreError> {
        Ok(self.inquiries_where("id = $1", id).await?.pop())
    }

    async fn inquiries(&self, incident_id: i64) -> Result<Vec<Inquiry>, StoreError> {
        self.inquiries_where("incident_id = $1 ORDER BY id DESC", incident_id)
            .await
    }

    async fn inquiries_about(&self, person: i64) -> Result<Vec<Inquiry>, StoreError> {
        self.inquiries_where("person = $1 ORDER BY id", person)
            .await
    }

    async fn link_inquiries(&self, a: i64, b: i64, at: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT id, incident_id, person FROM inquiries WHERE id IN ($1, $2) ORDER BY id
             FOR UPDATE",
        )
        .bind(a)
        .bind(b)
        .fetch_all(&mut *tx)
        .await?;
        let find = |id: i64| rows.iter().find(|r| r.0 == id).ok_or(StoreError::NotFound);
        let (_, incident_a, person_a) = *find(a)?;
        let (_, incident_b, person_b) = *find(b)?;
        if incident_a != incident_b {
            return Err(StoreError::NotFound);
        }
        // The group keeps the older person key.
        let (keep, merge) = (person_a.min(person_b), person_a.max(person_b));
        sqlx::query("UPDATE inquiries SET person = $1, updated_at = $3 WHERE person = $2")
            .bind(keep)
            .bind(merge)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_inquiry_state(
        &self,
        id: i64,
        state: InquiryState,
        at: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE inquiries SET state = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(state.as_str())
            .bind(at)
            .execute(&self.pool)
            .await?;
        crate::rows::one_row(done.rows_affected())
    }

    async fn add_list(
        &self,
        l: &NewPersonList,
        entries: Vec<ListPerson>,
    ) -> Result<PersonList, StoreError> {
        let mut tx = self.pool.begin().await?;
        open_incident(&mut tx, l.incident_id).await?;
        let existing: Option<i64> = if l.origin == ListOrigin::Manual {
            sqlx::query_scalar(
                "SELECT id FROM person_lists
                 WHERE incident_id = $1 AND kind = $2 AND source = $3 AND format = 'manual'
                 ORDER BY id DESC LIMIT 1 FOR UPDATE",
            )
            .bind(l.incident_id)
            .bind(list_kind_key(l.kind))
            .bind(&l.source)
            .fetch_optional(&mut *tx)
            .await?
        } else {
            None
        };
        let id: i64 = match existing {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO person_lists (incident_id, kind, source, drawn_up_at, format,
                         uploaded_by, uploaded_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(l.incident_id)
                .bind(list_kind_key(l.kind))
                .bind(&l.source)
                .bind(l.drawn_up_at)
                .bind(l.origin.as_str())
                .bind(l.by)
                .bind(l.at)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        // One statement per few thousand people: arrays, not a row at a time.
        for chunk in entries.chunks(5_000) {
            let column = |f: fn(&ListPerson) -> Option<String>| -> Vec<Option<String>> {
                chunk.iter().map(f).collect()
            };
            let number = |f: fn(&ListPerson) -> Option<i64>| -> Vec<Option<i64>> {
                chunk.iter().map(f).collect()
            };
            sqlx::query(
                "INSERT INTO list_entries (list_id, given_names, family_names, birth_year,
                     birth_month, birth_day, sex, nationality, phone, place, details)
                 SELECT $1, g, f, y, m, d, s, n, p, pl, dt
                 FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
                      $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
                      AS t (g, f, y, m, d, s, n, p, pl, dt)",
            )
            .bind(id)
            .bind(
                chunk
                    .iter()
                    .map(|p| p.given_names.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(
                chunk
                    .iter()
                    .map(|p| p.family_names.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(number(|p| small(p.birth.year)))
            .bind(number(|p| small(p.birth.month)))
            .bind(number(|p| small(p.birth.day)))
            .bind(column(|p| p.sex.map(|s| sex_key(s).to_owned())))
            .bind(column(|p| p.nationality.clone()))
            .bind(column(|p| p.phone.clone()))
            .bind(column(|p| p.place.clone()))
            .bind(column(|p| p.details.clone()))
            .execute(&mut *tx)
            .await?;
        }
        let sql = format!(
            "UPDATE person_lists SET entries = entries + $2, uploaded_at = $3 WHERE id = $1
             RETURNING {LIST}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(entries.len() as i64)
            .bind(l.at)
            .fetch_one(&mut *tx)
            .await?;
        let stored = list(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn lists(&self, incident_id: i64) -> Result<Vec<PersonList>, StoreError> {
        let sql =
            format!("SELECT {LIST} FROM person_lists WHERE incident_id = $1 ORDER BY id DESC");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(list)
            .collect()
    }

    async fn list_entries(&self, incident_id: i64) -> Result<Vec<StoredEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY} FROM list_entries e JOIN person_lists l ON l.id = e.list_id
             WHERE l.incident_id = $1 ORDER BY e.id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| entry(r).map(|(_, e)| e))
            .collect()
    }

    async fn entry(&self, id: i64) -> Result<Option<(i64, StoredEntry)>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY} FROM list_entries e JOIN person_lists l ON l.id = e.list_id
             WHERE e.id = $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(entry)
            .transpose()
    }

    async fn decide_match(&self, d: &NewDecision) -> Result<MatchDecision, StoreError> {
        let mut tx = self.pool.begin().await?;
        let same_incident: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM inquiries q, list_entries e
                 JOIN person_lists l ON l.id = e.list_id
                 WHERE q.id = $1 AND e.id = $2 AND l.incident_id = q.incident_id)",
        )
        .bind(d.inquiry_id)
        .bind(d.entry_id)
        .fetch_one(&mut *tx)
        .await?;
        if !same_incident {
            return Err(StoreError::NotFound);
        }
        let callback_id: Option<i64> = match (&d.callback, d.decision) {
            (Some(c), Decision::Confirmed) => Some(
                sqlx::query_scalar(
                    "INSERT INTO hotline_callbacks (hotline_id, call_id, number, language, line,
                         reason, note, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                )
                .bind(c.hotline_id)
                .bind(&c.call_id)
                .bind(&c.number)
                .bind(c.language.code())
                .bind(c.line.as_str())
                .bind(&c.reason)
                .bind(&c.note)
                .bind(c.at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| refused(e, "the callback exists already"))?,
            ),
            _ => None,
        };
        let reasons =
            serde_json::to_string(&d.reasons).map_err(|e| StoreError::Write(e.to_string()))?;
        let sql = format!(
            "INSERT INTO inquiry_matches (inquiry_id, entry_id, score, reasons, decision, note,
                 decided_by, decided_at, callback_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {DECISION}"
        );
        // The unique pair refuses a second decision, even one racing this one.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(d.inquiry_id)
            .bind(d.entry_id)
            .bind(d.score)
            .bind(reasons)
            .bind(d.decision.as_str())
            .bind(&d.note)
            .bind(d.by)
            .bind(d.at)
            .bind(callback_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| refused(e, "this candidate was decided already"))?;
        let recorded = decision(&row)?;
        if d.decision == Decision::Confirmed {
            sqlx::query(
                "UPDATE inquiries SET state = 'matched', updated_at = $2
                 WHERE id = $1 AND state = 'open'",
            )
            .bind(d.inquiry_id)
            .bind(d.at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.with_callback(recorded).await
    }

    async fn decisions(&self, inquiry_id: i64) -> Result<Vec<MatchDecision>, StoreError> {
        let sql =
            format!("SELECT {DECISION} FROM inquiry_matches WHERE inquiry_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(inquiry_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.with_callback(decision(r)?).await?);
        }
        Ok(out)
    }

    async fn purge_relatives(&self, closed_before: &str) -> Result<Purged, StoreError> {
        let mut tx = self.pool.begin().await?;
        let incidents: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM incidents i WHERE closed_at IS NOT NULL AND closed_at < $1
             AND (EXISTS (SELECT 1 FROM inquiries q WHERE q.incident_id = i.id)
               OR EXISTS (SELECT 1 FROM person_lists l WHERE l.incident_id = i.id))
             ORDER BY id",
        )
        .bind(closed_before)
        .fetch_all(&mut *tx)
        .await?;
        let mut purged = Purged::default();
        for incident in incidents {
            purged.incidents += 1;
            // The callbacks confirmations created carry names: they go too.
            let callbacks: Vec<i64> = sqlx::query_scalar::<_, Option<i64>>(
                "DELETE FROM inquiry_matches m USING inquiries q
                 WHERE q.id = m.inquiry_id AND q.incident_id = $1
                 RETURNING m.callback_id",
            )
            .bind(incident)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .flatten()
            .collect();
            purged.callbacks += sqlx::query("DELETE FROM hotline_callbacks WHERE id = ANY($1)")
                .bind(&callbacks)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            purged.inquiries += sqlx::query("DELETE FROM inquiries WHERE incident_id = $1")
                .bind(incident)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            purged.entries += sqlx::query(
                "DELETE FROM list_entries e USING person_lists l
                 WHERE l.id = e.list_id AND l.incident_id = $1",
            )
            .bind(incident)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            purged.lists += sqlx::query("DELETE FROM person_lists WHERE incident_id = $1")
                .bind(incident)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(purged)
    }
}
