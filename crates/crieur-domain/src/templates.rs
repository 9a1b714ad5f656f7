//! The template library an operator composes an alert from: for each common risk,
//! CAP defaults and ready texts for every channel in French, Dutch, German and
//! English. The wording is Crieur's own, kept in `templates/*.toml`.
//!
//! Filling never guesses: a placeholder without a value is an error, never an empty
//! gap in a public warning.
//!
//! Placeholders each built-in template uses (checked by the tests):
//!
//! | template         | placeholders                                  |
//! |------------------|-----------------------------------------------|
//! | `fire-smoke`     | place, authority, web                         |
//! | `flood`          | place, authority, web                         |
//! | `chemical`       | place, radius, authority, web                 |
//! | `nuclear`        | place, radius, authority, web                 |
//! | `storm`          | place, time (arrival), authority, web         |
//! | `drinking-water` | place, authority, web, phone                  |
//! | `power-cut`      | place, time (expected return), authority, web |
//! | `evacuation`     | place, time (deadline), authority, web, phone |
//! | `stay-indoors`   | place, authority, web                         |
//! | `all-clear`      | place, authority, web                         |

use crate::Language;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

const CATALOGUE: &str = include_str!("templates/catalogue.toml");
const BUILTIN_TEXTS: [(Language, &str); 4] = [
    (Language::Fr, include_str!("templates/fr.toml")),
    (Language::Nl, include_str!("templates/nl.toml")),
    (Language::De, include_str!("templates/de.toml")),
    (Language::En, include_str!("templates/en.toml")),
];

/// CAP 1.2 `category` values.
pub const CAP_CATEGORIES: [&str; 12] = [
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
];
/// CAP 1.2 `urgency` values.
pub const CAP_URGENCIES: [&str; 5] = ["Immediate", "Expected", "Future", "Past", "Unknown"];
/// CAP 1.2 `severity` values.
pub const CAP_SEVERITIES: [&str; 5] = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
/// CAP 1.2 `certainty` values.
pub const CAP_CERTAINTIES: [&str; 5] = ["Observed", "Likely", "Possible", "Unlikely", "Unknown"];

/// A gap in a template text, written `{name}`, that the operator fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder {
    /// `{place}`: the affected area as people name it ("Anderlecht, Cureghem").
    Place,
    /// `{time}`: a clock time; each template says what it is (storm arrival,
    /// evacuation deadline, expected return of power).
    Time,
    /// `{radius}`: the distance around the site, with its unit ("2 km").
    Radius,
    /// `{authority}`: who issues the alert ("Gouverneur du Hainaut").
    Authority,
    /// `{web}`: the page with updates, without scheme ("crisis.example.be").
    Web,
    /// `{phone}`: the information or assistance number.
    Phone,
}

impl Placeholder {
    pub const ALL: [Placeholder; 6] = [
        Placeholder::Place,
        Placeholder::Time,
        Placeholder::Radius,
        Placeholder::Authority,
        Placeholder::Web,
        Placeholder::Phone,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Place => "place",
            Placeholder::Time => "time",
            Placeholder::Radius => "radius",
            Placeholder::Authority => "authority",
            Placeholder::Web => "web",
            Placeholder::Phone => "phone",
        }
    }

    pub fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

/// The operator's values for one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceholderValues(BTreeMap<Placeholder, String>);

impl PlaceholderValues {
    pub fn new() -> PlaceholderValues {
        PlaceholderValues::default()
    }

    pub fn with(mut self, placeholder: Placeholder, value: impl Into<String>) -> Self {
        self.set(placeholder, value);
        self
    }

    pub fn set(&mut self, placeholder: Placeholder, value: impl Into<String>) {
        self.0.insert(placeholder, value.into());
    }

    pub fn get(&self, placeholder: Placeholder) -> Option<&str> {
        self.0.get(&placeholder).map(String::as_str)
    }
}

/// Why a text could not be filled; each names the placeholder at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MissingPlaceholder {
    #[error("no value given for {0}")]
    NoValue(Placeholder),
    #[error("unknown placeholder {{{0}}}")]
    Unknown(String),
    #[error("the '{{' at byte {0} opens a placeholder that is never closed")]
    Unclosed(usize),
}

enum Piece<'a> {
    Text(&'a str),
    Slot(Placeholder),
}

/// Cuts `text` at its placeholders. Values are never re-read, so a `{` typed by
/// the operator cannot inject another placeholder.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, MissingPlaceholder> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let offset = text.len() - rest.len() + open;
        out.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or(MissingPlaceholder::Unclosed(offset))?;
        let name = &after[..close];
        let placeholder = Placeholder::from_name(name)
            .ok_or_else(|| MissingPlaceholder::Unknown(name.to_owned()))?;
        out.push(Piece::Slot(placeholder));
        rest = &after[close + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Replaces every `{name}` in `text` with its value.
pub fn fill(text: &str, values: &PlaceholderValues) -> Result<String, MissingPlaceholder> {
    let mut out = String::with_capacity(text.len() + 64);
    for piece in pieces(text)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot(p) => out.push_str(values.get(p).ok_or(MissingPlaceholder::NoValue(p))?),
        }
    }
    Ok(out)
}

/// The placeholders `text` uses, so a form can ask for exactly those.
pub fn placeholders(text: &str) -> Result<BTreeSet<Placeholder>, MissingPlaceholder> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Slot(p) => Some(p),
            Piece::Text(_) => None,
        })
        .collect())
}

/// One template's texts in one language, one per channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateTexts {
    /// CAP `event`, in this language.
    pub event: String,
    /// CAP `headline`: short enough for a notification title.
    pub headline: String,
    /// At most two GSM-7 segments once filled with ordinary values.
    pub sms: String,
    /// Read by the text-to-speech engine on voice calls.
    pub voice: String,
    pub email_subject: String,
    pub email_body: String,
    /// At most 15 cell-broadcast pages (1,395 GSM-7 characters) once filled.
    pub cell_broadcast: String,
    /// CAP `instruction`.
    pub instruction: String,
}

impl TemplateTexts {
    /// Each text with its field name, for checks and forms that treat them alike.
    pub fn fields(&self) -> [(&'static str, &str); 8] {
        [
            ("event", &self.event),
            ("headline", &self.headline),
            ("sms", &self.sms),
            ("voice", &self.voice),
            ("email_subject", &self.email_subject),
            ("email_body", &self.email_body),
            ("cell_broadcast", &self.cell_broadcast),
            ("instruction", &self.instruction),
        ]
    }

    /// Every text filled with `values`; fails on the first missing value.
    pub fn fill(&self, values: &PlaceholderValues) -> Result<TemplateTexts, MissingPlaceholder> {
        Ok(TemplateTexts {
            event: fill(&self.event, values)?,
            headline: fill(&self.headline, values)?,
            sms: fill(&self.sms, values)?,
            voice: fill(&self.voice, values)?,
            email_subject: fill(&self.email_subject, values)?,
            email_body: fill(&self.email_body, values)?,
            cell_broadcast: fill(&self.cell_broadcast, values)?,
            instruction: fill(&self.instruction, values)?,
        })
    }
}

/// A risk's template: CAP defaults and texts in all four languages, known to
/// use only known placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    id: String,
    category: String,
    urgency: String,
    severity: String,
    certainty: String,
    /// Indexed by [`slot`].
    texts: [TemplateTexts; 4],
}

fn slot(language: Language) -> usize {
    match language {
        Language::Fr => 0,
        Language::Nl => 1,
        Language::De => 2,
        Language::En => 3,
    }
}

impl Template {
    /// Kebab-case, stable: alerts and audit entries refer to it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// CAP `category`, one of [`CAP_CATEGORIES`].
    pub fn category(&self) -> &str {
        &self.category
    }

    /// Default CAP `urgency`, one of [`CAP_URGENCIES`].
    pub fn urgency(&self) -> &str {
        &self.urgency
    }

    /// Default CAP `severity`, one of [`CAP_SEVERITIES`].
    pub fn severity(&self) -> &str {
        &self.severity
    }

    /// Default CAP `certainty`, one of [`CAP_CERTAINTIES`].
    pub fn certainty(&self) -> &str {
        &self.certainty
    }

    pub fn texts(&self, language: Language) -> &TemplateTexts {
        &self.texts[slot(language)]
    }

    /// Every placeholder any of its texts uses, in any language.
    pub fn placeholders(&self) -> BTreeSet<Placeholder> {
        self.texts
            .iter()
            .flat_map(|t| t.fields())
            // Loading refused any text whose placeholders do not parse.
            .flat_map(|(_, text)| placeholders(text).unwrap_or_default())
            .collect()
    }
}

/// Why a template library does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryError {
    #[error("{file}: {message}")]
    Toml { file: String, message: String },
    #[error("template id {0:?} is not kebab-case")]
    BadId(String),
    #[error("template {0:?} is listed twice")]
    DuplicateId(String),
    #[error("template {id:?}: {value:?} is not a CAP {field}")]
    NotCap {
        id: String,
        field: &'static str,
        value: String,
    },
    #[error("no {language} texts given")]
    MissingLanguage { language: Language },
    #[error("template {id:?} has no {language} texts")]
    MissingTexts { id: String, language: Language },
    #[error("{language} texts for {id:?}, which the catalogue does not list")]
    UnlistedTexts { id: String, language: Language },
    #[error("template {id:?}, {language} {field}: {problem}")]
    Placeholder {
        id: String,
        language: Language,
        field: &'static str,
        problem: MissingPlaceholder,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    template: Vec<CatalogueEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueEntry {
    id: String,
    category: String,
    urgency: String,
    severity: String,
    certainty: String,
}

/// All templates, in catalogue order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateLibrary {
    templates: Vec<Template>,
}

impl TemplateLibrary {
    /// The templates shipped with Crieur. Their files are compiled in and checked
    /// by this module's tests, so failing here is a build defect, not a runtime one.
    pub fn builtin() -> TemplateLibrary {
        TemplateLibrary::parse(CATALOGUE, &BUILTIN_TEXTS)
            .unwrap_or_else(|e| panic!("built-in templates are broken: {e}"))
    }

    /// Loads a catalogue and one texts file per language, refusing anything
    /// incomplete: every listed template needs all four languages.
    pub fn parse(
        catalogue: &str,
        texts: &[(Language, &str)],
    ) -> Result<TemplateLibrary, LibraryError> {
        let catalogue: CatalogueFile =
            toml::from_str(catalogue).map_err(|e| LibraryError::Toml {
                file: "catalogue".into(),
                message: e.to_string(),
            })?;
        let mut by_language: BTreeMap<Language, BTreeMap<String, TemplateTexts>> = BTreeMap::new();
        for &(language, source) in texts {
            let parsed = toml::from_str(source).map_err(|e| LibraryError::Toml {
                file: language.code().into(),
                message: e.to_string(),
            })?;
            by_language.insert(language, parsed);
        }
        if let Some(&language) = Language::ALL.iter().find(|l| !by_language.contains_key(l)) {
            return Err(LibraryError::MissingLanguage { language });
        }

        let mut templates: Vec<Template> = Vec::with_capacity(catalogue.template.len());
        for entry in catalogue.template {
            if !is_kebab_case(&entry.id) {
                return Err(LibraryError::BadId(entry.id));
            }
            if templates.iter().any(|t| t.id == entry.id) {
                return Err(LibraryError::DuplicateId(entry.id));
            }
            for (field, value, allowed) in [
                ("category", &entry.category, &CAP_CATEGORIES[..]),
                ("urgency", &entry.urgency, &CAP_URGENCIES[..]),
                ("severity", &entry.severity, &CAP_SEVERITIES[..]),
                ("certainty", &entry.certainty, &CAP_CERTAINTIES[..]),
            ] {
                if !allowed.contains(&value.as_str()) {
                    return Err(LibraryError::NotCap {
                        id: entry.id.clone(),
                        field,
                        value: value.clone(),
                    });
                }
            }
            let mut take = |language| take_texts(&mut by_language, &entry.id, language);
            let texts = [
                take(Language::Fr)?,
                take(Language::Nl)?,
                take(Language::De)?,
                take(Language::En)?,
            ];
            templates.push(Template {
                id: entry.id,
                category: entry.category,
                urgency: entry.urgency,
                severity: entry.severity,
                certainty: entry.certainty,
                texts,
            });
        }
        for (language, leftover) in by_language {
            if let Some(id) = leftover.into_keys().next() {
                return Err(LibraryError::UnlistedTexts { id, language });
            }
        }
        Ok(TemplateLibrary { templates })
    }

    pub fn get(&self, id: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.id == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Template> {
        self.templates.iter()
    }
}

/// Removes one template's texts in `language` from what was read, checking its
/// placeholders; whatever is left over afterwards is unlisted.
fn take_texts(
    by_language: &mut BTreeMap<Language, BTreeMap<String, TemplateTexts>>,
    id: &str,
    language: Language,
) -> Result<TemplateTexts, LibraryError> {
    let texts = by_language
        .get_mut(&language)
        .and_then(|m| m.remove(id))
        .ok_or_else(|| LibraryError::MissingTexts {
            id: id.to_owned(),
            language,
        })?;
    for (field, text) in texts.fields() {
        placeholders(text).map_err(|problem| LibraryError::Placeholder {
            id: id.to_owned(),
            language,
            field,
            problem,
        })?;
    }
    Ok(texts)
}

fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests;
