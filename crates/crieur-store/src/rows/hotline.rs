//! Column lists and row mappers for the hotline's tables. Stored text that no
//! longer parses is reported as corrupt, never skipped.

use super::Cols;
use crate::{
    AnswerState, AnswerVersion, Call, CallForm, CallRecord, Callback, CallbackState, Callout,
    CalloutChannel, CalloutResponse, FiledForm, Hotline, HotlineLine, HotlineState, QueueLogEntry,
    StoreError, Worry,
};
use crieur_domain::{Language, NisCode};
use std::fmt::Display;

pub(crate) const HOTLINE: &str = "id, incident_id, number, languages, config, \
     staffing_target, state, activated_by, activated_at, closed_by, closed_at, closing_message";
pub(crate) const CALLOUT: &str = "id, hotline_id, account_id, channel, address, token_hash, \
     sent_at, response, eta_minutes, responded_at";
pub(crate) const CALL: &str = "id, hotline_id, call_id, caller, line, language, ivr_path, \
     entered_at, answered_at, ended_at, operator_id, ending, topics, tags, question, \
     municipality, worry, notes, outcome, form_updated_at, form_by";
pub(crate) const QUEUE_LOG: &str =
    "id, hotline_id, at, call_id, queue, agent, event, data1, data2, data3";
pub(crate) const ANSWER: &str = "id, incident_id, answer_key, version, language, title, body, \
     topics, state, author, published_at, withdrawn_by, withdrawn_at";
pub(crate) const CALLBACK: &str = "id, hotline_id, call_id, number, language, line, reason, \
     note, state, assigned_to, created_at, updated_at, attempts";

/// A text column parsed into its type.
fn parsed<T, E: Display>(
    r: &impl Cols,
    table: &str,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let s: String = r.col(column)?;
    parse(&s).map_err(|e| StoreError::Corrupt(format!("{table}.{column} {s:?}: {e}")))
}

/// A nullable text column parsed into its type.
pub(crate) fn parsed_opt<T, E: Display>(
    r: &impl Cols,
    table: &str,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let s: Option<String> = r.col(column)?;
    s.map(|s| parse(&s).map_err(|e| StoreError::Corrupt(format!("{table}.{column} {s:?}: {e}"))))
        .transpose()
}

/// For the enums stored as text.
fn known<T>(parse: fn(&str) -> Option<T>) -> impl Fn(&str) -> Result<T, &'static str> {
    move |s| parse(s).ok_or("unknown value")
}

fn json_strings(s: &str) -> Result<Vec<String>, serde_json::Error> {
    serde_json::from_str(s)
}

fn json_languages(s: &str) -> Result<Vec<Language>, String> {
    json_strings(s)
        .map_err(|e| e.to_string())?
        .iter()
        .map(|l| l.parse::<Language>().map_err(|e| e.to_string()))
        .collect()
}

pub(crate) fn to_json<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::from(items.into_iter().collect::<Vec<_>>()).to_string()
}

pub(crate) fn hotline(r: &impl Cols) -> Result<Hotline, StoreError> {
    Ok(Hotline {
        id: r.col("id")?,
        incident_id: r.col("incident_id")?,
        number: r.col("number")?,
        languages: parsed(r, "hotlines", "languages", json_languages)?,
        config: r.col("config")?,
        staffing_target: r.col::<i64>("staffing_target")? as u32,
        state: parsed(r, "hotlines", "state", known(HotlineState::parse))?,
        activated_by: r.col("activated_by")?,
        activated_at: r.col("activated_at")?,
        closed_by: r.col("closed_by")?,
        closed_at: r.col("closed_at")?,
        closing_message: r.col("closing_message")?,
    })
}

pub(crate) fn callout(r: &impl Cols) -> Result<Callout, StoreError> {
    Ok(Callout {
        id: r.col("id")?,
        hotline_id: r.col("hotline_id")?,
        account_id: r.col("account_id")?,
        channel: parsed(
            r,
            "hotline_callouts",
            "channel",
            known(CalloutChannel::parse),
        )?,
        address: r.col("address")?,
        token_hash: r.col("token_hash")?,
        sent_at: r.col("sent_at")?,
        response: parsed_opt(
            r,
            "hotline_callouts",
            "response",
            known(CalloutResponse::parse),
        )?,
        eta_minutes: r.col::<Option<i64>>("eta_minutes")?.map(|m| m as u32),
        responded_at: r.col("responded_at")?,
    })
}

pub(crate) fn call(r: &impl Cols) -> Result<Call, StoreError> {
    let form_at: Option<i64> = r.col("form_updated_at")?;
    let form = match form_at {
        None => None,
        Some(at) => Some(FiledForm {
            form: CallForm {
                topics: parsed(r, "hotline_calls", "topics", json_strings)?,
                tags: parsed(r, "hotline_calls", "tags", json_strings)?,
                question: r.col::<Option<String>>("question")?.unwrap_or_default(),
                municipality: parsed_opt(
                    r,
                    "hotline_calls",
                    "municipality",
                    str::parse::<NisCode>,
                )?,
                worry: r
                    .col::<Option<i64>>("worry")?
                    .map(|w| match u8::try_from(w).map(Worry::new) {
                        Ok(Some(worry)) => Ok(worry),
                        _ => Err(StoreError::Corrupt(format!("hotline_calls.worry: {w}"))),
                    })
                    .transpose()?,
                notes: r.col::<Option<String>>("notes")?.unwrap_or_default(),
                outcome: r.col::<Option<String>>("outcome")?.unwrap_or_default(),
            },
            by: r.col("form_by")?,
            at,
        }),
    };
    Ok(Call {
        id: r.col("id")?,
        record: CallRecord {
            hotline_id: r.col("hotline_id")?,
            call_id: r.col("call_id")?,
            caller: r.col("caller")?,
            line: parsed_opt(r, "hotline_calls", "line", known(HotlineLine::parse))?,
            language: parsed_opt(r, "hotline_calls", "language", str::parse::<Language>)?,
            ivr_path: r.col("ivr_path")?,
            entered_at: r.col("entered_at")?,
            answered_at: r.col("answered_at")?,
            ended_at: r.col("ended_at")?,
            operator_id: r.col("operator_id")?,
            ending: r.col("ending")?,
        },
        form,
    })
}

pub(crate) fn queue_entry(r: &impl Cols) -> Result<QueueLogEntry, StoreError> {
    Ok(QueueLogEntry {
        id: r.col("id")?,
        hotline_id: r.col("hotline_id")?,
        at: r.col("at")?,
        call_id: r.col("call_id")?,
        queue: r.col("queue")?,
        agent: r.col("agent")?,
        event: r.col("event")?,
        data1: r.col("data1")?,
        data2: r.col("data2")?,
        data3: r.col("data3")?,
    })
}

pub(crate) fn answer(r: &impl Cols) -> Result<AnswerVersion, StoreError> {
    Ok(AnswerVersion {
        id: r.col("id")?,
        incident_id: r.col("incident_id")?,
        answer_key: r.col("answer_key")?,
        version: r.col::<i64>("version")? as u32,
        language: parsed(r, "hotline_answers", "language", str::parse::<Language>)?,
        title: r.col("title")?,
        body: r.col("body")?,
        topics: parsed(r, "hotline_answers", "topics", json_strings)?,
        state: parsed(r, "hotline_answers", "state", known(AnswerState::parse))?,
        author: r.col("author")?,
        published_at: r.col("published_at")?,
        withdrawn_by: r.col("withdrawn_by")?,
        withdrawn_at: r.col("withdrawn_at")?,
    })
}

pub(crate) fn callback(r: &impl Cols) -> Result<Callback, StoreError> {
    Ok(Callback {
        id: r.col("id")?,
        hotline_id: r.col("hotline_id")?,
        call_id: r.col("call_id")?,
        number: r.col("number")?,
        language: parsed(r, "hotline_callbacks", "language", str::parse::<Language>)?,
        line: parsed(r, "hotline_callbacks", "line", known(HotlineLine::parse))?,
        reason: r.col("reason")?,
        note: r.col("note")?,
        state: parsed(r, "hotline_callbacks", "state", known(CallbackState::parse))?,
        assigned_to: r.col("assigned_to")?,
        created_at: r.col("created_at")?,
        updated_at: r.col("updated_at")?,
        attempts: r.col::<i64>("attempts")? as u32,
    })
}

pub(crate) fn topic_count(r: &impl Cols) -> Result<crate::TopicCount, StoreError> {
    Ok(crate::TopicCount {
        topic: r.col("topic")?,
        municipality: parsed_opt(r, "hotline_calls", "municipality", str::parse::<NisCode>)?,
        bucket_start: r.col("bucket_start")?,
        count: r.col::<i64>("n")? as u64,
    })
}
