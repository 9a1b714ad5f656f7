//! The relatives line's records in SQLite. Lists are written whole in one
//! transaction; a confirmation and its callback task too.

use super::SqliteStore;
use crate::rows::hotline::{CALLBACK, callback};
use crate::rows::relatives::{DECISION, ENTRY, INQUIRY, LIST, decision, entry, inquiry, list};
use crate::{
    Decision, Inquiry, InquiryState, ListOrigin, MatchDecision, NewDecision, NewInquiry,
    NewPersonList, PersonList, Purged, RelativesStore, StoreError, StoredEntry,
};
use crieur_domain::matching::PartialDate;
use crieur_domain::relatives::{ListPerson, list_kind_key, sex_key};
use rusqlite::{Connection, OptionalExtension, params};

/// `Conflict` unless the incident exists and is open; `NotFound` when it does not exist.
fn open_incident(db: &Connection, incident_id: i64) -> Result<(), StoreError> {
    let closed: Option<Option<String>> = db
        .prepare_cached("SELECT closed_at FROM incidents WHERE id = ?1")?
        .query_row([incident_id], |r| r.get(0))
        .optional()?;
    match closed {
        None => Err(StoreError::NotFound),
        Some(Some(_)) => Err(StoreError::Conflict("the incident is closed".into())),
        Some(None) => Ok(()),
    }
}

fn birth_params(b: PartialDate) -> (Option<u16>, Option<u8>, Option<u8>) {
    (b.year, b.month, b.day)
}

impl SqliteStore {
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

    async fn decision_by_id(&self, id: i64) -> Result<MatchDecision, StoreError> {
        let sql = format!("SELECT {DECISION} FROM inquiry_matches WHERE id = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.with_callback(decision(&row)?).await
    }

    async fn with_callback(
        &self,
        (mut d, callback_id): (MatchDecision, Option<i64>),
    ) -> Result<MatchDecision, StoreError> {
        if let Some(id) = callback_id {
            let sql = format!("SELECT {CALLBACK} FROM hotline_callbacks WHERE id = ?1");
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
impl RelativesStore for SqliteStore {
    async fn create_inquiry(&self, q: &NewInquiry) -> Result<Inquiry, StoreError> {
        let q = q.clone();
        let id = self
            .writer
            .write(move |db| {
                open_incident(db, q.incident_id)?;
                let person: Option<i64> = match q.same_person_as {
                    None => None,
                    Some(other) => Some(
                        db.prepare_cached(
                            "SELECT person FROM inquiries WHERE id = ?1 AND incident_id = ?2",
                        )?
                        .query_row([other, q.incident_id], |r| r.get(0))
                        .optional()?
                        .ok_or(StoreError::NotFound)?,
                    ),
                };
                let s = &q.sought;
                let (year, month, day) = birth_params(s.birth);
                let numbers = serde_json::to_string(&q.caller.callback_numbers)
                    .map_err(|e| StoreError::Write(e.to_string()))?;
                let id: i64 = db
                    .prepare_cached(
                        "INSERT INTO inquiries (incident_id, person, hotline_id, call_id,
                             given_names, family_names, birth_year, birth_month, birth_day, sex,
                             nationality, description, phone, last_place, last_seen, why_involved,
                             involvement, caller_name, relationship, callback_numbers,
                             caller_language, notes, created_by, created_at, updated_at)
                         VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                             ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?23)
                         RETURNING id",
                    )?
                    .query_row(
                        params![
                            q.incident_id,
                            q.hotline_id,
                            q.call_id,
                            s.given_names,
                            s.family_names,
                            year,
                            month,
                            day,
                            s.sex.map(sex_key),
                            s.nationality,
                            s.description,
                            s.phone,
                            s.last_place,
                            s.last_seen,
                            s.why_involved,
                            q.involvement.as_str(),
                            q.caller.name,
                            q.caller.relationship.as_str(),
                            numbers,
                            q.caller.language.code(),
                            q.notes,
                            q.by,
                            q.at
                        ],
                        |r| r.get(0),
                    )?;
                db.prepare_cached("UPDATE inquiries SET person = ?2 WHERE id = ?1")?
                    .execute([id, person.unwrap_or(id)])?;
                Ok(id)
            })
            .await?;
        self.inquiry(id).await?.ok_or(StoreError::NotFound)
    }

    async fn inquiry(&self, id: i64) -> Result<Option<Inquiry>, StoreError> {
        Ok(self.inquiries_where("id = ?1", id).await?.pop())
    }

    async fn inquiries(&self, incident_id: i64) -> Result<Vec<Inquiry>, StoreError> {
        self.inquiries_where("incident_id = ?1 ORDER BY id DESC", incident_id)
            .await
    }

    async fn inquiries_about(&self, person: i64) -> Result<Vec<Inquiry>, StoreError> {
        self.inquiries_where("person = ?1 ORDER BY id", person)
            .await
    }

    async fn link_inquiries(&self, a: i64, b: i64, at: i64) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                let of = |id: i64| -> Result<(i64, i64), StoreError> {
                    db.prepare_cached("SELECT incident_id, person FROM inquiries WHERE id = ?1")?
                        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?
                        .ok_or(StoreError::NotFound)
                };
                let (incident_a, person_a) = of(a)?;
                let (incident_b, person_b) = of(b)?;
                if incident_a != incident_b {
                    return Err(StoreError::NotFound);
                }
                // The group keeps the older person key.
                let (keep, merge) = (person_a.min(person_b), person_a.max(person_b));
                db.prepare_cached(
                    "UPDATE inquiries SET person = ?1, updated_at = ?3 WHERE person = ?2",
                )?
                .execute(params![keep, merge, at])?;
                Ok(())
            })
            .await
    }

    async fn set_inquiry_state(
        &self,
        id: i64,
        state: InquiryState,
        at: i64,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |db| {
                let n = db
                    .prepare_cached(
                        "UPDATE inquiries SET state = ?2, updated_at = ?3 WHERE id = ?1",
                    )?
                    .execute(params![id, state.as_str(), at])?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn add_list(
        &self,
        l: &NewPersonList,
        entries: Vec<ListPerson>,
    ) -> Result<PersonList, StoreError> {
        let l = l.clone();
        let id = self
            .writer
            .write(move |db| {
                open_incident(db, l.incident_id)?;
                let existing: Option<i64> = if l.origin == ListOrigin::Manual {
                    db.prepare_cached(
                        "SELECT id FROM person_lists
                         WHERE incident_id = ?1 AND kind = ?2 AND source = ?3 AND format = 'manual'
                         ORDER BY id DESC LIMIT 1",
                    )?
                    .query_row(
                        params![l.incident_id, list_kind_key(l.kind), l.source],
                        |r| r.get(0),
                    )
                    .optional()?
                } else {
                    None
                };
                let id = match existing {
                    Some(id) => id,
                    None => db
                        .prepare_cached(
                            "INSERT INTO person_lists (incident_id, kind, source, drawn_up_at,
                                 format, uploaded_by, uploaded_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                        )?
                        .query_row(
                            params![
                                l.incident_id,
                                list_kind_key(l.kind),
                                l.source,
                                l.drawn_up_at,
                                l.origin.as_str(),
                                l.by,
                                l.at
                            ],
                            |r| r.get(0),
                        )?,
                };
                let mut insert = db.prepare_cached(
                    "INSERT INTO list_entries (list_id, given_names, family_names, birth_year,
                         birth_month, birth_day, sex, nationality, phone, place, details)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?;
                for p in &entries {
                    let (year, month, day) = birth_params(p.birth);
                    insert.execute(params![
                        id,
                        p.given_names,
                        p.family_names,
                        year,
                        month,
                        day,
                        p.sex.map(sex_key),
                        p.nationality,
                        p.phone,
                        p.place,
                        p.details
                    ])?;
                }
                db.prepare_cached(
                    "UPDATE person_lists SET entries = entries + ?2, uploaded_at = ?3 WHERE id = ?1",
                )?
                .execute(params![id, entries.len() as i64, l.at])?;
                Ok(id)
            })
            .await?;
        let sql = format!("SELECT {LIST} FROM person_lists WHERE id = ?1");
        list(
            &sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn lists(&self, incident_id: i64) -> Result<Vec<PersonList>, StoreError> {
        let sql =
            format!("SELECT {LIST} FROM person_lists WHERE incident_id = ?1 ORDER BY id DESC");
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
             WHERE l.incident_id = ?1 ORDER BY e.id"
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
             WHERE e.id = ?1"
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
        let d = d.clone();
        let id = self
            .writer
            .write(move |db| {
                let same_incident = db
                    .prepare_cached(
                        "SELECT 1 FROM inquiries q, list_entries e
                         JOIN person_lists l ON l.id = e.list_id
                         WHERE q.id = ?1 AND e.id = ?2 AND l.incident_id = q.incident_id",
                    )?
                    .exists([d.inquiry_id, d.entry_id])?;
                if !same_incident {
                    return Err(StoreError::NotFound);
                }
                let taken = db
                    .prepare_cached(
                        "SELECT 1 FROM inquiry_matches WHERE inquiry_id = ?1 AND entry_id = ?2",
                    )?
                    .exists([d.inquiry_id, d.entry_id])?;
                if taken {
                    return Err(StoreError::Conflict(
                        "this candidate was decided already".into(),
                    ));
                }
                let callback_id: Option<i64> = match (&d.callback, d.decision) {
                    (Some(c), Decision::Confirmed) => Some(
                        db.prepare_cached(
                            "INSERT INTO hotline_callbacks (hotline_id, call_id, number, language,
                                 line, reason, note, created_at, updated_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id",
                        )?
                        .query_row(
                            params![
                                c.hotline_id,
                                c.call_id,
                                c.number,
                                c.language.code(),
                                c.line.as_str(),
                                c.reason,
                                c.note,
                                c.at
                            ],
                            |r| r.get(0),
                        )?,
                    ),
                    _ => None,
                };
                let reasons = serde_json::to_string(&d.reasons)
                    .map_err(|e| StoreError::Write(e.to_string()))?;
                let id: i64 = db
                    .prepare_cached(
                        "INSERT INTO inquiry_matches (inquiry_id, entry_id, score, reasons,
                             decision, note, decided_by, decided_at, callback_id)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
                    )?
                    .query_row(
                        params![
                            d.inquiry_id,
                            d.entry_id,
                            d.score,
                            reasons,
                            d.decision.as_str(),
                            d.note,
                            d.by,
                            d.at,
                            callback_id
                        ],
                        |r| r.get(0),
                    )?;
                if d.decision == Decision::Confirmed {
                    db.prepare_cached(
                        "UPDATE inquiries SET state = 'matched', updated_at = ?2
                         WHERE id = ?1 AND state = 'open'",
                    )?
                    .execute([d.inquiry_id, d.at])?;
                }
                Ok(id)
            })
            .await?;
        self.decision_by_id(id).await
    }

    async fn decisions(&self, inquiry_id: i64) -> Result<Vec<MatchDecision>, StoreError> {
        let sql =
            format!("SELECT {DECISION} FROM inquiry_matches WHERE inquiry_id = ?1 ORDER BY id");
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
        let cutoff = closed_before.to_owned();
        self.writer
            .write(move |db| {
                let incidents: Vec<i64> = db
                    .prepare_cached(
                        "SELECT id FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?1
                         AND (EXISTS (SELECT 1 FROM inquiries q WHERE q.incident_id = incidents.id)
                           OR EXISTS (SELECT 1 FROM person_lists l WHERE l.incident_id = incidents.id))",
                    )?
                    .query_map([&cutoff], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let mut purged = Purged::default();
                for incident in incidents {
                    purged.incidents += 1;
                    // The callbacks confirmations created carry names: they go too.
                    let callbacks: Vec<i64> = db
                        .prepare_cached(
                            "SELECT m.callback_id FROM inquiry_matches m
                             JOIN inquiries q ON q.id = m.inquiry_id
                             WHERE q.incident_id = ?1 AND m.callback_id IS NOT NULL",
                        )?
                        .query_map([incident], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    db.prepare_cached(
                        "DELETE FROM inquiry_matches WHERE inquiry_id IN
                           (SELECT id FROM inquiries WHERE incident_id = ?1)",
                    )?
                    .execute([incident])?;
                    for id in &callbacks {
                        purged.callbacks += db
                            .prepare_cached("DELETE FROM hotline_callbacks WHERE id = ?1")?
                            .execute([id])? as u64;
                    }
                    purged.inquiries += db
                        .prepare_cached("DELETE FROM inquiries WHERE incident_id = ?1")?
                        .execute([incident])? as u64;
                    purged.entries += db
                        .prepare_cached(
                            "DELETE FROM list_entries WHERE list_id IN
                               (SELECT id FROM person_lists WHERE incident_id = ?1)",
                        )?
                        .execute([incident])? as u64;
                    purged.lists += db
                        .prepare_cached("DELETE FROM person_lists WHERE incident_id = ?1")?
                        .execute([incident])? as u64;
                }
                Ok(purged)
            })
            .await
    }
}
