//! Column lists and row mappers for the hotline's tables. Stored text that no
//! longer parses is reported as corrupt, never skipped.

use crate::{
    AnswerState, AnswerVersion, Call, CallForm, CallRecord, Callback, CallbackState, Callout,
    CalloutChannel, CalloutResponse, FiledForm, Hotline, HotlineLine, HotlineState, QueueLogEntry,
    StoreError, Worry,
};
use crieur_domain::{Language, NisCode};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use std::fmt::Display;

pub(super) const HOTLINE: &str = "id, incident_id, number, languages, config, \
     staffing_target, state, activated_by, activated_at, closed_by, closed_at, closing_message";
pub(super) const CALLOUT: &str = "id, hotline_id, account_id, channel, address, token_hash, \
     sent_at, response, eta_minutes, responded_at";
pub(super) const CALL: &str = "id, hotline_id, call_id, caller, line, language, ivr_path, \
     entered_at, answered_at, ended_at, operator_id, ending, topics, tags, question, \
     municipality, worry, notes, outcome, form_updated_at, form_by";
pub(super) const QUEUE_LOG: &str =
    "id, hotline_id, at, call_id, queue, agent, event, data1, data2, data3";
pub(super) const ANSWER: &str = "id, incident_id, answer_key, version, language, title, body, \
     topics, state, author, published_at, withdrawn_by, withdrawn_at";
pub(in crate::sqlite) const CALLBACK: &str = "id, hotline_id, call_id, number, language, line, reason, \
     note, state, assigned_to, created_at, updated_at, attempts";

/// A text column parsed into its type.
fn parsed<T, E: Display>(
    r: &SqliteRow,
    table: &str,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let s: String = r.try_get(column)?;
    parse(&s).map_err(|e| StoreError::Corrupt(format!("{table}.{column} {s:?}: {e}")))
}

/// A nullable text column parsed into its type.
pub(super) fn parsed_opt<T, E: Display>(
    r: &SqliteRow,
    table: &str,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let s: Option<String> = r.try_get(column)?;
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

pub(super) fn to_json<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::from(items.into_iter().collect::<Vec<_>>()).to_string()
}

pub(super) fn hotline(r: &SqliteRow) -> Result<Hotline, StoreError> {
    Ok(Hotline {
        id: r.try_get("id")?,
        incident_id: r.try_get("incident_id")?,
        number: r.try_get("number")?,
        languages: parsed(r, "hotlines", "languages", json_languages)?,
        config: r.try_get("config")?,
        staffing_target: r.try_get::<i64, _>("staffing_target")? as u32,
        state: parsed(r, "hotlines", "state", known(HotlineState::parse))?,
        activated_by: r.try_get("activated_by")?,
        activated_at: r.try_get("activated_at")?,
        closed_by: r.try_get("closed_by")?,
        closed_at: r.try_get("closed_at")?,
        closing_message: r.try_get("closing_message")?,
    })
}

pub(super) fn callout(r: &SqliteRow) -> Result<Callout, StoreError> {
    Ok(Callout {
        id: r.try_get("id")?,
        hotline_id: r.try_get("hotline_id")?,
        account_id: r.try_get("account_id")?,
        channel: parsed(
            r,
            "hotline_callouts",
            "channel",
            known(CalloutChannel::parse),
        )?,
        address: r.try_get("address")?,
        token_hash: r.try_get("token_hash")?,
        sent_at: r.try_get("sent_at")?,
        response: parsed_opt(
            r,
            "hotline_callouts",
            "response",
            known(CalloutResponse::parse),
        )?,
        eta_minutes: r
            .try_get::<Option<i64>, _>("eta_minutes")?
            .map(|m| m as u32),
        responded_at: r.try_get("responded_at")?,
    })
}

pub(super) fn call(r: &SqliteRow) -> Result<Call, StoreError> {
    let form_at: Option<i64> = r.try_get("form_updated_at")?;
    let form = match form_at {
        None => None,
        Some(at) => Some(FiledForm {
            form: CallForm {
                topics: parsed(r, "hotline_calls", "topics", json_strings)?,
                tags: parsed(r, "hotline_calls", "tags", json_strings)?,
                question: r
                    .try_get::<Option<String>, _>("question")?
                    .unwrap_or_default(),
                municipality: parsed_opt(
                    r,
                    "hotline_calls",
                    "municipality",
                    str::parse::<NisCode>,
                )?,
                worry: r
                    .try_get::<Option<i64>, _>("worry")?
                    .map(|w| match u8::try_from(w).map(Worry::new) {
                        Ok(Some(worry)) => Ok(worry),
                        _ => Err(StoreError::Corrupt(format!("hotline_calls.worry: {w}"))),
                    })
                    .transpose()?,
                notes: r.try_get::<Option<String>, _>("notes")?.unwrap_or_default(),
                outcome: r
                    .try_get::<Option<String>, _>("outcome")?
                    .unwrap_or_default(),
            },
            by: r.try_get("form_by")?,
            at,
        }),
    };
    Ok(Call {
        id: r.try_get("id")?,
        record: CallRecord {
            hotline_id: r.try_get("hotline_id")?,
            call_id: r.try_get("call_id")?,
            caller: r.try_get("caller")?,
            line: parsed_opt(r, "hotline_calls", "line", known(HotlineLine::parse))?,
            language: parsed_opt(r, "hotline_calls", "language", str::parse::<Language>)?,
            ivr_path: r.try_get("ivr_path")?,
            entered_at: r.try_get("entered_at")?,
            answered_at: r.try_get("answered_at")?,
            ended_at: r.try_get("ended_at")?,
            operator_id: r.try_get("operator_id")?,
            ending: r.try_get("ending")?,
        },
        form,
    })
}

pub(super) fn queue_entry(r: &SqliteRow) -> Result<QueueLogEntry, StoreError> {
    Ok(QueueLogEntry {
        id: r.try_get("id")?,
        hotline_id: r.try_get("hotline_id")?,
        at: r.try_get("at")?,
        call_id: r.try_get("call_id")?,
        queue: r.try_get("queue")?,
        agent: r.try_get("agent")?,
        event: r.try_get("event")?,
        data1: r.try_get("data1")?,
        data2: r.try_get("data2")?,
        data3: r.try_get("data3")?,
    })
}

pub(super) fn answer(r: &SqliteRow) -> Result<AnswerVersion, StoreError> {
    Ok(AnswerVersion {
        id: r.try_get("id")?,
        incident_id: r.try_get("incident_id")?,
        answer_key: r.try_get("answer_key")?,
        version: r.try_get::<i64, _>("version")? as u32,
        language: parsed(r, "hotline_answers", "language", str::parse::<Language>)?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        topics: parsed(r, "hotline_answers", "topics", json_strings)?,
        state: parsed(r, "hotline_answers", "state", known(AnswerState::parse))?,
        author: r.try_get("author")?,
        published_at: r.try_get("published_at")?,
        withdrawn_by: r.try_get("withdrawn_by")?,
        withdrawn_at: r.try_get("withdrawn_at")?,
    })
}

pub(in crate::sqlite) fn callback(r: &SqliteRow) -> Result<Callback, StoreError> {
    Ok(Callback {
        id: r.try_get("id")?,
        hotline_id: r.try_get("hotline_id")?,
        call_id: r.try_get("call_id")?,
        number: r.try_get("number")?,
        language: parsed(r, "hotline_callbacks", "language", str::parse::<Language>)?,
        line: parsed(r, "hotline_callbacks", "line", known(HotlineLine::parse))?,
        reason: r.try_get("reason")?,
        note: r.try_get("note")?,
        state: parsed(r, "hotline_callbacks", "state", known(CallbackState::parse))?,
        assigned_to: r.try_get("assigned_to")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
    })
}
