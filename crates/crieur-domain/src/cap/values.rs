//! CAP's simple values: the coded enumerations, its date-time form and language
//! tags. Each is checked once, when built, exactly as the CAP 1.2 XSD would.

use crate::Language;
use std::fmt;
use std::str::FromStr;

/// A value outside one of CAP's closed code lists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a CAP {element} value: expected one of {}", .expected.join(", "))]
pub struct UnknownCode {
    /// The CAP element the list belongs to, e.g. `msgType`.
    pub element: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

/// Declares a CAP code list: the enum, `ALL`, `as_str`, `Display` and a `FromStr`
/// that is exact and case-sensitive, because the XSD enumerations are.
macro_rules! cap_code {
    ($(#[$doc:meta])* $name:ident, $element:literal, { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const TEXTS: &'static [&'static str] = &[$($text),+];

            /// The value as written in CAP XML.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownCode;
            fn from_str(s: &str) -> Result<Self, UnknownCode> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownCode {
                        element: $element,
                        value: s.to_owned(),
                        expected: $name::TEXTS,
                    }),
                }
            }
        }
    };
}

cap_code!(
    /// `status`: how the message is to be handled. Only `Actual` reaches the public.
    Status, "status", {
        Actual = "Actual",
        Exercise = "Exercise",
        System = "System",
        Test = "Test",
        Draft = "Draft",
    }
);

cap_code!(
    /// `msgType`: the nature of the message; all but `Alert` refer to earlier ones.
    MsgType, "msgType", {
        Alert = "Alert",
        Update = "Update",
        Cancel = "Cancel",
        Ack = "Ack",
        Error = "Error",
    }
);

cap_code!(
    /// `scope`: who may see the message.
    Scope, "scope", {
        Public = "Public",
        Restricted = "Restricted",
        Private = "Private",
    }
);

cap_code!(
    /// `category`: the kind of event.
    Category, "category", {
        Geo = "Geo",
        Met = "Met",
        Safety = "Safety",
        Security = "Security",
        Rescue = "Rescue",
        Fire = "Fire",
        Health = "Health",
        Env = "Env",
        Transport = "Transport",
        Infra = "Infra",
        Cbrne = "CBRNE",
        Other = "Other",
    }
);

cap_code!(
    /// `responseType`: the action recommended to the audience.
    ResponseType, "responseType", {
        Shelter = "Shelter",
        Evacuate = "Evacuate",
        Prepare = "Prepare",
        Execute = "Execute",
        Avoid = "Avoid",
        Monitor = "Monitor",
        Assess = "Assess",
        AllClear = "AllClear",
        None = "None",
    }
);

cap_code!(
    /// `urgency`: how soon to act.
    Urgency, "urgency", {
        Immediate = "Immediate",
        Expected = "Expected",
        Future = "Future",
        Past = "Past",
        Unknown = "Unknown",
    }
);

cap_code!(
    /// `severity`: how bad it is.
    Severity, "severity", {
        Extreme = "Extreme",
        Severe = "Severe",
        Moderate = "Moderate",
        Minor = "Minor",
        Unknown = "Unknown",
    }
);

cap_code!(
    /// `certainty`: how sure the sender is.
    Certainty, "certainty", {
        Observed = "Observed",
        Likely = "Likely",
        Possible = "Possible",
        Unlikely = "Unlikely",
        Unknown = "Unknown",
    }
);

/// A CAP date and time, `2026-11-29T10:15:00+01:00`: whole seconds and a numeric
/// offset. CAP forbids `Z` (UTC is `-00:00` or `+00:00`) and fractional seconds.
///
/// Built from text only; a caller holding a `jiff` timestamp formats it with
/// `%Y-%m-%dT%H:%M:%S%:z` and parses the result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateTime(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a CAP date-time ({reason}): expected e.g. 2026-11-29T10:15:00+01:00")]
pub struct InvalidDateTime {
    pub value: String,
    pub reason: &'static str,
}

impl DateTime {
    pub fn parse(s: &str) -> Result<DateTime, InvalidDateTime> {
        let fail = |reason| InvalidDateTime {
            value: s.to_owned(),
            reason,
        };
        let b = s.as_bytes();
        if s.ends_with('Z') || s.ends_with('z') {
            return Err(fail("CAP forbids the Z time zone"));
        }
        if b.len() > 19 && b[19] == b'.' {
            return Err(fail("CAP forbids fractional seconds"));
        }
        // YYYY-MM-DDThh:mm:ss±hh:mm, every position fixed.
        let shape_ok = b.len() == 25
            && b.iter().enumerate().all(|(i, &c)| match i {
                4 | 7 => c == b'-',
                10 => c == b'T',
                13 | 16 | 22 => c == b':',
                19 => c == b'+' || c == b'-',
                _ => c.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(fail("wrong shape"));
        }
        let n = |from: usize, to: usize| -> u32 {
            b[from..to]
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let (year, month, day) = (n(0, 4), n(5, 7), n(8, 10));
        let (hour, minute, second) = (n(11, 13), n(14, 16), n(17, 19));
        let (oh, om) = (n(20, 22), n(23, 25));
        if year == 0 {
            return Err(fail("year 0000 does not exist"));
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(fail("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(fail("no such time"));
        }
        if om > 59 || oh > 14 || (oh == 14 && om > 0) {
            return Err(fail("offset outside -14:00..+14:00"));
        }
        Ok(DateTime(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seconds since 1970-01-01T00:00:00 UTC, so that instants written with
    /// different offsets can be compared (the text alone cannot).
    pub fn unix_seconds(&self) -> i64 {
        let b = self.0.as_bytes();
        let n = |from: usize, to: usize| -> i64 {
            b[from..to]
                .iter()
                .fold(0, |acc, d| acc * 10 + i64::from(d - b'0'))
        };
        let days = days_from_civil(n(0, 4), n(5, 7), n(8, 10));
        let local = days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19);
        let offset = (n(20, 22) * 3600 + n(23, 25) * 60) * if b[19] == b'-' { -1 } else { 1 };
        local - offset
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl FromStr for DateTime {
    type Err = InvalidDateTime;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse(s)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An `info/language` value: an RFC 3066 tag as the XSD's `xs:language` accepts it
/// (`fr`, `nl-BE`, `en-US`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

/// The language CAP assumes when `info/language` is absent.
pub const DEFAULT_LANGUAGE: &str = "en-US";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a language tag: expected e.g. fr, nl-BE or en-US")]
pub struct InvalidLanguageTag(pub String);

impl LanguageTag {
    pub fn parse(s: &str) -> Result<LanguageTag, InvalidLanguageTag> {
        // xs:language is [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*
        let ok = s.split('-').enumerate().all(|(i, part)| {
            (1..=8).contains(&part.len())
                && part.bytes().all(|c| {
                    if i == 0 {
                        c.is_ascii_alphabetic()
                    } else {
                        c.is_ascii_alphanumeric()
                    }
                })
        });
        if ok {
            Ok(LanguageTag(s.to_owned()))
        } else {
            Err(InvalidLanguageTag(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Crieur language of the tag's primary subtag, if it is one we speak.
    pub fn language(&self) -> Option<Language> {
        self.0.split('-').next()?.parse().ok()
    }
}

impl From<Language> for LanguageTag {
    fn from(l: Language) -> LanguageTag {
        LanguageTag(l.code().to_owned())
    }
}

impl FromStr for LanguageTag {
    type Err = InvalidLanguageTag;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LanguageTag::parse(s)
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads an `xs:decimal` (`-12.5`, `300`): no exponent, no `NaN` or `inf`, which
/// `f64::from_str` would accept and the XSD refuses.
pub(super) fn parse_decimal(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.bytes().all(|c| c.is_ascii_digit());
    if ok { s.parse().ok() } else { None }
}
