//! The relatives line's records, as far as they are rules: how an inquiry grades
//! a sought person's involvement, who the caller is to them, and how a list of
//! casualties, hospital admissions, evacuees or "I am safe" reports is read from
//! the CSV or JSON file a hospital or a shelter sends.
//!
//! A list is taken whole or refused whole: the first bad row is named (row,
//! field, problem) and nothing of the file is kept. Pure: no I/O, no clock.

use crate::matching::{ListKind, PartialDate, Sex};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The largest list file accepted.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;
/// The most people one list may hold.
pub const MAX_LIST_ROWS: usize = 100_000;
/// The longest a name, place or free-text field of a list entry may be.
pub const MAX_FIELD_CHARS: usize = 200;

/// How likely the person sought is to be among the victims, as the operator
/// grades it from what the caller says (casualty bureaux grade inquiries so the
/// likeliest are matched and called back first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Involvement {
    /// Known to have been there (was at the scene, lives in the building…).
    Likely,
    /// Could have been there.
    Possible,
    /// Probably not there, but the caller has no news.
    Unlikely,
}

impl Involvement {
    pub const ALL: [Involvement; 3] = [
        Involvement::Likely,
        Involvement::Possible,
        Involvement::Unlikely,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Involvement::Likely => "likely",
            Involvement::Possible => "possible",
            Involvement::Unlikely => "unlikely",
        }
    }

    pub fn parse(s: &str) -> Option<Involvement> {
        Involvement::ALL
            .into_iter()
            .find(|i| i.as_str() == s.trim())
    }
}

/// Who the caller is to the person they seek.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Parent,
    Child,
    Partner,
    Sibling,
    OtherFamily,
    Friend,
    Colleague,
    Other,
}

impl Relationship {
    pub const ALL: [Relationship; 8] = [
        Relationship::Parent,
        Relationship::Child,
        Relationship::Partner,
        Relationship::Sibling,
        Relationship::OtherFamily,
        Relationship::Friend,
        Relationship::Colleague,
        Relationship::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Parent => "parent",
            Relationship::Child => "child",
            Relationship::Partner => "partner",
            Relationship::Sibling => "sibling",
            Relationship::OtherFamily => "other_family",
            Relationship::Friend => "friend",
            Relationship::Colleague => "colleague",
            Relationship::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Relationship> {
        Relationship::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
    }
}

/// The names used for list kinds in URLs, forms and files.
pub fn list_kind_key(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Casualty => "casualty",
        ListKind::HospitalAdmission => "hospital_admission",
        ListKind::Evacuee => "evacuee",
        ListKind::SafeSelfReport => "safe_self_report",
    }
}

pub const LIST_KINDS: [ListKind; 4] = [
    ListKind::Casualty,
    ListKind::HospitalAdmission,
    ListKind::Evacuee,
    ListKind::SafeSelfReport,
];

pub fn parse_list_kind(s: &str) -> Option<ListKind> {
    LIST_KINDS
        .into_iter()
        .find(|k| list_kind_key(*k) == s.trim())
}

pub fn sex_key(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::X => "x",
    }
}

/// A value that is not a date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a date of birth")]
pub struct NotABirthDate;

/// A value that is not a sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a sex (F, M or X)")]
pub struct UnknownSex;

/// Reads a sex as lists and forms write it, in the four languages: `F`/`M`/`X`,
/// `female`, `femme`/`homme` (`H`), `vrouw`/`man` (`V`), `weiblich`/`männlich`
/// (`W`). Empty is `Ok(None)`.
pub fn parse_sex(s: &str) -> Result<Option<Sex>, UnknownSex> {
    let s = s.trim().to_lowercase();
    Ok(Some(match s.as_str() {
        "" | "?" | "unknown" | "u" => return Ok(None),
        "f" | "female" | "femme" | "vrouw" | "v" | "w" | "weiblich" | "femmina" => Sex::Female,
        "m" | "male" | "h" | "homme" | "man" | "männlich" | "mannlich" => Sex::Male,
        "x" | "other" | "autre" | "ander" | "divers" => Sex::X,
        _ => return Err(UnknownSex),
    }))
}

/// Reads a date of birth as far as it is known: `1962`, `1962-05`, `1962-05-14`,
/// `14/05/1962`, `14.05.1962`, `14-05-1962` or `05/1962`. Empty is unknown.
/// Refuses impossible dates (month 13, 31 April, a year before 1880 or after 2100).
pub fn parse_birth(s: &str) -> Result<PartialDate, NotABirthDate> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(PartialDate::unknown());
    }
    let parts: Vec<&str> = s.split(['-', '/', '.']).map(str::trim).collect();
    let num = |p: &str| -> Result<u16, NotABirthDate> {
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NotABirthDate);
        }
        p.parse().map_err(|_| NotABirthDate)
    };
    let (year, month, day) = match parts.as_slice() {
        [y] if y.len() == 4 => (num(y)?, None, None),
        [y, m] if y.len() == 4 => (num(y)?, Some(num(m)?), None),
        [m, y] if y.len() == 4 => (num(y)?, Some(num(m)?), None),
        [y, m, d] if y.len() == 4 => (num(y)?, Some(num(m)?), Some(num(d)?)),
        [d, m, y] if y.len() == 4 => (num(y)?, Some(num(m)?), Some(num(d)?)),
        _ => return Err(NotABirthDate),
    };
    if !(1880..=2100).contains(&year) {
        return Err(NotABirthDate);
    }
    let month = match month {
        Some(m) if (1..=12).contains(&m) => Some(m as u8),
        Some(_) => return Err(NotABirthDate),
        None => None,
    };
    let day = match (day, month) {
        (Some(d), Some(m)) if d >= 1 && d <= u16::from(days_in_month(year, m)) => Some(d as u8),
        (Some(_), _) => return Err(NotABirthDate),
        (None, _) => None,
    };
    Ok(PartialDate {
        year: Some(year),
        month,
        day,
    })
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// A partial date as the forms and exports write it: `1962`, `1962-05` or
/// `1962-05-14`; empty when unknown.
pub fn format_birth(d: PartialDate) -> String {
    match (d.year, d.month, d.day) {
        (Some(y), Some(m), Some(day)) => format!("{y:04}-{m:02}-{day:02}"),
        (Some(y), Some(m), None) => format!("{y:04}-{m:02}"),
        (Some(y), None, _) => format!("{y:04}"),
        _ => String::new(),
    }
}

/// One person on an uploaded or hand-entered list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListPerson {
    pub given_names: String,
    pub family_names: String,
    pub birth: PartialDate,
    pub sex: Option<Sex>,
    pub nationality: Option<String>,
    pub phone: Option<String>,
    /// The hospital, shelter or place where the person is or was found.
    pub place: Option<String>,
    /// What the list says beyond identity (ward, condition code, shelter room).
    /// Shown only to trained staff, never put in a callback's wording.
    pub details: Option<String>,
}

/// The file formats a list may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Csv,
    Json,
}

impl ListFormat {
    /// From a file name's extension or a form's choice.
    pub fn guess(name: &str) -> Option<ListFormat> {
        let lower = name.trim().to_ascii_lowercase();
        if lower == "csv" || lower.ends_with(".csv") || lower.ends_with(".txt") {
            Some(ListFormat::Csv)
        } else if lower == "json" || lower.ends_with(".json") {
            Some(ListFormat::Json)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ListFormat::Csv => "csv",
            ListFormat::Json => "json",
        }
    }
}

/// What is wrong with a list file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("the file is larger than {MAX_LIST_BYTES} bytes")]
    TooLarge,
    #[error("the file holds more than {MAX_LIST_ROWS} people")]
    TooManyRows,
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error("the file cannot be read as {0}: {1}")]
    Unreadable(&'static str, String),
    #[error("no column holds family names (expected one of: family_names, last_name, nom, naam…)")]
    NoNameColumn,
    /// `row` counts from 1 for the first person (the header is not a row).
    #[error("row {row}, {field}: {problem}")]
    Row {
        row: usize,
        field: &'static str,
        problem: RowProblem,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("no name")]
    NoName,
    #[error("not a date of birth")]
    BadBirth,
    #[error("not a sex (F, M or X)")]
    BadSex,
    #[error("too long")]
    TooLong,
    #[error("control characters")]
    ControlCharacters,
}

impl ListError {
    /// The message key, for a translated message (`relatives.list_error.*`).
    pub fn key(&self) -> &'static str {
        match self {
            ListError::TooLarge => "relatives.list_error.too_large",
            ListError::TooManyRows => "relatives.list_error.too_many_rows",
            ListError::Empty => "relatives.list_error.empty",
            ListError::NotText => "relatives.list_error.not_text",
            ListError::Unreadable(..) => "relatives.list_error.unreadable",
            ListError::NoNameColumn => "relatives.list_error.no_name_column",
            ListError::Row { problem, .. } => match problem {
                RowProblem::NoName => "relatives.list_error.no_name",
                RowProblem::BadBirth => "relatives.list_error.bad_birth",
                RowProblem::BadSex => "relatives.list_error.bad_sex",
                RowProblem::TooLong => "relatives.list_error.too_long",
                RowProblem::ControlCharacters => "relatives.list_error.control",
            },
        }
    }
}

/// The fields a list may carry, each with the column names hospitals and
/// shelters use for it in the four languages (compared after folding case,
/// accents, spaces and punctuation).
const COLUMNS: [(&str, &[&str]); 8] = [
    (
        "given_names",
        &[
            "given_names",
            "given_name",
            "first_name",
            "first_names",
            "firstname",
            "forename",
            "prenom",
            "prenoms",
            "voornaam",
            "voornamen",
            "vorname",
            "vornamen",
        ],
    ),
    (
        "family_names",
        &[
            "family_names",
            "family_name",
            "last_name",
            "lastname",
            "surname",
            "name",
            "nom",
            "nom_de_famille",
            "naam",
            "achternaam",
            "familienaam",
            "nachname",
            "familienname",
        ],
    ),
    (
        "birth",
        &[
            "birth",
            "birth_date",
            "date_of_birth",
            "dob",
            "born",
            "birth_year",
            "date_de_naissance",
            "date_naissance",
            "naissance",
            "geboortedatum",
            "geboortejaar",
            "geburtsdatum",
            "geburtsjahr",
        ],
    ),
    ("sex", &["sex", "gender", "sexe", "geslacht", "geschlecht"]),
    (
        "nationality",
        &[
            "nationality",
            "nationalite",
            "nationaliteit",
            "nationalitat",
            "staatsangehorigkeit",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "telephone",
            "mobile",
            "gsm",
            "telefoon",
            "telefon",
            "handy",
        ],
    ),
    (
        "place",
        &[
            "place",
            "location",
            "hospital",
            "shelter",
            "lieu",
            "hopital",
            "centre_d_accueil",
            "plaats",
            "ziekenhuis",
            "opvang",
            "ort",
            "krankenhaus",
            "unterkunft",
        ],
    ),
    (
        "details",
        &[
            "details",
            "remarks",
            "notes",
            "comment",
            "remarques",
            "opmerkingen",
            "bemerkungen",
            "anmerkungen",
        ],
    ),
];

/// A column header folded for comparison: lowercase ASCII letters and digits,
/// every other run of characters one underscore, accents dropped.
fn fold_header(h: &str) -> String {
    let folded = crate::matching::fold(h);
    let mut out = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

fn field_of(header: &str) -> Option<&'static str> {
    let h = fold_header(header);
    COLUMNS
        .iter()
        .find(|(_, names)| names.contains(&h.as_str()))
        .map(|(field, _)| *field)
}

/// Reads a list file whole. Only the known columns are read; others are ignored.
pub fn parse_list(data: &[u8], format: ListFormat) -> Result<Vec<ListPerson>, ListError> {
    if data.len() > MAX_LIST_BYTES {
        return Err(ListError::TooLarge);
    }
    let text = std::str::from_utf8(data).map_err(|_| ListError::NotText)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ListError::Empty);
    }
    let rows = match format {
        ListFormat::Csv => csv_rows(text)?,
        ListFormat::Json => json_rows(text)?,
    };
    if rows.is_empty() {
        return Err(ListError::Empty);
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| person(i + 1, &row))
        .collect()
}

type Row = HashMap<&'static str, String>;

fn csv_rows(text: &str) -> Result<Vec<Row>, ListError> {
    // Spreadsheets set to Belgian regional settings write `;` between fields.
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ListError::Unreadable("CSV", e.to_string()))?
        .clone();
    let fields: Vec<Option<&'static str>> = headers.iter().map(field_of).collect();
    if !fields.contains(&Some("family_names")) {
        return Err(ListError::NoNameColumn);
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ListError::Unreadable("CSV", e.to_string()))?;
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_LIST_ROWS {
            return Err(ListError::TooManyRows);
        }
        let mut row = Row::new();
        for (value, field) in record.iter().zip(&fields) {
            if let Some(field) = field {
                row.entry(field).or_insert_with(|| value.to_owned());
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

fn json_rows(text: &str) -> Result<Vec<Row>, ListError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ListError::Unreadable("JSON", e.to_string()))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(mut o) => {
            match o.remove("entries").or_else(|| o.remove("people")) {
                Some(serde_json::Value::Array(items)) => items,
                _ => {
                    return Err(ListError::Unreadable(
                        "JSON",
                        "expected an array of people, or an object with \"entries\"".into(),
                    ));
                }
            }
        }
        _ => {
            return Err(ListError::Unreadable(
                "JSON",
                "expected an array of people".into(),
            ));
        }
    };
    if items.len() > MAX_LIST_ROWS {
        return Err(ListError::TooManyRows);
    }
    let mut rows = Vec::with_capacity(items.len());
    let mut has_names = false;
    for (i, item) in items.into_iter().enumerate() {
        let serde_json::Value::Object(object) = item else {
            return Err(ListError::Unreadable(
                "JSON",
                format!("item {} is not an object", i + 1),
            ));
        };
        let mut row = Row::new();
        for (key, value) in object {
            let Some(field) = field_of(&key) else {
                continue;
            };
            has_names |= field == "family_names";
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Null => String::new(),
                _ => {
                    return Err(ListError::Row {
                        row: i + 1,
                        field,
                        problem: RowProblem::TooLong,
                    });
                }
            };
            row.entry(field).or_insert(text);
        }
        rows.push(row);
    }
    if !has_names && !rows.is_empty() {
        return Err(ListError::NoNameColumn);
    }
    Ok(rows)
}

fn person(row: usize, r: &Row) -> Result<ListPerson, ListError> {
    let bad = |field: &'static str, problem: RowProblem| ListError::Row {
        row,
        field,
        problem,
    };
    let text = |field: &'static str| -> Result<Option<String>, ListError> {
        let value = r.get(field).map(|s| s.trim()).unwrap_or_default();
        if value.chars().count() > MAX_FIELD_CHARS {
            return Err(bad(field, RowProblem::TooLong));
        }
        if value.chars().any(char::is_control) {
            return Err(bad(field, RowProblem::ControlCharacters));
        }
        Ok((!value.is_empty()).then(|| value.to_owned()))
    };
    let family_names = text("family_names")?.unwrap_or_default();
    let given_names = text("given_names")?.unwrap_or_default();
    if family_names.is_empty() && given_names.is_empty() {
        return Err(bad("family_names", RowProblem::NoName));
    }
    let birth = parse_birth(&text("birth")?.unwrap_or_default())
        .map_err(|_| bad("birth", RowProblem::BadBirth))?;
    let sex =
        parse_sex(&text("sex")?.unwrap_or_default()).map_err(|_| bad("sex", RowProblem::BadSex))?;
    Ok(ListPerson {
        given_names,
        family_names,
        birth,
        sex,
        nationality: text("nationality")?,
        phone: text("phone")?,
        place: text("place")?,
        details: text("details")?,
    })
}

/// A cell for a CSV export that a spreadsheet will not run as a formula.
pub fn csv_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_in_the_forms_people_write_them() {
        assert_eq!(parse_birth("1962"), Ok(PartialDate::year(1962)));
        assert_eq!(parse_birth("1962-05"), Ok(PartialDate::year_month(1962, 5)));
        assert_eq!(parse_birth("05/1962"), Ok(PartialDate::year_month(1962, 5)));
        assert_eq!(
            parse_birth("14/05/1962"),
            Ok(PartialDate::full(1962, 5, 14))
        );
        assert_eq!(
            parse_birth("14.05.1962"),
            Ok(PartialDate::full(1962, 5, 14))
        );
        assert_eq!(
            parse_birth("1962-05-14"),
            Ok(PartialDate::full(1962, 5, 14))
        );
        assert_eq!(parse_birth(" "), Ok(PartialDate::unknown()));
        assert_eq!(
            parse_birth("29/02/2000"),
            Ok(PartialDate::full(2000, 2, 29))
        );
        for bad in [
            "31/04/1990",
            "29/02/1900",
            "1962-13",
            "1700",
            "62",
            "abc",
            "1/2/3/4",
            "12-1962-01",
        ] {
            assert_eq!(parse_birth(bad), Err(NotABirthDate), "{bad}");
        }
        assert_eq!(format_birth(PartialDate::year_month(1962, 5)), "1962-05");
        assert_eq!(format_birth(PartialDate::unknown()), "");
    }

    #[test]
    fn sexes_in_four_languages() {
        assert_eq!(parse_sex("V"), Ok(Some(Sex::Female)));
        assert_eq!(parse_sex("homme"), Ok(Some(Sex::Male)));
        assert_eq!(parse_sex("W"), Ok(Some(Sex::Female)));
        assert_eq!(parse_sex("x"), Ok(Some(Sex::X)));
        assert_eq!(parse_sex(""), Ok(None));
        assert_eq!(parse_sex("yes"), Err(UnknownSex));
    }

    #[test]
    fn a_belgian_hospital_csv_with_french_headers_and_semicolons() {
        let csv = "\u{feff}Nom;Prénom;Date de naissance;Sexe;Hôpital;Service\n\
                   Van den Broeck;Marie-Claire;14/05/1962;F;CHU Charleroi;Urgences\n\
                   ;;;;;\n\
                   Desmet;Pieter;1980;M;;\n";
        let people = parse_list(csv.as_bytes(), ListFormat::Csv).expect("read");
        assert_eq!(people.len(), 2, "the blank row is skipped");
        assert_eq!(people[0].family_names, "Van den Broeck");
        assert_eq!(people[0].given_names, "Marie-Claire");
        assert_eq!(people[0].birth, PartialDate::full(1962, 5, 14));
        assert_eq!(people[0].sex, Some(Sex::Female));
        assert_eq!(people[0].place.as_deref(), Some("CHU Charleroi"));
        assert_eq!(people[0].details, None, "\"Service\" is not a known column");
        assert_eq!(people[1].birth, PartialDate::year(1980));
        assert_eq!(people[1].place, None);
    }

    #[test]
    fn json_lists_as_an_array_or_under_entries() {
        let array = r#"[{"family_names": "Peeters", "given_names": "An", "birth": 1975, "phone": "0470 12 34 56"}]"#;
        let people = parse_list(array.as_bytes(), ListFormat::Json).expect("array");
        assert_eq!(people[0].birth, PartialDate::year(1975));
        assert_eq!(people[0].phone.as_deref(), Some("0470 12 34 56"));
        let object = r#"{"source": "Shelter Jumet", "entries": [{"nachname": "Müller", "vorname": "Jörg"}]}"#;
        let people = parse_list(object.as_bytes(), ListFormat::Json).expect("object");
        assert_eq!(people[0].family_names, "Müller");
        assert_eq!(people[0].given_names, "Jörg");
    }

    #[test]
    fn a_bad_row_refuses_the_whole_file_and_names_the_row() {
        let csv = "family_names,given_names,birth_date\nPeeters,An,1975\nJanssens,Tom,31/02/1990\n";
        assert_eq!(
            parse_list(csv.as_bytes(), ListFormat::Csv),
            Err(ListError::Row {
                row: 2,
                field: "birth",
                problem: RowProblem::BadBirth
            })
        );
        let no_name = "family_names,given_names\nPeeters,An\n,\n , \n\"\",\"\"\n";
        assert_eq!(
            parse_list(no_name.as_bytes(), ListFormat::Csv).map(|p| p.len()),
            Ok(1)
        );
        let nameless = r#"[{"family_names": "", "given_names": "", "birth": "1990"}]"#;
        assert!(matches!(
            parse_list(nameless.as_bytes(), ListFormat::Json),
            Err(ListError::Row {
                row: 1,
                problem: RowProblem::NoName,
                ..
            })
        ));
        let long = format!("family_names\n{}\n", "a".repeat(MAX_FIELD_CHARS + 1));
        assert!(matches!(
            parse_list(long.as_bytes(), ListFormat::Csv),
            Err(ListError::Row {
                problem: RowProblem::TooLong,
                ..
            })
        ));
    }

    #[test]
    fn files_that_are_not_lists_are_refused_with_a_reason() {
        assert_eq!(parse_list(b"", ListFormat::Csv), Err(ListError::Empty));
        assert_eq!(
            parse_list(&[0xff, 0xfe, 0x00], ListFormat::Csv),
            Err(ListError::NotText)
        );
        assert_eq!(
            parse_list(b"colour,size\nred,3\n", ListFormat::Csv),
            Err(ListError::NoNameColumn)
        );
        assert!(matches!(
            parse_list(b"{not json", ListFormat::Json),
            Err(ListError::Unreadable("JSON", _))
        ));
        assert!(matches!(
            parse_list(b"\"just a string\"", ListFormat::Json),
            Err(ListError::Unreadable("JSON", _))
        ));
        let big = vec![b'a'; MAX_LIST_BYTES + 1];
        assert_eq!(parse_list(&big, ListFormat::Csv), Err(ListError::TooLarge));
        let mut many = String::from("family_names\n");
        for i in 0..=MAX_LIST_ROWS {
            many.push_str(&format!("P{i}\n"));
        }
        assert_eq!(
            parse_list(many.as_bytes(), ListFormat::Csv),
            Err(ListError::TooManyRows)
        );
    }

    #[test]
    fn exported_cells_never_run_as_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+32470"), "'+32470");
        assert_eq!(csv_cell("Peeters"), "Peeters");
    }
}
