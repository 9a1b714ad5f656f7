//! OASIS CAP 1.2, the Common Alerting Protocol: the model of an alert message, the
//! XML Crieur sends to other systems, and a reader for the messages they send us.
//!
//! Names, coded values and element order follow the standard and its XSD exactly,
//! so that any CAP consumer accepts what we write. Imported messages are untrusted:
//! the reader must never fetch anything, expand entities, or accept a DOCTYPE.

mod geometry;
mod read;
mod tree;
mod validate;
mod values;
mod write;

#[cfg(test)]
mod tests;

pub use geometry::{Circle, GeometryError, Polygon};
pub use validate::validate;
pub use values::{
    Category, Certainty, DEFAULT_LANGUAGE, DateTime, InvalidDateTime, InvalidLanguageTag,
    LanguageTag, MsgType, ResponseType, Scope, Severity, Status, UnknownCode, Urgency,
};

use std::fmt;
use std::str::FromStr;

/// The XML namespace of CAP 1.2; a message in any other is not CAP 1.2.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// Imported messages larger than this are refused before parsing. Real warnings,
/// even with many areas and languages, stay well under 100 KiB.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// A CAP `alert`: one message, with zero or more `info` blocks (one per language).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub identifier: String,
    pub sender: String,
    pub sent: DateTime,
    pub status: Status,
    pub msg_type: MsgType,
    pub source: Option<String>,
    pub scope: Scope,
    /// Required when `scope` is `Restricted`.
    pub restriction: Option<String>,
    /// Required when `scope` is `Private`. Written space-separated, an address
    /// containing whitespace in double quotes.
    pub addresses: Vec<String>,
    pub codes: Vec<String>,
    pub note: Option<String>,
    /// The earlier messages an `Update`, `Cancel`, `Ack` or `Error` is about.
    pub references: Vec<Reference>,
    /// Written like `addresses`.
    pub incidents: Vec<String>,
    pub infos: Vec<Info>,
}

impl Alert {
    /// An alert with the required fields and nothing else.
    pub fn new(
        identifier: impl Into<String>,
        sender: impl Into<String>,
        sent: DateTime,
        status: Status,
        msg_type: MsgType,
        scope: Scope,
    ) -> Alert {
        Alert {
            identifier: identifier.into(),
            sender: sender.into(),
            sent,
            status,
            msg_type,
            source: None,
            scope,
            restriction: None,
            addresses: Vec::new(),
            codes: Vec::new(),
            note: None,
            references: Vec::new(),
            incidents: Vec::new(),
            infos: Vec::new(),
        }
    }

    /// The CAP 1.2 XML of the alert, with its XML declaration. It is valid against
    /// the OASIS XSD whenever [`validate`] finds no problem.
    pub fn to_xml(&self) -> String {
        write::to_xml(self)
    }

    /// Reads a CAP 1.2 message from another system. Refuses, before anything else,
    /// inputs over [`MAX_MESSAGE_BYTES`] and any DOCTYPE; then anything the XSD or
    /// [`validate`] would refuse, naming every problem found.
    pub fn from_xml(bytes: &[u8]) -> Result<Alert, CapError> {
        read::from_xml(bytes)
    }
}

/// A CAP `info` block: the alert's content in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// Absent means [`DEFAULT_LANGUAGE`].
    pub language: Option<LanguageTag>,
    /// At least one.
    pub categories: Vec<Category>,
    pub event: String,
    pub response_types: Vec<ResponseType>,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    pub audience: Option<String>,
    pub event_codes: Vec<ValueName>,
    pub effective: Option<DateTime>,
    pub onset: Option<DateTime>,
    pub expires: Option<DateTime>,
    pub sender_name: Option<String>,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    /// An absolute URI.
    pub web: Option<String>,
    pub contact: Option<String>,
    pub parameters: Vec<ValueName>,
    pub resources: Vec<Resource>,
    pub areas: Vec<Area>,
}

impl Info {
    /// An info block with the required fields and nothing else.
    pub fn new(
        category: Category,
        event: impl Into<String>,
        urgency: Urgency,
        severity: Severity,
        certainty: Certainty,
    ) -> Info {
        Info {
            language: None,
            categories: vec![category],
            event: event.into(),
            response_types: Vec::new(),
            urgency,
            severity,
            certainty,
            audience: None,
            event_codes: Vec::new(),
            effective: None,
            onset: None,
            expires: None,
            sender_name: None,
            headline: None,
            description: None,
            instruction: None,
            web: None,
            contact: None,
            parameters: Vec::new(),
            resources: Vec::new(),
            areas: Vec::new(),
        }
    }

    /// The language tag in force, CAP's default when none is given.
    pub fn language_tag(&self) -> &str {
        self.language
            .as_ref()
            .map_or(DEFAULT_LANGUAGE, LanguageTag::as_str)
    }
}

/// A CAP `resource`: a file that goes with the info (an image, an audio message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub resource_desc: String,
    pub mime_type: String,
    /// In bytes.
    pub size: Option<u64>,
    pub uri: Option<String>,
    /// The content itself, base64-encoded, for one-way links.
    pub deref_uri: Option<String>,
    /// SHA-1 of the content, in hexadecimal.
    pub digest: Option<String>,
}

/// A CAP `area`: where the info applies. Shapes and geocodes add up.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub area_desc: String,
    pub polygons: Vec<Polygon>,
    pub circles: Vec<Circle>,
    pub geocodes: Vec<ValueName>,
    /// In feet above mean sea level, as CAP specifies.
    pub altitude: Option<f64>,
    /// In feet; only with `altitude`.
    pub ceiling: Option<f64>,
}

impl Area {
    pub fn new(area_desc: impl Into<String>) -> Area {
        Area {
            area_desc: area_desc.into(),
            polygons: Vec::new(),
            circles: Vec::new(),
            geocodes: Vec::new(),
            altitude: None,
            ceiling: None,
        }
    }
}

/// A `valueName`/`value` pair, the form of `eventCode`, `parameter` and `geocode`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueName {
    pub value_name: String,
    pub value: String,
}

impl ValueName {
    pub fn new(value_name: impl Into<String>, value: impl Into<String>) -> ValueName {
        ValueName {
            value_name: value_name.into(),
            value: value.into(),
        }
    }
}

/// One entry of `references`: `sender,identifier,sent` of an earlier message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    pub sent: DateTime,
}

impl Reference {
    /// The reference an update or cancellation of `alert` carries.
    pub fn to(alert: &Alert) -> Reference {
        Reference {
            sender: alert.sender.clone(),
            identifier: alert.identifier.clone(),
            sent: alert.sent.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a CAP reference: expected sender,identifier,sent")]
pub struct InvalidReference(pub String);

impl FromStr for Reference {
    type Err = InvalidReference;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Neither sender nor identifier may contain a comma, so the split is exact.
        let mut parts = s.split(',');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(sender), Some(identifier), Some(sent), None)
                if !sender.is_empty() && !identifier.is_empty() =>
            {
                Ok(Reference {
                    sender: sender.to_owned(),
                    identifier: identifier.to_owned(),
                    sent: sent.parse().map_err(|_| InvalidReference(s.to_owned()))?,
                })
            }
            _ => Err(InvalidReference(s.to_owned())),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{}", self.sender, self.identifier, self.sent)
    }
}

/// One thing wrong with a message: where (`alert/info[1]/certainty`, positions
/// counted from 1 as in XPath) and what, phrased to follow the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapProblem {
    pub path: String,
    pub message: String,
}

impl CapProblem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> CapProblem {
        CapProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for CapProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path, self.message)
    }
}

/// Why an imported message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapError {
    #[error("the message is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "the message contains a DOCTYPE, refused: CAP needs none, and one can declare \
         entities that read local files or expand exponentially"
    )]
    Doctype,
    #[error("not well-formed XML at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}", not_cap_message(.element, .namespace.as_deref()))]
    NotCap {
        element: String,
        namespace: Option<String>,
    },
    #[error("invalid CAP 1.2 message: {}", join_problems(.0))]
    Invalid(Vec<CapProblem>),
}

fn not_cap_message(element: &str, namespace: Option<&str>) -> String {
    let found = match namespace {
        Some(ns) => format!("<{element}> in namespace {ns}"),
        None => format!("<{element}> without a namespace"),
    };
    format!("not a CAP 1.2 message: the root is {found}, expected <alert> in namespace {NAMESPACE}")
}

fn join_problems(problems: &[CapProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
