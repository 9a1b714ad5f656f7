//! Why an entry was ranked where it was, in words for the operator:
//! each reason has a stable key (for translation files and the store) and a text in
//! the four languages.

use crate::Language;
use serde::{Deserialize, Serialize};

/// One piece of evidence for or against an entry being the person sought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// Identical once case, accents and punctuation are set aside.
    FamilyNameMatches,
    /// Same after folding Dutch/French spelling variants (ij/y, ae/a, ck/k…).
    FamilyNameSpellingVariant {
        sought: String,
        entry: String,
    },
    /// Same once particles are glued or dropped (De Smet / Desmet).
    FamilyNameParticles {
        sought: String,
        entry: String,
    },
    /// Sounds alike (same phonetic key).
    FamilyNameSoundsAlike {
        sought: String,
        entry: String,
    },
    /// Close spelling: probably a typing or hearing error.
    FamilyNameTypo {
        sought: String,
        entry: String,
    },
    FamilyNameDiffers,
    GivenNameMatches,
    GivenNameSpellingVariant {
        sought: String,
        entry: String,
    },
    /// Same name in another language, or a diminutive (Jan ~ Jean).
    GivenNameVariant {
        sought: String,
        entry: String,
    },
    GivenNameTypo {
        sought: String,
        entry: String,
    },
    /// Only an initial on one side, and it agrees.
    GivenNameInitial,
    GivenNameDiffers,
    /// One side has more given names than the other (a middle name left out).
    MiddleNameMissing,
    /// Given and family names are the other way round.
    NamesSwapped,
    BirthDateMatches,
    /// Year and month agree; the day is missing on one side.
    BirthYearMonthMatch,
    /// The year agrees; month or day missing on one side.
    BirthYearMatches,
    /// Day and month inverted (03/05 vs 05/03), same year.
    BirthDayMonthSwapped,
    /// Years one apart, nothing else known to conflict.
    BirthYearClose,
    /// Full dates that disagree, or years two or more apart.
    BirthDatesConflict,
    SamePhone,
    SexConflicts,
    NationalityMatches,
    NationalityDiffers,
    SamePlace,
}

impl Reason {
    /// A stable key for translation files and storage.
    pub fn key(&self) -> &'static str {
        match self {
            Reason::FamilyNameMatches => "family_name_matches",
            Reason::FamilyNameSpellingVariant { .. } => "family_name_spelling_variant",
            Reason::FamilyNameParticles { .. } => "family_name_particles",
            Reason::FamilyNameSoundsAlike { .. } => "family_name_sounds_alike",
            Reason::FamilyNameTypo { .. } => "family_name_typo",
            Reason::FamilyNameDiffers => "family_name_differs",
            Reason::GivenNameMatches => "given_name_matches",
            Reason::GivenNameSpellingVariant { .. } => "given_name_spelling_variant",
            Reason::GivenNameVariant { .. } => "given_name_variant",
            Reason::GivenNameTypo { .. } => "given_name_typo",
            Reason::GivenNameInitial => "given_name_initial",
            Reason::GivenNameDiffers => "given_name_differs",
            Reason::MiddleNameMissing => "middle_name_missing",
            Reason::NamesSwapped => "names_swapped",
            Reason::BirthDateMatches => "birth_date_matches",
            Reason::BirthYearMonthMatch => "birth_year_month_match",
            Reason::BirthYearMatches => "birth_year_matches",
            Reason::BirthDayMonthSwapped => "birth_day_month_swapped",
            Reason::BirthYearClose => "birth_year_close",
            Reason::BirthDatesConflict => "birth_dates_conflict",
            Reason::SamePhone => "same_phone",
            Reason::SexConflicts => "sex_conflicts",
            Reason::NationalityMatches => "nationality_matches",
            Reason::NationalityDiffers => "nationality_differs",
            Reason::SamePlace => "same_place",
        }
    }

    /// Evidence against the entry being the person sought.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Reason::FamilyNameDiffers
                | Reason::GivenNameDiffers
                | Reason::BirthDatesConflict
                | Reason::SexConflicts
                | Reason::NationalityDiffers
        )
    }

    /// The reason in words, for the operator's screen.
    pub fn text(&self, language: Language) -> String {
        use Language::{De, En, Fr, Nl};
        let pair = |s: &str, e: &str| format!("{s} ~ {e}");
        match (self, language) {
            (Reason::FamilyNameMatches, Fr) => {
                "le nom de famille correspond (après normalisation)".into()
            }
            (Reason::FamilyNameMatches, Nl) => "familienaam komt overeen (na normalisatie)".into(),
            (Reason::FamilyNameMatches, De) => {
                "Familienname stimmt überein (nach Normalisierung)".into()
            }
            (Reason::FamilyNameMatches, En) => "family name matches after normalisation".into(),
            (Reason::FamilyNameSpellingVariant { sought, entry }, l) => {
                format!(
                    "{} ({})",
                    pick(
                        l,
                        "nom de famille : variante orthographique",
                        "familienaam: spellingvariant",
                        "Familienname: Schreibvariante",
                        "family name is a spelling variant"
                    ),
                    pair(sought, entry)
                )
            }
            (Reason::FamilyNameParticles { sought, entry }, l) => {
                format!(
                    "{} ({})",
                    pick(
                        l,
                        "nom de famille : particule collée ou omise",
                        "familienaam: tussenvoegsel aaneen of weggelaten",
                        "Familienname: Namenszusatz zusammen oder weggelassen",
                        "family name matches with particles glued or dropped"
                    ),
                    pair(sought, entry)
                )
            }
            (Reason::FamilyNameSoundsAlike { sought, entry }, l) => {
                format!(
                    "{} ({})",
                    pick(
                        l,
                        "le nom de famille se prononce pareil",
                        "familienaam klinkt hetzelfde",
                        "Familienname klingt gleich",
                        "family name sounds alike"
                    ),
                    pair(sought, entry)
                )
            }
            (Reason::FamilyNameTypo { sought, entry }, l) => {
                format!(
                    "{} ({})",
                    pick(
                        l,
                        "nom de famille proche (faute de frappe ?)",
                        "familienaam lijkt sterk (tikfout?)",
                        "Familienname ähnlich (Tippfehler?)",
                        "family name is close (typo?)"
                    ),
                    pair(sought, entry)
                )
            }
            (Reason::FamilyNameDiffers, l) => pick(
                l,
                "le nom de famille diffère",
                "familienaam verschilt",
                "Familienname weicht ab",
                "family name differs",
            )
            .into(),
            (Reason::GivenNameMatches, l) => pick(
                l,
                "le prénom correspond",
                "voornaam komt overeen",
                "Vorname stimmt überein",
                "given name matches",
            )
            .into(),
            (Reason::GivenNameSpellingVariant { sought, entry }, l) => {
                format!(
                    "{} ({})",
                    pick(
                        l,
                        "prénom : variante orthographique",
                        "voornaam: spellingvariant",
                        "Vorname: Schreibvariante",
                        "given name is a spelling variant"
                    ),
                    pair(sought, entry)
                )
            }
            (Reason::GivenNameVariant { sought, entry }, l) => {
                format!(
                    "{} ({})",
                    pick(
                        l,
                        "le prénom est une variante",
                        "voornaam is een variant",
                        "Vorname ist eine Variante",
                        "given name is a variant"
                    ),
                    pair(sought, entry)
                )
            }
            (Reason::GivenNameTypo { sought, entry }, l) => {
                format!(
                    "{} ({})",
                    pick(
                        l,
                        "prénom proche (faute de frappe ?)",
                        "voornaam lijkt sterk (tikfout?)",
                        "Vorname ähnlich (Tippfehler?)",
                        "given name is close (typo?)"
                    ),
                    pair(sought, entry)
                )
            }
            (Reason::GivenNameInitial, l) => pick(
                l,
                "l'initiale du prénom correspond",
                "initiaal van de voornaam klopt",
                "Initiale des Vornamens stimmt",
                "given-name initial agrees",
            )
            .into(),
            (Reason::GivenNameDiffers, l) => pick(
                l,
                "le prénom diffère",
                "voornaam verschilt",
                "Vorname weicht ab",
                "given name differs",
            )
            .into(),
            (Reason::MiddleNameMissing, l) => pick(
                l,
                "un second prénom manque d'un côté",
                "een tweede voornaam ontbreekt aan één kant",
                "ein zweiter Vorname fehlt auf einer Seite",
                "a middle name is missing on one side",
            )
            .into(),
            (Reason::NamesSwapped, l) => pick(
                l,
                "prénom et nom inversés",
                "voornaam en familienaam omgewisseld",
                "Vor- und Familienname vertauscht",
                "names swapped",
            )
            .into(),
            (Reason::BirthDateMatches, l) => pick(
                l,
                "même date de naissance",
                "zelfde geboortedatum",
                "gleiches Geburtsdatum",
                "same date of birth",
            )
            .into(),
            (Reason::BirthYearMonthMatch, l) => pick(
                l,
                "année et mois de naissance identiques, jour manquant",
                "geboortejaar en -maand kloppen, dag ontbreekt",
                "Geburtsjahr und -monat stimmen, Tag fehlt",
                "birth year and month match, day missing",
            )
            .into(),
            (Reason::BirthYearMatches, l) => pick(
                l,
                "année de naissance identique, jour manquant",
                "geboortejaar klopt, dag ontbreekt",
                "Geburtsjahr stimmt, Tag fehlt",
                "birth year matches, day missing",
            )
            .into(),
            (Reason::BirthDayMonthSwapped, l) => pick(
                l,
                "jour et mois de naissance inversés",
                "dag en maand van geboorte omgewisseld",
                "Geburtstag und -monat vertauscht",
                "birth day and month swapped",
            )
            .into(),
            (Reason::BirthYearClose, l) => pick(
                l,
                "année de naissance à un an près",
                "geboortejaar scheelt één jaar",
                "Geburtsjahr um ein Jahr verschieden",
                "birth year one apart",
            )
            .into(),
            (Reason::BirthDatesConflict, l) => pick(
                l,
                "les dates de naissance se contredisent",
                "geboortedata zijn tegenstrijdig",
                "Geburtsdaten widersprechen sich",
                "birth dates conflict",
            )
            .into(),
            (Reason::SamePhone, l) => pick(
                l,
                "même numéro de téléphone",
                "zelfde telefoonnummer",
                "gleiche Telefonnummer",
                "same phone number",
            )
            .into(),
            (Reason::SexConflicts, l) => pick(
                l,
                "le sexe diffère",
                "geslacht verschilt",
                "Geschlecht weicht ab",
                "sex conflicts",
            )
            .into(),
            (Reason::NationalityMatches, l) => pick(
                l,
                "même nationalité",
                "zelfde nationaliteit",
                "gleiche Staatsangehörigkeit",
                "same nationality",
            )
            .into(),
            (Reason::NationalityDiffers, l) => pick(
                l,
                "la nationalité diffère",
                "nationaliteit verschilt",
                "Staatsangehörigkeit weicht ab",
                "nationality differs",
            )
            .into(),
            (Reason::SamePlace, l) => pick(
                l,
                "même lieu",
                "zelfde plaats",
                "gleicher Ort",
                "same place",
            )
            .into(),
        }
    }
}

fn pick(
    language: Language,
    fr: &'static str,
    nl: &'static str,
    de: &'static str,
    en: &'static str,
) -> &'static str {
    match language {
        Language::Fr => fr,
        Language::Nl => nl,
        Language::De => de,
        Language::En => en,
    }
}
