//! Who an alert can reach, in memory: the spatial index of registered addresses
//! and, per person, their language and how many verified contacts they have on
//! each channel. Loaded at start-up and refreshed on every registration change,
//! so a preview counts recipients without touching the database.

use crieur_domain::Language;
use crieur_domain::Territories;
use crieur_domain::alert::Channel;
use crieur_domain::targeting::{AddressIndex, AddressPoint, PersonId, Resolution, Target};
use crieur_store::{Citizen, Store, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// What targeting needs to know of one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub language: Language,
    pub sms: u8,
    pub voice: u8,
    pub email: u8,
}

impl Reach {
    pub(crate) fn of(c: &Citizen) -> Reach {
        let (mut sms, mut voice, mut email) = (0u8, 0u8, 0u8);
        for channel in c.contacts.iter().flat_map(channels_of) {
            let n = match channel {
                Channel::Sms => &mut sms,
                Channel::Voice => &mut voice,
                Channel::Email | Channel::CellBroadcast => &mut email,
            };
            *n = n.saturating_add(1);
        }
        Reach {
            language: c.language.parse().unwrap_or(Language::Fr),
            sms,
            voice,
            email,
        }
    }

    pub(crate) fn messages(&self, channel: Channel) -> u64 {
        u64::from(match channel {
            Channel::Sms => self.sms,
            Channel::Voice => self.voice,
            Channel::Email => self.email,
            Channel::CellBroadcast => 0,
        })
    }
}

/// The channels a contact receives alerts on: none until verified; e-mail for
/// an address; SMS when chosen, and a voice call when chosen or for a line that
/// takes no SMS (landlines).
pub(crate) fn channels_of(k: &crieur_store::StoredContact) -> Vec<Channel> {
    if k.verified_at.is_none() {
        return Vec::new();
    }
    if k.kind == "email" {
        return vec![Channel::Email];
    }
    let mut c = Vec::new();
    if k.sms {
        c.push(Channel::Sms);
    }
    if k.voice || !k.sms {
        c.push(Channel::Voice);
    }
    c
}

#[derive(Debug, Default)]
pub struct Audience {
    index: RwLock<AddressIndex>,
    reach: RwLock<HashMap<PersonId, Reach>>,
}

impl Audience {
    /// Loads every registered citizen.
    pub async fn load(&self, store: &Store) -> Result<usize, StoreError> {
        let citizens = store.citizens().all_citizens().await?;
        for c in &citizens {
            self.set(c);
        }
        Ok(citizens.len())
    }

    /// Brings one citizen up to date after a change; `None` removes them.
    pub(crate) fn set_or_remove(&self, id: i64, citizen: Option<&Citizen>) {
        match citizen {
            Some(c) => self.set(c),
            None => {
                self.index
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(id);
                self.reach
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&id);
            }
        }
    }

    fn set(&self, c: &Citizen) {
        let points: Vec<AddressPoint> = c
            .addresses
            .iter()
            .map(|a| AddressPoint {
                lon: a.lon,
                lat: a.lat,
                municipality: a.municipality,
            })
            .collect();
        let replaced = self
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .replace(c.id, &points);
        if let Err(e) = replaced {
            tracing::error!(citizen = c.id, error = %e, "a citizen's addresses could not be indexed");
            return;
        }
        self.reach
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(c.id, Reach::of(c));
    }

    pub(crate) fn resolve(&self, target: &Target, territories: &Territories) -> Resolution {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .resolve(target, territories)
    }

    pub fn reach(&self, person: PersonId) -> Option<Reach> {
        self.reach
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&person)
            .copied()
    }

    pub fn persons(&self) -> usize {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .persons()
    }
}

/// Messages per channel and language for a resolution, each person in the
/// language they will read.
pub(crate) fn count(
    audience: &Audience,
    resolution: &Resolution,
    read_in: impl Fn(Language, crieur_domain::NisCode) -> Option<Language>,
) -> BTreeMap<Channel, BTreeMap<Language, u64>> {
    let mut counts: BTreeMap<Channel, BTreeMap<Language, u64>> = BTreeMap::new();
    let reach = audience
        .reach
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for r in resolution.recipients() {
        let Some(person) = reach.get(&r.person) else {
            continue;
        };
        let Some(lang) = read_in(person.language, r.municipality) else {
            continue;
        };
        for channel in [Channel::Sms, Channel::Voice, Channel::Email] {
            let n = person.messages(channel);
            if n > 0 {
                *counts.entry(channel).or_default().entry(lang).or_default() += n;
            }
        }
    }
    counts
}
