//! What the public sees of released alerts: a page per alert with every
//! language and the area drawn from Crieur's own geometry, the Atom feed of
//! current alerts, and each alert's CAP 1.2 message. Drafts never appear.

use super::pages::Layout;
use crate::AppState;
use crate::alerts::{parse, to_cap};
use crate::error::{ApiError, PageError};
use crate::i18n::Lang;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use crieur_domain::Language;
use crieur_store::{AlertState, StoredAlert};
use std::fmt::Write;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list))
        .route("/alerts.atom", get(feed))
        .route("/alerts/{id}", get(page))
        .route("/alerts/{id}/cap.xml", get(cap_xml))
}

async fn released(state: &AppState, id: &str) -> Result<StoredAlert, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found("error.not_found", &[]))?;
    match state.store.alerts().alert(id).await? {
        // An exercise kept to the test group is not public.
        Some(a) if a.state == AlertState::Released && !a.test_group => Ok(a),
        _ => Err(ApiError::not_found("error.not_found", &[])),
    }
}

async fn cap_xml(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let a = released(&state, &id).await?;
    let cap = to_cap(&state, &a).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")],
        cap.to_xml(),
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Atom feed of released alerts, newest first, each linking to its page and
/// its CAP message (the usual way CAP is published).
async fn feed(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let base = state.settings.public_url.trim_end_matches('/').to_owned();
    let mut alerts = state.store.alerts().released_alerts(50).await?;
    alerts.retain(|a| !a.test_group);
    let updated = alerts
        .first()
        .and_then(|a| a.sent.clone())
        .unwrap_or_else(|| "1970-01-01T00:00:00+00:00".into());
    let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = write!(
        xml,
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><id>{base}/alerts.atom</id><title>Crieur</title><updated>{updated}</updated><link rel="self" href="{base}/alerts.atom"/>"#
    );
    for a in &alerts {
        let Ok(parsed) = parse(&state, a) else {
            continue;
        };
        let langs = parsed.composition.languages();
        let Some(first) = langs.first() else { continue };
        let out = parsed.composition.texts[first.code()].outgoing(parsed.status, *first);
        let sent = a.sent.clone().unwrap_or_default();
        let _ = write!(
            xml,
            r#"<entry><id>{base}/alerts/{id}</id><title>{title}</title><updated>{sent}</updated><link rel="alternate" type="text/html" href="{base}/alerts/{id}"/><link rel="alternate" type="application/cap+xml" href="{base}/alerts/{id}/cap.xml"/><summary>{summary}</summary><category term="{status}"/><category term="{msg_type}"/></entry>"#,
            id = a.id,
            title = escape(&out.headline),
            summary = escape(&out.sms),
            status = a.status,
            msg_type = a.msg_type,
        );
    }
    xml.push_str("</feed>");
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    ))
}

pub(crate) struct LanguageBlock {
    pub lang: &'static str,
    pub headline: String,
    pub description: String,
    pub instruction: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "public_alert.html")]
struct AlertPage {
    layout: Layout,
    alert: StoredAlert,
    blocks: Vec<LanguageBlock>,
    /// SVG path of the area, and the view box around it.
    area_path: String,
    view_box: String,
    area_label: String,
    exercise: bool,
}

async fn page(
    State(state): State<AppState>,
    Lang(lang): Lang,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, PageError> {
    let a = released(&state, &id)
        .await
        .map_err(|_| PageError::NotFound)?;
    let parsed = parse(&state, &a).map_err(|_| PageError::NotFound)?;
    // The visitor's language first, then the others.
    let mut langs = parsed.composition.languages();
    langs.sort_by_key(|l| *l != lang);
    let blocks = langs
        .iter()
        .map(|l| {
            let t = &parsed.composition.texts[l.code()];
            LanguageBlock {
                lang: l.code(),
                headline: t.outgoing(parsed.status, *l).headline,
                description: t.description.clone(),
                instruction: t.instruction.clone(),
            }
        })
        .collect();
    let rings = crieur_domain::alert::outlines(&parsed.target, &state.territories);
    let k = (50.5f64).to_radians().cos();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let mut area_path = String::new();
    for ring in &rings {
        for (i, (lon, lat)) in ring.iter().enumerate() {
            let (x, y) = (lon * k, -lat);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            let _ = write!(area_path, "{}{x:.5} {y:.5}", if i == 0 { "M" } else { "L" });
        }
        area_path.push('Z');
    }
    let pad = ((x1 - x0).max(y1 - y0) * 0.2).max(0.01);
    let view_box = format!(
        "{:.5} {:.5} {:.5} {:.5}",
        x0 - pad,
        y0 - pad,
        x1 - x0 + 2.0 * pad,
        y1 - y0 + 2.0 * pad
    );
    let area_label = parsed
        .target
        .areas()
        .iter()
        .map(|area| match area {
            crieur_domain::targeting::Area::Territory(nis) => state
                .territories
                .get(*nis)
                .map(|u| u.name(lang).to_owned())
                .unwrap_or_default(),
            _ => crate::i18n::Tr::new(lang).t("alert.drawn_area").to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let exercise = a.status != "Actual";
    Ok(AlertPage {
        layout: Layout::new(lang, &state, &format!("/alerts/{}", a.id)),
        alert: a,
        blocks,
        area_path,
        view_box,
        area_label,
        exercise,
    })
}

pub(crate) struct ListItem {
    pub id: i64,
    pub headline: String,
    pub sent: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "public_alerts.html")]
struct ListPage {
    layout: Layout,
    items: Vec<ListItem>,
}

async fn list(
    State(state): State<AppState>,
    Lang(lang): Lang,
) -> Result<impl IntoResponse, PageError> {
    let alerts = state.store.alerts().released_alerts(50).await?;
    let items = alerts
        .iter()
        .filter(|a| !a.test_group)
        .filter_map(|a| {
            let parsed = parse(&state, a).ok()?;
            let written = parsed.composition.languages();
            let l = if written.contains(&lang) {
                lang
            } else {
                *written.first()?
            };
            Some(ListItem {
                id: a.id,
                headline: parsed.composition.texts[l.code()]
                    .outgoing(parsed.status, l)
                    .headline,
                sent: a.sent.clone().unwrap_or_default(),
            })
        })
        .collect();
    let _ = Language::ALL;
    Ok(ListPage {
        layout: Layout::new(lang, &state, "/alerts"),
        items,
    })
}
