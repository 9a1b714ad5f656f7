//! Matching for the relatives line: ranks list entries (casualties, hospital
//! admissions, evacuees, "I am safe" reports) against the person a caller seeks.
//!
//! It only ranks candidates and says why; it never decides that two records are the
//! same person. A trained operator does that. Pure: no I/O, no clock.

mod given_names;
mod index;
mod normalize;
mod reason;
mod score;
mod similarity;
pub mod synthetic;
#[cfg(test)]
mod tests;

pub use given_names::{VARIANT_GROUPS, variant_group};
pub use index::Index;
pub use normalize::{fold, normalize_phone, phonetic_key, spelling_key};
pub use reason::Reason;
pub use score::score;
pub use similarity::{damerau_levenshtein, jaro_winkler};

use serde::{Deserialize, Serialize};

/// A date of birth as far as it is known: a year, a year and month, or a full date.
/// Any part may be missing (a caller may only know "born in 1962").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartialDate {
    pub year: Option<u16>,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl PartialDate {
    pub fn full(year: u16, month: u8, day: u8) -> PartialDate {
        PartialDate {
            year: Some(year),
            month: Some(month),
            day: Some(day),
        }
    }

    pub fn year(year: u16) -> PartialDate {
        PartialDate {
            year: Some(year),
            ..PartialDate::default()
        }
    }

    pub fn year_month(year: u16, month: u8) -> PartialDate {
        PartialDate {
            year: Some(year),
            month: Some(month),
            day: None,
        }
    }

    pub fn unknown() -> PartialDate {
        PartialDate::default()
    }

    pub fn is_full(&self) -> bool {
        self.year.is_some() && self.month.is_some() && self.day.is_some()
    }
}

/// Sex as recorded on Belgian identity documents (M, F, X).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    X,
}

/// Which list an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Casualty,
    HospitalAdmission,
    Evacuee,
    /// "I am safe": a person who reported themselves.
    SafeSelfReport,
}

/// A list entry's identifier, unique within one incident's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub u64);

/// The person a caller is looking for, as the caller describes them. Names are free
/// text as spoken ("Jean-Pierre", "Van den Broeck"); anything may be empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonSought {
    pub given_names: String,
    pub family_names: String,
    pub birth: PartialDate,
    pub sex: Option<Sex>,
    /// ISO 3166-1 alpha-2 or free text; compared case-insensitively.
    pub nationality: Option<String>,
    /// E.164 (`+32470…`) or as dialled (`0470 12 34 56`, `0032…`).
    pub phone: Option<String>,
    /// Municipality or place last seen.
    pub last_place: Option<String>,
}

/// One person on a list, with the same identifying fields as [`PersonSought`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListEntry {
    pub id: EntryId,
    pub kind: ListKind,
    pub given_names: String,
    pub family_names: String,
    pub birth: PartialDate,
    pub sex: Option<Sex>,
    pub nationality: Option<String>,
    pub phone: Option<String>,
    pub last_place: Option<String>,
}

impl ListEntry {
    /// The entry's identifying fields seen as a person sought (for symmetric scoring).
    pub fn as_person(&self) -> PersonSought {
        PersonSought {
            given_names: self.given_names.clone(),
            family_names: self.family_names.clone(),
            birth: self.birth,
            sex: self.sex,
            nationality: self.nationality.clone(),
            phone: self.phone.clone(),
            last_place: self.last_place.clone(),
        }
    }
}

/// How well an entry fits the person sought: `score` in `0..=1` (higher is more
/// likely the same person; not a probability) and the evidence for and against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub score: f64,
    pub reasons: Vec<Reason>,
}
