//! A hotline activation's settings: languages, what callers hear, the IVR menu and
//! the queue policies. Checked in full when saved ([`HotlineConfig::validate`]),
//! so that no caller ever meets a menu that cannot work.

use crate::Language;
use crate::acd::{AcdConfig, Line};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One key of the main menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuOption {
    pub digit: char,
    pub line: Line,
}

/// What an activation sets up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HotlineConfig {
    /// Offered in this order in the language menu (key 1 for the first); a single
    /// language skips the menu.
    pub languages: Vec<Language>,
    /// Spoken first, in each language.
    pub greeting: BTreeMap<Language, String>,
    pub menu: Vec<MenuOption>,
    /// Played while fewer than `holding_until` operators are signed in.
    pub holding_message: BTreeMap<Language, String>,
    pub holding_until: u32,
    /// Played to callers when the hotline is deactivated.
    pub closing_message: BTreeMap<Language, String>,
    /// Operators to have on the phones at first.
    pub staffing_target: u32,
    /// Seconds between announcements of the caller's place and expected wait.
    pub announce_every_s: u32,
    /// Whether callers at the maximum wait may ask to be called back.
    pub callbacks: bool,
    pub acd: AcdConfig,
}

impl Default for HotlineConfig {
    fn default() -> Self {
        let texts = |f: fn(Language) -> &'static str| {
            Language::ALL
                .into_iter()
                .map(|l| (l, f(l).to_owned()))
                .collect()
        };
        Self {
            languages: vec![Language::Fr, Language::Nl],
            greeting: texts(default_greeting),
            menu: vec![
                MenuOption {
                    digit: '1',
                    line: Line::Information,
                },
                MenuOption {
                    digit: '2',
                    line: Line::Relatives,
                },
                MenuOption {
                    digit: '3',
                    line: Line::Psychosocial,
                },
            ],
            holding_message: texts(default_holding),
            holding_until: 1,
            closing_message: texts(default_closing),
            staffing_target: 4,
            announce_every_s: 30,
            callbacks: true,
            acd: AcdConfig::default(),
        }
    }
}

fn default_greeting(l: Language) -> &'static str {
    match l {
        Language::Fr => {
            "Bonjour. Vous êtes en communication avec le numéro d'information de crise."
        }
        Language::Nl => "Goeiedag. U bent verbonden met het crisisinformatienummer.",
        Language::De => "Guten Tag. Sie sind mit der Krisen-Infonummer verbunden.",
        Language::En => "Hello. You have reached the crisis information line.",
    }
}

fn default_holding(l: Language) -> &'static str {
    match l {
        Language::Fr => {
            "Nos opérateurs sont en route. Restez en ligne, nous vous répondrons dès que possible."
        }
        Language::Nl => {
            "Onze operatoren zijn onderweg. Blijf aan de lijn, we antwoorden zo snel mogelijk."
        }
        Language::De => {
            "Unsere Mitarbeiter sind unterwegs. Bleiben Sie dran, wir antworten so bald wie möglich."
        }
        Language::En => {
            "Our operators are on their way. Please stay on the line; we will answer as soon as we can."
        }
    }
}

fn default_closing(l: Language) -> &'static str {
    match l {
        Language::Fr => "Ce numéro d'information est désormais fermé. Merci de votre appel.",
        Language::Nl => "Dit informatienummer is nu gesloten. Bedankt voor uw oproep.",
        Language::De => "Diese Infonummer ist jetzt geschlossen. Danke für Ihren Anruf.",
        Language::En => "This information line is now closed. Thank you for calling.",
    }
}

/// The phrases the IVR speaks around the configured texts.
pub fn line_label(line: Line, l: Language) -> &'static str {
    use Language::*;
    match (line, l) {
        (Line::Information, Fr) => "Pour des informations sur la situation, tapez",
        (Line::Information, Nl) => "Voor informatie over de situatie, druk",
        (Line::Information, De) => "Für Informationen zur Lage drücken Sie",
        (Line::Information, En) => "For information about the situation, press",
        (Line::Relatives, Fr) => "Si vous recherchez un proche, tapez",
        (Line::Relatives, Nl) => "Als u een naaste zoekt, druk",
        (Line::Relatives, De) => "Wenn Sie einen Angehörigen suchen, drücken Sie",
        (Line::Relatives, En) => "If you are looking for a relative, press",
        (Line::Psychosocial, Fr) => "Pour un soutien psychologique, tapez",
        (Line::Psychosocial, Nl) => "Voor psychologische ondersteuning, druk",
        (Line::Psychosocial, De) => "Für psychologische Unterstützung drücken Sie",
        (Line::Psychosocial, En) => "For psychological support, press",
    }
}

/// "For French, press 1", in the language itself.
pub fn language_choice(l: Language, digit: char) -> String {
    match l {
        Language::Fr => format!("Pour le français, tapez {digit}."),
        Language::Nl => format!("Voor Nederlands, druk {digit}."),
        Language::De => format!("Für Deutsch drücken Sie {digit}."),
        Language::En => format!("For English, press {digit}."),
    }
}

/// The main menu's prompt in one language.
pub fn menu_prompt(config: &HotlineConfig, l: Language) -> String {
    config
        .menu
        .iter()
        .map(|o| format!("{} {}.", line_label(o.line, l), o.digit))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "You are number 3 in the queue. Expected wait: about 4 minutes."
pub fn place_announcement(l: Language, position: usize, wait_s: Option<u64>) -> String {
    place_announcement_parts(l, position, wait_s).join(" ")
}

/// The same announcement in pieces, numbers apart, so that a voice can say it
/// from a few prompts rendered once (thousands of callers hear the same words
/// with different numbers).
pub fn place_announcement_parts(l: Language, position: usize, wait_s: Option<u64>) -> Vec<String> {
    let minutes = wait_s.map(|s| s.div_ceil(60).max(1));
    let unit = |one: &'static str, many: &'static str| if minutes == Some(1) { one } else { many };
    let (before, after, wait, please, units) = match l {
        Language::Fr => (
            "Vous êtes numéro",
            "dans la file.",
            "Attente estimée : environ",
            "Merci de patienter.",
            unit("minute.", "minutes."),
        ),
        Language::Nl => (
            "U bent nummer",
            "in de wachtrij.",
            "Verwachte wachttijd: ongeveer",
            "Even geduld.",
            unit("minuut.", "minuten."),
        ),
        Language::De => (
            "Sie sind Nummer",
            "in der Warteschlange.",
            "Geschätzte Wartezeit: etwa",
            "Bitte haben Sie Geduld.",
            unit("Minute.", "Minuten."),
        ),
        Language::En => (
            "You are number",
            "in the queue.",
            "Expected wait: about",
            "Please hold.",
            unit("minute.", "minutes."),
        ),
    };
    let mut parts = vec![before.to_owned(), position.to_string(), after.to_owned()];
    match minutes {
        Some(m) => parts.extend([wait.to_owned(), m.to_string(), units.to_owned()]),
        None => parts.push(please.to_owned()),
    }
    parts
}

/// Offered at the maximum wait.
pub fn callback_offer(l: Language) -> &'static str {
    match l {
        Language::Fr => {
            "Tous nos opérateurs sont occupés. Pour être rappelé à ce numéro, tapez 1. Pour continuer à attendre, tapez 2."
        }
        Language::Nl => {
            "Al onze operatoren zijn bezet. Om teruggebeld te worden op dit nummer, druk 1. Om te blijven wachten, druk 2."
        }
        Language::De => {
            "Alle Mitarbeiter sind beschäftigt. Für einen Rückruf an diese Nummer drücken Sie 1. Um weiter zu warten, drücken Sie 2."
        }
        Language::En => {
            "All our operators are busy. To be called back at this number, press 1. To keep waiting, press 2."
        }
    }
}

pub fn callback_confirmed(l: Language) -> &'static str {
    match l {
        Language::Fr => "C'est noté. Un opérateur vous rappellera. Au revoir.",
        Language::Nl => "Genoteerd. Een operator belt u terug. Tot ziens.",
        Language::De => "Notiert. Ein Mitarbeiter ruft Sie zurück. Auf Wiederhören.",
        Language::En => "Noted. An operator will call you back. Goodbye.",
    }
}

pub fn transferring(l: Language) -> &'static str {
    match l {
        Language::Fr => "Nous vous transférons. Restez en ligne.",
        Language::Nl => "We verbinden u door. Blijf aan de lijn.",
        Language::De => "Wir verbinden Sie weiter. Bitte bleiben Sie dran.",
        Language::En => "We are transferring you. Please stay on the line.",
    }
}

/// The topics operators file calls under (plus free tags), with their labels
/// in French, Dutch, German and English. Keys are stored; labels are shown.
pub const TOPICS: &[(&str, [&str; 4])] = &[
    (
        "instructions",
        [
            "Consignes de sécurité",
            "Veiligheidsinstructies",
            "Sicherheitshinweise",
            "Safety instructions",
        ],
    ),
    (
        "health",
        [
            "Santé, symptômes",
            "Gezondheid, symptomen",
            "Gesundheit, Symptome",
            "Health, symptoms",
        ],
    ),
    (
        "evacuation",
        ["Évacuation", "Evacuatie", "Evakuierung", "Evacuation"],
    ),
    (
        "shelter",
        [
            "Accueil, hébergement",
            "Opvang, onderdak",
            "Unterkunft",
            "Shelter",
        ],
    ),
    (
        "traffic",
        [
            "Routes, transports",
            "Wegen, vervoer",
            "Straßen, Verkehr",
            "Roads, transport",
        ],
    ),
    (
        "schools",
        [
            "Écoles, enfants",
            "Scholen, kinderen",
            "Schulen, Kinder",
            "Schools, children",
        ],
    ),
    (
        "water_food",
        [
            "Eau, alimentation",
            "Water, voeding",
            "Wasser, Lebensmittel",
            "Water, food",
        ],
    ),
    ("animals", ["Animaux", "Dieren", "Tiere", "Animals"]),
    (
        "relative",
        [
            "Recherche d'un proche",
            "Een naaste zoeken",
            "Suche nach Angehörigen",
            "Looking for a relative",
        ],
    ),
    (
        "help_offer",
        [
            "Offre d'aide, dons",
            "Hulpaanbod, giften",
            "Hilfsangebote, Spenden",
            "Offers of help, donations",
        ],
    ),
    (
        "rumour",
        [
            "Rumeur, fausse information",
            "Gerucht, valse informatie",
            "Gerücht, Falschmeldung",
            "Rumour, false information",
        ],
    ),
    ("other", ["Autre", "Andere", "Sonstiges", "Other"]),
];

/// The label of a topic key in `l`; `None` for a key not in the taxonomy.
pub fn topic_label(key: &str, l: Language) -> Option<&'static str> {
    let i = match l {
        Language::Fr => 0,
        Language::Nl => 1,
        Language::De => 2,
        Language::En => 3,
    };
    TOPICS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, labels)| labels[i])
}

/// A setting that cannot work, found when the configuration is saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("at least one language is needed")]
    NoLanguage,
    #[error("language {0} is listed twice")]
    DuplicateLanguage(&'static str),
    #[error("the {what} is missing in {language}")]
    MissingText {
        what: &'static str,
        language: &'static str,
    },
    #[error("the {what} in {language} is longer than {max} characters")]
    TextTooLong {
        what: &'static str,
        language: &'static str,
        max: usize,
    },
    #[error("the menu needs at least the information line")]
    NoInformationLine,
    #[error("menu key {0:?} is not a digit from 0 to 9")]
    BadDigit(char),
    #[error("menu key {0} is used twice")]
    DuplicateDigit(char),
    #[error("the {0} line is in the menu twice")]
    DuplicateLine(&'static str),
    #[error("{what} must be between {min} and {max}")]
    OutOfRange {
        what: &'static str,
        min: u64,
        max: u64,
    },
}

impl ConfigError {
    /// The key of the message in the console's translations.
    pub fn key(&self) -> &'static str {
        match self {
            ConfigError::NoLanguage => "no_language",
            ConfigError::DuplicateLanguage(_) => "duplicate_language",
            ConfigError::MissingText { .. } => "missing_text",
            ConfigError::TextTooLong { .. } => "text_too_long",
            ConfigError::NoInformationLine => "no_information_line",
            ConfigError::BadDigit(_) => "bad_digit",
            ConfigError::DuplicateDigit(_) => "duplicate_digit",
            ConfigError::DuplicateLine(_) => "duplicate_line",
            ConfigError::OutOfRange { .. } => "out_of_range",
        }
    }
}

const MAX_TEXT: usize = 600;

impl HotlineConfig {
    /// Every problem would be met by a caller or an operator later: refuse it now.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.languages.is_empty() {
            return Err(ConfigError::NoLanguage);
        }
        for (i, l) in self.languages.iter().enumerate() {
            if self.languages[..i].contains(l) {
                return Err(ConfigError::DuplicateLanguage(l.code()));
            }
        }
        for (what, texts) in [
            ("greeting", &self.greeting),
            ("holding message", &self.holding_message),
            ("closing message", &self.closing_message),
        ] {
            for l in &self.languages {
                let text = texts.get(l).map(|t| t.trim()).unwrap_or_default();
                if text.is_empty() {
                    return Err(ConfigError::MissingText {
                        what,
                        language: l.code(),
                    });
                }
                if text.chars().count() > MAX_TEXT {
                    return Err(ConfigError::TextTooLong {
                        what,
                        language: l.code(),
                        max: MAX_TEXT,
                    });
                }
            }
        }
        if !self.menu.iter().any(|o| o.line == Line::Information) {
            return Err(ConfigError::NoInformationLine);
        }
        for (i, o) in self.menu.iter().enumerate() {
            if !o.digit.is_ascii_digit() {
                return Err(ConfigError::BadDigit(o.digit));
            }
            if self.menu[..i].iter().any(|p| p.digit == o.digit) {
                return Err(ConfigError::DuplicateDigit(o.digit));
            }
            if self.menu[..i].iter().any(|p| p.line == o.line) {
                return Err(ConfigError::DuplicateLine(o.line.as_str()));
            }
        }
        let range = |what, v: u64, min, max| {
            if (min..=max).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange { what, min, max })
            }
        };
        range("the staffing target", self.staffing_target.into(), 1, 2000)?;
        range(
            "the announcement interval (s)",
            self.announce_every_s.into(),
            10,
            600,
        )?;
        range(
            "the operators awaited before queueing",
            self.holding_until.into(),
            0,
            2000,
        )?;
        let a = &self.acd;
        range("the wrap-up time (ms)", a.wrap_up_ms, 0, 600_000)?;
        range("the keep-your-place time (ms)", a.keep_place_ms, 0, 900_000)?;
        range("the offer timeout (ms)", a.offer_timeout_ms, 5_000, 120_000)?;
        range(
            "the warm transfer timeout (ms)",
            a.warm_transfer_timeout_ms,
            10_000,
            600_000,
        )?;
        range(
            "the missed offers before a break",
            a.max_missed_offers.into(),
            0,
            20,
        )?;
        range(
            "the expected handling time (ms)",
            a.expected_handle_ms,
            10_000,
            3_600_000,
        )?;
        for line in Line::ALL {
            let p = a.policy(line);
            range("the overflow time (ms)", p.overflow_after_ms, 0, 3_600_000)?;
            if p.max_wait_ms != 0 {
                range("the maximum wait (ms)", p.max_wait_ms, 30_000, 7_200_000)?;
            }
            range(
                "the line priority",
                (p.priority + 1000).max(0) as u64,
                0,
                2000,
            )?;
        }
        Ok(())
    }

    /// The line a menu key leads to.
    pub fn line_for(&self, digit: char) -> Option<Line> {
        self.menu.iter().find(|o| o.digit == digit).map(|o| o.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_is_valid_and_offers_the_three_lines() {
        let c = HotlineConfig::default();
        c.validate().unwrap();
        assert_eq!(c.line_for('1'), Some(Line::Information));
        assert_eq!(c.line_for('2'), Some(Line::Relatives));
        assert_eq!(c.line_for('3'), Some(Line::Psychosocial));
        assert_eq!(c.line_for('4'), None);
        assert!(menu_prompt(&c, Language::Nl).contains("druk 2"));
    }

    #[test]
    fn broken_configurations_are_refused_with_the_reason() {
        let bad = |f: fn(&mut HotlineConfig)| {
            let mut c = HotlineConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert_eq!(bad(|c| c.languages.clear()), ConfigError::NoLanguage);
        assert_eq!(
            bad(|c| c.languages.push(Language::Fr)),
            ConfigError::DuplicateLanguage("fr")
        );
        assert_eq!(
            bad(|c| {
                c.languages.push(Language::De);
                c.greeting.remove(&Language::De);
            }),
            ConfigError::MissingText {
                what: "greeting",
                language: "de"
            }
        );
        assert_eq!(
            bad(|c| {
                c.closing_message.insert(Language::Nl, "  ".into());
            }),
            ConfigError::MissingText {
                what: "closing message",
                language: "nl"
            }
        );
        assert!(matches!(
            bad(|c| {
                c.greeting.insert(Language::Fr, "x".repeat(601));
            }),
            ConfigError::TextTooLong { .. }
        ));
        assert_eq!(
            bad(|c| c.menu.retain(|o| o.line != Line::Information)),
            ConfigError::NoInformationLine
        );
        assert_eq!(bad(|c| c.menu[1].digit = '*'), ConfigError::BadDigit('*'));
        assert_eq!(
            bad(|c| c.menu[2].digit = '1'),
            ConfigError::DuplicateDigit('1')
        );
        assert_eq!(
            bad(|c| c.menu[2].line = Line::Relatives),
            ConfigError::DuplicateLine("relatives")
        );
        assert!(matches!(
            bad(|c| c.staffing_target = 0),
            ConfigError::OutOfRange { .. }
        ));
        assert!(matches!(
            bad(|c| c.acd.offer_timeout_ms = 10),
            ConfigError::OutOfRange { .. }
        ));
        assert!(matches!(
            bad(|c| c.acd.relatives.max_wait_ms = 1_000),
            ConfigError::OutOfRange { .. }
        ));
        // No maximum wait at all is allowed.
        let mut c = HotlineConfig::default();
        c.acd.information.max_wait_ms = 0;
        c.validate().unwrap();
    }

    #[test]
    fn a_stored_configuration_reads_back_and_missing_fields_take_defaults() {
        let c = HotlineConfig::default();
        let json = serde_json::to_string(&c).unwrap();
        let back: HotlineConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        let partial: HotlineConfig =
            serde_json::from_str(r#"{"languages":["de"],"staffing_target":8}"#).unwrap();
        assert_eq!(partial.languages, vec![Language::De]);
        assert_eq!(partial.staffing_target, 8);
        partial.validate().unwrap();
    }

    #[test]
    fn every_topic_has_a_distinct_key_and_four_labels() {
        for (i, (key, labels)) in TOPICS.iter().enumerate() {
            assert!(TOPICS[..i].iter().all(|(k, _)| k != key), "{key} twice");
            assert!(labels.iter().all(|l| !l.is_empty()));
        }
        assert_eq!(
            topic_label("health", Language::Nl),
            Some("Gezondheid, symptomen")
        );
        assert_eq!(topic_label("nonsense", Language::Fr), None);
    }

    #[test]
    fn announcements_round_the_wait_up_to_whole_minutes() {
        assert!(place_announcement(Language::En, 3, Some(61)).contains("about 2 minutes"));
        assert!(place_announcement(Language::Fr, 1, Some(5)).contains("environ 1 minute."));
        assert!(!place_announcement(Language::De, 2, None).contains("Minuten"));
    }
}
