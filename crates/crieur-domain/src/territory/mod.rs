//! Belgian territorial units (country, regions, provinces, municipalities), their
//! names, official languages, postal codes and geometry, and the point-in-territory
//! look-up every other part relies on.
//!
//! The data is embedded in the binary (see `data/` and `tools/territories/`); official
//! boundaries imported later replace the approximate municipality shapes.

mod boundaries;
mod embedded;

pub use boundaries::{
    Boundary, BoundaryError, BoundaryProblem, geometry_from_geojson, geometry_to_geojson,
    parse_boundaries,
};
pub use embedded::DataError;

use crate::{Language, Level, NisCode, text};
use geo::{BoundingRect, Intersects, MultiPolygon, Point, Rect};
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use std::collections::{BTreeMap, HashMap};

/// A unit's name in each language. Municipalities have no official English name:
/// `en` then holds the name in the unit's (first) official language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Names {
    pub nl: String,
    pub fr: String,
    pub de: String,
    pub en: String,
}

impl Names {
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::Nl => &self.nl,
            Language::Fr => &self.fr,
            Language::De => &self.de,
            Language::En => &self.en,
        }
    }
}

/// One territorial unit.
#[derive(Debug, Clone)]
pub struct Territory {
    pub nis: NisCode,
    pub level: Level,
    pub names: Names,
    /// The unit one level up; `None` for the country.
    pub parent: Option<NisCode>,
    /// Official language(s), the fallback language for its population.
    pub languages: Vec<Language>,
    /// True while the geometry is Crieur's approximation rather than an official
    /// boundary (see `tools/territories/README.md`).
    pub approximate: bool,
    pub geometry: MultiPolygon<f64>,
    pub bbox: Option<Rect<f64>>,
}

impl Territory {
    pub fn name(&self, lang: Language) -> &str {
        self.names.get(lang)
    }
}

/// A judicial canton: the finest unit with a real (NGI) boundary in the shipped data.
#[derive(Debug, Clone)]
pub struct Canton {
    pub id: String,
    pub names: Names,
    pub province: NisCode,
    pub municipalities: Vec<NisCode>,
    pub geometry: MultiPolygon<f64>,
}

/// A populated place (GeoNames), used for the demo's synthetic address registry and
/// for finding places by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub population: u64,
    pub municipality: NisCode,
}

/// Where a point lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub municipality: NisCode,
    pub province: NisCode,
    pub region: NisCode,
}

type BoxIndex = RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>;

/// All territorial units with their look-ups.
#[derive(Debug, Clone)]
pub struct Territories {
    units: Vec<Territory>,
    by_nis: HashMap<NisCode, usize>,
    postal: BTreeMap<String, Vec<NisCode>>,
    cantons: Vec<Canton>,
    places: Vec<Place>,
    municipality_index: BoxIndex,
    attribution: String,
}

impl Territories {
    /// Parses the Belgian data embedded in the binary.
    pub fn embedded() -> Result<Territories, DataError> {
        embedded::load()
    }

    fn build(
        units: Vec<Territory>,
        postal: BTreeMap<String, Vec<NisCode>>,
        cantons: Vec<Canton>,
        places: Vec<Place>,
        attribution: String,
    ) -> Territories {
        let by_nis = units.iter().enumerate().map(|(i, u)| (u.nis, i)).collect();
        let mut t = Territories {
            units,
            by_nis,
            postal,
            cantons,
            places,
            municipality_index: RTree::new(),
            attribution,
        };
        t.reindex();
        t
    }

    fn reindex(&mut self) {
        let boxes = self
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.level == Level::Municipality)
            .filter_map(|(i, u)| {
                let r = u.bbox?;
                let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                Some(GeomWithData::new(rect, i))
            })
            .collect();
        self.municipality_index = RTree::bulk_load(boxes);
    }

    /// Where the data comes from, and under which licences.
    pub fn attribution(&self) -> &str {
        &self.attribution
    }

    pub fn get(&self, nis: NisCode) -> Option<&Territory> {
        self.by_nis.get(&nis).map(|&i| &self.units[i])
    }

    /// Every unit of a level, in NIS-code order.
    pub fn at_level(&self, level: Level) -> impl Iterator<Item = &Territory> {
        self.units.iter().filter(move |u| u.level == level)
    }

    pub fn all(&self) -> impl Iterator<Item = &Territory> {
        self.units.iter()
    }

    /// The direct children of a unit.
    pub fn children(&self, nis: NisCode) -> impl Iterator<Item = &Territory> {
        self.units.iter().filter(move |u| u.parent == Some(nis))
    }

    /// The unit and all units above it, nearest first.
    pub fn ancestry(&self, nis: NisCode) -> Vec<&Territory> {
        let mut chain = Vec::new();
        let mut next = self.get(nis);
        while let Some(u) = next {
            chain.push(u);
            next = u.parent.and_then(|p| self.get(p));
        }
        chain
    }

    /// True when `inner` is `outer` or lies within it.
    pub fn contains(&self, outer: NisCode, inner: NisCode) -> bool {
        self.ancestry(inner).iter().any(|u| u.nis == outer)
    }

    /// The municipalities a Belgian postal code serves (several for some codes).
    pub fn municipalities_for_postal_code(&self, postal_code: &str) -> &[NisCode] {
        self.postal
            .get(postal_code.trim())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The postal codes of a municipality.
    pub fn postal_codes_of(&self, nis: NisCode) -> Vec<&str> {
        self.postal
            .iter()
            .filter(|(_, m)| m.contains(&nis))
            .map(|(code, _)| code.as_str())
            .collect()
    }

    pub fn cantons(&self) -> &[Canton] {
        &self.cantons
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// The municipality, province and region containing a WGS 84 point, if any.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<Location> {
        let point = Point::new(lon, lat);
        let hit = self
            .municipality_index
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .map(|g| &self.units[g.data])
            // Polygon by polygon: geo's MultiPolygon test recomputes the whole
            // bounding box on every call, which the index has already checked.
            .find(|u| u.geometry.0.iter().any(|p| p.intersects(&point)))?;
        let province = hit.parent?;
        let region = self.get(province)?.parent?;
        Some(Location {
            municipality: hit.nis,
            province,
            region,
        })
    }

    /// Units whose name in any language matches `query` once case and accents are
    /// ignored; exact matches first, then prefix matches.
    pub fn search(&self, query: &str) -> Vec<&Territory> {
        let q = text::fold(query);
        if q.is_empty() {
            return Vec::new();
        }
        let mut exact = Vec::new();
        let mut prefix = Vec::new();
        for u in &self.units {
            let names = [&u.names.nl, &u.names.fr, &u.names.de, &u.names.en];
            let folded: Vec<String> = names.iter().map(|n| text::fold(n)).collect();
            if folded.contains(&q) {
                exact.push(u);
            } else if folded.iter().any(|n| n.starts_with(&q)) {
                prefix.push(u);
            }
        }
        exact.extend(prefix);
        exact
    }

    /// Replaces units' approximate geometry by official boundaries.
    pub fn apply_boundaries(&mut self, boundaries: impl IntoIterator<Item = Boundary>) {
        for b in boundaries {
            if let Some(&i) = self.by_nis.get(&b.nis) {
                let unit = &mut self.units[i];
                unit.bbox = b.geometry.bounding_rect();
                unit.geometry = b.geometry;
                unit.approximate = false;
            }
        }
        self.reindex();
    }
}

#[cfg(test)]
mod tests;
