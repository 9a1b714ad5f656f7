//! Loads the Belgian reference data compiled into the binary
//! (`data/be-territories.json.gz`, produced by `tools/territories/build.py`).

use super::{Canton, Names, Place, Territories, Territory};
use crate::{Language, Level, NisCode};
use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

static DATA: &[u8] = include_bytes!("../../data/be-territories.json.gz");

/// The embedded data could not be read: a build defect, never a user error.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("embedded territory data is not valid gzip: {0}")]
    Gzip(#[from] std::io::Error),
    #[error("embedded territory data is malformed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("embedded territory data is inconsistent: {0}")]
    Inconsistent(String),
}

type Coords = Vec<Vec<Vec<[f64; 2]>>>;

#[derive(Deserialize)]
struct RawNames {
    nl: String,
    fr: String,
    #[serde(default)]
    de: Option<String>,
}

#[derive(Deserialize)]
struct RawUnit {
    nis: NisCode,
    names: RawNames,
    #[serde(default)]
    region: Option<NisCode>,
    #[serde(default)]
    province: Option<NisCode>,
    #[serde(default)]
    languages: Vec<Language>,
    #[serde(default)]
    approximate: bool,
    geometry: Coords,
}

#[derive(Deserialize)]
struct RawCanton {
    id: String,
    names: RawNames,
    province: NisCode,
    municipalities: Vec<NisCode>,
    geometry: Coords,
}

#[derive(Deserialize)]
struct RawPlace {
    name: String,
    lon: f64,
    lat: f64,
    population: u64,
    municipality: NisCode,
}

#[derive(Deserialize)]
struct Raw {
    attribution: String,
    regions: Vec<RawUnit>,
    provinces: Vec<RawUnit>,
    municipalities: Vec<RawUnit>,
    cantons: Vec<RawCanton>,
    postal_codes: Vec<(String, NisCode)>,
    places: Vec<RawPlace>,
}

/// English names exist for the country, regions and provinces; municipalities keep
/// their own names in English texts.
fn english_name(nis: &str) -> Option<&'static str> {
    Some(match nis {
        "01000" => "Belgium",
        "02000" => "Flemish Region",
        "03000" => "Walloon Region",
        "04000" => "Brussels-Capital Region",
        "10000" => "Province of Antwerp",
        "20001" => "Province of Flemish Brabant",
        "20002" => "Province of Walloon Brabant",
        "21000" => "Brussels-Capital",
        "30000" => "Province of West Flanders",
        "40000" => "Province of East Flanders",
        "50000" => "Province of Hainaut",
        "60000" => "Province of Liège",
        "70000" => "Province of Limburg",
        "80000" => "Province of Luxembourg",
        "90000" => "Province of Namur",
        _ => return None,
    })
}

fn multipolygon(coords: Coords) -> MultiPolygon<f64> {
    let ring = |r: Vec<[f64; 2]>| LineString(r.into_iter().map(|[x, y]| Coord { x, y }).collect());
    MultiPolygon(
        coords
            .into_iter()
            .map(|rings| {
                let mut rings = rings.into_iter();
                let exterior = rings.next().map(ring).unwrap_or_else(|| LineString(vec![]));
                Polygon::new(exterior, rings.map(ring).collect())
            })
            .collect(),
    )
}

fn names(nis: Option<&str>, raw: RawNames, languages: &[Language]) -> Names {
    let official = match languages.first() {
        Some(Language::Nl) => raw.nl.clone(),
        Some(Language::De) => raw.de.clone().unwrap_or_else(|| raw.fr.clone()),
        _ => raw.fr.clone(),
    };
    let en = nis
        .and_then(english_name)
        .map(str::to_owned)
        .unwrap_or_else(|| official.clone());
    Names {
        de: raw.de.unwrap_or(official),
        nl: raw.nl,
        fr: raw.fr,
        en,
    }
}

fn unit(
    raw: RawUnit,
    level: Level,
    parent: Option<NisCode>,
    languages: Vec<Language>,
) -> Territory {
    let geometry = multipolygon(raw.geometry);
    Territory {
        names: names(Some(raw.nis.as_str()), raw.names, &languages),
        nis: raw.nis,
        level,
        parent,
        languages,
        approximate: raw.approximate,
        bbox: geometry.bounding_rect(),
        geometry,
    }
}

pub(super) fn load() -> Result<Territories, DataError> {
    let mut json = Vec::with_capacity(DATA.len() * 4);
    flate2::read::GzDecoder::new(DATA).read_to_end(&mut json)?;
    let raw: Raw = serde_json::from_slice(&json)?;

    // A province's or region's languages are those of its municipalities.
    let mut langs: HashMap<NisCode, Vec<Language>> = HashMap::new();
    for m in &raw.municipalities {
        for key in [m.province, m.region].into_iter().flatten() {
            let entry = langs.entry(key).or_default();
            for l in &m.languages {
                if !entry.contains(l) {
                    entry.push(*l);
                }
            }
        }
    }
    let languages_of = |nis: NisCode| {
        let mut l = langs.get(&nis).cloned().unwrap_or_default();
        l.sort();
        l
    };

    let mut units = Vec::new();
    let mut country = MultiPolygon(vec![]);
    for r in &raw.regions {
        country.0.extend(multipolygon(r.geometry.clone()).0);
    }
    let country_languages = vec![Language::Nl, Language::Fr, Language::De];
    units.push(Territory {
        nis: NisCode::BELGIUM,
        level: Level::Country,
        names: Names {
            nl: "België".into(),
            fr: "Belgique".into(),
            de: "Belgien".into(),
            en: "Belgium".into(),
        },
        parent: None,
        languages: country_languages,
        approximate: false,
        bbox: country.bounding_rect(),
        geometry: country,
    });
    for r in raw.regions {
        let l = languages_of(r.nis);
        units.push(unit(r, Level::Region, Some(NisCode::BELGIUM), l));
    }
    for p in raw.provinces {
        let l = languages_of(p.nis);
        let parent = p
            .region
            .ok_or_else(|| DataError::Inconsistent(format!("province {} has no region", p.nis)))?;
        units.push(unit(p, Level::Province, Some(parent), l));
    }
    for m in raw.municipalities {
        let parent = m.province.ok_or_else(|| {
            DataError::Inconsistent(format!("municipality {} has no province", m.nis))
        })?;
        let l = m.languages.clone();
        units.push(unit(m, Level::Municipality, Some(parent), l));
    }
    units.sort_by_key(|u| (u.level, u.nis));

    let mut postal: BTreeMap<String, Vec<NisCode>> = BTreeMap::new();
    for (code, nis) in raw.postal_codes {
        postal.entry(code).or_default().push(nis);
    }
    let cantons = raw
        .cantons
        .into_iter()
        .map(|c| Canton {
            names: names(None, c.names, &[]),
            id: c.id,
            province: c.province,
            municipalities: c.municipalities,
            geometry: multipolygon(c.geometry),
        })
        .collect();
    let places = raw
        .places
        .into_iter()
        .map(|p| Place {
            name: p.name,
            lon: p.lon,
            lat: p.lat,
            population: p.population,
            municipality: p.municipality,
        })
        .collect();
    let t = Territories::build(units, postal, cantons, places, raw.attribution);
    for u in t.all() {
        if let Some(p) = u.parent
            && t.get(p).is_none()
        {
            return Err(DataError::Inconsistent(format!(
                "{} has unknown parent {p}",
                u.nis
            )));
        }
    }
    Ok(t)
}
