//! Column lists and row mappers for the relatives line's tables, shared by the
//! backends. Stored text that no longer parses is reported as corrupt.

use super::Cols;
use crate::{
    Decision, Enquirer, Inquiry, InquiryState, ListOrigin, MatchDecision, PersonList, SoughtPerson,
    StoreError, StoredEntry,
};
use crieur_domain::Language;
use crieur_domain::matching::{PartialDate, Sex};
use crieur_domain::relatives::{Involvement, ListPerson, Relationship, parse_list_kind, parse_sex};

pub(crate) const INQUIRY: &str = "id, incident_id, person, hotline_id, call_id, given_names, \
     family_names, birth_year, birth_month, birth_day, sex, nationality, description, phone, \
     last_place, last_seen, why_involved, involvement, caller_name, relationship, \
     callback_numbers, caller_language, notes, state, created_by, created_at, updated_at";
pub(crate) const LIST: &str =
    "id, incident_id, kind, source, drawn_up_at, format, entries, uploaded_by, uploaded_at";
/// From `list_entries e JOIN person_lists l`.
pub(crate) const ENTRY: &str = "e.id, e.list_id, l.kind, l.incident_id, e.given_names, \
     e.family_names, e.birth_year, e.birth_month, e.birth_day, e.sex, e.nationality, e.phone, \
     e.place, e.details";
pub(crate) const DECISION: &str = "id, inquiry_id, entry_id, score, reasons, decision, note, \
     decided_by, decided_at, callback_id";

fn corrupt(table: &str, column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{table}.{column} {value:?}"))
}

fn text_as<T>(
    r: &impl Cols,
    table: &str,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let s: String = r.col(column)?;
    parse(&s).ok_or_else(|| corrupt(table, column, &s))
}

fn birth(r: &impl Cols) -> Result<PartialDate, StoreError> {
    let year: Option<i64> = r.col("birth_year")?;
    let month: Option<i64> = r.col("birth_month")?;
    let day: Option<i64> = r.col("birth_day")?;
    Ok(PartialDate {
        year: year.map(|y| y as u16),
        month: month.map(|m| m as u8),
        day: day.map(|d| d as u8),
    })
}

fn sex(r: &impl Cols, table: &str) -> Result<Option<Sex>, StoreError> {
    let s: Option<String> = r.col("sex")?;
    match s {
        None => Ok(None),
        Some(s) => parse_sex(&s).map_err(|_| corrupt(table, "sex", &s)),
    }
}

pub(crate) fn inquiry(r: &impl Cols) -> Result<Inquiry, StoreError> {
    let numbers: String = r.col("callback_numbers")?;
    Ok(Inquiry {
        id: r.col("id")?,
        incident_id: r.col("incident_id")?,
        person: r.col("person")?,
        hotline_id: r.col("hotline_id")?,
        call_id: r.col("call_id")?,
        sought: SoughtPerson {
            given_names: r.col("given_names")?,
            family_names: r.col("family_names")?,
            birth: birth(r)?,
            sex: sex(r, "inquiries")?,
            nationality: r.col("nationality")?,
            description: r.col("description")?,
            phone: r.col("phone")?,
            last_place: r.col("last_place")?,
            last_seen: r.col("last_seen")?,
            why_involved: r.col("why_involved")?,
        },
        caller: Enquirer {
            name: r.col("caller_name")?,
            relationship: text_as(r, "inquiries", "relationship", Relationship::parse)?,
            callback_numbers: serde_json::from_str(&numbers)
                .map_err(|_| corrupt("inquiries", "callback_numbers", &numbers))?,
            language: text_as(r, "inquiries", "caller_language", |s| {
                s.parse::<Language>().ok()
            })?,
        },
        involvement: text_as(r, "inquiries", "involvement", Involvement::parse)?,
        notes: r.col("notes")?,
        state: text_as(r, "inquiries", "state", InquiryState::parse)?,
        created_by: r.col("created_by")?,
        created_at: r.col("created_at")?,
        updated_at: r.col("updated_at")?,
    })
}

pub(crate) fn list(r: &impl Cols) -> Result<PersonList, StoreError> {
    Ok(PersonList {
        id: r.col("id")?,
        incident_id: r.col("incident_id")?,
        kind: text_as(r, "person_lists", "kind", parse_list_kind)?,
        source: r.col("source")?,
        drawn_up_at: r.col("drawn_up_at")?,
        origin: text_as(r, "person_lists", "format", ListOrigin::parse)?,
        entries: r.col::<i64>("entries")? as u32,
        uploaded_by: r.col("uploaded_by")?,
        uploaded_at: r.col("uploaded_at")?,
    })
}

/// An entry and the incident of its list.
pub(crate) fn entry(r: &impl Cols) -> Result<(i64, StoredEntry), StoreError> {
    Ok((
        r.col("incident_id")?,
        StoredEntry {
            id: r.col("id")?,
            list_id: r.col("list_id")?,
            kind: text_as(r, "person_lists", "kind", parse_list_kind)?,
            person: ListPerson {
                given_names: r.col("given_names")?,
                family_names: r.col("family_names")?,
                birth: birth(r)?,
                sex: sex(r, "list_entries")?,
                nationality: r.col("nationality")?,
                phone: r.col("phone")?,
                place: r.col("place")?,
                details: r.col("details")?,
            },
        },
    ))
}

/// A decision without its callback, and the callback's id.
pub(crate) fn decision(r: &impl Cols) -> Result<(MatchDecision, Option<i64>), StoreError> {
    let reasons: String = r.col("reasons")?;
    Ok((
        MatchDecision {
            id: r.col("id")?,
            inquiry_id: r.col("inquiry_id")?,
            entry_id: r.col("entry_id")?,
            score: r.col("score")?,
            reasons: serde_json::from_str(&reasons)
                .map_err(|_| corrupt("inquiry_matches", "reasons", &reasons))?,
            decision: text_as(r, "inquiry_matches", "decision", Decision::parse)?,
            note: r.col("note")?,
            decided_by: r.col("decided_by")?,
            decided_at: r.col("decided_at")?,
            callback: None,
        },
        r.col("callback_id")?,
    ))
}
