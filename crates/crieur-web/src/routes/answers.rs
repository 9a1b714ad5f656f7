//! Approved answers: what operators may tell callers, published by the crisis
//! cell in versions, withdrawn when no longer true. Publishing needs
//! `PublishAnswers` on the incident's territory; each change is audited and
//! pushed to the desks (`Hotlines::answers_changed`). Nothing is stored from a
//! request with a problem.
//!
//! Both a JSON API (`/api/hotlines/{id}/answers…`, CSRF header) and plain
//! forms on the supervisor page (which work without JavaScript) use the same
//! checks.

use crate::AppState;
use crate::auth::{Staff, audit, now};
use crate::error::{ApiError, PageError};
use crate::i18n::{Lang, Tr};
use crate::routes::live::name_of;
use crate::routes::supervisor::{Access, PageQuery, Supervised, render, supervised};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use crieur_domain::Language;
use crieur_domain::audit::Outcome;
use crieur_domain::hotline::{TOPICS, topic_label};
use crieur_store::{AnswerState, AnswerVersion, Hotline, Incident, NewAnswerVersion, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hotlines/{id}/answers", get(list).post(publish_api))
        .route("/api/hotlines/{id}/answers/{key}/history", get(history_api))
        .route(
            "/api/hotlines/{id}/answers/{key}/withdraw",
            post(withdraw_api),
        )
        .route(
            "/console/hotlines/{id}/supervisor/answers",
            post(publish_form),
        )
        .route(
            "/console/hotlines/{id}/supervisor/answers/{key}/withdraw",
            post(withdraw_form),
        )
}

pub(crate) const MAX_TITLE: usize = 200;
pub(crate) const MAX_BODY: usize = 4000;
const MAX_TOPICS: usize = 6;

/// What a supervisor submits.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AnswerInput {
    /// Absent for a new answer; the answer's key for a new version.
    #[serde(default)]
    pub answer_key: Option<i64>,
    pub language: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub topics: Vec<String>,
}

/// A checked answer: the fields the store takes.
#[derive(Debug)]
struct Checked {
    language: Language,
    title: String,
    body: String,
    topics: Vec<String>,
}

/// Every problem, by field, as message keys.
fn check(input: &AnswerInput) -> Result<Checked, Vec<(String, &'static str)>> {
    let mut problems = Vec::new();
    let language = input.language.trim().parse::<Language>().ok();
    if language.is_none() {
        problems.push(("language".into(), "answers.bad_language"));
    }
    let title = input.title.trim();
    if title.is_empty() {
        problems.push(("title".into(), "answers.no_title"));
    } else if title.chars().count() > MAX_TITLE {
        problems.push(("title".into(), "answers.title_too_long"));
    }
    let body = input.body.trim();
    if body.is_empty() {
        problems.push(("body".into(), "answers.no_body"));
    } else if body.chars().count() > MAX_BODY {
        problems.push(("body".into(), "answers.body_too_long"));
    }
    let mut topics: Vec<String> = Vec::new();
    for t in &input.topics {
        if !TOPICS.iter().any(|(k, _)| *k == t.as_str()) {
            problems.push(("topics".into(), "answers.unknown_topic"));
            break;
        }
        if !topics.contains(t) {
            topics.push(t.clone());
        }
    }
    if topics.len() > MAX_TOPICS {
        problems.push(("topics".into(), "answers.too_many_topics"));
    }
    match language {
        Some(language) if problems.is_empty() => Ok(Checked {
            language,
            title: title.to_owned(),
            body: body.to_owned(),
            topics,
        }),
        _ => Err(problems),
    }
}

/// Publishes a new answer or a new version, audited and announced to the desks.
async fn publish(
    state: &AppState,
    staff: &Staff,
    s: &Supervised,
    input: &AnswerInput,
) -> Result<AnswerVersion, ApiError> {
    let checked = check(input).map_err(ApiError::Unprocessable)?;
    let version = state
        .store
        .hotline()
        .publish_answer(&NewAnswerVersion {
            incident_id: s.incident.id,
            answer_key: input.answer_key,
            language: checked.language,
            title: checked.title,
            body: checked.body,
            topics: checked.topics,
            author: staff.principal.account_id,
            at: now(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("answers.unknown", &[]),
            StoreError::Conflict(_) => ApiError::Conflict("answers.is_withdrawn"),
            e => ApiError::Store(e),
        })?;
    audit(
        state,
        staff
            .record("hotline.answer_publish", Outcome::Success)
            .territory(s.incident.territory)
            .target(format!(
                "incident:{}/answer:{}",
                s.incident.id, version.answer_key
            ))
            .detail(format!(
                "version {} ({})",
                version.version,
                version.language.code()
            )),
    )
    .await?;
    state.hotlines.answers_changed(s.incident.id);
    Ok(version)
}

async fn withdraw(
    state: &AppState,
    staff: &Staff,
    s: &Supervised,
    key: i64,
) -> Result<(), ApiError> {
    state
        .store
        .hotline()
        .withdraw_answer(s.incident.id, key, staff.principal.account_id, now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("answers.unknown", &[]),
            StoreError::Conflict(_) => ApiError::Conflict("answers.is_withdrawn"),
            e => ApiError::Store(e),
        })?;
    audit(
        state,
        staff
            .record("hotline.answer_withdraw", Outcome::Success)
            .territory(s.incident.territory)
            .target(format!("incident:{}/answer:{key}", s.incident.id)),
    )
    .await?;
    state.hotlines.answers_changed(s.incident.id);
    Ok(())
}

#[derive(Serialize)]
struct AnswerOut {
    answer_key: i64,
    version: u32,
    language: &'static str,
    title: String,
    body: String,
    topics: Vec<String>,
    state: &'static str,
    author: i64,
    /// Unix seconds.
    published_at: i64,
    withdrawn_at: Option<i64>,
}

impl From<AnswerVersion> for AnswerOut {
    fn from(a: AnswerVersion) -> Self {
        AnswerOut {
            answer_key: a.answer_key,
            version: a.version,
            language: a.language.code(),
            title: a.title,
            body: a.body,
            topics: a.topics,
            state: a.state.as_str(),
            author: a.author,
            published_at: a.published_at,
            withdrawn_at: a.withdrawn_at,
        }
    }
}

/// The answers in force: the latest version of each.
async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AnswerOut>>, ApiError> {
    let s = supervised(&state, &staff, id, Access::ReadAnswers).await?;
    let answers = state.store.hotline().answers(s.incident.id).await?;
    Ok(Json(answers.into_iter().map(AnswerOut::from).collect()))
}

async fn history_api(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, key)): Path<(i64, i64)>,
) -> Result<Json<Vec<AnswerOut>>, ApiError> {
    let s = supervised(&state, &staff, id, Access::ReadAnswers).await?;
    let versions = state
        .store
        .hotline()
        .answer_history(s.incident.id, key)
        .await?;
    if versions.is_empty() {
        return Err(ApiError::not_found("answers.unknown", &[]));
    }
    Ok(Json(versions.into_iter().map(AnswerOut::from).collect()))
}

async fn publish_api(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Json(input): Json<AnswerInput>,
) -> Result<Response, ApiError> {
    let s = supervised(&state, &staff, id, Access::Publish).await?;
    let version = publish(&state, &staff, &s, &input).await?;
    Ok((StatusCode::CREATED, Json(AnswerOut::from(version))).into_response())
}

async fn withdraw_api(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, key)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let s = supervised(&state, &staff, id, Access::Publish).await?;
    withdraw(&state, &staff, &s, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

async fn publish_form(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let s = supervised(&state, &staff, id, Access::Publish).await?;
    let input = AnswerInput {
        answer_key: field(&form, "answer_key").trim().parse().ok(),
        language: field(&form, "language").to_owned(),
        title: field(&form, "title").to_owned(),
        body: field(&form, "body").to_owned(),
        topics: form
            .iter()
            .filter(|(k, _)| k == "topic")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let tr = Tr::new(lang);
    let problems = match publish(&state, &staff, &s, &input).await {
        Ok(v) => {
            let to = format!(
                "/console/hotlines/{id}/supervisor?published={}#answers",
                v.answer_key
            );
            return Ok(Redirect::to(&to).into_response());
        }
        Err(ApiError::Unprocessable(list)) => list.into_iter().map(|(_, k)| k).collect(),
        Err(ApiError::NotFound { key, .. }) | Err(ApiError::Conflict(key)) => vec![key],
        Err(ApiError::Store(e)) => return Err(PageError::Store(e)),
        Err(_) => return Err(PageError::Forbidden),
    };
    let form = AnswerForm::from_input(&input, &s.hotline, lang);
    let errors = problems.into_iter().map(|k| tr.t(k).to_owned()).collect();
    let page = render(
        &state,
        lang,
        &staff,
        &s,
        &PageQuery::default(),
        form,
        errors,
    )
    .await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

async fn withdraw_form(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, key)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let s = supervised(&state, &staff, id, Access::Publish).await?;
    match withdraw(&state, &staff, &s, key).await {
        Ok(()) => Ok(Redirect::to(&format!(
            "/console/hotlines/{id}/supervisor?withdrawn={key}#answers"
        ))
        .into_response()),
        Err(ApiError::Store(e)) => Err(PageError::Store(e)),
        Err(ApiError::NotFound { .. }) => Err(PageError::NotFound),
        Err(_) => Err(PageError::BadRequest("answers.is_withdrawn")),
    }
}

/// A topic box of the form.
pub(crate) struct TopicChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The publish form's contents.
pub(crate) struct AnswerForm {
    pub key: Option<i64>,
    pub title: String,
    pub body: String,
    /// Code, name, chosen.
    pub languages: Vec<(&'static str, &'static str, bool)>,
    pub topics: Vec<TopicChoice>,
}

impl AnswerForm {
    fn new(
        key: Option<i64>,
        language: Option<Language>,
        hotline: &Hotline,
        lang: Language,
    ) -> Self {
        // The hotline's languages first; any other may still be chosen.
        let chosen = language
            .or_else(|| hotline.languages.contains(&lang).then_some(lang))
            .or_else(|| hotline.languages.first().copied())
            .unwrap_or(lang);
        let mut languages: Vec<Language> = hotline.languages.clone();
        languages.extend(
            Language::ALL
                .into_iter()
                .filter(|l| !hotline.languages.contains(l)),
        );
        AnswerForm {
            key,
            title: String::new(),
            body: String::new(),
            languages: languages
                .into_iter()
                .map(|l| (l.code(), l.endonym(), l == chosen))
                .collect(),
            topics: TOPICS
                .iter()
                .map(|&(k, _)| TopicChoice {
                    key: k,
                    label: topic_label(k, lang).unwrap_or(k),
                    checked: false,
                })
                .collect(),
        }
    }

    fn check_topics(mut self, topics: &[String]) -> Self {
        for t in &mut self.topics {
            t.checked = topics.iter().any(|x| x == t.key);
        }
        self
    }

    /// A new answer, on `topic` when it is one of the taxonomy's.
    pub(crate) fn on_topic(topic: Option<&str>, hotline: &Hotline, lang: Language) -> Self {
        let mut form = AnswerForm::new(None, None, hotline, lang);
        if let Some(label) = topic.and_then(|t| topic_label(t, lang)) {
            form.title = label.to_owned();
            form = form.check_topics(&[topic.unwrap_or_default().to_owned()]);
        }
        form
    }

    /// A new version of an answer in force, starting from its latest text.
    pub(crate) async fn version_of(
        state: &AppState,
        s: &Supervised,
        key: i64,
    ) -> Result<Self, PageError> {
        let lang = crate::error::request_language();
        let current = state
            .store
            .hotline()
            .answers(s.incident.id)
            .await?
            .into_iter()
            .find(|a| a.answer_key == key)
            .ok_or(PageError::NotFound)?;
        let mut form = AnswerForm::new(Some(key), Some(current.language), &s.hotline, lang)
            .check_topics(&current.topics);
        form.title = current.title;
        form.body = current.body;
        Ok(form)
    }

    fn from_input(input: &AnswerInput, hotline: &Hotline, lang: Language) -> Self {
        let mut form =
            AnswerForm::new(input.answer_key, input.language.parse().ok(), hotline, lang)
                .check_topics(&input.topics);
        form.title = input.title.clone();
        form.body = input.body.clone();
        form
    }
}

/// One version as the page shows it.
pub(crate) struct VersionView {
    pub version: u32,
    pub title: String,
    pub body: String,
    pub author: String,
    pub published_at: String,
    pub withdrawn: bool,
}

/// An answer in force, with its history.
pub(crate) struct AnswerView {
    pub key: i64,
    pub version: u32,
    pub language: &'static str,
    pub title: String,
    pub body: String,
    pub topics: String,
    pub author: String,
    pub published_at: String,
    pub history: Vec<VersionView>,
}

fn stamp(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub(crate) async fn answer_views(
    state: &AppState,
    incident: &Incident,
    lang: Language,
    names: &mut HashMap<i64, String>,
) -> Result<Vec<AnswerView>, StoreError> {
    let mut views = Vec::new();
    for a in state.store.hotline().answers(incident.id).await? {
        let mut history = Vec::new();
        for v in state
            .store
            .hotline()
            .answer_history(incident.id, a.answer_key)
            .await?
            .into_iter()
            .rev()
        {
            history.push(VersionView {
                version: v.version,
                title: v.title,
                body: v.body,
                author: name_of(state, names, v.author).await?,
                published_at: stamp(v.published_at),
                withdrawn: v.state == AnswerState::Withdrawn,
            });
        }
        views.push(AnswerView {
            key: a.answer_key,
            version: a.version,
            language: a.language.code(),
            topics: a
                .topics
                .iter()
                .map(|t| topic_label(t, lang).unwrap_or(t.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            author: name_of(state, names, a.author).await?,
            published_at: stamp(a.published_at),
            title: a.title,
            body: a.body,
            history,
        });
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str, body: &str, language: &str, topics: &[&str]) -> AnswerInput {
        AnswerInput {
            answer_key: None,
            language: language.into(),
            title: title.into(),
            body: body.into(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn answers_are_checked_field_by_field() {
        assert!(check(&input("Écoles", "Fermées demain.", "fr", &["schools"])).is_ok());
        let bad = check(&input(" ", &"x".repeat(MAX_BODY + 1), "xx", &["nope"])).unwrap_err();
        let keys: Vec<&str> = bad.iter().map(|(_, k)| *k).collect();
        assert_eq!(
            keys,
            [
                "answers.bad_language",
                "answers.no_title",
                "answers.body_too_long",
                "answers.unknown_topic"
            ]
        );
        let long = check(&input(&"t".repeat(MAX_TITLE + 1), "b", "nl", &[])).unwrap_err();
        assert_eq!(long[0].1, "answers.title_too_long");
    }
}
