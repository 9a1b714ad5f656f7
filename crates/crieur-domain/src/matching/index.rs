//! Blocking: each entry is filed under a few cheap keys (sound of each family-name
//! word, given name with birth year, given name with family-name initial sounds,
//! full birth date, phone), so a query scores only the entries that share a key
//! with it instead of the whole list. A key shared by too many entries (a very
//! common name with no year) is skipped when the query has other keys.

use super::score::{NameField, Prepared, Word, score_prepared};
use super::{EntryId, ListEntry, Match, PartialDate, PersonSought};
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Blocks larger than this are only used when nothing smaller is available.
const MAX_BLOCK: usize = 2_000;

#[derive(Hash)]
enum Key<'a> {
    /// Phonetic key of a family-name word or of the core family name.
    Family(&'a str),
    /// Given name (variant group or spelling key) and birth year.
    GivenYear(GivenId<'a>, u16),
    /// Given name and the first two letters of a family-name phonetic key.
    GivenFamily(GivenId<'a>, &'a str),
    Date(u16, u8, u8),
    Phone(&'a str),
}

#[derive(Hash, Clone, Copy)]
enum GivenId<'a> {
    Group(u16),
    Spelled(&'a str),
}

fn given_id(w: &Word) -> GivenId<'_> {
    match w.group {
        Some(g) => GivenId::Group(g),
        None => GivenId::Spelled(&w.spelled),
    }
}

fn hash(key: &Key<'_>) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

fn prefix2(s: &str) -> &str {
    let end = s.char_indices().nth(2).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

fn family_sounds(f: &NameField) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    if f.core.phonetic.len() >= 2 {
        out.push(&f.core.phonetic);
    }
    for w in &f.words {
        if w.folded.len() >= 3
            && !super::normalize::is_particle(&w.folded)
            && w.phonetic.len() >= 2
            && !out.contains(&w.phonetic.as_str())
        {
            out.push(&w.phonetic);
        }
    }
    out
}

/// The keys an entry is filed under (`swapped` too for a query).
fn keys(p: &Prepared, query: bool) -> Vec<u64> {
    let mut out = Vec::new();
    let readings: &[(&NameField, &NameField)] = if query {
        &[(&p.given, &p.family), (&p.family, &p.given)]
    } else {
        &[(&p.given, &p.family)]
    };
    for (given, family) in readings {
        let sounds = family_sounds(family);
        for s in &sounds {
            out.push(hash(&Key::Family(s)));
        }
        for g in given.words.iter().filter(|w| w.folded.len() >= 2) {
            let id = given_id(g);
            if let Some(y) = p.birth.year {
                let years: &[u16] = if query {
                    &[y.saturating_sub(1), y, y.saturating_add(1)]
                } else {
                    &[y]
                };
                for &y in years {
                    out.push(hash(&Key::GivenYear(id, y)));
                }
            }
            for s in &sounds {
                out.push(hash(&Key::GivenFamily(id, prefix2(s))));
            }
        }
    }
    if let PartialDate {
        year: Some(y),
        month: Some(m),
        day: Some(d),
    } = p.birth
    {
        out.push(hash(&Key::Date(y, m, d)));
        if query && m != d && d <= 12 {
            out.push(hash(&Key::Date(y, d, m)));
        }
    }
    if let Some(phone) = &p.phone {
        out.push(hash(&Key::Phone(phone)));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The list entries of an incident, normalised and blocked for fast queries.
#[derive(Debug)]
pub struct Index {
    entries: Vec<(EntryId, Prepared)>,
    blocks: HashMap<u64, Vec<u32>>,
}

impl Index {
    pub fn new(entries: &[ListEntry]) -> Index {
        let mut blocks: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut prepared = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let p = Prepared::new(&entry.as_person());
            for k in keys(&p, false) {
                blocks.entry(k).or_default().push(i as u32);
            }
            prepared.push((entry.id, p));
        }
        Index {
            entries: prepared,
            blocks,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `top_n` best-scoring entries sharing a block with `sought`, best first
    /// (ties by entry id). Only a ranking: nothing here says "this is them".
    pub fn candidates(&self, sought: &PersonSought, top_n: usize) -> Vec<(EntryId, Match)> {
        let s = Prepared::new(sought);
        let found: Vec<&Vec<u32>> = keys(&s, true)
            .iter()
            .filter_map(|k| self.blocks.get(k))
            .collect();
        let small = found.iter().any(|b| b.len() <= MAX_BLOCK);
        let mut seen = HashSet::new();
        let mut ranked: Vec<(EntryId, Match)> = Vec::new();
        for block in found {
            if small && block.len() > MAX_BLOCK {
                continue;
            }
            for &i in block {
                if seen.insert(i) {
                    let (id, e) = &self.entries[i as usize];
                    ranked.push((*id, score_prepared(&s, e)));
                }
            }
        }
        ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
        ranked.truncate(top_n);
        ranked
    }
}
