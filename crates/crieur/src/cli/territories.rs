//! `crieur territories …`

use crate::config::Config;
use anyhow::Context;
use clap::Subcommand;
use crieur_domain::territory::{geometry_to_geojson, parse_boundaries};
use crieur_domain::{Language, Level, NisCode, Territories, Territory};
use crieur_store::{Store, StoredBoundary};
use geo::GeodesicArea;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(super) enum TerritoriesCommand {
    /// List units, optionally of one level or under one parent.
    List {
        /// country, region, province or municipality.
        #[arg(long)]
        level: Option<Level>,
        /// Only the direct children of this NIS code.
        #[arg(long)]
        parent: Option<NisCode>,
        /// Language of the names (fr, nl, de, en).
        #[arg(long)]
        lang: Option<Language>,
    },
    /// Show one unit, by NIS code, postal code or name.
    Show {
        /// A NIS code (62063), a postal code (4000) or a name (Liège).
        query: String,
        #[arg(long)]
        lang: Option<Language>,
    },
    /// Tell which municipality, province and region contain a point (WGS 84).
    Locate {
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        #[arg(allow_negative_numbers = true)]
        lat: f64,
    },
    /// Replace approximate shapes by official boundaries from a GeoJSON
    /// FeatureCollection in WGS 84, matched on a NIS-code property. All or nothing.
    Import {
        file: PathBuf,
        /// The property holding the NIS code (default: nis, niscode, refnis,
        /// CD_MUNTY_REFNIS, code_ins… are tried).
        #[arg(long)]
        nis_property: Option<String>,
        /// Where the boundaries come from, kept with them (default: the file name).
        #[arg(long)]
        source: Option<String>,
    },
}

/// GeoJSON files larger than this are refused before being read.
const MAX_GEOJSON: u64 = 1 << 30;

pub(super) async fn run(cmd: &TerritoriesCommand, config: &Config) -> anyhow::Result<()> {
    let default_lang = config.web.default_language;
    match cmd {
        TerritoriesCommand::List {
            level,
            parent,
            lang,
        } => {
            let t = Territories::embedded()?;
            let lang = lang.unwrap_or(default_lang);
            let mut n = 0;
            for u in t.all() {
                if level.is_some_and(|l| u.level != l)
                    || parent.is_some_and(|p| u.parent != Some(p))
                {
                    continue;
                }
                n += 1;
                println!(
                    "{}  {:<12}  {}{}",
                    u.nis,
                    u.level.as_str(),
                    u.name(lang),
                    u.parent.map(|p| format!("  (in {p})")).unwrap_or_default()
                );
            }
            eprintln!("{n} unit(s)");
            Ok(())
        }
        TerritoriesCommand::Show { query, lang } => {
            let store = Store::open(&config.database.url).await?;
            let t = crate::app::load_territories(&store).await?;
            let lang = lang.unwrap_or(default_lang);
            let found = find(&t, query);
            anyhow::ensure!(!found.is_empty(), "no territory matches {query:?}");
            for u in found {
                print_unit(&t, u, lang);
            }
            Ok(())
        }
        TerritoriesCommand::Locate { lon, lat } => {
            let store = Store::open(&config.database.url).await?;
            let t = crate::app::load_territories(&store).await?;
            let loc = t
                .locate(*lon, *lat)
                .with_context(|| format!("({lon}, {lat}) is not in Belgium (longitude first)"))?;
            for nis in [loc.municipality, loc.province, loc.region] {
                if let Some(u) = t.get(nis) {
                    println!(
                        "{:<12}  {}  {}",
                        u.level.as_str(),
                        u.nis,
                        u.name(default_lang)
                    );
                }
            }
            Ok(())
        }
        TerritoriesCommand::Import {
            file,
            nis_property,
            source,
        } => {
            let bytes = super::maybe_gunzip(super::read_limited(file, MAX_GEOJSON)?, MAX_GEOJSON)?;
            let text = String::from_utf8(bytes)
                .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text ({e})", file.display()))?;
            let store = Store::open(&config.database.url).await?;
            let territories = crate::app::load_territories(&store).await?;
            let boundaries = parse_boundaries(&text, nis_property.as_deref(), &territories)
                .map_err(|e| anyhow::anyhow!("{}: {e}\nNothing was stored.", file.display()))?;
            let source = source.clone().unwrap_or_else(|| {
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let stored: Vec<StoredBoundary> = boundaries
                .iter()
                .map(|b| StoredBoundary {
                    nis: b.nis,
                    geometry_geojson: geometry_to_geojson(&b.geometry),
                    source: source.clone(),
                })
                .collect();
            let n = store.boundaries().save_boundaries(&stored).await?;
            println!(
                "Stored {n} official boundar{} from {}. A running server uses them after a restart.",
                if n == 1 { "y" } else { "ies" },
                file.display()
            );
            Ok(())
        }
    }
}

fn find<'a>(t: &'a Territories, query: &str) -> Vec<&'a Territory> {
    let q = query.trim();
    if let Ok(nis) = q.parse::<NisCode>() {
        return t.get(nis).into_iter().collect();
    }
    if q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .municipalities_for_postal_code(q)
            .iter()
            .filter_map(|n| t.get(*n))
            .collect();
    }
    t.search(q)
}

fn print_unit(t: &Territories, u: &Territory, lang: Language) {
    println!("{}  {}", u.nis, u.name(lang));
    println!("  level       {}", u.level);
    println!(
        "  names       nl: {} | fr: {} | de: {} | en: {}",
        u.names.nl, u.names.fr, u.names.de, u.names.en
    );
    let chain: Vec<String> = t
        .ancestry(u.nis)
        .iter()
        .skip(1)
        .map(|a| format!("{} {}", a.nis, a.name(lang)))
        .collect();
    if !chain.is_empty() {
        println!("  within      {}", chain.join(" › "));
    }
    let langs: Vec<&str> = u.languages.iter().map(|l| l.code()).collect();
    println!("  languages   {}", langs.join(", "));
    if u.level == Level::Municipality {
        println!("  postal      {}", t.postal_codes_of(u.nis).join(", "));
    }
    println!(
        "  area        {:.1} km² ({} boundary)",
        u.geometry.geodesic_area_unsigned() / 1e6,
        if u.approximate {
            "approximate"
        } else {
            "official"
        }
    );
}
