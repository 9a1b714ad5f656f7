//! `crieur population generate`: a synthetic population for tests, demos and
//! benchmarks, placed by the population weights of real places, written as a
//! CSV that `crieur citizens import` takes. Every row is fictitious.

use clap::Subcommand;
use crieur_domain::Territories;
use crieur_domain::population::Generator;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(super) enum PopulationCommand {
    /// Write N synthetic subscribers as an import CSV (addresses placed with
    /// coordinates, as pins).
    Generate {
        #[arg(long)]
        subscribers: usize,
        /// The same seed gives the same population.
        #[arg(long, default_value_t = 2025)]
        seed: u64,
        /// Mark every contact as verified on this date (YYYY-MM-DD), as a
        /// migration file with proof would.
        #[arg(long)]
        verified_on: Option<String>,
        /// Output file; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub(super) fn run(cmd: &PopulationCommand) -> anyhow::Result<()> {
    let PopulationCommand::Generate {
        subscribers,
        seed,
        verified_on,
        out,
    } = cmd;
    let territories = Territories::embedded()?;
    let sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut csv = csv::Writer::from_writer(std::io::BufWriter::new(sink));
    let mut header = vec![
        "language".to_owned(),
        "phone_1".into(),
        "phone_2".into(),
        "email_1".into(),
    ];
    for n in 1..=3 {
        for f in [
            "label",
            "street",
            "number",
            "postcode",
            "longitude",
            "latitude",
        ] {
            header.push(format!("address_{n}_{f}"));
        }
    }
    header.push("verified_on".into());
    csv.write_record(&header)?;
    const LABELS: [&str; 3] = ["home", "work", "family"];
    for s in Generator::new(&territories, *seed).take(*subscribers) {
        let mut row = vec![
            s.language.code().to_owned(),
            s.phones.first().cloned().unwrap_or_default(),
            s.phones.get(1).cloned().unwrap_or_default(),
            s.email.clone().unwrap_or_default(),
        ];
        for (n, label) in LABELS.iter().enumerate() {
            match s.addresses.get(n) {
                Some(a) => {
                    let postcode = territories
                        .postal_codes_of(a.municipality)
                        .first()
                        .map(|p| (*p).to_owned())
                        .unwrap_or_default();
                    row.extend([
                        (*label).to_owned(),
                        "Rue synthétique".to_owned(),
                        s.id.to_string(),
                        postcode,
                        format!("{:.6}", a.lon),
                        format!("{:.6}", a.lat),
                    ]);
                }
                None => row.extend(std::iter::repeat_n(String::new(), 6)),
            }
        }
        row.push(verified_on.clone().unwrap_or_default());
        csv.write_record(&row)?;
    }
    csv.flush()?;
    Ok(())
}
