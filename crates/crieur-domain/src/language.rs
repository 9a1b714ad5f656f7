//! The four languages every citizen-facing text exists in.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A language Crieur speaks to the public. Belgium's three official languages plus
/// English for visitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Fr,
    Nl,
    De,
    En,
}

impl Language {
    pub const ALL: [Language; 4] = [Language::Fr, Language::Nl, Language::De, Language::En];

    /// The ISO 639-1 code, as used in URLs, cookies and CAP `language` fields.
    pub fn code(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::Nl => "nl",
            Language::De => "de",
            Language::En => "en",
        }
    }

    /// The language's own name for itself, as shown in a language switch.
    pub fn endonym(self) -> &'static str {
        match self {
            Language::Fr => "Français",
            Language::Nl => "Nederlands",
            Language::De => "Deutsch",
            Language::En => "English",
        }
    }

    /// Picks the best supported language from an HTTP `Accept-Language` value,
    /// honouring q-weights; `None` when nothing offered is supported.
    pub fn negotiate(accept_language: &str) -> Option<Language> {
        let mut best: Option<(Language, f32)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Ok(lang) = primary.parse::<Language>()
                && q > 0.0
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: expected one of fr, nl, de, en")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Ok(Language::Fr),
            "nl" => Ok(Language::Nl),
            "de" => Ok(Language::De),
            "en" => Ok(Language::En),
            _ => Err(UnknownLanguage(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_by_weight_and_ignores_unsupported() {
        assert_eq!(
            Language::negotiate("es-ES,es;q=0.9,nl-BE;q=0.8,fr;q=0.5"),
            Some(Language::Nl)
        );
        assert_eq!(Language::negotiate("de-BE"), Some(Language::De));
        assert_eq!(Language::negotiate("it, es"), None);
        assert_eq!(Language::negotiate("fr;q=0, en;q=0.1"), Some(Language::En));
        assert_eq!(Language::negotiate(""), None);
    }

    #[test]
    fn parses_codes_case_insensitively() {
        assert_eq!("NL".parse::<Language>(), Ok(Language::Nl));
        assert!("xx".parse::<Language>().is_err());
    }
}
