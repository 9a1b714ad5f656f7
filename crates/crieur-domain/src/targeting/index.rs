//! The in-memory index of registered addresses that alerts are resolved against.
//!
//! Addresses sit in a fixed grid of 0.01° cells over Belgium (about 700 m × 1.1 km)
//! as 16-byte entries with micro-degree coordinates, so one registration change
//! touches one or two small cells and the index never needs rebuilding. A polygon
//! or circle query sorts the cells under it into inside, outside and crossed by the
//! boundary; only points in crossed cells are tested. Territory codes never look at
//! geometry: they go by each address's municipality code.

use super::area::{Area, Target};
use super::prepared::{Class, PreparedCircle, PreparedRegion, Shape, Window};
use super::resolution::{Recipient, Resolution};
use crate::{Level, NisCode, Territories};
use std::collections::HashMap;
use std::mem::size_of;

/// How the rest of Crieur names a person (a citizen's row id).
pub type PersonId = i64;

/// More addresses than this for one person is a caller's bug (citizens register up
/// to five).
pub const MAX_ADDRESSES_PER_PERSON: usize = 64;

/// One registered address as the index needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddressPoint {
    /// WGS 84 longitude and latitude in degrees; kept to the micro-degree (≈ 0.1 m).
    pub lon: f64,
    pub lat: f64,
    /// The municipality the address belongs to, from the address registry.
    pub municipality: NisCode,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    #[error(
        "person {person}, address {address}: ({lon}, {lat}) is not a WGS 84 longitude/latitude"
    )]
    NotLonLat {
        person: PersonId,
        address: usize,
        lon: f64,
        lat: f64,
    },
    #[error("person {person} would have {count} addresses; at most {max} are indexed")]
    TooManyAddresses {
        person: PersonId,
        count: usize,
        max: usize,
    },
    #[error("more than 65,536 distinct municipality codes")]
    TooManyMunicipalities,
}

const MICRO: f64 = 1e6;
/// The grid covers longitudes 2°–7° E and latitudes 49°–52° N; addresses outside
/// (there should be none) go to an overflow list that every shape query tests.
const ORIGIN_LON: i64 = 2_000_000;
const ORIGIN_LAT: i64 = 49_000_000;
const CELL: i64 = 10_000;
const COLS: usize = 500;
const ROWS: usize = 300;
const OVERFLOW: u32 = u32::MAX;
/// "No address of this person in the zone" in the per-query marks.
const NONE: u8 = u8::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    lon: i32,
    lat: i32,
    slot: u32,
    /// The address's position in its person's list.
    ordinal: u8,
}

/// A person's address as the person's record keeps it: where its entry is, and its
/// municipality (an index into `municipalities`).
#[derive(Debug, Clone, Copy)]
struct Stored {
    cell: u32,
    municipality: u16,
}

#[derive(Debug)]
struct Slot {
    id: PersonId,
    /// Empty for a free slot.
    addresses: Box<[Stored]>,
}

/// Registered addresses by place, kept current one person at a time.
#[derive(Debug)]
pub struct AddressIndex {
    cells: Vec<Vec<Entry>>,
    overflow: Vec<Entry>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_id: HashMap<PersonId, u32>,
    municipalities: Vec<NisCode>,
    municipality_ix: HashMap<NisCode, u16>,
    addresses: usize,
}

impl Default for AddressIndex {
    fn default() -> Self {
        AddressIndex::new()
    }
}

/// An address checked and placed, not yet stored.
#[derive(Clone, Copy)]
struct Placed {
    lon: i32,
    lat: i32,
    cell: u32,
    municipality: u16,
}

fn cell_of(lon: i32, lat: i32) -> u32 {
    let (dx, dy) = (i64::from(lon) - ORIGIN_LON, i64::from(lat) - ORIGIN_LAT);
    if dx < 0 || dy < 0 {
        return OVERFLOW;
    }
    let (c, r) = ((dx / CELL) as usize, (dy / CELL) as usize);
    if c >= COLS || r >= ROWS {
        return OVERFLOW;
    }
    (r * COLS + c) as u32
}

impl AddressIndex {
    pub fn new() -> AddressIndex {
        AddressIndex {
            cells: vec![Vec::new(); COLS * ROWS],
            overflow: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            municipalities: Vec::new(),
            municipality_ix: HashMap::new(),
            addresses: 0,
        }
    }

    /// Builds the index from everyone's addresses at once (start-up), sizing each
    /// cell exactly. A person listed twice keeps the later list.
    pub fn from_people<I, A>(people: I) -> Result<AddressIndex, IndexError>
    where
        I: IntoIterator<Item = (PersonId, A)>,
        A: AsRef<[AddressPoint]>,
    {
        let mut index = AddressIndex::new();
        let people = people.into_iter();
        index.slots.reserve(people.size_hint().0);
        index.by_id.reserve(people.size_hint().0);
        let mut pending: Vec<Entry> = Vec::with_capacity(people.size_hint().0 * 4 / 3);
        let mut repeated: Vec<(PersonId, Vec<AddressPoint>)> = Vec::new();
        for (id, addresses) in people {
            let addresses = addresses.as_ref();
            if index.by_id.contains_key(&id) {
                repeated.push((id, addresses.to_vec()));
                continue;
            }
            if addresses.is_empty() {
                continue;
            }
            let placed = index.place(id, 0, addresses)?;
            let slot = index.new_slot(id, &placed);
            pending.extend(placed.iter().enumerate().map(|(k, p)| Entry {
                lon: p.lon,
                lat: p.lat,
                slot,
                ordinal: k as u8,
            }));
        }
        let mut counts = vec![0usize; COLS * ROWS];
        for e in &pending {
            let cell = cell_of(e.lon, e.lat);
            if cell != OVERFLOW {
                counts[cell as usize] += 1;
            }
        }
        for (cell, &n) in index.cells.iter_mut().zip(&counts) {
            cell.reserve_exact(n);
        }
        for e in pending {
            index.entries_mut(cell_of(e.lon, e.lat)).push(e);
        }
        for (id, addresses) in repeated {
            index.replace(id, &addresses)?;
        }
        Ok(index)
    }

    /// Adds addresses to a person's list, registering the person if new.
    pub fn insert(
        &mut self,
        person: PersonId,
        addresses: &[AddressPoint],
    ) -> Result<(), IndexError> {
        if addresses.is_empty() {
            return Ok(());
        }
        let Some(&slot) = self.by_id.get(&person) else {
            return self.replace(person, addresses);
        };
        let old = self.slots[slot as usize].addresses.len();
        let placed = self.place(person, old, addresses)?;
        let mut stored = std::mem::take(&mut self.slots[slot as usize].addresses).into_vec();
        stored.extend(placed.iter().map(|p| Stored {
            cell: p.cell,
            municipality: p.municipality,
        }));
        self.slots[slot as usize].addresses = stored.into_boxed_slice();
        self.addresses += placed.len();
        self.push_entries(slot, old, &placed);
        Ok(())
    }

    /// Sets a person's whole address list; an empty list removes the person. On an
    /// error nothing changes.
    pub fn replace(
        &mut self,
        person: PersonId,
        addresses: &[AddressPoint],
    ) -> Result<(), IndexError> {
        if addresses.is_empty() {
            self.remove(person);
            return Ok(());
        }
        let placed = self.place(person, 0, addresses)?;
        let slot = match self.by_id.get(&person) {
            Some(&slot) => {
                self.remove_entries(slot);
                self.slots[slot as usize].addresses = placed
                    .iter()
                    .map(|p| Stored {
                        cell: p.cell,
                        municipality: p.municipality,
                    })
                    .collect();
                self.addresses += placed.len();
                slot
            }
            None => self.new_slot(person, &placed),
        };
        self.push_entries(slot, 0, &placed);
        Ok(())
    }

    /// Forgets a person and all their addresses; false if they were not indexed.
    pub fn remove(&mut self, person: PersonId) -> bool {
        let Some(slot) = self.by_id.remove(&person) else {
            return false;
        };
        self.remove_entries(slot);
        self.slots[slot as usize].addresses = Box::default();
        self.free.push(slot);
        true
    }

    pub fn contains_person(&self, person: PersonId) -> bool {
        self.by_id.contains_key(&person)
    }

    /// How many persons have at least one address indexed.
    pub fn persons(&self) -> usize {
        self.by_id.len()
    }

    pub fn addresses(&self) -> usize {
        self.addresses
    }

    /// Checks and places addresses that would become numbers `first..` of the
    /// person's list, without changing anything but the municipality table.
    fn place(
        &mut self,
        person: PersonId,
        first: usize,
        addresses: &[AddressPoint],
    ) -> Result<Vec<Placed>, IndexError> {
        let count = first + addresses.len();
        if count > MAX_ADDRESSES_PER_PERSON {
            return Err(IndexError::TooManyAddresses {
                person,
                count,
                max: MAX_ADDRESSES_PER_PERSON,
            });
        }
        for (k, a) in addresses.iter().enumerate() {
            let ok = a.lon.is_finite() && a.lat.is_finite();
            if !(ok && a.lon.abs() <= 180.0 && a.lat.abs() <= 90.0) {
                return Err(IndexError::NotLonLat {
                    person,
                    address: first + k + 1,
                    lon: a.lon,
                    lat: a.lat,
                });
            }
        }
        addresses
            .iter()
            .map(|a| {
                let lon = (a.lon * MICRO).round() as i32;
                let lat = (a.lat * MICRO).round() as i32;
                Ok(Placed {
                    lon,
                    lat,
                    cell: cell_of(lon, lat),
                    municipality: self.intern(a.municipality)?,
                })
            })
            .collect()
    }

    fn intern(&mut self, nis: NisCode) -> Result<u16, IndexError> {
        if let Some(&i) = self.municipality_ix.get(&nis) {
            return Ok(i);
        }
        let i = u16::try_from(self.municipalities.len())
            .map_err(|_| IndexError::TooManyMunicipalities)?;
        self.municipalities.push(nis);
        self.municipality_ix.insert(nis, i);
        Ok(i)
    }

    fn new_slot(&mut self, id: PersonId, placed: &[Placed]) -> u32 {
        let addresses = placed
            .iter()
            .map(|p| Stored {
                cell: p.cell,
                municipality: p.municipality,
            })
            .collect();
        let record = Slot { id, addresses };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = record;
                slot
            }
            None => {
                self.slots.push(record);
                (self.slots.len() - 1) as u32
            }
        };
        self.by_id.insert(id, slot);
        self.addresses += placed.len();
        slot
    }

    fn entries_mut(&mut self, cell: u32) -> &mut Vec<Entry> {
        if cell == OVERFLOW {
            &mut self.overflow
        } else {
            &mut self.cells[cell as usize]
        }
    }

    fn push_entries(&mut self, slot: u32, first: usize, placed: &[Placed]) {
        for (k, p) in placed.iter().enumerate() {
            let entry = Entry {
                lon: p.lon,
                lat: p.lat,
                slot,
                ordinal: (first + k) as u8,
            };
            self.entries_mut(p.cell).push(entry);
        }
    }

    fn remove_entries(&mut self, slot: u32) {
        let mut cells: Vec<u32> = self.slots[slot as usize]
            .addresses
            .iter()
            .map(|a| a.cell)
            .collect();
        self.addresses -= cells.len();
        cells.sort_unstable();
        cells.dedup();
        for cell in cells {
            self.entries_mut(cell).retain(|e| e.slot != slot);
        }
    }

    /// The persons with at least one address in the target, each once, with the
    /// municipality of their first such address (first in their own list), sorted
    /// by person.
    pub fn resolve(&self, target: &Target, territories: &Territories) -> Resolution {
        let country = target.areas().iter().any(|a| {
            matches!(a, Area::Territory(nis)
                if territories.get(*nis).is_some_and(|t| t.level == Level::Country))
        });
        if country {
            return self.everyone();
        }
        let mut first = vec![NONE; self.slots.len()];
        for area in target.areas() {
            match area {
                Area::Territory(nis) => self.mark_territory(*nis, territories, &mut first),
                Area::Zone(zone) => {
                    self.mark_shape(&PreparedRegion::new(zone.geometry()), &mut first)
                }
                Area::Circle(circle) => self.mark_shape(&PreparedCircle::new(circle), &mut first),
            }
        }
        let recipients = first
            .iter()
            .enumerate()
            .filter(|&(_, &k)| k != NONE)
            .map(|(s, &k)| self.recipient(&self.slots[s], k as usize))
            .collect();
        Resolution::sorted(recipients)
    }

    fn recipient(&self, slot: &Slot, address: usize) -> Recipient {
        Recipient {
            person: slot.id,
            municipality: self.municipalities[slot.addresses[address].municipality as usize],
        }
    }

    fn everyone(&self) -> Resolution {
        let recipients = self
            .slots
            .iter()
            .filter(|s| !s.addresses.is_empty())
            .map(|s| self.recipient(s, 0))
            .collect();
        Resolution::sorted(recipients)
    }

    fn mark_territory(&self, nis: NisCode, territories: &Territories, first: &mut [u8]) {
        let wanted: Vec<bool> = self
            .municipalities
            .iter()
            .map(|&m| territories.contains(nis, m))
            .collect();
        if !wanted.contains(&true) {
            return;
        }
        for (mark, slot) in first.iter_mut().zip(&self.slots) {
            if let Some(k) = slot
                .addresses
                .iter()
                .position(|a| wanted[a.municipality as usize])
            {
                *mark = (*mark).min(k as u8);
            }
        }
    }

    fn mark_shape(&self, shape: &impl Shape, first: &mut [u8]) {
        let mark = |first: &mut [u8], e: &Entry| {
            let m = &mut first[e.slot as usize];
            *m = (*m).min(e.ordinal);
        };
        let point = |e: &Entry| (f64::from(e.lon) / MICRO, f64::from(e.lat) / MICRO);
        for e in &self.overflow {
            let (x, y) = point(e);
            if shape.contains(x, y) {
                mark(first, e);
            }
        }
        let Some([min_x, min_y, max_x, max_y]) = shape.bounds() else {
            return;
        };
        let index = |v: f64, origin: i64, n: usize| {
            ((v * MICRO - origin as f64) / CELL as f64)
                .floor()
                .clamp(-1.0, n as f64) as i64
        };
        let (c0, c1) = (
            index(min_x, ORIGIN_LON, COLS),
            index(max_x, ORIGIN_LON, COLS),
        );
        let (r0, r1) = (
            index(min_y, ORIGIN_LAT, ROWS),
            index(max_y, ORIGIN_LAT, ROWS),
        );
        let (c0, c1) = (c0.max(0) as usize, c1.min(COLS as i64 - 1));
        let (r0, r1) = (r0.max(0) as usize, r1.min(ROWS as i64 - 1));
        if c1 < c0 as i64 || r1 < r0 as i64 {
            return;
        }
        let (c1, r1) = (c1 as usize, r1 as usize);
        let window = Window {
            x0: (ORIGIN_LON + c0 as i64 * CELL) as f64 / MICRO,
            y0: (ORIGIN_LAT + r0 as i64 * CELL) as f64 / MICRO,
            cw: CELL as f64 / MICRO,
            ch: CELL as f64 / MICRO,
            cols: c1 - c0 + 1,
            rows: r1 - r0 + 1,
        };
        let classes = shape.classify(&window);
        for r in 0..window.rows {
            for c in 0..window.cols {
                let entries = &self.cells[(r0 + r) * COLS + c0 + c];
                match classes[r * window.cols + c] {
                    Class::Outside => {}
                    Class::Inside => entries.iter().for_each(|e| mark(first, e)),
                    Class::Partial => {
                        for e in entries {
                            let (x, y) = point(e);
                            if shape.contains(x, y) {
                                mark(first, e);
                            }
                        }
                    }
                }
            }
        }
    }

    /// What the index occupies, computed from its structures' capacities.
    pub fn memory(&self) -> IndexMemory {
        // glibc's malloc spends about this much per allocation (header, rounding).
        const PER_ALLOCATION: usize = 16;
        let entry = size_of::<Entry>();
        let mut grid =
            self.cells.capacity() * size_of::<Vec<Entry>>() + self.overflow.capacity() * entry;
        for cell in self.cells.iter().filter(|c| c.capacity() > 0) {
            grid += cell.capacity() * entry + PER_ALLOCATION;
        }
        let mut persons =
            self.slots.capacity() * size_of::<Slot>() + self.free.capacity() * size_of::<u32>();
        for slot in self.slots.iter().filter(|s| !s.addresses.is_empty()) {
            persons += slot.addresses.len() * size_of::<Stored>() + PER_ALLOCATION;
        }
        let lookup = table_bytes(self.by_id.capacity(), size_of::<(PersonId, u32)>())
            + table_bytes(self.municipality_ix.capacity(), size_of::<(NisCode, u16)>())
            + self.municipalities.capacity() * size_of::<NisCode>();
        IndexMemory {
            grid_bytes: grid,
            person_bytes: persons,
            lookup_bytes: lookup,
            persons: self.persons(),
            addresses: self.addresses,
        }
    }
}

/// A hash table's size for a capacity: buckets are a power of two, at most 7/8 full,
/// with one control byte each.
fn table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7).next_power_of_two().max(4);
    buckets * (entry + 1)
}

/// The index's memory, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexMemory {
    /// The grid: cell vectors and their entries.
    pub grid_bytes: usize,
    /// The persons' records and their address lists.
    pub person_bytes: usize,
    /// The person-id and municipality look-ups.
    pub lookup_bytes: usize,
    pub persons: usize,
    pub addresses: usize,
}

impl IndexMemory {
    pub fn total_bytes(&self) -> usize {
        self.grid_bytes + self.person_bytes + self.lookup_bytes
    }

    pub fn bytes_per_address(&self) -> f64 {
        self.total_bytes() as f64 / self.addresses.max(1) as f64
    }
}
