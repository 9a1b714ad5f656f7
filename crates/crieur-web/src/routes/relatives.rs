//! The relatives line's overview for one incident: its inquiries, the lists
//! received (uploaded as CSV or JSON, or entered by hand) and the audited CSV
//! export of inquiries.
//!
//! Only staff allowed `ViewInquiries` on the incident's territory reach any of
//! it; every refusal, every view and every export is audited. A list with a bad
//! row is refused whole and stores nothing.

use crate::AppState;
use crate::auth::{Staff, audit, now};
use crate::error::{ApiError, PageError};
use crate::i18n::{Lang, Tr};
use crate::routes::desk::Choice;
use crate::routes::pages::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use crieur_domain::access::Action;
use crieur_domain::audit::Outcome;
use crieur_domain::relatives::{
    LIST_KINDS, ListError, ListFormat, ListPerson, csv_cell, format_birth, list_kind_key,
    parse_birth, parse_list, parse_list_kind, parse_sex, sex_key,
};
use crieur_store::{Incident, Inquiry, ListOrigin, NewPersonList, PersonList, StoreError};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/incidents/{id}/relatives", get(page))
        .route(
            "/console/incidents/{id}/relatives/entries",
            post(add_by_hand),
        )
        .route(
            "/console/incidents/{id}/relatives/inquiries.csv",
            get(export),
        )
}

/// The list upload, apart: it alone takes bodies up to a list file's size.
pub(crate) fn upload_router() -> Router<AppState> {
    Router::new().route("/api/incidents/{id}/relatives/lists", post(upload))
}

/// The incident, once `staff` may see its inquiries: the refusal is audited.
pub(crate) async fn incident_for(
    state: &AppState,
    staff: &Staff,
    id: i64,
) -> Result<Incident, PageError> {
    let incident = state
        .store
        .alerts()
        .incident(id)
        .await?
        .ok_or(PageError::NotFound)?;
    staff
        .authorize(state, Action::ViewInquiries, incident.territory)
        .await?;
    Ok(incident)
}

pub(crate) fn when(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

pub(crate) fn full_name(given: &str, family: &str) -> String {
    format!("{given} {family}").trim().to_owned()
}

pub(crate) struct InquiryRow {
    pub id: i64,
    pub person: i64,
    pub name: String,
    pub birth: String,
    pub caller: String,
    pub relationship: String,
    pub involvement: String,
    pub state: String,
    pub recorded: String,
}

pub(crate) fn inquiry_row(tr: &Tr, q: &Inquiry) -> InquiryRow {
    InquiryRow {
        id: q.id,
        person: q.person,
        name: full_name(&q.sought.given_names, &q.sought.family_names),
        birth: format_birth(q.sought.birth),
        caller: q.caller.name.clone(),
        relationship: tr
            .t(&format!(
                "relatives.relationship.{}",
                q.caller.relationship.as_str()
            ))
            .to_owned(),
        involvement: tr
            .t(&format!("relatives.involvement.{}", q.involvement.as_str()))
            .to_owned(),
        state: tr
            .t(&format!("relatives.state.{}", q.state.as_str()))
            .to_owned(),
        recorded: when(q.created_at),
    }
}

struct ListRow {
    kind: String,
    source: String,
    drawn_up: String,
    origin: String,
    entries: u32,
    uploaded: String,
}

fn list_row(tr: &Tr, l: &PersonList) -> ListRow {
    ListRow {
        kind: tr
            .t(&format!("relatives.kind.{}", list_kind_key(l.kind)))
            .to_owned(),
        source: l.source.clone(),
        drawn_up: when(l.drawn_up_at),
        origin: tr
            .t(&format!("relatives.origin.{}", l.origin.as_str()))
            .to_owned(),
        entries: l.entries,
        uploaded: when(l.uploaded_at),
    }
}

/// The message a redirect names in `?error=KEY`, when KEY is one of the
/// relatives line's messages (anything else in the address is ignored).
pub(crate) fn flash_error(tr: &Tr, key: &str) -> Option<String> {
    let text = tr.t(key);
    (key.starts_with("relatives.") && text != key).then(|| text.to_owned())
}

pub(crate) fn kind_choices(tr: &Tr) -> Vec<Choice> {
    LIST_KINDS
        .iter()
        .map(|k| Choice {
            value: list_kind_key(*k).to_owned(),
            label: tr
                .t(&format!("relatives.kind.{}", list_kind_key(*k)))
                .to_owned(),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "relatives.html")]
struct RelativesPage {
    layout: Layout,
    csrf: String,
    incident_id: i64,
    incident_title: String,
    closed: bool,
    inquiries: Vec<InquiryRow>,
    lists: Vec<ListRow>,
    kinds: Vec<Choice>,
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

async fn page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<RelativesPage, PageError> {
    let incident = incident_for(&state, &staff, id).await?;
    let inquiries = state.store.relatives().inquiries(id).await?;
    let lists = state.store.relatives().lists(id).await?;
    audit(
        &state,
        staff
            .record("relatives.view", Outcome::Success)
            .territory(incident.territory)
            .target(format!("incident:{id}"))
            .detail(format!(
                "overview: {} inquiries, {} lists",
                inquiries.len(),
                lists.len()
            )),
    )
    .await?;
    let layout = Layout::new(lang, &state, &format!("/console/incidents/{id}/relatives"));
    let tr = &layout.tr;
    let message = match q.done.as_str() {
        "entry" => Some(tr.t("relatives.entry_added").to_owned()),
        "list" => Some(tr.t("relatives.list_added").to_owned()),
        _ => None,
    };
    let error = flash_error(tr, &q.error);
    Ok(RelativesPage {
        csrf: staff.csrf().to_owned(),
        incident_id: id,
        incident_title: incident.title.clone(),
        closed: incident.closed_at.is_some(),
        inquiries: inquiries.iter().map(|i| inquiry_row(tr, i)).collect(),
        lists: lists.iter().map(|l| list_row(tr, l)).collect(),
        kinds: kind_choices(tr),
        message,
        error,
        layout,
    })
}

#[derive(Deserialize)]
struct UploadQuery {
    kind: String,
    source: String,
    /// `YYYY-MM-DDTHH:MM` (local time, as a datetime-local field sends it).
    #[serde(default)]
    drawn_up: String,
    /// `csv` or `json`, or the file's name.
    format: String,
}

#[derive(Serialize)]
struct Uploaded {
    id: i64,
    entries: u32,
    added: usize,
}

fn local_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(now());
    }
    let dt: jiff::civil::DateTime = s.parse().ok()?;
    dt.to_zoned_datetime(jiff::tz::TimeZone::system())
        .ok()
        .map(|z| z.timestamp().as_second())
}

fn list_problem(e: &ListError) -> ApiError {
    let key = e.key();
    match e {
        ListError::Row { row, field, .. } => {
            ApiError::bad_request(key, &[("row", &row.to_string()), ("field", field)])
        }
        ListError::Unreadable(_, detail) => ApiError::bad_request(key, &[("detail", detail)]),
        _ => ApiError::bad_request(key, &[]),
    }
}

/// Takes a list file (the request body) whole, or refuses it whole.
async fn upload(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let incident = state
        .store
        .alerts()
        .incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("error.not_found", &[]))?;
    crate::alerts::allowed(&state, &staff, Action::ViewInquiries, incident.territory).await?;
    let kind = parse_list_kind(&q.kind)
        .ok_or_else(|| ApiError::bad_request("relatives.list_error.bad_kind", &[]))?;
    let source = q.source.trim();
    if source.is_empty() || source.chars().count() > 200 {
        return Err(ApiError::bad_request("relatives.list_error.no_source", &[]));
    }
    let drawn_up_at = local_time(&q.drawn_up)
        .ok_or_else(|| ApiError::bad_request("relatives.list_error.bad_time", &[]))?;
    let format = ListFormat::guess(&q.format)
        .ok_or_else(|| ApiError::bad_request("relatives.list_error.bad_format", &[]))?;
    let people = match parse_list(&body, format) {
        Ok(people) => people,
        Err(e) => {
            tracing::info!(incident = id, problem = %e, "list refused");
            audit(
                &state,
                staff
                    .record("relatives.list_upload", Outcome::Failure)
                    .territory(incident.territory)
                    .target(format!("incident:{id}"))
                    .detail(format!("{} from {source}: {e}", format.as_str())),
            )
            .await?;
            return Err(list_problem(&e));
        }
    };
    let added = people.len();
    let list = state
        .store
        .relatives()
        .add_list(
            &NewPersonList {
                incident_id: id,
                kind,
                source: source.to_owned(),
                drawn_up_at,
                origin: match format {
                    ListFormat::Csv => ListOrigin::Csv,
                    ListFormat::Json => ListOrigin::Json,
                },
                by: staff.principal.account_id,
                at: now(),
            },
            people,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::Conflict("relatives.incident_closed"),
            e => e.into(),
        })?;
    audit(
        &state,
        staff
            .record("relatives.list_upload", Outcome::Success)
            .territory(incident.territory)
            .target(format!("incident:{id}/list:{}", list.id))
            .detail(format!(
                "{} {} from {source}: {added} people",
                list_kind_key(kind),
                format.as_str()
            )),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Uploaded {
            id: list.id,
            entries: list.entries,
            added,
        }),
    ))
}

#[derive(Deserialize)]
struct HandEntry {
    kind: String,
    source: String,
    #[serde(default)]
    given_names: String,
    #[serde(default)]
    family_names: String,
    #[serde(default)]
    birth: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    details: String,
}

/// One person entered by hand, checked like a row of a file.
fn hand_entry(f: &HandEntry) -> Result<ListPerson, &'static str> {
    let opt = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    let fields = [
        &f.given_names,
        &f.family_names,
        &f.place,
        &f.details,
        &f.source,
    ];
    if fields.iter().any(|s| s.chars().count() > 200) {
        return Err("relatives.list_error.too_long");
    }
    if fields.iter().any(|s| s.chars().any(char::is_control)) {
        return Err("relatives.list_error.control");
    }
    if f.given_names.trim().is_empty() && f.family_names.trim().is_empty() {
        return Err("relatives.list_error.no_name");
    }
    Ok(ListPerson {
        given_names: f.given_names.trim().to_owned(),
        family_names: f.family_names.trim().to_owned(),
        birth: parse_birth(&f.birth).map_err(|_| "relatives.list_error.bad_birth")?,
        sex: parse_sex(&f.sex).map_err(|_| "relatives.list_error.bad_sex")?,
        nationality: None,
        phone: None,
        place: opt(&f.place),
        details: opt(&f.details),
    })
}

async fn add_by_hand(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<HandEntry>,
) -> Result<Response, PageError> {
    let incident = incident_for(&state, &staff, id).await?;
    let back = |q: &str| Redirect::to(&format!("/console/incidents/{id}/relatives?{q}#by-hand"));
    let Some(kind) = parse_list_kind(&f.kind) else {
        return Ok(back("error=relatives.list_error.bad_kind").into_response());
    };
    if f.source.trim().is_empty() {
        return Ok(back("error=relatives.list_error.no_source").into_response());
    }
    let person = match hand_entry(&f) {
        Ok(p) => p,
        Err(key) => return Ok(back(&format!("error={key}")).into_response()),
    };
    let list = match state
        .store
        .relatives()
        .add_list(
            &NewPersonList {
                incident_id: id,
                kind,
                source: f.source.trim().to_owned(),
                drawn_up_at: now(),
                origin: ListOrigin::Manual,
                by: staff.principal.account_id,
                at: now(),
            },
            vec![person],
        )
        .await
    {
        Ok(list) => list,
        Err(StoreError::Conflict(_)) => {
            return Ok(back("error=relatives.incident_closed").into_response());
        }
        Err(e) => return Err(e.into()),
    };
    audit(
        &state,
        staff
            .record("relatives.entry_add", Outcome::Success)
            .territory(incident.territory)
            .target(format!("incident:{id}/list:{}", list.id))
            .detail(format!("{} by hand", list_kind_key(kind))),
    )
    .await?;
    Ok(back("done=entry").into_response())
}

/// Every inquiry of the incident as CSV, audited.
async fn export(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let incident = incident_for(&state, &staff, id).await?;
    let inquiries = state.store.relatives().inquiries(id).await?;
    audit(
        &state,
        staff
            .record("relatives.export", Outcome::Success)
            .territory(incident.territory)
            .target(format!("incident:{id}"))
            .detail(format!("{} inquiries", inquiries.len())),
    )
    .await?;
    let tr = Tr::new(lang);
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "inquiry",
        "person",
        "state",
        "involvement",
        "given_names",
        "family_names",
        "birth",
        "sex",
        "nationality",
        "phone",
        "last_place",
        "last_seen",
        "description",
        "why_involved",
        "caller_name",
        "relationship",
        "callback_numbers",
        "caller_language",
        "notes",
        "recorded",
    ];
    let write = |w: &mut csv::Writer<Vec<u8>>, row: Vec<String>| {
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        w.write_record(&cells)
    };
    let csv_error = |e: csv::Error| PageError::Store(StoreError::Write(e.to_string()));
    write(&mut w, header.iter().map(|s| (*s).to_owned()).collect()).map_err(csv_error)?;
    for q in &inquiries {
        let s = &q.sought;
        write(
            &mut w,
            vec![
                q.id.to_string(),
                q.person.to_string(),
                q.state.as_str().to_owned(),
                q.involvement.as_str().to_owned(),
                s.given_names.clone(),
                s.family_names.clone(),
                format_birth(s.birth),
                s.sex.map(sex_key).unwrap_or_default().to_owned(),
                s.nationality.clone().unwrap_or_default(),
                s.phone.clone().unwrap_or_default(),
                s.last_place.clone().unwrap_or_default(),
                s.last_seen.clone(),
                s.description.clone(),
                s.why_involved.clone(),
                q.caller.name.clone(),
                tr.t(&format!(
                    "relatives.relationship.{}",
                    q.caller.relationship.as_str()
                ))
                .to_owned(),
                q.caller.callback_numbers.join(" "),
                q.caller.language.code().to_owned(),
                q.notes.clone(),
                when(q.created_at),
            ],
        )
        .map_err(csv_error)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| PageError::Store(StoreError::Write(e.to_string())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"incident-{id}-inquiries.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
