//! Statbel NIS / REFNIS codes, the identifiers of Belgian territorial units.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A five-digit NIS (REFNIS) code, e.g. `62063` for Liège.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NisCode([u8; 5]);

impl NisCode {
    /// The code of the Kingdom of Belgium, the root of every jurisdiction.
    pub const BELGIUM: NisCode = NisCode(*b"01000");

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("00000")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a NIS code: expected five digits, e.g. 62063")]
pub struct InvalidNisCode(pub String);

impl FromStr for NisCode {
    type Err = InvalidNisCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bytes: [u8; 5] = t
            .as_bytes()
            .try_into()
            .map_err(|_| InvalidNisCode(s.to_owned()))?;
        if bytes.iter().all(u8::is_ascii_digit) {
            Ok(NisCode(bytes))
        } else {
            Err(InvalidNisCode(s.to_owned()))
        }
    }
}

impl TryFrom<String> for NisCode {
    type Error = InvalidNisCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<NisCode> for String {
    fn from(c: NisCode) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for NisCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level of a territorial unit. Brussels-Capital sits at province level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Country,
    Region,
    Province,
    Municipality,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Country => "country",
            Level::Region => "region",
            Level::Province => "province",
            Level::Municipality => "municipality",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level {0:?}: expected country, region, province or municipality")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "country" => Ok(Level::Country),
            "region" => Ok(Level::Region),
            "province" => Ok(Level::Province),
            "municipality" => Ok(Level::Municipality),
            _ => Err(UnknownLevel(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_five_digits_only() {
        assert_eq!(
            "62063".parse::<NisCode>().map(|c| c.to_string()),
            Ok("62063".into())
        );
        assert!("6206".parse::<NisCode>().is_err());
        assert!("62O63".parse::<NisCode>().is_err());
        assert!("620630".parse::<NisCode>().is_err());
        assert!("６２０６３".parse::<NisCode>().is_err());
    }
}
