//! `crieur addresses …`

use crate::config::Config;
use clap::Subcommand;
use crieur_domain::Territories;
use crieur_domain::address::parse_registry_csv;
use crieur_store::Store;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(super) enum AddressesCommand {
    /// Import addresses from a CSV shaped like Belgium's open address data
    /// (street, house number, postal code, municipality, longitude, latitude).
    /// A file with refused lines stores nothing unless --skip-invalid is given.
    Import {
        file: PathBuf,
        /// Store the valid lines and report the refused ones.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Look an address up in the registry.
    Lookup {
        postcode: String,
        street: String,
        number: String,
    },
    /// Show what the registry holds and where it came from.
    Status,
}

const MAX_CSV: u64 = 4 << 30;
/// Refused lines printed; the count of the rest follows.
const SHOWN_ERRORS: usize = 50;

pub(super) async fn run(cmd: &AddressesCommand, config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database.url).await?;
    match cmd {
        AddressesCommand::Import { file, skip_invalid } => {
            let bytes = super::maybe_gunzip(super::read_limited(file, MAX_CSV)?, MAX_CSV)?;
            let territories = Territories::embedded()?;
            let name = file.display().to_string();
            let outcome = import(&store, &territories, &name, &bytes, *skip_invalid).await?;
            println!("{outcome}");
            Ok(())
        }
        AddressesCommand::Lookup {
            postcode,
            street,
            number,
        } => match store.addresses().geocode(postcode, street, number).await? {
            Some(a) => {
                println!(
                    "{} {}, {} — municipality {} — lon {:.6} lat {:.6}",
                    a.street(),
                    a.house_number,
                    a.postcode,
                    a.municipality,
                    a.lon,
                    a.lat
                );
                Ok(())
            }
            None => anyhow::bail!("{street} {number}, {postcode} is not in the registry"),
        },
        AddressesCommand::Status => {
            println!("{} address(es)", store.addresses().count_addresses().await?);
            for s in store.addresses().registry_sources().await? {
                println!(
                    "  {}  {} rows{}  imported {}",
                    s.name,
                    s.rows,
                    if s.synthetic { " (synthetic)" } else { "" },
                    s.imported_at
                );
            }
            Ok(())
        }
    }
}

/// Parses and stores a registry file; the returned text reports the outcome.
pub(crate) async fn import(
    store: &Store,
    territories: &Territories,
    name: &str,
    bytes: &[u8],
    skip_invalid: bool,
) -> anyhow::Result<String> {
    let parsed =
        parse_registry_csv(bytes, territories).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let mut report = String::new();
    for e in parsed.errors.iter().take(SHOWN_ERRORS) {
        report.push_str(&format!("{name}: {e}\n"));
    }
    if parsed.errors.len() > SHOWN_ERRORS {
        report.push_str(&format!(
            "… and {} more refused line(s)\n",
            parsed.errors.len() - SHOWN_ERRORS
        ));
    }
    if !parsed.errors.is_empty() && !skip_invalid {
        anyhow::bail!(
            "{report}{name}: {} line(s) refused; nothing was stored (fix them, or pass --skip-invalid)",
            parsed.errors.len()
        );
    }
    anyhow::ensure!(
        !parsed.addresses.is_empty(),
        "{name}: no address in the file"
    );
    let outcome = store
        .addresses()
        .import_addresses(name, parsed.synthetic, &parsed.addresses)
        .await?;
    report.push_str(&format!(
        "{name}: {} address(es) stored ({} new, {} updated){}{}",
        parsed.addresses.len(),
        outcome.added,
        outcome.updated,
        if parsed.errors.is_empty() {
            String::new()
        } else {
            format!(", {} line(s) skipped", parsed.errors.len())
        },
        if parsed.synthetic {
            "; marked synthetic"
        } else {
            ""
        }
    ));
    Ok(report)
}
