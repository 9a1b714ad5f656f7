//! What the public is asking: the topics operators filed calls under, over
//! the last hours, by time bucket and municipality. Top topics; rising topics
//! (the current bucket against the average of the earlier ones, from a
//! minimum count, so that one call does not make a trend); and what each
//! municipality asks about. The current bucket is still filling: a topic
//! rising in it is rising fast.

use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::routes::supervisor::{Access, supervised};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Json;
use axum::routing::get;
use crieur_domain::hotline::topic_label;
use crieur_domain::{Language, NisCode, Territories};
use crieur_store::{Hotline, StoreError, TopicCount};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::num::NonZeroU32;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/hotlines/{id}/trends", get(trends_api))
}

/// The span and the thresholds of the trends.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TrendQuery {
    /// Hours back from now, 1 to 72; 6 by default.
    #[serde(default = "default_hours")]
    pub hours: u32,
    /// 5 to 240 minutes; 30 by default.
    #[serde(default = "default_bucket")]
    pub bucket_minutes: u32,
    /// Calls in the current bucket needed to call a topic rising; 3 by default.
    #[serde(default = "default_min_count")]
    pub min_count: u64,
}

fn default_hours() -> u32 {
    6
}
fn default_bucket() -> u32 {
    30
}
fn default_min_count() -> u64 {
    3
}

impl TrendQuery {
    /// The defaults, with `hours` when it reads as a number.
    pub(crate) fn from_hours(hours: Option<&str>) -> TrendQuery {
        TrendQuery {
            hours: hours
                .and_then(|h| h.trim().parse().ok())
                .unwrap_or(default_hours()),
            bucket_minutes: default_bucket(),
            min_count: default_min_count(),
        }
        .clamped()
    }

    fn clamped(self) -> TrendQuery {
        TrendQuery {
            hours: self.hours.clamp(1, 72),
            bucket_minutes: self.bucket_minutes.clamp(5, 240),
            min_count: self.min_count.max(1),
        }
    }
}

/// How much a topic rises, to be called rising: half again its usual count.
const RISE_FACTOR: f64 = 1.5;
const TOP: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TopicTrend {
    pub topic: String,
    pub label: String,
    pub total: u64,
    /// Calls in the current bucket.
    pub last: u64,
    /// Mean calls per earlier bucket.
    pub previous_average: f64,
    /// Calls per bucket, oldest first.
    pub per_bucket: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TopicShare {
    pub topic: String,
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MunicipalityTrend {
    /// `None` for calls whose form names no municipality.
    pub nis: Option<String>,
    pub name: String,
    /// Topics named (a call with two topics counts twice).
    pub mentions: u64,
    /// Most named first.
    pub topics: Vec<TopicShare>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Trends {
    pub hours: u32,
    pub bucket_minutes: u32,
    pub min_count: u64,
    /// Unix seconds at which each bucket starts, oldest first.
    pub buckets: Vec<i64>,
    pub top: Vec<TopicTrend>,
    pub rising: Vec<TopicTrend>,
    pub municipalities: Vec<MunicipalityTrend>,
}

fn label(topic: &str, lang: Language) -> String {
    topic_label(topic, lang).unwrap_or(topic).to_owned()
}

/// The trends in `counts` from `since` to `now` (Unix seconds).
pub(crate) fn analyse(
    counts: &[TopicCount],
    q: &TrendQuery,
    now: i64,
    lang: Language,
    territories: &Territories,
) -> Trends {
    let bucket = i64::from(q.bucket_minutes) * 60;
    let current = now - now.rem_euclid(bucket);
    let first = current - (i64::from(q.hours) * 3600 / bucket - 1).max(0) * bucket;
    let buckets: Vec<i64> = (0..)
        .map(|i| first + i * bucket)
        .take_while(|b| *b <= current)
        .collect();
    let index = |start: i64| usize::try_from((start - first) / bucket).ok();
    let mut by_topic: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut by_place: BTreeMap<Option<NisCode>, BTreeMap<&str, u64>> = BTreeMap::new();
    for c in counts
        .iter()
        .filter(|c| c.bucket_start >= first && c.bucket_start <= current)
    {
        let Some(i) = index(c.bucket_start) else {
            continue;
        };
        by_topic
            .entry(c.topic.as_str())
            .or_insert_with(|| vec![0; buckets.len()])[i] += c.count;
        *by_place
            .entry(c.municipality)
            .or_default()
            .entry(c.topic.as_str())
            .or_default() += c.count;
    }
    let trends: Vec<TopicTrend> = by_topic
        .into_iter()
        .map(|(topic, per_bucket)| {
            let (last, earlier) = per_bucket.split_last().unwrap_or((&0, &[]));
            let previous_average = if earlier.is_empty() {
                0.0
            } else {
                earlier.iter().sum::<u64>() as f64 / earlier.len() as f64
            };
            TopicTrend {
                topic: topic.to_owned(),
                label: label(topic, lang),
                total: per_bucket.iter().sum(),
                last: *last,
                previous_average,
                per_bucket,
            }
        })
        .collect();
    let mut top = trends.clone();
    top.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.topic.cmp(&b.topic)));
    top.truncate(TOP);
    let mut rising: Vec<TopicTrend> = trends
        .into_iter()
        .filter(|t| t.last >= q.min_count && t.last as f64 > RISE_FACTOR * t.previous_average)
        .collect();
    let rise = |t: &TopicTrend| t.last as f64 - t.previous_average;
    rising.sort_by(|a, b| {
        rise(b)
            .total_cmp(&rise(a))
            .then_with(|| a.topic.cmp(&b.topic))
    });
    let mut municipalities: Vec<MunicipalityTrend> = by_place
        .into_iter()
        .map(|(nis, topics)| {
            let mut topics: Vec<TopicShare> = topics
                .into_iter()
                .map(|(t, count)| TopicShare {
                    topic: t.to_owned(),
                    label: label(t, lang),
                    count,
                })
                .collect();
            topics.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.topic.cmp(&b.topic)));
            MunicipalityTrend {
                name: match nis {
                    Some(n) => territories
                        .get(n)
                        .map_or_else(|| n.to_string(), |t| t.name(lang).to_owned()),
                    None => crate::i18n::Tr::new(lang)
                        .t("trends.no_municipality")
                        .to_owned(),
                },
                nis: nis.map(|n| n.to_string()),
                mentions: topics.iter().map(|t| t.count).sum(),
                topics,
            }
        })
        .collect();
    municipalities.sort_by(|a, b| {
        b.mentions
            .cmp(&a.mentions)
            .then_with(|| a.name.cmp(&b.name))
    });
    Trends {
        hours: q.hours,
        bucket_minutes: q.bucket_minutes,
        min_count: q.min_count,
        buckets,
        top,
        rising,
        municipalities,
    }
}

pub(crate) async fn trends(
    state: &AppState,
    hotline: &Hotline,
    q: &TrendQuery,
    lang: Language,
    now: i64,
) -> Result<Trends, StoreError> {
    let bucket_s = q.bucket_minutes * 60;
    let bucket = NonZeroU32::new(bucket_s).unwrap_or(NonZeroU32::MIN);
    let since = now - i64::from(q.hours) * 3600;
    let since = since - since.rem_euclid(i64::from(bucket_s));
    let counts = state
        .store
        .hotline()
        .topic_counts(hotline.id, since, bucket)
        .await?;
    Ok(analyse(&counts, q, now, lang, &state.territories))
}

async fn trends_api(
    State(state): State<AppState>,
    Lang(lang): Lang,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<TrendQuery>,
) -> Result<Json<Trends>, ApiError> {
    let s = supervised(&state, &staff, id, Access::Read).await?;
    let now = jiff::Timestamp::now().as_second();
    Ok(Json(
        trends(&state, &s.hotline, &q.clamped(), lang, now).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(topic: &str, nis: Option<&str>, bucket_start: i64, count: u64) -> TopicCount {
        TopicCount {
            topic: topic.into(),
            municipality: nis.map(|n| n.parse().unwrap()),
            bucket_start,
            count,
        }
    }

    #[test]
    fn top_rising_and_places() {
        let territories = Territories::embedded().unwrap();
        let q = TrendQuery::from_hours(Some("2"));
        let now = 10 * 3600 + 600; // ten minutes into a half-hour bucket
        let current = 10 * 3600;
        let half = 1800;
        let counts = vec![
            // Health was steady, then jumps in the current bucket.
            count("health", Some("62063"), current - 3 * half, 2),
            count("health", Some("62063"), current - 2 * half, 2),
            count("health", Some("62063"), current - half, 2),
            count("health", Some("62063"), current, 9),
            // Traffic is the most named, but not rising.
            count("traffic", Some("92094"), current - 3 * half, 8),
            count("traffic", Some("92094"), current - 2 * half, 8),
            count("traffic", None, current - half, 8),
            count("traffic", Some("92094"), current, 4),
            // Rising from nothing, but below the minimum count.
            count("animals", None, current, 2),
            // Before the span: ignored.
            count("schools", None, current - 10 * half, 50),
        ];
        let t = analyse(&counts, &q, now, Language::En, &territories);
        assert_eq!(t.buckets.len(), 4);
        assert_eq!(t.top[0].topic, "traffic");
        assert_eq!(t.top[0].total, 28);
        assert_eq!(t.top[1].topic, "health");
        assert_eq!(t.top[1].label, "Health, symptoms");
        let rising: Vec<&str> = t.rising.iter().map(|r| r.topic.as_str()).collect();
        assert_eq!(rising, ["health"]);
        assert_eq!(t.rising[0].last, 9);
        assert!((t.rising[0].previous_average - 2.0).abs() < 1e-9);
        assert_eq!(t.municipalities[0].nis.as_deref(), Some("92094"));
        assert_eq!(t.municipalities[0].mentions, 20);
        assert_eq!(t.municipalities[1].name, "Liège");
        assert!(!t.top.iter().any(|x| x.topic == "schools"));
    }
}
