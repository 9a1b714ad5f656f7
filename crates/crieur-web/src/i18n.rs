//! The interface's words in fr, nl, de and en, and how a request's language is chosen.
//!
//! Texts live in `locales/*.toml`, embedded at build time. A test checks that every
//! language has every key the templates use.

use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use crieur_domain::Language;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::OnceLock;

/// The cookie remembering a visitor's language choice.
pub const LANG_COOKIE: &str = "crieur_lang";

const SOURCES: [(Language, &str); 4] = [
    (Language::Fr, include_str!("../locales/fr.toml")),
    (Language::Nl, include_str!("../locales/nl.toml")),
    (Language::De, include_str!("../locales/de.toml")),
    (Language::En, include_str!("../locales/en.toml")),
];

/// Every text, per language.
#[derive(Debug)]
pub struct Catalog {
    texts: HashMap<Language, HashMap<String, String>>,
}

impl Catalog {
    /// The catalog, parsed once.
    ///
    /// # Panics
    /// If an embedded locale file is not valid TOML: a build defect that the unit
    /// tests catch before release.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            let texts = SOURCES
                .iter()
                .map(|(lang, src)| {
                    let table: toml::Table = toml::from_str(src)
                        .unwrap_or_else(|e| panic!("locales/{lang}.toml is not valid TOML: {e}"));
                    let mut flat = HashMap::new();
                    flatten("", &table, &mut flat);
                    (*lang, flat)
                })
                .collect();
            Catalog { texts }
        })
    }

    /// The text for `key` in `lang`; the key itself (and a warning) when missing.
    pub fn text<'a>(&'a self, lang: Language, key: &'a str) -> &'a str {
        match self.texts.get(&lang).and_then(|t| t.get(key)) {
            Some(s) => s,
            None => {
                tracing::warn!(%lang, key, "missing translation");
                key
            }
        }
    }

    /// Keys defined for a language.
    pub fn keys(&self, lang: Language) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .texts
            .get(&lang)
            .map(|t| t.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

/// Translations bound to the request's language, handed to templates.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Language,
    catalog: &'static Catalog,
}

impl Tr {
    pub fn new(lang: Language) -> Tr {
        Tr {
            lang,
            catalog: Catalog::get(),
        }
    }

    /// The text for `key`.
    pub fn t<'k>(&self, key: &'k str) -> &'k str {
        self.catalog.text(self.lang, key)
    }

    /// The text for `key` with `{name}` placeholders filled.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }
}

/// The language of a request: `?lang=` first, then the remembered choice, then the
/// browser's `Accept-Language`, then the configured default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(pub Language);

impl FromRequestParts<AppState> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Lang(request_language(
            parts,
            state.settings.default_language,
        )))
    }
}

pub(crate) fn request_language(parts: &Parts, default: Language) -> Language {
    let from_query = parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| v.parse().ok())
    });
    let from_cookie = || {
        parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == LANG_COOKIE)
            .and_then(|(_, v)| v.parse().ok())
    };
    let from_browser = || {
        parts
            .headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Language::negotiate)
    };
    from_query
        .or_else(from_cookie)
        .or_else(from_browser)
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_the_same_non_empty_keys() {
        let c = Catalog::get();
        let reference = c.keys(Language::En);
        assert!(reference.len() > 20, "the English catalog looks truncated");
        for lang in Language::ALL {
            assert_eq!(c.keys(lang), reference, "{lang} differs from en");
            for k in &reference {
                assert!(!c.text(lang, k).trim().is_empty(), "{lang}: {k} is empty");
            }
        }
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let c = Catalog::get();
        let known = c.keys(Language::En);
        let roots = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src"),
        ];
        let mut used = Vec::new();
        for root in roots {
            collect_keys(std::path::Path::new(root), &mut used);
        }
        assert!(used.len() > 20, "found too few keys: {used:?}");
        for key in used {
            assert!(
                known.contains(&key.as_str()),
                "key {key:?} is used but not translated"
            );
        }
    }

    fn collect_keys(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                collect_keys(&path, out);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for marker in [
                ".t(\"",
                ".fmt(\"",
                "bad_request(\"",
                "not_found(\"",
                "\"error.",
            ] {
                for piece in text.split(marker).skip(1) {
                    if let Some(end) = piece.find('"') {
                        let key = &piece[..end];
                        if key.is_empty()
                            || !key
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                        {
                            continue;
                        }
                        let key = if marker == "\"error." {
                            format!("error.{key}")
                        } else {
                            key.to_owned()
                        };
                        let is_file = key.ends_with(".html") || key.ends_with(".csv");
                        if key.contains('.') && !is_file {
                            out.push(key);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let tr = Tr::new(Language::Fr);
        let s = tr.fmt("error.unknown_nis", &[("code", "99999")]);
        assert!(s.contains("99999"), "{s}");
        assert!(!s.contains("{code}"), "{s}");
    }
}
