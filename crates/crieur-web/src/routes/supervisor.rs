//! The hotline supervisor's page: live queues and operators (kept current by
//! `live.rs`), service figures and staffing (`figures.rs`), the queue log,
//! approved answers (`answers.rs`) and what the public is asking (`trends.rs`).
//!
//! Who sees it: hotline supervisors (`SuperviseHotline`) and the authorities
//! who may activate the hotline (`ActivateHotline`), for the incident's
//! territory; publishing answers needs `PublishAnswers`. Refusals are audited;
//! another authority's hotline does not exist for the caller (404).

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, PageError};
use crate::i18n::{Lang, Tr};
use crate::routes::answers::{AnswerForm, AnswerView, answer_views};
use crate::routes::figures::{self, Figures, ForecastQuery, Staffing};
use crate::routes::live::{LiveOut, live_out, name_of};
use crate::routes::pages::Layout;
use crate::routes::trends::{self, TrendQuery, Trends};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use crieur_domain::Language;
use crieur_domain::access::Action;
use crieur_domain::staffing::StaffingPlan;
use crieur_store::{Hotline, Incident, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/console/hotlines/{id}/supervisor", get(page))
}

/// What a request wants to do with a hotline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Queues, figures, staffing, log, trends.
    Read,
    /// The approved answers, as operators read them too.
    ReadAnswers,
    Publish,
}

impl Access {
    /// The action checked: the first of the candidates the role has, so that
    /// a refusal is audited under the action the caller came closest to.
    fn action(self, staff: &Staff) -> Action {
        let candidates: &[Action] = match self {
            Access::Read => &[Action::SuperviseHotline, Action::ActivateHotline],
            Access::ReadAnswers => &[
                Action::SuperviseHotline,
                Action::ActivateHotline,
                Action::AnswerCalls,
            ],
            Access::Publish => &[Action::PublishAnswers],
        };
        candidates
            .iter()
            .copied()
            .find(|a| staff.principal.role.may(*a))
            .unwrap_or(candidates[0])
    }
}

pub(crate) struct Supervised {
    pub hotline: Hotline,
    pub incident: Incident,
}

/// Why a hotline is not shown.
#[derive(Debug)]
pub(crate) enum Refused {
    NotFound,
    /// Already audited.
    Forbidden,
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Store(e)
    }
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::NotFound => ApiError::not_found("error.not_found", &[]),
            Refused::Forbidden => ApiError::Forbidden("error.forbidden"),
            Refused::Store(e) => ApiError::Store(e),
        }
    }
}

impl From<Refused> for PageError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::NotFound => PageError::NotFound,
            Refused::Forbidden => PageError::Forbidden,
            Refused::Store(e) => PageError::Store(e),
        }
    }
}

/// The hotline and its incident, if the caller may `access` them.
pub(crate) async fn supervised(
    state: &AppState,
    staff: &Staff,
    id: i64,
    access: Access,
) -> Result<Supervised, Refused> {
    let hotline = state
        .store
        .hotline()
        .hotline(id)
        .await?
        .ok_or(Refused::NotFound)?;
    let incident = state
        .store
        .alerts()
        .incident(hotline.incident_id)
        .await?
        .ok_or(Refused::NotFound)?;
    // Another authority's hotline does not exist, as far as they can tell.
    if !state
        .territories
        .contains(staff.principal.territory, incident.territory)
    {
        return Err(Refused::NotFound);
    }
    match staff
        .authorize(state, access.action(staff), incident.territory)
        .await
    {
        Ok(()) => Ok(Supervised { hotline, incident }),
        Err(PageError::Store(e)) => Err(Refused::Store(e)),
        Err(_) => Err(Refused::Forbidden),
    }
}

/// What the page's address may carry: forecast settings, the trends' span,
/// and a draft answer to start (from a trend, or a new version).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    pub call_rate_percent: Option<String>,
    pub first_hour_percent: Option<String>,
    pub target: Option<String>,
    pub hours: Option<String>,
    /// A topic to draft an answer on.
    pub topic: Option<String>,
    /// An answer to write a new version of.
    pub answer: Option<i64>,
    pub published: Option<i64>,
    pub withdrawn: Option<i64>,
}

pub(crate) struct FigureRow {
    pub label: String,
    pub last_hour: String,
    pub since_activation: String,
    pub target: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "supervisor.html")]
pub(crate) struct SupervisorPage {
    pub layout: Layout,
    pub csrf: String,
    pub hotline_id: i64,
    pub incident_id: i64,
    pub incident_title: String,
    pub number: String,
    pub since: String,
    pub live: LiveOut,
    pub figures: Vec<FigureRow>,
    pub figures_truncated: bool,
    pub staffing: Staffing,
    pub staffing_error: Option<String>,
    pub call_rate_percent: String,
    pub first_hour_percent: String,
    pub target: String,
    pub log: Vec<figures::LogLine>,
    pub answers: Vec<AnswerView>,
    pub may_publish: bool,
    pub form: AnswerForm,
    pub form_errors: Vec<String>,
    pub flash: Option<String>,
    pub trends: Trends,
    pub hours: u32,
}

impl SupervisorPage {
    pub(crate) fn num(&self, v: &f64) -> String {
        if *v >= 100.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    }

    pub(crate) fn pct(&self, v: &f64) -> String {
        format!("{:.0} %", v * 100.0)
    }

    pub(crate) fn handle_source_key(&self) -> &'static str {
        if self.staffing.observed.handle_source == "measured" {
            "supervisor.handle_measured"
        } else {
            "supervisor.handle_configured"
        }
    }

    pub(crate) fn needed_text(&self, p: &StaffingPlan) -> String {
        self.layout.tr.fmt(
            "supervisor.needed",
            &[
                ("agents", &p.agents.to_string()),
                ("scheduled", &p.scheduled.to_string()),
            ],
        )
    }

    pub(crate) fn signed_in_text(&self) -> String {
        self.layout.tr.fmt(
            "supervisor.signed_in_now",
            &[("n", &self.staffing.signed_in.to_string())],
        )
    }

    pub(crate) fn handle_assumed_text(&self) -> String {
        self.layout.tr.fmt(
            "supervisor.handle_assumed",
            &[("seconds", &self.num(&self.staffing.observed.handle_seconds))],
        )
    }

    pub(crate) fn trends_explain(&self) -> String {
        self.layout.tr.fmt(
            "trends.explain",
            &[
                ("minutes", &self.trends.bucket_minutes.to_string()),
                ("min", &self.trends.min_count.to_string()),
            ],
        )
    }

    /// The composer, with this incident chosen and a headline on the topic.
    pub(crate) fn alert_link(&self, label: &str) -> String {
        let headline = self
            .layout
            .tr
            .fmt("trends.alert_headline", &[("topic", label)]);
        let query = serde_urlencoded::to_string([
            ("incident", self.incident_id.to_string()),
            ("language", self.layout.tr.code().to_owned()),
            ("headline", headline),
        ])
        .unwrap_or_default();
        format!("/console/alerts?{query}")
    }

    pub(crate) fn when(&self, unix_ms: &i64) -> String {
        jiff::Timestamp::from_millisecond(*unix_ms)
            .map(|t| t.strftime("%H:%M:%S").to_string())
            .unwrap_or_default()
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.0} %", v * 100.0))
}

fn seconds(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.0} s"))
}

fn figure_rows(tr: &Tr, f: &Figures) -> Vec<FigureRow> {
    let (h, a) = (&f.last_hour, &f.since_activation);
    let row = |key: &str, last: String, since: String, target: String| FigureRow {
        label: tr.t(key).to_owned(),
        last_hour: last,
        since_activation: since,
        target,
    };
    vec![
        row(
            "supervisor.service_level",
            percent(h.service_level),
            percent(a.service_level),
            tr.fmt(
                "supervisor.target_text",
                &[
                    ("percent", &format!("{:.0}", f.target.percent())),
                    ("seconds", &format!("{:.0}", f.target.within_seconds)),
                ],
            ),
        ),
        row(
            "supervisor.asa",
            seconds(h.asa_s),
            seconds(a.asa_s),
            String::new(),
        ),
        row(
            "supervisor.abandon_rate",
            percent(h.abandon_rate),
            percent(a.abandon_rate),
            String::new(),
        ),
        row(
            "supervisor.offered",
            h.offered.to_string(),
            a.offered.to_string(),
            String::new(),
        ),
        row(
            "supervisor.answered",
            h.answered.to_string(),
            a.answered.to_string(),
            String::new(),
        ),
        row(
            "supervisor.abandoned",
            h.abandoned.to_string(),
            a.abandoned.to_string(),
            String::new(),
        ),
        row(
            "supervisor.calls_per_hour",
            format!("{:.0}", h.calls_per_hour),
            String::new(),
            String::new(),
        ),
        row(
            "supervisor.talk",
            seconds(h.talk_s),
            seconds(a.talk_s),
            String::new(),
        ),
        row(
            "supervisor.longest_wait",
            format!("{} s", f.longest_wait_s),
            String::new(),
            String::new(),
        ),
    ]
}

async fn page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<SupervisorPage, PageError> {
    let s = supervised(&state, &staff, id, Access::Read).await?;
    let form = match (q.answer, q.topic.as_deref()) {
        (Some(key), _) => AnswerForm::version_of(&state, &s, key).await?,
        (None, topic) => AnswerForm::on_topic(topic, &s.hotline, lang),
    };
    render(&state, lang, &staff, &s, &q, form, Vec::new()).await
}

/// The whole page; `form` and `form_errors` carry a refused answer back.
pub(crate) async fn render(
    state: &AppState,
    lang: Language,
    staff: &Staff,
    s: &Supervised,
    q: &PageQuery,
    form: AnswerForm,
    form_errors: Vec<String>,
) -> Result<SupervisorPage, PageError> {
    let tr = Tr::new(lang);
    let now = jiff::Timestamp::now().as_millisecond();
    let forecast_query = ForecastQuery {
        call_rate_percent: q.call_rate_percent.clone(),
        first_hour_percent: q.first_hour_percent.clone(),
        target: q.target.clone(),
    };
    let (parsed, staffing_error) = match forecast_query.parse() {
        Ok(p) => (p, None),
        Err(key) => (
            ForecastQuery::default().parse().unwrap_or_default(),
            Some(tr.t(key).to_owned()),
        ),
    };
    let (forecast, target) = parsed;
    let (figures, events) = figures::figures(state, &s.hotline, target, now).await?;
    let staffing =
        figures::staffing(state, &s.hotline, &events, forecast, target, lang, now).await?;
    let mut names = HashMap::new();
    let live = live_out(state, s.hotline.id, lang, &mut names).await?;
    let mut log = Vec::new();
    for e in figures::recent_log(state, &s.hotline, now - 3_600_000, 50).await? {
        let mut line = figures::LogLine::from(e);
        if let Ok(agent) = line.agent.parse::<i64>() {
            line.agent = name_of(state, &mut names, agent).await?;
        }
        log.push(line);
    }
    let trend_query = TrendQuery::from_hours(q.hours.as_deref());
    let trends = trends::trends(state, &s.hotline, &trend_query, lang, now / 1000).await?;
    let flash = match (q.published, q.withdrawn) {
        (Some(_), _) => Some(tr.t("answers.published").to_owned()),
        (None, Some(_)) => Some(tr.t("answers.withdrawn").to_owned()),
        _ => None,
    };
    Ok(SupervisorPage {
        layout: Layout::new(
            lang,
            state,
            &format!("/console/hotlines/{}/supervisor", s.hotline.id),
        ),
        csrf: staff.csrf().to_owned(),
        hotline_id: s.hotline.id,
        incident_id: s.incident.id,
        incident_title: s.incident.title.clone(),
        number: s.hotline.number.clone(),
        since: jiff::Timestamp::from_second(s.hotline.activated_at)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        live,
        figures: figure_rows(&tr, &figures),
        figures_truncated: figures.truncated,
        call_rate_percent: format!("{}", staffing.forecast.call_rate * 100.0),
        first_hour_percent: format!("{}", staffing.forecast.first_hour_share * 100.0),
        target: target.to_string(),
        staffing,
        staffing_error,
        log,
        answers: answer_views(state, &s.incident, lang, &mut names).await?,
        may_publish: staff.principal.role.may(Action::PublishAnswers),
        form,
        form_errors,
        flash,
        hours: trend_query.hours,
        trends,
    })
}
