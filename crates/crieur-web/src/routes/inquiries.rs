//! Inquiries taken on the relatives line: the form's checks (shared with the
//! inquiry page), capture at the operator desk during a relatives-line call, and
//! the approved wording a confirmed match's callback carries.
//!
//! Only staff allowed `ViewInquiries` on the incident's territory record an
//! inquiry, only on a call of the relatives line that is theirs; a refused
//! request stores nothing and is audited.

use crate::AppState;
use crate::auth::{Staff, audit, now};
use crate::error::ApiError;
use crate::i18n::Tr;
use crate::routes::desk_api::desk_of;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use crieur_domain::Language;
use crieur_domain::access::Action;
use crieur_domain::acd::Line;
use crieur_domain::audit::Outcome;
use crieur_domain::contact::PhoneNumber;
use crieur_domain::matching::ListKind;
use crieur_domain::relatives::{Involvement, Relationship, list_kind_key, parse_birth, parse_sex};
use crieur_store::{Enquirer, Inquiry, NewInquiry, SoughtPerson, StoreError, StoredEntry};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route(
        "/api/hotlines/{id}/desk/calls/{call_id}/inquiries",
        post(capture),
    )
}

const MAX_NAME: usize = 200;
const MAX_SHORT: usize = 200;
const MAX_LONG: usize = 1000;
const MAX_NOTES: usize = 4000;
const MAX_CALLBACK_NUMBERS: usize = 3;

/// The inquiry form, as the desk sends it (JSON) or a page posts it.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub(crate) struct InquiryIn {
    pub given_names: String,
    pub family_names: String,
    /// `1962`, `1962-05`, `14/05/1962`…
    pub birth: String,
    pub sex: String,
    pub nationality: String,
    pub description: String,
    pub phone: String,
    pub last_place: String,
    pub last_seen: String,
    pub why_involved: String,
    pub involvement: String,
    pub caller_name: String,
    pub relationship: String,
    /// Separated by commas or new lines.
    pub callback_numbers: String,
    pub caller_language: String,
    pub notes: String,
    /// Another inquiry's number: the same person.
    pub same_person_as: String,
}

/// The checked form.
pub(crate) struct Checked {
    pub sought: SoughtPerson,
    pub caller: Enquirer,
    pub involvement: Involvement,
    pub notes: String,
    pub same_person_as: Option<i64>,
}

/// Every problem, by field, as message keys.
pub(crate) fn check(f: &InquiryIn) -> Result<Checked, Vec<(String, &'static str)>> {
    let mut problems: Vec<(String, &'static str)> = Vec::new();
    let mut text = |field: &str, value: &str, max: usize| -> String {
        let v = value.trim();
        if v.chars().count() > max {
            problems.push((field.into(), "relatives.form.too_long"));
        } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
            problems.push((field.into(), "relatives.form.control"));
        }
        v.to_owned()
    };
    let given_names = text("given_names", &f.given_names, MAX_NAME);
    let family_names = text("family_names", &f.family_names, MAX_NAME);
    let nationality = text("nationality", &f.nationality, 60);
    let description = text("description", &f.description, MAX_LONG);
    let last_place = text("last_place", &f.last_place, MAX_SHORT);
    let last_seen = text("last_seen", &f.last_seen, MAX_SHORT);
    let why_involved = text("why_involved", &f.why_involved, MAX_LONG);
    let caller_name = text("caller_name", &f.caller_name, MAX_NAME);
    let notes = text("notes", &f.notes, MAX_NOTES);
    if given_names.is_empty() && family_names.is_empty() {
        problems.push(("family_names".into(), "relatives.form.no_name"));
    }
    let birth = parse_birth(&f.birth).unwrap_or_else(|_| {
        problems.push(("birth".into(), "relatives.form.bad_birth"));
        Default::default()
    });
    let sex = parse_sex(&f.sex).unwrap_or_else(|_| {
        problems.push(("sex".into(), "relatives.form.bad_sex"));
        None
    });
    let phone = match f.phone.trim() {
        "" => None,
        p => match PhoneNumber::parse(p) {
            Ok(n) => Some(n.e164().to_owned()),
            Err(_) => {
                problems.push(("phone".into(), "relatives.form.bad_phone"));
                None
            }
        },
    };
    let involvement = Involvement::parse(&f.involvement);
    if involvement.is_none() {
        problems.push(("involvement".into(), "relatives.form.bad_involvement"));
    }
    if caller_name.is_empty() {
        problems.push(("caller_name".into(), "relatives.form.no_caller"));
    }
    let relationship = Relationship::parse(&f.relationship);
    if relationship.is_none() {
        problems.push(("relationship".into(), "relatives.form.bad_relationship"));
    }
    let mut callback_numbers: Vec<String> = Vec::new();
    for raw in f
        .callback_numbers
        .split([',', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match PhoneNumber::parse(raw) {
            Ok(n) if !callback_numbers.iter().any(|c| c == n.e164()) => {
                callback_numbers.push(n.e164().to_owned())
            }
            Ok(_) => {}
            Err(_) => {
                problems.push(("callback_numbers".into(), "relatives.form.bad_callback"));
                break;
            }
        }
    }
    if callback_numbers.is_empty() {
        problems.push(("callback_numbers".into(), "relatives.form.no_callback"));
    } else if callback_numbers.len() > MAX_CALLBACK_NUMBERS {
        problems.push((
            "callback_numbers".into(),
            "relatives.form.too_many_callbacks",
        ));
    }
    let language = f.caller_language.trim().parse::<Language>().ok();
    if language.is_none() {
        problems.push(("caller_language".into(), "relatives.form.bad_language"));
    }
    let same_person_as = match f.same_person_as.trim().trim_start_matches('#') {
        "" => None,
        n => match n.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                problems.push(("same_person_as".into(), "relatives.form.bad_link"));
                None
            }
        },
    };
    match (involvement, relationship, language) {
        (Some(involvement), Some(relationship), Some(language)) if problems.is_empty() => {
            Ok(Checked {
                sought: SoughtPerson {
                    given_names,
                    family_names,
                    birth,
                    sex,
                    nationality: (!nationality.is_empty()).then_some(nationality),
                    description,
                    phone,
                    last_place: (!last_place.is_empty()).then_some(last_place),
                    last_seen,
                    why_involved,
                },
                caller: Enquirer {
                    name: caller_name,
                    relationship,
                    callback_numbers,
                    language,
                },
                involvement,
                notes,
                same_person_as,
            })
        }
        _ => Err(problems),
    }
}

/// Stores a checked inquiry; a link to an unknown inquiry or a closed
/// incident is a problem of the form, not a failure.
pub(crate) async fn record(
    state: &AppState,
    incident_id: i64,
    call: Option<(i64, String)>,
    checked: Checked,
    by: i64,
) -> Result<Inquiry, ApiError> {
    let (hotline_id, call_id) = match call {
        Some((h, c)) => (Some(h), Some(c)),
        None => (None, None),
    };
    state
        .store
        .relatives()
        .create_inquiry(&NewInquiry {
            incident_id,
            hotline_id,
            call_id,
            sought: checked.sought,
            caller: checked.caller,
            involvement: checked.involvement,
            notes: checked.notes,
            same_person_as: checked.same_person_as,
            by,
            at: now(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::Unprocessable(vec![("same_person_as".into(), "relatives.form.bad_link")])
            }
            StoreError::Conflict(_) => ApiError::Conflict("relatives.incident_closed"),
            e => e.into(),
        })
}

#[derive(Serialize)]
struct Captured {
    id: i64,
    person: i64,
    url: String,
}

/// Records an inquiry for the relatives-line call the operator is on.
async fn capture(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, call_id)): Path<(i64, String)>,
    Json(body): Json<InquiryIn>,
) -> Result<(StatusCode, Json<Captured>), ApiError> {
    let (_, incident) = desk_of(&state, &staff, id).await?;
    crate::alerts::allowed(&state, &staff, Action::ViewInquiries, incident.territory).await?;
    let me = staff.principal.account_id;
    let refuse = |detail: String, e: ApiError| async {
        audit(
            &state,
            staff
                .record("relatives.inquiry_create", Outcome::Denied)
                .territory(incident.territory)
                .target(format!("hotline:{id}"))
                .detail(detail),
        )
        .await?;
        Err::<(StatusCode, Json<Captured>), ApiError>(e)
    };
    // The call must be on this operator's desk now, on the relatives line.
    let on_desk = state
        .hotlines
        .desk(id, me)
        .ok()
        .and_then(|d| d.call)
        .filter(|c| c.call_id == call_id);
    let Some(call) = on_desk else {
        return refuse(
            format!("call {call_id} is not on their desk"),
            ApiError::Forbidden("desk.not_your_call"),
        )
        .await;
    };
    if call.line != Line::Relatives {
        return refuse(
            format!("call {call_id} is on the {} line", call.line.as_str()),
            ApiError::Forbidden("relatives.not_relatives_line"),
        )
        .await;
    }
    let checked = check(&body).map_err(ApiError::Unprocessable)?;
    let inquiry = record(
        &state,
        incident.id,
        Some((id, call_id.clone())),
        checked,
        me,
    )
    .await?;
    audit(
        &state,
        staff
            .record("relatives.inquiry_create", Outcome::Success)
            .territory(incident.territory)
            .target(format!("inquiry:{}", inquiry.id))
            .detail(format!("hotline {id}, call {call_id}")),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Captured {
            id: inquiry.id,
            person: inquiry.person,
            url: format!("/console/inquiries/{}", inquiry.id),
        }),
    ))
}

/// The approved wording for calling back someone whose inquiry was matched,
/// in the caller's language: what may be said depends on the list, and a
/// casualty is never disclosed by phone.
pub(crate) fn wording(inquiry: &Inquiry, entry: &StoredEntry) -> String {
    let tr = Tr::new(inquiry.caller.language);
    let name = format!(
        "{} {}",
        inquiry.sought.given_names, inquiry.sought.family_names
    );
    let place = entry
        .person
        .place
        .clone()
        .unwrap_or_else(|| tr.t("relatives.wording.unknown_place").to_owned());
    let kind = list_kind_key(entry.kind);
    let mut text = tr.fmt(
        &format!("relatives.wording.{kind}"),
        &[("name", name.trim()), ("place", &place)],
    );
    if entry.kind != ListKind::SafeSelfReport {
        text = format!("{} {text}", tr.t("relatives.wording.check_identity"));
    }
    text
}
