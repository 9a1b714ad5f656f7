//! An alert as its author composes it: the CAP fields, the texts per language and
//! channel, and the area; the rules a composition must meet before release; and
//! its CAP 1.2 form. An Exercise or Test is marked as such in every text that
//! leaves, so nobody mistakes it for a real warning.

use crate::cap::{self, Category, Certainty, DateTime, MsgType, Scope, Severity, Status, Urgency};
use crate::sms::{analyse, cell_broadcast_pages};
use crate::targeting::{Area, Circle, Target, Zone};
use crate::territory::geometry_from_geojson;
use crate::{Language, NisCode, Territories};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest SMS an alert may send, in segments (4 × 153 GSM-7 characters).
pub const MAX_SMS_SEGMENTS: usize = 4;
pub const MAX_HEADLINE: usize = 160;
pub const MAX_INSTRUCTION: usize = 2_000;
pub const MAX_VOICE: usize = 1_500;
pub const MAX_EMAIL_SUBJECT: usize = 200;
pub const MAX_EMAIL_BODY: usize = 20_000;
/// Areas in one alert, and polygons given as text (GeoJSON) in bytes.
pub const MAX_AREAS: usize = 50;
pub const MAX_GEOJSON_BYTES: usize = 2 * 1024 * 1024;

/// The texts of one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Texts {
    pub event: String,
    pub headline: String,
    pub instruction: String,
    #[serde(default)]
    pub description: String,
    pub sms: String,
    /// Read by text-to-speech; the SMS text when empty.
    #[serde(default)]
    pub voice: String,
    /// The headline when empty.
    #[serde(default)]
    pub email_subject: String,
    /// Headline, description and instruction when empty.
    #[serde(default)]
    pub email_body: String,
    /// The SMS text when empty.
    #[serde(default)]
    pub cell_broadcast: String,
}

/// What the author writes: CAP fields shared by every language, and the texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Composition {
    #[serde(default)]
    pub template: Option<String>,
    pub category: String,
    pub urgency: String,
    pub severity: String,
    pub certainty: String,
    #[serde(default)]
    pub onset: Option<String>,
    #[serde(default)]
    pub expires: Option<String>,
    #[serde(default)]
    pub web: Option<String>,
    #[serde(default)]
    pub contact: Option<String>,
    /// By language code (fr, nl, de, en).
    pub texts: BTreeMap<String, Texts>,
}

/// One part of the area, as the author gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AreaSpec {
    /// A municipality, province, region or the country, by NIS code.
    Territory {
        nis: String,
    },
    /// A polygon drawn on the map or uploaded: a GeoJSON geometry, feature or
    /// feature collection of (multi)polygons in WGS 84.
    Polygon {
        geojson: serde_json::Value,
    },
    Circle {
        lon: f64,
        lat: f64,
        radius_m: f64,
    },
}

/// A rule the composition breaks: the field, a message key, and a detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub key: &'static str,
    pub detail: String,
}

impl Problem {
    fn new(field: impl Into<String>, key: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            key,
            detail: detail.into(),
        }
    }
}

/// A delivery channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Voice,
    Email,
    CellBroadcast,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Sms,
        Channel::Voice,
        Channel::Email,
        Channel::CellBroadcast,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Email => "email",
            Channel::CellBroadcast => "cell_broadcast",
        }
    }
}

/// The word that marks an exercise or a test in each language.
pub fn mark(status: Status, lang: Language) -> Option<&'static str> {
    Some(match (status, lang) {
        (Status::Exercise, Language::Fr) => "EXERCICE",
        (Status::Exercise, Language::Nl) => "OEFENING",
        (Status::Exercise, Language::De) => "ÜBUNG",
        (Status::Exercise, Language::En) => "EXERCISE",
        (Status::Test, _) => "TEST",
        _ => return None,
    })
}

/// The texts that leave for one language and status: defaults filled in and an
/// Exercise or Test marked at the start of every text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub headline: String,
    pub sms: String,
    pub voice: String,
    pub email_subject: String,
    pub email_body: String,
    pub cell_broadcast: String,
}

impl Texts {
    pub fn outgoing(&self, status: Status, lang: Language) -> Outgoing {
        let marked = |t: &str| match mark(status, lang) {
            Some(m) => format!("{m} - {t}"),
            None => t.to_owned(),
        };
        let or = |a: &str, b: &str| {
            if a.trim().is_empty() {
                b.to_owned()
            } else {
                a.to_owned()
            }
        };
        let body = if self.email_body.trim().is_empty() {
            [&self.headline, &self.description, &self.instruction]
                .iter()
                .filter(|t| !t.trim().is_empty())
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        } else {
            self.email_body.clone()
        };
        Outgoing {
            headline: marked(&self.headline),
            sms: marked(&self.sms),
            voice: marked(&or(&self.voice, &self.sms)),
            email_subject: marked(&or(&self.email_subject, &self.headline)),
            email_body: marked(&body),
            cell_broadcast: marked(&or(&self.cell_broadcast, &self.sms)),
        }
    }
}

impl Composition {
    /// The languages written, in a stable order.
    pub fn languages(&self) -> Vec<Language> {
        Language::ALL
            .into_iter()
            .filter(|l| self.texts.contains_key(l.code()))
            .collect()
    }

    /// The language a person reads the alert in: their own when written,
    /// otherwise the first official language of their municipality that is,
    /// otherwise the first written.
    pub fn language_for(&self, own: Language, official: &[Language]) -> Option<Language> {
        let written = self.languages();
        if written.contains(&own) {
            return Some(own);
        }
        official
            .iter()
            .find(|l| written.contains(l))
            .copied()
            .or_else(|| written.first().copied())
    }

    /// Every rule the composition breaks, for the given status (the marking of an
    /// exercise counts towards the lengths).
    pub fn check(&self, status: Status) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (field, value, parse) in [
            (
                "category",
                &self.category,
                Category::from_str_ok as fn(&str) -> bool,
            ),
            ("urgency", &self.urgency, Urgency::from_str_ok),
            ("severity", &self.severity, Severity::from_str_ok),
            ("certainty", &self.certainty, Certainty::from_str_ok),
        ] {
            if !parse(value) {
                problems.push(Problem::new(field, "alert.bad_code", value.clone()));
            }
        }
        for (field, value) in [("onset", &self.onset), ("expires", &self.expires)] {
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty())
                && DateTime::parse(v.trim()).is_err()
            {
                problems.push(Problem::new(field, "alert.bad_time", v));
            }
        }
        if let Some(web) = self.web.as_deref().filter(|w| !w.trim().is_empty())
            && !(web.starts_with("https://") || web.starts_with("http://"))
        {
            problems.push(Problem::new("web", "alert.bad_web", web));
        }
        if self.texts.is_empty() {
            problems.push(Problem::new("texts", "alert.no_language", ""));
        }
        for (code, t) in &self.texts {
            let Ok(lang) = code.parse::<Language>() else {
                problems.push(Problem::new("texts", "alert.bad_language", code.clone()));
                continue;
            };
            let field = |f: &str| format!("texts.{code}.{f}");
            for (f, v) in [
                ("event", &t.event),
                ("headline", &t.headline),
                ("instruction", &t.instruction),
                ("sms", &t.sms),
            ] {
                if v.trim().is_empty() {
                    problems.push(Problem::new(field(f), "alert.required", ""));
                }
            }
            // Control characters break the XML of CAP and Atom, and the handsets.
            for (f, v) in [
                ("event", &t.event),
                ("headline", &t.headline),
                ("instruction", &t.instruction),
                ("description", &t.description),
                ("sms", &t.sms),
                ("voice", &t.voice),
                ("email_subject", &t.email_subject),
                ("email_body", &t.email_body),
                ("cell_broadcast", &t.cell_broadcast),
            ] {
                if v.chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                {
                    problems.push(Problem::new(field(f), "alert.bad_characters", ""));
                }
            }
            // A template's placeholder left in a public warning is a mistake.
            for (f, v) in [
                ("headline", &t.headline),
                ("instruction", &t.instruction),
                ("sms", &t.sms),
                ("voice", &t.voice),
                ("email_subject", &t.email_subject),
                ("email_body", &t.email_body),
                ("cell_broadcast", &t.cell_broadcast),
            ] {
                if let Ok(left) = crate::templates::placeholders(v)
                    && let Some(p) = left.first()
                {
                    problems.push(Problem::new(
                        field(f),
                        "alert.placeholder_left",
                        format!("{{{}}}", p.name()),
                    ));
                }
            }
            let out = t.outgoing(status, lang);
            for (f, v, max) in [
                ("headline", &out.headline, MAX_HEADLINE),
                ("instruction", &t.instruction, MAX_INSTRUCTION),
                ("voice", &out.voice, MAX_VOICE),
                ("email_subject", &out.email_subject, MAX_EMAIL_SUBJECT),
                ("email_body", &out.email_body, MAX_EMAIL_BODY),
            ] {
                let n = v.chars().count();
                if n > max {
                    problems.push(Problem::new(
                        field(f),
                        "alert.too_long",
                        format!("{n}/{max}"),
                    ));
                }
            }
            let sms = analyse(&out.sms);
            if sms.segments > MAX_SMS_SEGMENTS {
                problems.push(Problem::new(
                    field("sms"),
                    "alert.sms_too_long",
                    format!("{}/{MAX_SMS_SEGMENTS}", sms.segments),
                ));
            }
            if let Err(e) = cell_broadcast_pages(&out.cell_broadcast) {
                problems.push(Problem::new(
                    field("cell_broadcast"),
                    "alert.cb_too_long",
                    e.to_string(),
                ));
            }
        }
        problems
    }
}

trait FromStrOk {
    fn from_str_ok(s: &str) -> bool;
}
impl<T: std::str::FromStr> FromStrOk for T {
    fn from_str_ok(s: &str) -> bool {
        s.parse::<T>().is_ok()
    }
}

/// Turns the author's area into a checked target; each problem names its part.
pub fn target(specs: &[AreaSpec], territories: &Territories) -> Result<Target, Vec<Problem>> {
    if specs.is_empty() {
        return Err(vec![Problem::new("area", "alert.empty_area", "")]);
    }
    if specs.len() > MAX_AREAS {
        return Err(vec![Problem::new(
            "area",
            "alert.too_many_areas",
            format!("{}/{MAX_AREAS}", specs.len()),
        )]);
    }
    let mut areas = Vec::new();
    let mut problems = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let field = format!("area.{i}");
        let area = match spec {
            AreaSpec::Territory { nis } => nis
                .parse::<NisCode>()
                .map_err(|e| e.to_string())
                .and_then(|n| {
                    territories
                        .get(n)
                        .map(|_| Area::Territory(n))
                        .ok_or_else(|| nis.to_string())
                })
                .map_err(|d| Problem::new(&field, "alert.unknown_territory", d)),
            AreaSpec::Polygon { geojson } => polygon(geojson)
                .and_then(|m| Zone::new(m).map_err(|e| e.to_string()))
                .map(Area::Zone)
                .map_err(|d| Problem::new(&field, "alert.bad_polygon", d)),
            AreaSpec::Circle { lon, lat, radius_m } => Circle::new(*lon, *lat, *radius_m)
                .map(Area::Circle)
                .map_err(|e| Problem::new(&field, "alert.bad_circle", e.to_string())),
        };
        match area {
            Ok(a) => areas.push(a),
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Target::new(areas, territories)
        .map_err(|e| vec![Problem::new("area", "alert.bad_area", e.to_string())])
}

/// A checked target written back as the author's kind of area (after clipping).
pub fn specs_of(target: &Target) -> Vec<AreaSpec> {
    target
        .areas()
        .iter()
        .map(|a| match a {
            Area::Territory(nis) => AreaSpec::Territory {
                nis: nis.as_str().to_owned(),
            },
            Area::Zone(z) => AreaSpec::Polygon {
                geojson: serde_json::to_value(geojson::Geometry::from(z.geometry()))
                    .unwrap_or_default(),
            },
            Area::Circle(c) => AreaSpec::Circle {
                lon: c.lon(),
                lat: c.lat(),
                radius_m: c.radius_m(),
            },
        })
        .collect()
}

/// The area's outline for drawing: exterior rings in (lon, lat).
pub fn outlines(target: &Target, territories: &Territories) -> Vec<Vec<(f64, f64)>> {
    let ring = |p: &geo::Polygon<f64>| p.exterior().0.iter().map(|c| (c.x, c.y)).collect();
    let mut rings = Vec::new();
    for a in target.areas() {
        match a {
            Area::Territory(nis) => {
                if let Some(u) = territories.get(*nis) {
                    rings.extend(u.geometry.0.iter().map(ring));
                }
            }
            Area::Zone(z) => rings.extend(z.geometry().0.iter().map(ring)),
            Area::Circle(c) => rings.push(ring(&c.to_polygon(64))),
        }
    }
    rings
}

/// A (multi)polygon from GeoJSON: a geometry, a feature, or a collection of them.
fn polygon(value: &serde_json::Value) -> Result<geo::MultiPolygon<f64>, String> {
    let text = value.to_string();
    if text.len() > MAX_GEOJSON_BYTES {
        return Err(format!(
            "{} bytes; the limit is {MAX_GEOJSON_BYTES}",
            text.len()
        ));
    }
    let parsed: geojson::GeoJson = text.parse().map_err(|e: geojson::Error| e.to_string())?;
    let geometries: Vec<geojson::Geometry> = match parsed {
        geojson::GeoJson::Geometry(g) => vec![g],
        geojson::GeoJson::Feature(f) => f.geometry.into_iter().collect(),
        geojson::GeoJson::FeatureCollection(c) => {
            c.features.into_iter().filter_map(|f| f.geometry).collect()
        }
    };
    let mut polygons = Vec::new();
    for g in geometries {
        polygons.extend(geometry_from_geojson(&g.to_string())?.0);
    }
    if polygons.is_empty() {
        return Err("no polygon".into());
    }
    Ok(geo::MultiPolygon(polygons))
}

/// What identifies an alert in CAP, besides its composition.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub identifier: &'a str,
    pub sender: &'a str,
    pub sender_name: &'a str,
    pub sent: &'a str,
    pub status: Status,
    pub msg_type: MsgType,
    pub references: Vec<cap::Reference>,
    pub incident: Option<String>,
}

/// The alert in CAP 1.2: one `info` per language, each with the area.
pub fn to_cap(
    envelope: &Envelope<'_>,
    composition: &Composition,
    target: &Target,
    territories: &Territories,
) -> Result<cap::Alert, String> {
    let sent = DateTime::parse(envelope.sent).map_err(|e| e.to_string())?;
    let mut alert = cap::Alert::new(
        envelope.identifier,
        envelope.sender,
        sent,
        envelope.status,
        envelope.msg_type,
        Scope::Public,
    );
    alert.references = envelope.references.clone();
    alert.incidents = envelope.incident.iter().cloned().collect();
    let category: Category = composition.category.parse().map_err(|e| format!("{e}"))?;
    let urgency: Urgency = composition.urgency.parse().map_err(|e| format!("{e}"))?;
    let severity: Severity = composition.severity.parse().map_err(|e| format!("{e}"))?;
    let certainty: Certainty = composition.certainty.parse().map_err(|e| format!("{e}"))?;
    let time = |v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| DateTime::parse(s.trim()))
            .transpose()
            .map_err(|e| e.to_string())
    };
    let (onset, expires) = (time(&composition.onset)?, time(&composition.expires)?);
    for lang in composition.languages() {
        let t = &composition.texts[lang.code()];
        let mut info = cap::Info::new(category, t.event.clone(), urgency, severity, certainty);
        info.language = Some(lang.into());
        info.onset = onset.clone();
        info.expires = expires.clone();
        info.sender_name = Some(envelope.sender_name.to_owned());
        let out = t.outgoing(envelope.status, lang);
        info.headline = Some(out.headline);
        info.description = Some(t.description.clone()).filter(|d| !d.trim().is_empty());
        info.instruction = Some(t.instruction.clone());
        info.web = composition.web.clone().filter(|w| !w.trim().is_empty());
        info.contact = composition.contact.clone().filter(|c| !c.trim().is_empty());
        info.areas = cap_areas(target, territories, lang)?;
        alert.infos.push(info);
    }
    Ok(alert)
}

fn cap_areas(
    target: &Target,
    territories: &Territories,
    lang: Language,
) -> Result<Vec<cap::Area>, String> {
    let mut areas = Vec::new();
    for a in target.areas() {
        match a {
            Area::Territory(nis) => {
                let unit = territories
                    .get(*nis)
                    .ok_or_else(|| format!("unknown territory {nis}"))?;
                let mut area = cap::Area::new(unit.name(lang));
                area.geocodes.push(cap::ValueName::new("NIS", nis.as_str()));
                for p in &unit.geometry.0 {
                    let exterior = geo::Polygon::new(p.exterior().clone(), vec![]);
                    if let Ok(p) = cap::Polygon::try_from(&exterior) {
                        area.polygons.push(p);
                    }
                }
                areas.push(area);
            }
            Area::Zone(zone) => {
                let mut area = cap::Area::new(zone_desc(lang));
                for p in &zone.geometry().0 {
                    let exterior = geo::Polygon::new(p.exterior().clone(), vec![]);
                    area.polygons
                        .push(cap::Polygon::try_from(&exterior).map_err(|e| e.to_string())?);
                }
                areas.push(area);
            }
            Area::Circle(c) => {
                let mut area = cap::Area::new(zone_desc(lang));
                area.circles.push(
                    cap::Circle::new(geo::Point::new(c.lon(), c.lat()), c.radius_m() / 1000.0)
                        .map_err(|e| e.to_string())?,
                );
                areas.push(area);
            }
        }
    }
    Ok(areas)
}

fn zone_desc(lang: Language) -> &'static str {
    match lang {
        Language::Fr => "Zone délimitée sur la carte",
        Language::Nl => "Op de kaart afgebakende zone",
        Language::De => "Auf der Karte abgegrenztes Gebiet",
        Language::En => "Area drawn on the map",
    }
}

/// The cost of sending, per channel, at the configured unit prices (in cents).
pub fn cost_cents(messages: &BTreeMap<Channel, u64>, unit_cents: &BTreeMap<Channel, f64>) -> f64 {
    messages
        .iter()
        .map(|(c, n)| *n as f64 * unit_cents.get(c).copied().unwrap_or(0.0))
        .sum()
}

#[cfg(test)]
mod tests;
