//! One inquiry: the person sought and the caller, the other inquiries about the
//! same person, the candidates from the lists with their score and reasons, and
//! the trained operator's decisions on them.
//!
//! Nothing is disclosed automatically: a candidate becomes a match only when an
//! operator confirms it, and the confirmation creates a callback task with the
//! approved wording, in one write. The score is computed again on the server;
//! what the page sent is never trusted. Every view and decision is audited.

use crate::AppState;
use crate::auth::{Staff, audit, now};
use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::relatives_index::{list_entry, person_sought};
use crate::routes::inquiries::wording;
use crate::routes::pages::Layout;
use crate::routes::relatives::{
    InquiryRow, flash_error, full_name, incident_for, inquiry_row, when,
};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use crieur_domain::audit::Outcome;
use crieur_domain::matching::score;
use crieur_domain::relatives::{format_birth, list_kind_key, sex_key};
use crieur_store::{
    Decision, HotlineLine, HotlineState, Inquiry, InquiryState, NewCallback, NewDecision,
    StoreError,
};
use serde::Deserialize;
use std::collections::HashSet;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/inquiries/{id}", get(page))
        .route("/console/inquiries/{id}/decide", post(decide))
        .route("/console/inquiries/{id}/link", post(link))
        .route("/console/inquiries/{id}/state", post(set_state))
}

/// Candidates shown per inquiry.
const TOP: usize = 10;

struct Fact {
    label: String,
    value: String,
}

struct ReasonOut {
    text: String,
    conflict: bool,
}

struct CandidateOut {
    entry_id: i64,
    /// Percent, for people; the exact score is recomputed on confirmation.
    score: u32,
    name: String,
    birth: String,
    sex: String,
    kind: String,
    place: String,
    details: String,
    reasons: Vec<ReasonOut>,
}

struct DecisionOut {
    name: String,
    decision: String,
    confirmed: bool,
    score: u32,
    note: String,
    at: String,
    callback: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "inquiry.html")]
struct InquiryPage {
    layout: Layout,
    csrf: String,
    id: i64,
    incident_id: i64,
    incident_title: String,
    summary: InquiryRow,
    sought: Vec<Fact>,
    caller: Vec<Fact>,
    notes: String,
    open: bool,
    linked: Vec<InquiryRow>,
    candidates: Vec<CandidateOut>,
    candidates_help: String,
    decisions: Vec<DecisionOut>,
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    error: String,
}

/// The inquiry and its incident, once `staff` may see them.
async fn inquiry_for(
    state: &AppState,
    staff: &Staff,
    id: i64,
) -> Result<(Inquiry, crieur_store::Incident), PageError> {
    let inquiry = state
        .store
        .relatives()
        .inquiry(id)
        .await?
        .ok_or(PageError::NotFound)?;
    let incident = incident_for(state, staff, inquiry.incident_id).await?;
    Ok((inquiry, incident))
}

fn fact(tr: &Tr, key: &str, value: impl Into<String>) -> Option<Fact> {
    let value = value.into();
    (!value.trim().is_empty()).then(|| Fact {
        label: tr.t(key).to_owned(),
        value,
    })
}

async fn page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<InquiryPage, PageError> {
    let (inquiry, incident) = inquiry_for(&state, &staff, id).await?;
    let relatives = state.store.relatives();
    let linked: Vec<Inquiry> = relatives
        .inquiries_about(inquiry.person)
        .await?
        .into_iter()
        .filter(|i| i.id != id)
        .collect();
    let decisions = relatives.decisions(id).await?;
    let indexed = state
        .relatives_index
        .of(&state, inquiry.incident_id)
        .await?;
    let decided: HashSet<i64> = decisions.iter().map(|d| d.entry_id).collect();
    let candidates = indexed.candidates(&inquiry.sought, TOP + decided.len());
    audit(
        &state,
        staff
            .record("relatives.view", Outcome::Success)
            .territory(incident.territory)
            .target(format!("inquiry:{id}"))
            .detail(format!("{} candidates shown", candidates.len().min(TOP))),
    )
    .await?;

    let layout = Layout::new(lang, &state, &format!("/console/inquiries/{id}"));
    let tr = &layout.tr;
    let s = &inquiry.sought;
    let sought = [
        fact(tr, "relatives.form.given_names", s.given_names.clone()),
        fact(tr, "relatives.form.family_names", s.family_names.clone()),
        fact(tr, "relatives.form.birth", format_birth(s.birth)),
        fact(
            tr,
            "relatives.form.sex",
            s.sex
                .map(|x| tr.t(&format!("relatives.sex.{}", sex_key(x))).to_owned())
                .unwrap_or_default(),
        ),
        fact(
            tr,
            "relatives.form.nationality",
            s.nationality.clone().unwrap_or_default(),
        ),
        fact(
            tr,
            "relatives.form.phone",
            s.phone.clone().unwrap_or_default(),
        ),
        fact(tr, "relatives.form.description", s.description.clone()),
        fact(
            tr,
            "relatives.form.last_place",
            s.last_place.clone().unwrap_or_default(),
        ),
        fact(tr, "relatives.form.last_seen", s.last_seen.clone()),
        fact(tr, "relatives.form.why_involved", s.why_involved.clone()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let c = &inquiry.caller;
    let caller = [
        fact(tr, "relatives.form.caller_name", c.name.clone()),
        fact(
            tr,
            "relatives.form.relationship",
            tr.t(&format!(
                "relatives.relationship.{}",
                c.relationship.as_str()
            )),
        ),
        fact(
            tr,
            "relatives.form.callback_numbers",
            c.callback_numbers.join(", "),
        ),
        fact(tr, "relatives.form.caller_language", c.language.endonym()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let percent = |x: f64| (x * 100.0).round().clamp(0.0, 100.0) as u32;
    let candidates = candidates
        .into_iter()
        .filter(|(e, _)| !decided.contains(&e.id))
        .take(TOP)
        .map(|(e, m)| CandidateOut {
            entry_id: e.id,
            score: percent(m.score),
            name: full_name(&e.person.given_names, &e.person.family_names),
            birth: format_birth(e.person.birth),
            sex: e
                .person
                .sex
                .map(|x| tr.t(&format!("relatives.sex.{}", sex_key(x))).to_owned())
                .unwrap_or_default(),
            kind: tr
                .t(&format!("relatives.kind.{}", list_kind_key(e.kind)))
                .to_owned(),
            place: e.person.place.clone().unwrap_or_default(),
            details: e.person.details.clone().unwrap_or_default(),
            reasons: m
                .reasons
                .iter()
                .map(|r| ReasonOut {
                    text: r.text(lang),
                    conflict: r.is_conflict(),
                })
                .collect(),
        })
        .collect();
    let mut decisions_out = Vec::with_capacity(decisions.len());
    for d in &decisions {
        let name = match relatives.entry(d.entry_id).await? {
            Some((_, e)) => full_name(&e.person.given_names, &e.person.family_names),
            None => String::new(),
        };
        decisions_out.push(DecisionOut {
            name,
            decision: tr
                .t(&format!("relatives.decision.{}", d.decision.as_str()))
                .to_owned(),
            confirmed: d.decision == Decision::Confirmed,
            score: percent(d.score),
            note: d.note.clone(),
            at: when(d.decided_at),
            callback: d.callback.as_ref().map(|cb| {
                tr.fmt(
                    "relatives.callback_created",
                    &[("id", &cb.id.to_string()), ("number", &cb.number)],
                )
            }),
        });
    }
    let message = match q.done.as_str() {
        "confirmed" => Some(tr.t("relatives.done.confirmed").to_owned()),
        "rejected" => Some(tr.t("relatives.done.rejected").to_owned()),
        "linked" => Some(tr.t("relatives.done.linked").to_owned()),
        "state" => Some(tr.t("relatives.done.state").to_owned()),
        _ => None,
    };
    let error = flash_error(tr, &q.error);
    Ok(InquiryPage {
        csrf: staff.csrf().to_owned(),
        id,
        incident_id: incident.id,
        incident_title: incident.title.clone(),
        summary: inquiry_row(tr, &inquiry),
        sought,
        caller,
        notes: inquiry.notes.clone(),
        open: inquiry.state != InquiryState::Closed,
        linked: linked.iter().map(|i| inquiry_row(tr, i)).collect(),
        candidates,
        candidates_help: tr.fmt(
            "relatives.candidates_help",
            &[("entries", &indexed.len().to_string())],
        ),
        decisions: decisions_out,
        message,
        error,
        layout,
    })
}

#[derive(Deserialize)]
struct DecideForm {
    entry: i64,
    decision: String,
    #[serde(default)]
    note: String,
}

fn back(id: i64, query: &str) -> Response {
    Redirect::to(&format!("/console/inquiries/{id}?{query}")).into_response()
}

async fn decide(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<DecideForm>,
) -> Result<Response, PageError> {
    let (inquiry, incident) = inquiry_for(&state, &staff, id).await?;
    let Some(decision) = Decision::parse(&f.decision) else {
        return Ok(back(id, "error=relatives.bad_decision"));
    };
    if f.note.chars().count() > 1000 {
        return Ok(back(id, "error=relatives.form.too_long"));
    }
    let relatives = state.store.relatives();
    let entry = match relatives.entry(f.entry).await? {
        Some((incident_of, entry)) if incident_of == inquiry.incident_id => entry,
        _ => return Ok(back(id, "error=relatives.unknown_entry")),
    };
    let m = score(&person_sought(&inquiry.sought), &list_entry(&entry));
    let callback = match decision {
        Decision::Rejected => None,
        Decision::Confirmed => {
            // The callback goes out from the hotline the call came in on, or
            // the incident's active one.
            let hotline = match inquiry.hotline_id {
                Some(h) => state.store.hotline().hotline(h).await?,
                None => None,
            }
            .filter(|h| h.state == HotlineState::Active);
            let hotline = match hotline {
                Some(h) => Some(h),
                None => state
                    .store
                    .hotline()
                    .hotline_of_incident(inquiry.incident_id)
                    .await?
                    .filter(|h| h.state == HotlineState::Active),
            };
            let Some(hotline) = hotline else {
                return Ok(back(id, "error=relatives.no_hotline"));
            };
            let Some(number) = inquiry.caller.callback_numbers.first() else {
                return Ok(back(id, "error=relatives.form.no_callback"));
            };
            Some(NewCallback {
                hotline_id: hotline.id,
                call_id: None,
                number: number.clone(),
                language: inquiry.caller.language,
                line: HotlineLine::Relatives,
                reason: "inquiry_match".into(),
                note: format!("#{id} · {}", wording(&inquiry, &entry)),
                at: now(),
            })
        }
    };
    let result = relatives
        .decide_match(&NewDecision {
            inquiry_id: id,
            entry_id: entry.id,
            score: m.score,
            reasons: m.reasons.iter().map(|r| r.key().to_owned()).collect(),
            decision,
            note: f.note.trim().to_owned(),
            callback,
            by: staff.principal.account_id,
            at: now(),
        })
        .await;
    let recorded = match result {
        Ok(d) => d,
        Err(StoreError::Conflict(_)) => return Ok(back(id, "error=relatives.already_decided")),
        Err(StoreError::NotFound) => return Ok(back(id, "error=relatives.unknown_entry")),
        Err(e) => return Err(e.into()),
    };
    audit(
        &state,
        staff
            .record(
                &format!("relatives.match_{}", decision.as_str()),
                Outcome::Success,
            )
            .territory(incident.territory)
            .target(format!("inquiry:{id}/entry:{}", entry.id))
            .detail(match &recorded.callback {
                Some(cb) => format!("score {:.2}; callback {}", m.score, cb.id),
                None => format!("score {:.2}", m.score),
            }),
    )
    .await?;
    Ok(back(id, &format!("done={}#decisions", decision.as_str())))
}

#[derive(Deserialize)]
struct LinkForm {
    other: String,
}

async fn link(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<LinkForm>,
) -> Result<Response, PageError> {
    let (inquiry, incident) = inquiry_for(&state, &staff, id).await?;
    let Ok(other) = f.other.trim().trim_start_matches('#').parse::<i64>() else {
        return Ok(back(id, "error=relatives.form.bad_link"));
    };
    if other == id {
        return Ok(back(id, "error=relatives.form.bad_link"));
    }
    match state
        .store
        .relatives()
        .link_inquiries(inquiry.id, other, now())
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Ok(back(id, "error=relatives.form.bad_link")),
        Err(e) => return Err(e.into()),
    }
    audit(
        &state,
        staff
            .record("relatives.inquiry_link", Outcome::Success)
            .territory(incident.territory)
            .target(format!("inquiry:{id}"))
            .detail(format!("same person as inquiry {other}")),
    )
    .await?;
    Ok(back(id, "done=linked"))
}

#[derive(Deserialize)]
struct StateForm {
    state: String,
}

async fn set_state(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<StateForm>,
) -> Result<Response, PageError> {
    let (inquiry, incident) = inquiry_for(&state, &staff, id).await?;
    let Some(next) = InquiryState::parse(&f.state) else {
        return Ok(back(id, "error=relatives.bad_state"));
    };
    state
        .store
        .relatives()
        .set_inquiry_state(inquiry.id, next, now())
        .await?;
    audit(
        &state,
        staff
            .record("relatives.inquiry_state", Outcome::Success)
            .territory(incident.territory)
            .target(format!("inquiry:{id}"))
            .detail(next.as_str()),
    )
    .await?;
    Ok(back(id, "done=state"))
}
