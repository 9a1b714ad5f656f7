//! `crieur citizens import`: bring a municipality's existing register over from
//! another system, with a report line per refused row.

use crate::app::{App, Mode};
use crate::config::Config;
use clap::Subcommand;
use crieur_domain::citizen::{
    AddressInput, MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, PhoneInput, RegistrationInput,
};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(super) enum CitizensCommand {
    /// Import citizens from a CSV file with the columns language, phone_1…phone_5,
    /// email_1…email_5, address_N_label / _street / _number / _postcode (N = 1…5)
    /// and optionally address_N_longitude / _latitude (a pin, used when the
    /// registry does not know the address),
    /// general_interest (yes/no) and verified_on (YYYY-MM-DD: the date the previous
    /// system verified the contacts; empty means they must still be verified).
    /// A file with refused rows stores nothing unless --skip-invalid is given.
    Import {
        file: PathBuf,
        /// Who the file comes from, kept with every imported citizen.
        #[arg(long)]
        source: String,
        #[arg(long)]
        skip_invalid: bool,
    },
}

const MAX_CSV: u64 = 1 << 30;

/// Coordinates given for an address the registry may not know.
fn pin(lon: &str, lat: &str) -> Option<(f64, f64)> {
    let lon: f64 = lon.trim().parse().ok()?;
    let lat: f64 = lat.trim().parse().ok()?;
    (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
}
const SHOWN_ERRORS: usize = 50;

fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "1" | "yes" | "true" | "oui" | "ja" | "y"
    )
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

pub(super) async fn run(cmd: &CitizensCommand, config: &Config) -> anyhow::Result<()> {
    let CitizensCommand::Import {
        file,
        source,
        skip_invalid,
    } = cmd;
    let source = source.trim();
    anyhow::ensure!(
        !source.is_empty() && source.len() <= 100,
        "--source must name the file's origin (1 to 100 characters)"
    );
    let bytes = super::maybe_gunzip(super::read_limited(file, MAX_CSV)?, MAX_CSV)?;
    let name = file.display().to_string();
    let app = App::build(config.clone(), Mode::default()).await?;
    let state = app.state();

    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("{name}: cannot read the header: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    anyhow::ensure!(
        header.iter().any(|h| h == "language"),
        "{name}: missing column language (and phone_1…, email_1…, address_1_street…)"
    );

    let mut errors: Vec<String> = Vec::new();
    let mut ready = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i as u64 + 2, |p| p.line());
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{name}: line {line}: unreadable CSV: {e}"));
                continue;
            }
        };
        let row: HashMap<&str, &str> = header
            .iter()
            .map(String::as_str)
            .zip(record.iter())
            .collect();
        let get = |k: &str| row.get(k).copied().unwrap_or("").to_owned();
        let input = RegistrationInput {
            language: get("language"),
            phones: (1..=MAX_PHONES + 1)
                .map(|n| PhoneInput {
                    number: get(&format!("phone_{n}")),
                    sms: true,
                    voice: false,
                })
                .collect(),
            emails: (1..=MAX_EMAILS + 1)
                .map(|n| get(&format!("email_{n}")))
                .collect(),
            addresses: (1..=MAX_ADDRESSES + 1)
                .map(|n| AddressInput {
                    label: get(&format!("address_{n}_label")),
                    street: get(&format!("address_{n}_street")),
                    house_number: get(&format!("address_{n}_number")),
                    postcode: get(&format!("address_{n}_postcode")),
                    pin: pin(
                        &get(&format!("address_{n}_longitude")),
                        &get(&format!("address_{n}_latitude")),
                    ),
                })
                .collect(),
            general_interest: truthy(&get("general_interest")),
            // The municipality's earlier system collected consent; its source
            // is recorded as the consent's version.
            consent: true,
        };
        let verified_on = get("verified_on");
        if !verified_on.is_empty() && !valid_date(&verified_on) {
            errors.push(format!(
                "{name}: line {line}: verified_on {verified_on:?} is not a date (YYYY-MM-DD)"
            ));
            continue;
        }
        let verified = (!verified_on.is_empty()).then_some(verified_on.as_str());
        match crieur_web::citizens::prepare_import(state, &input, source, verified).await {
            Ok(citizen) => {
                let mut duplicate = None;
                let mut mine = HashSet::new();
                for c in &citizen.contacts {
                    if let Some(first) = seen.get(&c.value) {
                        duplicate = Some((c.value.clone(), *first));
                    }
                    mine.insert(c.value.clone());
                }
                if let Some((value, first)) = duplicate {
                    errors.push(format!(
                        "{name}: line {line}: {value} already appears on line {first}"
                    ));
                    continue;
                }
                for v in mine {
                    seen.insert(v, line);
                }
                ready.push(citizen);
            }
            Err(problems) => {
                let tr = crieur_web::i18n::Tr::new(crieur_domain::Language::En);
                let text: Vec<String> = problems
                    .iter()
                    .map(|(field, key)| format!("{field}: {}", tr.t(key)))
                    .collect();
                errors.push(format!("{name}: line {line}: {}", text.join("; ")));
            }
        }
    }
    for e in errors.iter().take(SHOWN_ERRORS) {
        eprintln!("{e}");
    }
    if errors.len() > SHOWN_ERRORS {
        eprintln!("… and {} more refused line(s)", errors.len() - SHOWN_ERRORS);
    }
    if !errors.is_empty() && !skip_invalid {
        anyhow::bail!(
            "{name}: {} line(s) refused; nothing was stored (fix them, or pass --skip-invalid)",
            errors.len()
        );
    }
    let citizens = state.store.citizens();
    let mut verified = 0;
    for c in &ready {
        citizens.register_citizen(c).await?;
        if c.contacts.iter().all(|k| k.verified_by.is_some()) {
            verified += 1;
        }
    }
    crate::cli::accounts::audit(
        &state.store,
        crieur_domain::audit::AuditRecord::new(
            crate::cli::accounts::cli_actor(),
            "citizens.import",
            crieur_domain::audit::Outcome::Success,
        )
        .target(name.clone())
        .detail(format!(
            "{} imported from {source}, {} refused",
            ready.len(),
            errors.len()
        )),
    )
    .await?;
    println!(
        "{name}: {} citizen(s) imported ({verified} with contacts verified by the previous system, {} to be verified){}",
        ready.len(),
        ready.len() - verified,
        if errors.is_empty() {
            String::new()
        } else {
            format!(", {} line(s) skipped", errors.len())
        }
    );
    Ok(())
}
