//! The hotline's tables in PostgreSQL: activations, call-outs, calls and their
//! forms, the queue log and topic trends here; answers and callbacks beside.
//! Rows are always looked up with the hotline (or incident) named by the caller.

mod answers;
mod callbacks;

use super::{PgStore, refused};
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
use std::num::NonZeroU32;

impl PgStore {
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

    async fn calls_where(
        &self,
        condition: &str,
        hotline_id: i64,
        text: &str,
        limit: u32,
    ) -> Result<Vec<Call>, StoreError> {
        let sql = format!("SELECT {CALL} FROM hotline_calls WHERE hotline_id = $1 AND {condition}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hotline_id)
            .bind(text)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(call)
            .collect()
    }
}

#[async_trait::async_trait]
impl HotlineStore for PgStore {
    async fn activate_hotline(&self, h: &NewHotline) -> Result<Hotline, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The incident's row lock orders two activations of one incident.
        let closed: Option<Option<String>> =
            sqlx::query_scalar("SELECT closed_at FROM incidents WHERE id = $1 FOR UPDATE")
                .bind(h.incident_id)
                .fetch_optional(&mut *tx)
                .await?;
        incident_open(closed)?;
        // Checked first for a clear message; the unique indexes hold anyway.
        let number_taken: Option<bool> = sqlx::query_scalar(
            "SELECT number = $2 FROM hotlines
             WHERE state = 'active' AND (number = $2 OR incident_id = $1)
             ORDER BY number = $2 DESC LIMIT 1",
        )
        .bind(h.incident_id)
        .bind(&h.number)
        .fetch_optional(&mut *tx)
        .await?;
        activation_free(number_taken, &h.number)?;
        let sql = format!(
            "INSERT INTO hotlines (incident_id, number, languages, config, staffing_target,
                 activated_by, activated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {HOTLINE}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(h.incident_id)
            .bind(&h.number)
            .bind(to_json(h.languages.iter().map(|l| l.code())))
            .bind(&h.config)
            .bind(i64::from(h.staffing_target))
            .bind(h.activated_by)
            .bind(h.activated_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| refused(e, "an active hotline has this number or incident"))?;
        let activated = hotline(&row)?;
        tx.commit()
            .await
            .map_err(|e| refused(e, "an active hotline has this number or incident"))?;
        Ok(activated)
    }

    async fn close_hotline(
        &self,
        id: i64,
        by: i64,
        closing_message: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE hotlines SET state = 'closed', closed_by = $2, closed_at = $3,
                 closing_message = $4
             WHERE id = $1 AND state = 'active'",
        )
        .bind(id)
        .bind(by)
        .bind(at)
        .bind(closing_message)
        .execute(&self.pool)
        .await
        .map_err(|e| refused(e, "the hotline changed meanwhile"))?;
        crate::rows::one_row(done.rows_affected())
    }

    async fn hotline(&self, id: i64) -> Result<Option<Hotline>, StoreError> {
        Ok(self.hotlines_where("id = $1", id).await?.pop())
    }

    async fn active_hotlines(&self) -> Result<Vec<Hotline>, StoreError> {
        self.hotlines_where("state = 'active' AND $1 = $1 ORDER BY id", 0)
            .await
    }

    async fn hotline_of_incident(&self, incident_id: i64) -> Result<Option<Hotline>, StoreError> {
        Ok(self
            .hotlines_where("incident_id = $1 ORDER BY id DESC LIMIT 1", incident_id)
            .await?
            .pop())
    }

    async fn update_hotline_config(
        &self,
        id: i64,
        config: &str,
        staffing_target: u32,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE hotlines SET config = $2, staffing_target = $3
             WHERE id = $1 AND state = 'active'",
        )
        .bind(id)
        .bind(config)
        .bind(i64::from(staffing_target))
        .execute(&self.pool)
        .await?;
        crate::rows::one_row(done.rows_affected())
    }

    async fn add_callouts(
        &self,
        hotline_id: i64,
        callouts: Vec<NewCallout>,
    ) -> Result<Vec<Callout>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let active: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM hotlines WHERE id = $1 AND state = 'active' FOR SHARE)",
        )
        .bind(hotline_id)
        .fetch_one(&mut *tx)
        .await?;
        if !active {
            return Err(StoreError::NotFound);
        }
        let sql = format!(
            "INSERT INTO hotline_callouts (hotline_id, account_id, channel, address, token_hash, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CALLOUT}"
        );
        let mut out = Vec::with_capacity(callouts.len());
        for c in callouts {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(hotline_id)
                .bind(c.account_id)
                .bind(c.channel.as_str())
                .bind(&c.address)
                .bind(&c.token_hash)
                .bind(c.sent_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| refused(e, "a call-out already has this token"))?;
            out.push(callout(&row)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn respond_callout(
        &self,
        token_hash: &str,
        response: CalloutResponse,
        eta_minutes: Option<u32>,
        at: i64,
    ) -> Result<Callout, StoreError> {
        let sql = format!(
            "UPDATE hotline_callouts SET response = $2, eta_minutes = $3, responded_at = $4
             WHERE token_hash = $1 RETURNING {CALLOUT}"
        );
        callout(
            &sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(response.as_str())
                .bind(eta_minutes.map(i64::from))
                .bind(at)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?,
        )
    }

    async fn callouts(&self, hotline_id: i64) -> Result<Vec<Callout>, StoreError> {
        let sql =
            format!("SELECT {CALLOUT} FROM hotline_callouts WHERE hotline_id = $1 ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hotline_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(callout)
            .collect()
    }

    async fn callout_by_token(&self, token_hash: &str) -> Result<Option<Callout>, StoreError> {
        let sql = format!("SELECT {CALLOUT} FROM hotline_callouts WHERE token_hash = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(callout)
            .transpose()
    }

    async fn upsert_call(&self, c: &CallRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hotline_calls AS h (hotline_id, call_id, caller, line, language,
                 ivr_path, entered_at, answered_at, ended_at, operator_id, ending)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (hotline_id, call_id) DO UPDATE SET
                 caller = excluded.caller,
                 line = coalesce(excluded.line, h.line),
                 language = coalesce(excluded.language, h.language),
                 ivr_path = excluded.ivr_path,
                 answered_at = coalesce(excluded.answered_at, h.answered_at),
                 ended_at = coalesce(excluded.ended_at, h.ended_at),
                 operator_id = coalesce(excluded.operator_id, h.operator_id),
                 ending = coalesce(excluded.ending, h.ending)",
        )
        .bind(c.hotline_id)
        .bind(&c.call_id)
        .bind(&c.caller)
        .bind(c.line.map(HotlineLine::as_str))
        .bind(c.language.map(Language::code))
        .bind(&c.ivr_path)
        .bind(c.entered_at)
        .bind(c.answered_at)
        .bind(c.ended_at)
        .bind(c.operator_id)
        .bind(&c.ending)
        .execute(&self.pool)
        .await
        .map_err(|e| refused(e, "the call changed meanwhile"))?;
        Ok(())
    }

    async fn save_call_form(
        &self,
        hotline_id: i64,
        call_id: &str,
        f: &CallForm,
        by: i64,
        at: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE hotline_calls SET topics = $3, tags = $4, question = $5,
                 municipality = $6, worry = $7, notes = $8, outcome = $9,
                 form_updated_at = $10, form_by = $11
             WHERE hotline_id = $1 AND call_id = $2",
        )
        .bind(hotline_id)
        .bind(call_id)
        .bind(to_json(f.topics.iter().map(String::as_str)))
        .bind(to_json(f.tags.iter().map(String::as_str)))
        .bind(&f.question)
        .bind(f.municipality.as_ref().map(NisCode::as_str))
        .bind(f.worry.map(|w| i64::from(Worry::level(w))))
        .bind(&f.notes)
        .bind(&f.outcome)
        .bind(at)
        .bind(by)
        .execute(&self.pool)
        .await
        .map_err(|e| refused(e, "the call changed meanwhile"))?;
        crate::rows::one_row(done.rows_affected())
    }

    async fn call(&self, hotline_id: i64, call_id: &str) -> Result<Option<Call>, StoreError> {
        Ok(self
            .calls_where("call_id = $2 AND $3 = $3", hotline_id, call_id, 1)
            .await?
            .pop())
    }

    async fn calls_from(
        &self,
        hotline_id: i64,
        caller: &str,
        limit: u32,
    ) -> Result<Vec<Call>, StoreError> {
        self.calls_where(
            "caller = $2 ORDER BY entered_at DESC, id DESC LIMIT $3",
            hotline_id,
            caller,
            limit,
        )
        .await
    }

    async fn recent_calls(&self, hotline_id: i64, limit: u32) -> Result<Vec<Call>, StoreError> {
        self.calls_where(
            "$2 = $2 ORDER BY entered_at DESC, id DESC LIMIT $3",
            hotline_id,
            "",
            limit,
        )
        .await
    }

    async fn append_queue_log(&self, entries: Vec<NewQueueLogEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let text =
            |f: fn(&NewQueueLogEntry) -> &str| -> Vec<&str> { entries.iter().map(f).collect() };
        sqlx::query(
            "INSERT INTO hotline_queue_log (hotline_id, at, call_id, queue, agent, event,
                 data1, data2, data3)
             SELECT h, a, c, q, g, e, d1, d2, d3
             FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                         $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[])
                  WITH ORDINALITY AS u(h, a, c, q, g, e, d1, d2, d3, n)
             ORDER BY n",
        )
        .bind(entries.iter().map(|e| e.hotline_id).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.at).collect::<Vec<_>>())
        .bind(text(|e| &e.call_id))
        .bind(text(|e| &e.queue))
        .bind(text(|e| &e.agent))
        .bind(text(|e| &e.event))
        .bind(text(|e| &e.data1))
        .bind(text(|e| &e.data2))
        .bind(text(|e| &e.data3))
        .execute(&self.pool)
        .await
        .map_err(|e| refused(e, "the queue log refused an entry"))?;
        Ok(())
    }

    async fn queue_log(
        &self,
        hotline_id: i64,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueueLogEntry>, StoreError> {
        let sql = format!(
            "SELECT {QUEUE_LOG} FROM hotline_queue_log WHERE hotline_id = $1 AND at >= $2
             ORDER BY id LIMIT $3"
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
                    c.entered_at - ((c.entered_at % $3) + $3) % $3 AS bucket_start,
                    count(DISTINCT c.id) AS n
             FROM hotline_calls c CROSS JOIN LATERAL json_array_elements_text(c.topics::JSON) AS t(value)
             WHERE c.hotline_id = $1 AND c.entered_at >= $2
             GROUP BY t.value, c.municipality, bucket_start
             ORDER BY bucket_start, t.value COLLATE \"C\", c.municipality NULLS FIRST",
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
