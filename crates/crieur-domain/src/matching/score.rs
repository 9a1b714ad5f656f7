//! The score: a sum of weights of evidence (log-odds-like, hand-set), one per
//! field, squashed into `0..=1`. Names are compared both ways round (given/family
//! swapped) and the better reading is kept. Weights are documented where set.

use super::normalize::{core, fold, glued, normalize_phone, phonetic_key, spelling_key, tokens};
use super::similarity::{damerau_levenshtein, jaro_winkler};
use super::{ListEntry, Match, PartialDate, PersonSought, Reason, Sex, given_names::variant_group};

/// Where the logistic curve crosses 0.5: about a family name plus a given name.
const MIDPOINT: f64 = 5.0;
/// Weight units per e-fold of the score's odds.
const SPREAD: f64 = 1.5;

/// One word of a name in its normal forms.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub folded: String,
    pub spelled: String,
    pub phonetic: String,
    pub group: Option<u16>,
}

impl Word {
    pub(crate) fn new(folded: String) -> Word {
        let spelled = spelling_key(&folded);
        let phonetic = phonetic_key(&spelled);
        let group = variant_group(&folded);
        Word {
            folded,
            spelled,
            phonetic,
            group,
        }
    }
}

/// A name field (given or family) in every form the comparison needs.
#[derive(Debug, Clone)]
pub(crate) struct NameField {
    pub words: Vec<Word>,
    /// All words glued: "Van den Broeck" → vandenbroeck.
    pub glued: Word,
    /// Glued without particles: broeck.
    pub core: Word,
}

impl NameField {
    fn new(raw: &str) -> NameField {
        let toks = tokens(raw);
        NameField {
            glued: Word::new(glued(&toks)),
            core: Word::new(core(&toks)),
            words: toks.into_iter().map(Word::new).collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// A person's identifying fields, normalised once (the index keeps these).
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub given: NameField,
    pub family: NameField,
    pub birth: PartialDate,
    pub sex: Option<Sex>,
    pub nationality: Option<String>,
    pub phone: Option<String>,
    pub place: Option<String>,
}

impl Prepared {
    pub(crate) fn new(p: &PersonSought) -> Prepared {
        let opt = |s: &Option<String>| {
            s.as_deref()
                .map(|s| fold(s).split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
        };
        Prepared {
            given: NameField::new(&p.given_names),
            family: NameField::new(&p.family_names),
            birth: p.birth,
            sex: p.sex,
            nationality: opt(&p.nationality),
            phone: p.phone.as_deref().and_then(normalize_phone),
            place: opt(&p.last_place),
        }
    }
}

/// Scores one list entry against the person sought.
pub fn score(sought: &PersonSought, entry: &ListEntry) -> Match {
    score_prepared(&Prepared::new(sought), &Prepared::new(&entry.as_person()))
}

pub(crate) fn score_prepared(s: &Prepared, e: &Prepared) -> Match {
    let mut total = 0.0;
    let mut reasons = Vec::new();

    let (straight_w, straight_r) = names(&s.given, &s.family, &e.given, &e.family);
    let (swapped_w, swapped_r) = names(&s.family, &s.given, &e.given, &e.family);
    // Swapping must win clearly, and costs a little: most people give names right.
    if swapped_w - 0.5 > straight_w {
        total += swapped_w - 0.5;
        reasons.push(Reason::NamesSwapped);
        reasons.extend(swapped_r);
    } else {
        total += straight_w;
        reasons.extend(straight_r);
    }

    let (w, r) = birth(&s.birth, &e.birth);
    total += w;
    reasons.extend(r);

    if let (Some(a), Some(b)) = (&s.phone, &e.phone)
        && a == b
    {
        // A phone number is nearly an identifier (shared within a household).
        total += 6.0;
        reasons.push(Reason::SamePhone);
    }
    if let (Some(a), Some(b)) = (s.sex, e.sex) {
        if a == b {
            total += 0.3;
        } else {
            // As strong as conflicting dates: sex is rarely misrecorded.
            total -= 4.0;
            reasons.push(Reason::SexConflicts);
        }
    }
    if let (Some(a), Some(b)) = (&s.nationality, &e.nationality) {
        if a == b {
            total += 0.3;
            reasons.push(Reason::NationalityMatches);
        } else {
            // Weak: dual nationals, and callers guess.
            total -= 0.5;
            reasons.push(Reason::NationalityDiffers);
        }
    }
    if let (Some(a), Some(b)) = (&s.place, &e.place)
        && a == b
    {
        total += 0.5;
        reasons.push(Reason::SamePlace);
    }
    let score = 1.0 / (1.0 + (-(total - MIDPOINT) / SPREAD).exp());
    Match { score, reasons }
}

/// How two name words compare, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Agreement {
    Differs,
    Initial,
    Typo,
    SoundsAlike,
    Variant,
    Spelling,
    Exact,
}

fn compare(a: &Word, b: &Word, allow_variant: bool) -> Agreement {
    if a.folded.is_empty() || b.folded.is_empty() {
        return Agreement::Differs;
    }
    if a.folded == b.folded {
        return Agreement::Exact;
    }
    if a.spelled == b.spelled {
        return Agreement::Spelling;
    }
    if allow_variant && a.group.is_some() && a.group == b.group {
        return Agreement::Variant;
    }
    let (la, lb) = (a.spelled.chars().count(), b.spelled.chars().count());
    if la == 1 || lb == 1 {
        return if a.spelled.chars().next() == b.spelled.chars().next() {
            Agreement::Initial
        } else {
            Agreement::Differs
        };
    }
    let shorter = la.min(lb);
    let distance = damerau_levenshtein(&a.spelled, &b.spelled);
    let typo = (shorter >= 4 && distance <= 1)
        || (shorter >= 7 && distance <= 2)
        || (shorter >= 4 && jaro_winkler(&a.spelled, &b.spelled) >= 0.93);
    if typo {
        return Agreement::Typo;
    }
    if shorter >= 3 && a.phonetic.len() >= 3 && a.phonetic == b.phonetic {
        return Agreement::SoundsAlike;
    }
    Agreement::Differs
}

/// Names read one way: `sg`/`sf` are the sought given/family fields in that reading.
fn names(sg: &NameField, sf: &NameField, eg: &NameField, ef: &NameField) -> (f64, Vec<Reason>) {
    let mut w = 0.0;
    let mut reasons = Vec::new();
    if !sf.is_empty() && !ef.is_empty() {
        let (fw, fr) = family(sf, ef);
        w += fw;
        reasons.push(fr);
    }
    if !sg.is_empty() && !eg.is_empty() {
        let (gw, gr) = given(sg, eg);
        w += gw;
        reasons.extend(gr);
    }
    (w, reasons)
}

fn family(s: &NameField, e: &NameField) -> (f64, Reason) {
    let pair = || (s.glued.folded.clone(), e.glued.folded.clone());
    if s.glued.folded == e.glued.folded {
        return (5.0, Reason::FamilyNameMatches);
    }
    if s.glued.spelled == e.glued.spelled {
        let (sought, entry) = pair();
        return (4.5, Reason::FamilyNameSpellingVariant { sought, entry });
    }
    // Particles glued differently, dropped, or a double name given in part.
    let mut best = compare(&s.core, &e.core, false);
    for a in s.words.iter().filter(|w| w.folded.len() >= 3) {
        for b in e.words.iter().filter(|w| w.folded.len() >= 3) {
            if !super::normalize::is_particle(&a.folded)
                && !super::normalize::is_particle(&b.folded)
            {
                best = best.max(compare(a, b, false).min(Agreement::Spelling));
            }
        }
    }
    let glued = compare(&s.glued, &e.glued, false);
    if best.max(glued) < Agreement::Typo {
        return (-3.0, Reason::FamilyNameDiffers);
    }
    let (sought, entry) = pair();
    match best.max(glued) {
        Agreement::Exact | Agreement::Spelling if glued < Agreement::Spelling => {
            (4.0, Reason::FamilyNameParticles { sought, entry })
        }
        Agreement::Exact | Agreement::Spelling => {
            (4.5, Reason::FamilyNameSpellingVariant { sought, entry })
        }
        Agreement::Typo => (3.2, Reason::FamilyNameTypo { sought, entry }),
        Agreement::SoundsAlike => (2.8, Reason::FamilyNameSoundsAlike { sought, entry }),
        _ => (-3.0, Reason::FamilyNameDiffers),
    }
}

fn given(s: &NameField, e: &NameField) -> (f64, Vec<Reason>) {
    // Every sought word against its best entry word; the first given name counts
    // most, extra or missing middle names cost nothing.
    let mut best_first = (Agreement::Differs, 0usize);
    let mut agreed_any = false;
    for (i, a) in s.words.iter().enumerate() {
        for (j, b) in e.words.iter().enumerate() {
            let ag = compare(a, b, true);
            if ag > Agreement::Differs {
                agreed_any = true;
            }
            if (i == 0 || j == 0) && ag > best_first.0 {
                best_first = (ag, i * 16 + j);
            }
        }
    }
    if best_first.0 == Agreement::Differs && agreed_any {
        // Only middle names agree ("Marie Louise" vs "Louise").
        best_first = (Agreement::Typo, 0);
    }
    let (i, j) = (best_first.1 / 16, best_first.1 % 16);
    let pair = || {
        (
            s.words.get(i).map(|w| w.folded.clone()).unwrap_or_default(),
            e.words.get(j).map(|w| w.folded.clone()).unwrap_or_default(),
        )
    };
    let mut reasons = Vec::new();
    let w = match best_first.0 {
        Agreement::Exact => {
            reasons.push(Reason::GivenNameMatches);
            3.0
        }
        Agreement::Spelling => {
            let (sought, entry) = pair();
            reasons.push(Reason::GivenNameSpellingVariant { sought, entry });
            2.7
        }
        Agreement::Variant => {
            let (sought, entry) = pair();
            reasons.push(Reason::GivenNameVariant { sought, entry });
            2.0
        }
        Agreement::Typo | Agreement::SoundsAlike => {
            let (sought, entry) = pair();
            reasons.push(Reason::GivenNameTypo { sought, entry });
            1.8
        }
        Agreement::Initial => {
            reasons.push(Reason::GivenNameInitial);
            0.8
        }
        Agreement::Differs => {
            reasons.push(Reason::GivenNameDiffers);
            -2.5
        }
    };
    if best_first.0 > Agreement::Differs && s.words.len() != e.words.len() {
        reasons.push(Reason::MiddleNameMissing);
    }
    (w, reasons)
}

fn birth(s: &PartialDate, e: &PartialDate) -> (f64, Option<Reason>) {
    let (Some(ys), Some(ye)) = (s.year, e.year) else {
        return (0.0, None);
    };
    let gap = ys.abs_diff(ye);
    if s.is_full() && e.is_full() {
        if s == e {
            return (4.0, Some(Reason::BirthDateMatches));
        }
        if gap == 0 && s.month == e.day && s.day == e.month {
            return (1.5, Some(Reason::BirthDayMonthSwapped));
        }
        if (gap == 1 || digit_apart(ys, ye)) && s.month == e.month && s.day == e.day {
            // Same day and month, year mistyped or misheard.
            return (1.0, Some(Reason::BirthYearClose));
        }
        return (-4.0, Some(Reason::BirthDatesConflict));
    }
    if gap == 0 {
        return match (s.month, e.month) {
            (Some(a), Some(b)) if a != b => (-2.0, Some(Reason::BirthDatesConflict)),
            (Some(_), Some(_)) => (2.5, Some(Reason::BirthYearMonthMatch)),
            _ => (2.0, Some(Reason::BirthYearMatches)),
        };
    }
    if gap == 1 {
        return (0.5, Some(Reason::BirthYearClose));
    }
    (
        if gap >= 5 { -4.0 } else { -3.0 },
        Some(Reason::BirthDatesConflict),
    )
}

/// Years that differ in one digit (1962 / 1965): a typing error, not a gap.
fn digit_apart(a: u16, b: u16) -> bool {
    let (a, b) = (a.to_string(), b.to_string());
    a.len() == b.len() && a.chars().zip(b.chars()).filter(|(x, y)| x != y).count() == 1
}
