//! The address registry used to geocode citizens' addresses: records shaped like
//! Belgium's open address data (BOSA "BeST Address"), parsed from CSV with an error
//! report naming each refused line.

use crate::{NisCode, Territories, text};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;

/// One geocoded address of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryAddress {
    /// Street names per language; at least one is present.
    pub street_nl: Option<String>,
    pub street_fr: Option<String>,
    pub street_de: Option<String>,
    pub house_number: String,
    pub box_number: Option<String>,
    pub postcode: String,
    pub municipality: NisCode,
    pub lon: f64,
    pub lat: f64,
}

impl RegistryAddress {
    /// The street name in the first language it exists in.
    pub fn street(&self) -> &str {
        self.street_fr
            .as_deref()
            .or(self.street_nl.as_deref())
            .or(self.street_de.as_deref())
            .unwrap_or_default()
    }

    /// The keys the address can be found under: its street names folded.
    pub fn street_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = [&self.street_nl, &self.street_fr, &self.street_de]
            .into_iter()
            .flatten()
            .map(|s| text::fold(s))
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// A refused line. `line` is the 1-based line number in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The result of reading a registry file: the good rows and every refused line.
#[derive(Debug, Default)]
pub struct RegistryParse {
    pub addresses: Vec<RegistryAddress>,
    pub errors: Vec<LineError>,
    /// True when every row says `status = synthetic` (the demo's generated file).
    pub synthetic: bool,
}

/// A file that cannot be read as a registry at all.
#[derive(Debug, thiserror::Error)]
pub enum RegistryFileError {
    #[error("cannot read the CSV header: {0}")]
    Header(String),
    #[error("missing column {0}: expected a header with {1}")]
    MissingColumn(&'static str, &'static str),
}

struct Columns {
    street: [Option<usize>; 3],
    house_number: usize,
    box_number: Option<usize>,
    postcode: usize,
    municipality_id: Option<usize>,
    municipality_name: Vec<usize>,
    lon: usize,
    lat: usize,
    status: Option<usize>,
}

impl Columns {
    fn from_header(header: &csv::StringRecord) -> Result<Columns, RegistryFileError> {
        let index: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                (
                    h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase(),
                    i,
                )
            })
            .collect();
        let find = |names: &[&str]| names.iter().find_map(|n| index.get(*n).copied());
        let need = |names: &[&str], label: &'static str, hint: &'static str| {
            find(names).ok_or(RegistryFileError::MissingColumn(label, hint))
        };
        let street = [
            find(&["streetname_nl"]),
            find(&["streetname_fr", "street"]),
            find(&["streetname_de"]),
        ];
        if street.iter().all(Option::is_none) {
            return Err(RegistryFileError::MissingColumn(
                "street",
                "street, streetname_nl, streetname_fr or streetname_de",
            ));
        }
        let municipality_name: Vec<usize> = [
            "municipality_name_nl",
            "municipality_name_fr",
            "municipality_name_de",
            "municipality",
        ]
        .iter()
        .filter_map(|n| index.get(*n).copied())
        .collect();
        let municipality_id = find(&["municipality_id", "nis", "niscode"]);
        if municipality_id.is_none() && municipality_name.is_empty() {
            return Err(RegistryFileError::MissingColumn(
                "municipality",
                "municipality_id (NIS code) or municipality / municipality_name_xx",
            ));
        }
        Ok(Columns {
            street,
            house_number: need(
                &["house_number", "housenumber", "number"],
                "house_number",
                "house_number",
            )?,
            box_number: find(&["box_number", "box"]),
            postcode: need(
                &["postcode", "postal_code", "postalcode"],
                "postcode",
                "postcode",
            )?,
            municipality_id,
            municipality_name,
            lon: need(
                &["epsg:4326_lon", "lon", "longitude"],
                "longitude",
                "EPSG:4326_lon or lon",
            )?,
            lat: need(
                &["epsg:4326_lat", "lat", "latitude"],
                "latitude",
                "EPSG:4326_lat or lat",
            )?,
            status: find(&["status"]),
        })
    }
}

/// Longest field accepted; longer ones are refused rather than truncated.
const MAX_FIELD: usize = 200;

/// Reads a registry CSV (comma or semicolon separated). Every line is checked
/// against the territories: postal code known, municipality known and served by
/// that postal code, coordinates in Belgium.
pub fn parse_registry_csv(
    input: impl Read,
    territories: &Territories,
) -> Result<RegistryParse, RegistryFileError> {
    let mut input = std::io::BufReader::new(input);
    let delimiter = sniff_delimiter(&mut input);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| RegistryFileError::Header(e.to_string()))?
        .clone();
    let cols = Columns::from_header(&header)?;
    let names = municipality_names(territories);

    let mut out = RegistryParse {
        synthetic: true,
        ..Default::default()
    };
    let mut any = false;
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                out.errors.push(LineError {
                    line,
                    message: format!("unreadable CSV: {e}"),
                });
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        any = true;
        if cols.status.and_then(|i| record.get(i)).map(str::trim) != Some("synthetic") {
            out.synthetic = false;
        }
        match parse_row(&record, &cols, territories, &names) {
            Ok(a) => out.addresses.push(a),
            Err(message) => out.errors.push(LineError { line, message }),
        }
    }
    out.synthetic &= any;
    Ok(out)
}

fn sniff_delimiter(input: &mut std::io::BufReader<impl Read>) -> u8 {
    use std::io::BufRead;
    let head = input.fill_buf().unwrap_or_default();
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let commas = first.iter().filter(|&&b| b == b',').count();
    let semis = first.iter().filter(|&&b| b == b';').count();
    if semis > commas { b';' } else { b',' }
}

fn municipality_names(territories: &Territories) -> HashMap<String, Vec<NisCode>> {
    let mut names: HashMap<String, Vec<NisCode>> = HashMap::new();
    for m in territories.at_level(crate::Level::Municipality) {
        for n in [&m.names.nl, &m.names.fr, &m.names.de] {
            let entry = names.entry(text::fold(n)).or_default();
            if !entry.contains(&m.nis) {
                entry.push(m.nis);
            }
        }
    }
    names
}

fn parse_row(
    record: &csv::StringRecord,
    cols: &Columns,
    territories: &Territories,
    names: &HashMap<String, Vec<NisCode>>,
) -> Result<RegistryAddress, String> {
    let field = |i: usize| record.get(i).map(str::trim).unwrap_or("");
    let optional = |i: Option<usize>| i.map(field).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(long) = record.iter().find(|f| f.len() > MAX_FIELD) {
        return Err(format!(
            "a field is {} characters long (at most {MAX_FIELD}): {:.40}…",
            long.len(),
            long
        ));
    }

    let [street_nl, street_fr, street_de] = cols.street.map(optional);
    if street_nl.is_none() && street_fr.is_none() && street_de.is_none() {
        return Err("no street name".into());
    }
    let house_number = field(cols.house_number);
    if house_number.is_empty() {
        return Err("no house number".into());
    }
    let postcode = field(cols.postcode);
    let served = territories.municipalities_for_postal_code(postcode);
    if served.is_empty() {
        return Err(format!("unknown Belgian postal code {postcode:?}"));
    }

    let municipality = match cols.municipality_id.map(field).filter(|s| !s.is_empty()) {
        Some(id) => {
            let nis: NisCode = id
                .parse()
                .map_err(|e: crate::nis::InvalidNisCode| e.to_string())?;
            if territories.get(nis).is_none() {
                return Err(format!("unknown municipality NIS code {nis}"));
            }
            nis
        }
        None => {
            let name = cols
                .municipality_name
                .iter()
                .map(|&i| field(i))
                .find(|s| !s.is_empty())
                .ok_or("no municipality")?;
            let candidates = names
                .get(&text::fold(name))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            *candidates
                .iter()
                .find(|n| served.contains(n))
                .or(candidates.first())
                .ok_or_else(|| format!("unknown municipality {name:?}"))?
        }
    };
    if !served.contains(&municipality) {
        return Err(format!(
            "postal code {postcode} does not serve municipality {municipality}"
        ));
    }

    let coordinate = |i: usize, what: &str| {
        field(i)
            .replace(',', ".")
            .parse::<f64>()
            .map_err(|_| format!("{what} {:?} is not a number", field(i)))
    };
    let lon = coordinate(cols.lon, "longitude")?;
    let lat = coordinate(cols.lat, "latitude")?;
    if !(2.3..=6.6).contains(&lon) || !(49.3..=51.7).contains(&lat) {
        return Err(format!(
            "the point ({lon}, {lat}) is not in Belgium (expected WGS 84 longitude and latitude)"
        ));
    }
    Ok(RegistryAddress {
        street_nl,
        street_fr,
        street_de,
        house_number: house_number.to_owned(),
        box_number: optional(cols.box_number),
        postcode: postcode.to_owned(),
        municipality,
        lon,
        lat,
    })
}
