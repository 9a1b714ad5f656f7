//! Lists and inquiries with known truth, to measure matching instead of assuming
//! it works. Pure and seeded: the same configuration always gives the same data.
//! The names are a small hand-written sample of names common in Belgium (Flemish,
//! Walloon, Brussels, German-speaking, Moroccan, Turkish, Italian); the people are
//! invented. Never a source of real personal data.

use super::{EntryId, ListEntry, ListKind, PartialDate, PersonSought, Sex, VARIANT_GROUPS};
use crate::population::SplitMix64;

#[rustfmt::skip]
const FAMILY: &[&str] = &[
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
    "Dubois", "Lambert", "Dupont", "Martin", "Leroy", "Lejeune", "Renard", "Simon", "Laurent", "Lemaire",
    "Hermans", "Dumont", "Michel", "Desmet", "Pauwels", "Vermeulen", "Dierckx", "Smets", "Verstraete", "Van Damme",
    "D'Hondt", "Verhaeghe", "Claeys", "Declercq", "Devos", "Coppens", "Lemmens", "Aerts", "Wuyts", "Stevens",
    "Van Dijck", "Van de Velde", "Van den Broeck", "Vanderstraeten", "Vandenberghe", "Van Acker", "Vandamme", "Verbeke", "Verschueren", "Thijs",
    "Geerts", "Segers", "Van Hoof", "Bogaerts", "Hendrickx", "Schepers", "Mathieu", "François", "Gérard", "Collard",
    "Noël", "Denis", "Lefèbvre", "Marchal", "Hubert", "Henrard", "Gillet", "Fontaine", "Lecomte", "Thiry",
    "Schmitz", "Müller", "Schröder", "Kreutz", "Heinen", "Lentz", "Weber", "Meyer", "Fischer", "Jost",
    "El Amrani", "Benali", "El Idrissi", "Bouzid", "Ait Ouali", "Ouazzani", "Chaoui", "Haddad", "El Khattabi", "Boukhari",
    "Yilmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın", "Arslan", "Doğan",
    "Rossi", "Russo", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "De Luca",
    "Van Hecke", "Vandewalle", "De Backer", "De Wilde", "Baert", "Bostoen", "Vercruysse", "Dewitte", "Verhelst", "Callens",
];

/// Flemish compounds, built as particle + root for more distinct names.
#[rustfmt::skip]
const PARTICLE: &[&str] = &[
    "Van ", "Van de ", "Van den ", "Vande", "Vander", "De ", "Ver",
];
#[rustfmt::skip]
const ROOT: &[&str] = &[
    "Broeck", "Steen", "Velde", "Berghe", "Acker", "Meulen", "Straeten", "Poel", "Hoeck", "Bossche",
    "Kerckhove", "Linden", "Wouwer", "Eynde", "Putte", "Walle", "Dycke", "Kerkhove", "Heyden", "Brande",
    "Mol", "Raes", "Bruyne", "Cock", "Ryck", "Baets", "Meyer", "Coninck", "Geyter", "Smedt",
];

/// A long tail of Flemish and Walloon patronymic-style names: stem + suffix
/// (Goossens, Hendrickx, Bogaerts, Lambrechts…), most of them plausible, some not.
#[rustfmt::skip]
const STEM: &[&str] = &[
    "Goos", "Mert", "Wout", "Hend", "Geer", "Lambr", "Bog", "Verm", "Kerck", "Dier",
    "Wyn", "Cool", "Leem", "Bosm", "Heyl", "Moer", "Gys", "Rom", "Stoff", "Brouw",
    "Lauw", "Thon", "Marc", "Gill", "Coll", "Henr", "Pir", "Jans", "Mich", "Lamb",
    "Robb", "Sterck", "Vleug", "Dhaen", "Cuyp", "Bruyn", "Hoor", "Sels", "Nys", "Peet",
];
#[rustfmt::skip]
const SUFFIX: &[&str] = &[
    "ens", "aerts", "echts", "mans", "eels", "ier", "ot", "et", "in", "ckx", "ers", "ijns", "aert", "is", "on",
];

#[rustfmt::skip]
const GIVEN_M: &[&str] = &[
    "Jean", "Jan", "Pierre", "Pieter", "Luc", "Marc", "Philippe", "Michel", "André", "Patrick",
    "Dirk", "Koen", "Bart", "Geert", "Wim", "Stefaan", "Joseph", "Jozef", "François", "Frans",
    "Guillaume", "Willem", "Louis", "Henri", "Hendrik", "Thomas", "Nicolas", "Antoine", "Karel", "Charles",
    "Jacques", "Laurent", "Christophe", "Benoît", "Didier", "Éric", "Alain", "Olivier", "Daan", "Lars",
    "Mohamed", "Ahmed", "Youssef", "Mustafa", "Ibrahim", "Mehdi", "Omar", "Hassan", "Mehmet", "Hüseyin",
    "Giuseppe", "Giovanni", "Antonio", "Francesco", "Marco", "Jürgen", "Klaus", "Stefan", "Noah", "Arthur",
];
#[rustfmt::skip]
const GIVEN_F: &[&str] = &[
    "Marie", "Maria", "Anne", "Catherine", "Katrien", "Kathleen", "Christine", "Nathalie", "Sophie", "Julie",
    "Hélène", "Isabelle", "Elisabeth", "Els", "Ann", "An", "Sarah", "Laura", "Emma", "Louise",
    "Françoise", "Martine", "Monique", "Chantal", "Véronique", "Nicole", "Sandra", "Inge", "Veerle", "Sofie",
    "Jeanne", "Johanna", "Margriet", "Marguerite", "Caroline", "Joséphine", "Thérèse", "Madeleine", "Agnès", "Lien",
    "Fatima", "Khadija", "Aïcha", "Amina", "Zeynep", "Meryem", "Fatma", "Nadia", "Samira", "Leila",
    "Giulia", "Francesca", "Rosa", "Lucia", "Anneliese", "Ursula", "Zoë", "Olivia", "Mila", "Lore",
];
#[rustfmt::skip]
const PLACES: &[&str] = &[
    "Bruxelles", "Antwerpen", "Gent", "Charleroi", "Liège", "Brugge", "Namur", "Leuven", "Mons", "Mechelen",
    "Aalst", "Hasselt", "Kortrijk", "Oostende", "Tournai", "Genk", "Eupen", "Arlon", "Wavre", "Sint-Niklaas",
];
const NATIONALITY: &[&str] = &[
    "BE", "BE", "BE", "BE", "BE", "BE", "FR", "NL", "MA", "TR", "IT", "DE",
];

/// How an inquiry about a listed person differs from the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Distortion {
    /// Same names and date.
    Exact,
    /// Upper case, accents and hyphens lost.
    AccentsCase,
    /// A Dutch/French spelling variant of the family name (ij/y, ae/aa, ck/k, dt/d…).
    Spelling,
    /// Particles glued or split (Van den Broeck / Vandenbroeck).
    Particles,
    /// Given name in another language or a diminutive (Jan for Jean).
    GivenVariant,
    /// Given and family names swapped.
    Swapped,
    /// One typing error in a name.
    Typo,
    /// A middle name left out.
    MiddleNameDropped,
    /// Birth date reduced to a year, a year and month, a year off by one, or none.
    PartialBirth,
    /// Given name and phone only.
    PhoneOnly,
}

impl Distortion {
    pub const ALL: [Distortion; 10] = [
        Distortion::Exact,
        Distortion::AccentsCase,
        Distortion::Spelling,
        Distortion::Particles,
        Distortion::GivenVariant,
        Distortion::Swapped,
        Distortion::Typo,
        Distortion::MiddleNameDropped,
        Distortion::PartialBirth,
        Distortion::PhoneOnly,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    pub entries: usize,
    pub inquiries: usize,
    /// Share of inquiries about someone on the lists (the rest seek nobody listed).
    pub listed_share: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inquiry {
    pub sought: PersonSought,
    /// The entry this inquiry is about, if any.
    pub truth: Option<EntryId>,
    pub distortion: Option<Distortion>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub entries: Vec<ListEntry>,
    pub inquiries: Vec<Inquiry>,
}

fn pick<'a>(rng: &mut SplitMix64, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

fn chance(rng: &mut SplitMix64, p: f64) -> bool {
    rng.next_f64() < p
}

fn person(rng: &mut SplitMix64) -> PersonSought {
    let sex = if chance(rng, 0.5) {
        Sex::Female
    } else {
        Sex::Male
    };
    let pool = if sex == Sex::Female { GIVEN_F } else { GIVEN_M };
    let mut given = pick(rng, pool).to_owned();
    if chance(rng, 0.3) {
        let second = pick(rng, pool);
        if second != given {
            given = if chance(rng, 0.3) {
                format!("{given}-{second}")
            } else {
                format!("{given} {second}")
            };
        }
    }
    let family = match rng.below(10) {
        0..=2 => format!("{}{}", pick(rng, PARTICLE), pick(rng, ROOT)),
        3..=5 => format!("{}{}", pick(rng, STEM), pick(rng, SUFFIX)),
        _ => pick(rng, FAMILY).to_owned(),
    };
    let year = 1925 + rng.below(100) as u16;
    let month = 1 + rng.below(12) as u8;
    let day = 1 + rng.below(28) as u8;
    let birth = match rng.below(20) {
        0 => PartialDate::unknown(),
        1 | 2 => PartialDate::year(year),
        _ => PartialDate::full(year, month, day),
    };
    let phone =
        chance(rng, 0.4).then(|| format!("+324{}{:07}", 60 + rng.below(40), rng.below(10_000_000)));
    PersonSought {
        given_names: given,
        family_names: family,
        birth,
        sex: chance(rng, 0.95).then_some(sex),
        nationality: chance(rng, 0.7).then(|| pick(rng, NATIONALITY).to_owned()),
        phone,
        last_place: chance(rng, 0.5).then(|| pick(rng, PLACES).to_owned()),
    }
}

/// Generates `config.entries` list entries and `config.inquiries` inquiries.
pub fn generate(config: &Config) -> Dataset {
    let mut rng = SplitMix64::new(config.seed);
    let kinds = [
        ListKind::Casualty,
        ListKind::HospitalAdmission,
        ListKind::Evacuee,
        ListKind::SafeSelfReport,
    ];
    let entries: Vec<ListEntry> = (0..config.entries)
        .map(|i| {
            let p = person(&mut rng);
            ListEntry {
                id: EntryId(i as u64 + 1),
                kind: kinds[rng.below(4) as usize],
                given_names: p.given_names,
                family_names: p.family_names,
                birth: p.birth,
                sex: p.sex,
                nationality: p.nationality,
                phone: p.phone,
                last_place: p.last_place,
            }
        })
        .collect();
    let inquiries = (0..config.inquiries)
        .map(|_| {
            if !entries.is_empty() && chance(&mut rng, config.listed_share) {
                let kind = Distortion::ALL[rng.below(Distortion::ALL.len() as u64) as usize];
                let mut entry = &entries[rng.below(entries.len() as u64) as usize];
                // "Phone only" is about people whose phone the list has.
                for _ in 0..100 {
                    if kind != Distortion::PhoneOnly || entry.phone.is_some() {
                        break;
                    }
                    entry = &entries[rng.below(entries.len() as u64) as usize];
                }
                Inquiry {
                    sought: distort(&mut rng, entry, kind),
                    truth: Some(entry.id),
                    distortion: Some(kind),
                }
            } else {
                Inquiry {
                    sought: person(&mut rng),
                    truth: None,
                    distortion: None,
                }
            }
        })
        .collect();
    Dataset { entries, inquiries }
}

/// What a caller would say about `entry`, distorted by `kind`.
pub fn distort(rng: &mut SplitMix64, entry: &ListEntry, kind: Distortion) -> PersonSought {
    let mut s = entry.as_person();
    // Callers rarely know everything: keep the phone only sometimes.
    if kind != Distortion::PhoneOnly && chance(rng, 0.7) {
        s.phone = None;
    }
    if chance(rng, 0.5) {
        s.nationality = None;
    }
    if chance(rng, 0.5) {
        s.last_place = None;
    }
    match kind {
        Distortion::Exact => {}
        Distortion::AccentsCase => {
            s.given_names = strip_accents(&s.given_names)
                .to_uppercase()
                .replace('-', " ");
            s.family_names = strip_accents(&s.family_names)
                .to_uppercase()
                .replace('\'', "");
        }
        Distortion::Spelling => s.family_names = respell(rng, &s.family_names),
        Distortion::Particles => s.family_names = reglue(&s.family_names),
        Distortion::GivenVariant => s.given_names = variant(rng, &s.given_names),
        Distortion::Swapped => std::mem::swap(&mut s.given_names, &mut s.family_names),
        Distortion::Typo => {
            if chance(rng, 0.6) {
                s.family_names = typo(rng, &s.family_names);
            } else {
                s.given_names = typo(rng, &s.given_names);
            }
        }
        Distortion::MiddleNameDropped => {
            let first = s
                .given_names
                .split([' ', '-'])
                .next()
                .unwrap_or("")
                .to_owned();
            s.given_names = first;
        }
        Distortion::PartialBirth => {
            s.birth = match (rng.below(10), s.birth.year) {
                (_, None) => PartialDate::unknown(),
                (0..=4, Some(y)) => PartialDate::year(y),
                (5 | 6, Some(y)) => match s.birth.month {
                    Some(m) => PartialDate::year_month(y, m),
                    None => PartialDate::year(y),
                },
                (7 | 8, Some(y)) => PartialDate::year(if chance(rng, 0.5) { y + 1 } else { y - 1 }),
                _ => PartialDate::unknown(),
            }
        }
        Distortion::PhoneOnly => {
            s.family_names.clear();
            s.birth = PartialDate::unknown();
            if s.phone.is_none() {
                // Nothing to go on but a given name: the entry had no phone.
                s.phone = Some("+32470000000".to_owned());
            } else if let Some(p) = &s.phone {
                // As dialled in Belgium.
                s.phone = Some(p.replacen("+32", "0", 1));
            }
        }
    }
    s
}

fn strip_accents(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let folded = super::fold(w);
            folded.split_whitespace().collect::<Vec<_>>().join("-")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn respell(rng: &mut SplitMix64, name: &str) -> String {
    const RULES: &[(&str, &str)] = &[
        ("ij", "y"),
        ("y", "ij"),
        ("ae", "aa"),
        ("aa", "ae"),
        ("ck", "k"),
        ("ee", "e"),
        ("ss", "s"),
        ("th", "t"),
        ("ph", "f"),
        ("ey", "ei"),
        ("ui", "uy"),
        ("uy", "ui"),
        ("ou", "oe"),
        ("dt", "d"),
        ("x", "cks"),
        ("ie", "ye"),
        ("c", "k"),
    ];
    let start = rng.below(RULES.len() as u64) as usize;
    for k in 0..RULES.len() {
        let (from, to) = RULES[(start + k) % RULES.len()];
        if name.contains(from) {
            return name.replacen(from, to, 1);
        }
    }
    // No rule applies: a final letter doubled ("Dubois" → "Duboiss") is as common.
    let mut out = name.to_owned();
    if let Some(c) = name.chars().last() {
        out.push(c);
    }
    out
}

fn reglue(name: &str) -> String {
    if name.contains(' ') {
        let glued: String = name.split(' ').collect();
        let mut chars = glued.chars();
        return match chars.next() {
            Some(c) => c
                .to_uppercase()
                .chain(chars.flat_map(char::to_lowercase))
                .collect(),
            None => glued,
        };
    }
    for prefix in ["Vanden", "Vander", "Vande", "Van", "De", "Ver"] {
        if let Some(rest) = name.strip_prefix(prefix)
            && rest.len() >= 3
        {
            let particle = match prefix {
                "Vanden" => "Van den",
                "Vander" => "Van der",
                "Vande" => "Van de",
                p => p,
            };
            let mut chars = rest.chars();
            let root: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            return format!("{particle} {root}");
        }
    }
    name.to_owned()
}

fn variant(rng: &mut SplitMix64, given: &str) -> String {
    let first = given.split([' ', '-']).next().unwrap_or("");
    let rest = &given[first.len()..];
    let Some(group) = super::variant_group(&super::fold(first)) else {
        return given.to_owned();
    };
    let names: Vec<&str> = VARIANT_GROUPS[group as usize]
        .iter()
        .copied()
        .filter(|n| *n != super::fold(first))
        .collect();
    let other = pick(rng, &names);
    let mut chars = other.chars();
    let cap: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    format!("{cap}{rest}")
}

fn typo(rng: &mut SplitMix64, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 4 {
        return name.to_owned();
    }
    // Never the first letter: callers and operators rarely get that wrong.
    let i = 1 + rng.below(chars.len() as u64 - 2) as usize;
    match rng.below(4) {
        0 => {
            chars.remove(i);
        }
        1 => chars.swap(i, i + 1),
        2 => chars.insert(i, chars[i]),
        _ => {
            let letters = "aeioulnrst";
            chars[i] = letters.chars().nth(rng.below(10) as usize).unwrap_or('e');
        }
    }
    chars.into_iter().collect()
}
