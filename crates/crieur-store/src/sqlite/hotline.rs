//! The hotline's tables in SQLite: activations, call-outs, calls and their forms,
//! the queue log and topic trends here; answers and callbacks beside. Rows are
//! always looked up with the hotline (or incident) named by the caller.

mod answers;
mod callbacks;

use super::SqliteStore;
use crate::rows::hotline::{
    CALL, CALLOUT, HOTLINE, QUEUE_LOG, call, callout, hotline, queue_entry, to_json, topic_count,
};
use crate::rules::{activation_free, incident_open};
use crate::{
    AnswerVersion, Call, CallForm, CallRecord, Callback, Callout, CalloutResponse, Hotline,
    HotlineLine, HotlineStore, NewAnswerVersion, NewCallback, NewCallout, NewHotline,
    NewQueueLogEntry, QueueLogEntry, StoreError, TopicCount, Worry,
};
use crieur_domain::{Language, NisCode};
use rusqlite::{Connection, OptionalExtension, params};
use std::num::NonZeroU32;

/// A write the schema refused: a broken uniqueness rule is a conflict, a
/// reference to a missing row is not found; anything else stays what it is.
fn refused(e: rusqlite::Error, conflict: &str) -> StoreError {
    match e.sqlite_error().map(|f| f.extended_code) {
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE) => StoreError::Conflict(conflict.into()),
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => StoreError::NotFound,
        _ => e.into(),
    }
}

/// `NotFound` unless `id` is an active hotline.
fn active(db: &Connection, id: i64) -> Result<(), StoreError> {
    if db
        .prepare_cached("SELECT 1 FROM hotlines WHERE id = ?1 AND state = 'active'")?
        .exists([id])?
    {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

impl SqliteStore {
    async fn hotlines_where(&self, condition: &str, bind: i64) -> Result<Vec<Hotline>, StoreError> {
        let sql = format!("SELECT {HOTLINE} FROM hotlines WHERE {condition}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bind)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(hotline)
            .collect()
    }

    async fn callout_by_id(&self, id: i64) -> Result<Callout, StoreError> {
        let sql = format!("SELECT {CALLOUT} FROM hotline_callouts WHERE id = ?1");
        callout(
            &sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?,
        )
    }
}

#[async_trait::async_trait]
impl HotlineStore for SqliteStore {
    async fn activate_hotline(&self, h: &NewHotline) -> Result<Hotline, StoreError> {
        let h = h.clone();
        let id = self
            .writer
            .write(move |db| {
                let closed: Option<Option<String>> = db
                    .prepare_cached("SELECT closed_at FROM incidents WHERE id = ?1")?
                    .query_row([h.incident_id], |r| r.get(0))
                    .optional()?;
                incident_open(closed)?;
                // Checked first for a clear message; the unique indexes hold anyway.
                let number_taken: Option<bool> = db
                    .prepare_cached(
                        "SELECT number = ?2 FROM hotlines
                         WHERE state = 'active' AND (number = ?2 OR incident_id = ?1)
                         ORDER BY number = ?2 DESC LIMIT 1",
                    )?
                    .query_row(params![h.incident_id, h.number], |r| r.get(0))
                    .optional()?;
                activation_free(number_taken, &h.number)?;
                db.prepare_cached(
                    "INSERT INTO hotlines (incident_id, number, languages, config, staffing_target,
                         activated_by, activated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                )?
                .query_row(
                    params![
                        h.incident_id,
                        h.number,
                        to_json(h.languages.iter().map(|l| l.code())),
                        h.config,
                        h.staffing_target,
                        h.activated_by,
                        h.activated_at
                    ],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(|e| refused(e, "an active hotline has this number or incident"))
            })
            .await?;
        self.hotline(id).await?.ok_or(StoreError::NotFound)
    }

    async fn close_hotline(
        &self,
        id: i64,
        by: i64,
        closing_message: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let closing_message = closing_message.to_owned();
        self.writer
            .write(move |db| {
                let changed = db
                    .prepare_cached(
                        "UPDATE hotlines SET state = 'closed', closed_by = ?2, closed_at = ?3,
                             closing_message = ?4
                         WHERE id = ?1 AND state = 'active'",
                    )?
                    .execute(params![id, by, at, closing_message])
                    .map_err(|e| refused(e, "the hotline changed meanwhile"))?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn hotline(&self, id: i64) -> Result<Option<Hotline>, StoreError> {
        Ok(self.hotlines_where("id = ?1", id).await?.pop())
    }

    async fn active_hotlines(&self) -> Result<Vec<Hotline>, StoreError> {
        self.hotlines_where("state = 'active' AND ?1 = ?1 ORDER BY id", 0)
            .await
    }

    async fn hotline_of_incident(&self, incident_id: i64) -> Result<Option<Hotline>, StoreError> {
        Ok(self
            .hotlines_where("incident_id = ?1 ORDER BY id DESC LIMIT 1", incident_id)
            .await?
            .pop())
    }

    async fn update_hotline_config(
        &self,
        id: i64,
        config: &str,
        staffing_target: u32,
    ) -> Result<(), StoreError> {
        let config = config.to_owned();
        self.writer
            .write(move |db| {
                let changed = db
                    .prepare_cached(
                        "UPDATE hotlines SET config = ?2, staffing_target = ?3
                         WHERE id = ?1 AND state = 'active'",
                    )?
                    .execute(params![id, config, staffing_target])?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn add_callouts(
        &self,
        hotline_id: i64,
        callouts: Vec<NewCallout>,
    ) -> Result<Vec<Callout>, StoreError> {
        self.writer
            .write(move |db| {
                active(db, hotline_id)?;
                let mut insert = db.prepare_cached(
                    "INSERT INTO hotline_callouts (hotline_id, account_id, channel, address,
                         token_hash, sent_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                )?;
                callouts
                    .into_iter()
                    .map(|c| {
                        let id = insert
                            .query_row(
                                params![
                                    hotline_id,
                                    c.account_id,
                                    c.channel.as_str(),
                                    c.address,
                                    c.token_hash,
                                    c.sent_at
                                ],
                                |r| r.get::<_, i64>(0),
                            )
                            .map_err(|e| refused(e, "a call-out already has this token"))?;
                        Ok(Callout {
                            id,
                            hotline_id,
                            account_id: c.account_id,
                            channel: c.channel,
                            address: c.address,
                            token_hash: c.token_hash,
                            sent_at: c.sent_at,
                            response: None,
                            eta_minutes: None,
                            responded_at: None,
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn respond_callout(
        &self,
        token_hash: &str,
        response: CalloutResponse,
        eta_minutes: Option<u32>,
        at: i64,
    ) -> Result<Callout, StoreError> {
        let token_hash = token_hash.to_owned();
        let id = self
            .writer
            .write(move |db| {
                db.prepare_cached(
                    "UPDATE hotline_callouts SET response = ?2, eta_minutes = ?3, responded_at = ?4
                     WHERE token_hash = ?1 RETURNING id",
                )?
                .query_row(
                    params![token_hash, response.as_str(), eta_minutes, at],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .ok_or(StoreError::NotFound)
            })
            .await?;
        self.callout_by_id(id).await
    }

    async fn callouts(&self, hotline_id: i64) -> Result<Vec<Callout>, StoreError> {
        let sql =
            format!("SELECT {CALLOUT} FROM hotline_callouts WHERE hotline_id = ?1 ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hotline_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(callout)
            .collect()
    }

    async fn callout_by_token(&self, token_hash: &str) -> Result<Option<Callout>, StoreError> {
        let sql = format!("SELECT {CALLOUT} FROM hotline_callouts WHERE token_hash = ?1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(callout)
            .transpose()
    }

    async fn upsert_call(&self, c: &CallRecord) -> Result<(), StoreError> {
        let c = c.clone();
        self.writer
            .write(move |db| {
                db.prepare_cached(
                    "INSERT INTO hotline_calls (hotline_id, call_id, caller, line, language,
                         ivr_path, entered_at, answered_at, ended_at, operator_id, ending)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (hotline_id, call_id) DO UPDATE SET
                         caller = excluded.caller,
                         line = coalesce(excluded.line, line),
                         language = coalesce(excluded.language, language),
                         ivr_path = excluded.ivr_path,
                         answered_at = coalesce(excluded.answered_at, answered_at),
                         ended_at = coalesce(excluded.ended_at, ended_at),
                         operator_id = coalesce(excluded.operator_id, operator_id),
                         ending = coalesce(excluded.ending, ending)",
                )?
                .execute(params![
                    c.hotline_id,
                    c.call_id,
                    c.caller,
                    c.line.map(HotlineLine::as_str),
                    c.language.map(Language::code),
                    c.ivr_path,
                    c.entered_at,
                    c.answered_at,
                    c.ended_at,
                    c.operator_id,
                    c.ending
                ])
                .map_err(|e| refused(e, "the call changed meanwhile"))?;
                Ok(())
            })
            .await
    }

    async fn save_call_form(
        &self,
        hotline_id: i64,
        call_id: &str,
        form: &CallForm,
        by: i64,
        at: i64,
    ) -> Result<(), StoreError> {
        let (call_id, f) = (call_id.to_owned(), form.clone());
        self.writer
            .write(move |db| {
                let changed = db
                    .prepare_cached(
                        "UPDATE hotline_calls SET topics = ?3, tags = ?4, question = ?5,
                             municipality = ?6, worry = ?7, notes = ?8, outcome = ?9,
                             form_updated_at = ?10, form_by = ?11
                         WHERE hotline_id = ?1 AND call_id = ?2",
                    )?
                    .execute(params![
                        hotline_id,
                        call_id,
                        to_json(f.topics.iter().map(String::as_str)),
                        to_json(f.tags.iter().map(String::as_str)),
                        f.question,
                        f.municipality.as_ref().map(NisCode::as_str),
                        f.worry.map(Worry::level),
                        f.notes,
                        f.outcome,
                        at,
                        by
                    ])
                    .map_err(|e| refused(e, "the call changed meanwhile"))?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn call(&self, hotline_id: i64, call_id: &str) -> Result<Option<Call>, StoreError> {
        let sql =
            format!("SELECT {CALL} FROM hotline_calls WHERE hotline_id = ?1 AND call_id = ?2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hotline_id)
            .bind(call_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(call)
            .transpose()
    }

    async fn calls_from(
        &self,
        hotline_id: i64,
        caller: &str,
        limit: u32,
    ) -> Result<Vec<Call>, StoreError> {
        let sql = format!(
            "SELECT {CALL} FROM hotline_calls WHERE hotline_id = ?1 AND caller = ?2
             ORDER BY entered_at DESC, id DESC LIMIT ?3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hotline_id)
            .bind(caller)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(call)
            .collect()
    }

    async fn recent_calls(&self, hotline_id: i64, limit: u32) -> Result<Vec<Call>, StoreError> {
        let sql = format!(
            "SELECT {CALL} FROM hotline_calls WHERE hotline_id = ?1
             ORDER BY entered_at DESC, id DESC LIMIT ?2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hotline_id)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(call)
            .collect()
    }

    async fn append_queue_log(&self, entries: Vec<NewQueueLogEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.writer
            .write(move |db| {
                let mut insert = db.prepare_cached(
                    "INSERT INTO hotline_queue_log (hotline_id, at, call_id, queue, agent, event,
                         data1, data2, data3)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for e in &entries {
                    insert
                        .execute(params![
                            e.hotline_id,
                            e.at,
                            e.call_id,
                            e.queue,
                            e.agent,
                            e.event,
                            e.data1,
                            e.data2,
                            e.data3
                        ])
                        .map_err(|e| refused(e, "the queue log refused an entry"))?;
                }
                Ok(())
            })
            .await
    }

    async fn queue_log(
        &self,
        hotline_id: i64,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueueLogEntry>, StoreError> {
        let sql = format!(
            "SELECT {QUEUE_LOG} FROM hotline_queue_log WHERE hotline_id = ?1 AND at >= ?2
             ORDER BY id LIMIT ?3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hotline_id)
            .bind(since_ms)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(queue_entry)
            .collect()
    }

    async fn publish_answer(&self, a: &NewAnswerVersion) -> Result<AnswerVersion, StoreError> {
        answers::publish(self, a).await
    }

    async fn withdraw_answer(
        &self,
        incident_id: i64,
        answer_key: i64,
        by: i64,
        at: i64,
    ) -> Result<(), StoreError> {
        answers::withdraw(self, incident_id, answer_key, by, at).await
    }

    async fn answers(&self, incident_id: i64) -> Result<Vec<AnswerVersion>, StoreError> {
        answers::current(self, incident_id).await
    }

    async fn answer_history(
        &self,
        incident_id: i64,
        answer_key: i64,
    ) -> Result<Vec<AnswerVersion>, StoreError> {
        answers::history(self, incident_id, answer_key).await
    }

    async fn create_callback(&self, c: &NewCallback) -> Result<Callback, StoreError> {
        callbacks::create(self, c).await
    }

    async fn callbacks(
        &self,
        hotline_id: i64,
        open_only: bool,
    ) -> Result<Vec<Callback>, StoreError> {
        callbacks::list(self, hotline_id, open_only).await
    }

    async fn assign_callback(
        &self,
        id: i64,
        hotline_id: i64,
        operator: i64,
        at: i64,
    ) -> Result<Callback, StoreError> {
        callbacks::assign(self, id, hotline_id, operator, at).await
    }

    async fn finish_callback(
        &self,
        id: i64,
        hotline_id: i64,
        operator: i64,
        success: bool,
        note: &str,
        at: i64,
    ) -> Result<Callback, StoreError> {
        callbacks::finish(self, id, hotline_id, operator, success, note, at).await
    }

    async fn topic_counts(
        &self,
        hotline_id: i64,
        since: i64,
        bucket_seconds: NonZeroU32,
    ) -> Result<Vec<TopicCount>, StoreError> {
        // The bucket is floored (also before 1970), and a topic named twice in
        // one form counts once.
        sqlx::query(
            "SELECT t.value AS topic, c.municipality AS municipality,
                    c.entered_at - ((c.entered_at % ?3) + ?3) % ?3 AS bucket_start,
                    count(DISTINCT c.id) AS n
             FROM hotline_calls c, json_each(c.topics) t
             WHERE c.hotline_id = ?1 AND c.entered_at >= ?2
             GROUP BY t.value, c.municipality, bucket_start
             ORDER BY bucket_start, t.value, c.municipality",
        )
        .bind(hotline_id)
        .bind(since)
        .bind(i64::from(bucket_seconds.get()))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(topic_count)
        .collect()
    }
}
