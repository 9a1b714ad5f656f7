//! A synthetic population of subscribers for tests, demos and benchmarks: the same
//! seed always gives the same people, placed where Belgians live (near GeoNames
//! places, weighted by population), speaking their municipality's language.
//!
//! Never a source of secrets: the generator is a plain SplitMix64, chosen for speed
//! and reproducibility, not for unpredictability.

use crate::{Language, NisCode, Territories, Territory};

/// SplitMix64 (Steele, Lea & Flood 2014): fast, reproducible, statistically decent.
/// NOT cryptographically secure: never use it for tokens, codes or passwords.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// One generated subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    /// `1..=count`, in generation order.
    pub id: i64,
    pub language: Language,
    /// One or two Belgian mobile numbers in E.164 (`+3247…`), unique across the
    /// population up to 15 million subscribers.
    pub phones: Vec<String>,
    pub email: Option<String>,
    /// One to three, 1.3 on average; the first is home.
    pub addresses: Vec<SyntheticAddress>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticAddress {
    pub lon: f64,
    pub lat: f64,
    /// The municipality `Territories::locate` puts the point in.
    pub municipality: NisCode,
}

/// Mobile numbers are `+324` followed by a prefix 70–99 and six digits: 30 million.
const PHONE_SPACE: u64 = 30_000_000;
/// Odd and not a multiple of 3 or 5, so `i ↦ i·STRIDE mod PHONE_SPACE` is a
/// permutation: numbers look scattered yet never repeat.
const PHONE_STRIDE: u64 = 15_485_863;
/// Attempts at a jittered point in Belgium before settling for the place itself.
const PLACEMENT_TRIES: usize = 8;
const KM_PER_DEGREE: f64 = 111.195;

/// Streams subscribers; `generate` collects them.
#[derive(Debug)]
pub struct Generator<'t> {
    territories: &'t Territories,
    rng: SplitMix64,
    /// Cumulative population of the places with people, for weighted picks.
    cumulative: Vec<u64>,
    places: Vec<usize>,
    phone_offset: u64,
    next_id: i64,
}

impl<'t> Generator<'t> {
    pub fn new(territories: &'t Territories, seed: u64) -> Generator<'t> {
        let mut cumulative = Vec::new();
        let mut places = Vec::new();
        let mut total = 0u64;
        for (i, p) in territories.places().iter().enumerate() {
            if p.population > 0 {
                total += p.population;
                cumulative.push(total);
                places.push(i);
            }
        }
        let mut rng = SplitMix64::new(seed);
        let phone_offset = rng.below(PHONE_SPACE);
        Generator {
            territories,
            rng,
            cumulative,
            places,
            phone_offset,
            next_id: 1,
        }
    }

    fn address(&mut self) -> Option<SyntheticAddress> {
        let total = *self.cumulative.last()?;
        let pick = self.rng.below(total);
        let i = self.cumulative.partition_point(|&c| c <= pick);
        let place = &self.territories.places()[self.places[i]];
        // Towns spread wider than villages: a mean distance of 0.8 km plus
        // √population / 400 km (2.6 km for Antwerp), capped at four times that.
        let mean_km = 0.8 + (place.population as f64).sqrt() / 400.0;
        for _ in 0..PLACEMENT_TRIES {
            let distance = (-(1.0 - self.rng.next_f64()).ln() * mean_km).min(4.0 * mean_km);
            let bearing = self.rng.next_f64() * std::f64::consts::TAU;
            let lat = place.lat + distance * bearing.cos() / KM_PER_DEGREE;
            let lon = place.lon
                + distance * bearing.sin() / (KM_PER_DEGREE * place.lat.to_radians().cos());
            if let Some(at) = self.territories.locate(lon, lat) {
                return Some(SyntheticAddress {
                    lon,
                    lat,
                    municipality: at.municipality,
                });
            }
        }
        Some(SyntheticAddress {
            lon: place.lon,
            lat: place.lat,
            municipality: place.municipality,
        })
    }

    fn language(&mut self, municipality: Option<&Territory>) -> Language {
        let official = municipality.map(|m| m.languages.as_slice()).unwrap_or(&[]);
        let roll = self.rng.next_f64();
        if roll < 0.05 || official.is_empty() {
            return Language::En;
        }
        if roll < 0.08 {
            let others: Vec<Language> = [Language::Fr, Language::Nl, Language::De]
                .into_iter()
                .filter(|l| !official.contains(l))
                .collect();
            if !others.is_empty() {
                return others[self.rng.below(others.len() as u64) as usize];
            }
        }
        // Bilingual Brussels: most registrations are in its first language.
        if official.len() > 1 && self.rng.next_f64() >= 0.8 {
            return official[1 + self.rng.below(official.len() as u64 - 1) as usize];
        }
        official[0]
    }

    fn phone(&self, index: u64) -> String {
        let n = (index % PHONE_SPACE * PHONE_STRIDE + self.phone_offset) % PHONE_SPACE;
        format!("+324{}{:06}", 70 + n / 1_000_000, n % 1_000_000)
    }
}

impl Iterator for Generator<'_> {
    type Item = Subscriber;

    fn next(&mut self) -> Option<Subscriber> {
        let id = self.next_id;
        self.next_id += 1;
        let roll = self.rng.next_f64();
        let count = if roll < 0.75 {
            1
        } else if roll < 0.95 {
            2
        } else {
            3
        };
        let addresses: Vec<SyntheticAddress> = (0..count).filter_map(|_| self.address()).collect();
        let home = addresses
            .first()
            .and_then(|a| self.territories.get(a.municipality));
        let language = self.language(home);
        let phone_count = if self.rng.next_f64() < 0.8 { 1 } else { 2 };
        let phones = (0..phone_count)
            .map(|k| self.phone((id as u64 - 1) * 2 + k))
            .collect();
        let email = (self.rng.next_f64() < 0.45).then(|| format!("person{id}@example.org"));
        Some(Subscriber {
            id,
            language,
            phones,
            email,
            addresses,
        })
    }
}

/// `count` subscribers from `seed`; the same arguments always give the same list.
pub fn generate(territories: &Territories, seed: u64, count: usize) -> Vec<Subscriber> {
    Generator::new(territories, seed).take(count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{LineKind, PhoneNumber};
    use std::collections::HashSet;
    use std::sync::OnceLock;

    fn belgium() -> &'static Territories {
        static T: OnceLock<Territories> = OnceLock::new();
        T.get_or_init(|| Territories::embedded().expect("embedded data parses"))
    }

    #[test]
    fn the_same_seed_gives_the_same_people() {
        let a = generate(belgium(), 7, 200);
        assert_eq!(a, generate(belgium(), 7, 200));
        assert_ne!(a, generate(belgium(), 8, 200));
    }

    #[test]
    fn people_look_like_belgian_registrations() {
        let t = belgium();
        let people = generate(t, 42, 5_000);
        let addresses: usize = people.iter().map(|p| p.addresses.len()).sum();
        let mean = addresses as f64 / people.len() as f64;
        assert!((1.25..1.35).contains(&mean), "{mean} addresses per person");
        let mut phones = HashSet::new();
        for p in &people {
            assert!((1..=3).contains(&p.addresses.len()));
            assert!((1..=2).contains(&p.phones.len()));
            for a in &p.addresses {
                let at = t.locate(a.lon, a.lat).map(|l| l.municipality);
                assert!(
                    at == Some(a.municipality) || t.get(a.municipality).is_some(),
                    "{a:?}"
                );
            }
            for phone in &p.phones {
                assert!(phones.insert(phone.clone()), "{phone} given twice");
            }
        }
        for phone in phones.iter().take(50) {
            let parsed = PhoneNumber::parse(phone).expect("a valid Belgian number");
            assert_eq!(parsed.kind(), LineKind::Mobile);
            assert_eq!(parsed.e164(), phone);
        }
        let english = people.iter().filter(|p| p.language == Language::En).count();
        assert!(english > 100 && english < 500, "{english} English speakers");
        let eupen = people
            .iter()
            .filter(|p| p.addresses[0].municipality.as_str() == "63023")
            .collect::<Vec<_>>();
        if eupen.len() >= 5 {
            let german = eupen.iter().filter(|p| p.language == Language::De).count();
            assert!(german * 2 > eupen.len(), "Eupen speaks German");
        }
    }
}
