//! `crieur cap export ALERT_ID` and `crieur cap validate FILE`.

use crate::app::{App, Mode};
use crate::config::Config;
use anyhow::Context;
use clap::Subcommand;
use crieur_domain::cap::{Alert, CapError, MAX_MESSAGE_BYTES};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(super) enum CapCommand {
    /// Print an alert's CAP 1.2 message.
    Export { alert_id: i64 },
    /// Check a CAP 1.2 message and name each problem; exits with 1 when invalid.
    Validate { file: PathBuf },
}

pub(super) async fn run(cmd: &CapCommand, config: &Config) -> anyhow::Result<()> {
    match cmd {
        CapCommand::Export { alert_id } => {
            let app = App::build(config.clone(), Mode::default()).await?;
            let xml = crieur_web::alerts::cap_xml(app.state(), *alert_id)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))
                .context("reading the alert")?
                .with_context(|| format!("there is no alert {alert_id}"))?;
            println!("{xml}");
            Ok(())
        }
        CapCommand::Validate { file } => {
            let bytes = super::read_limited(file, MAX_MESSAGE_BYTES as u64)?;
            match Alert::from_xml(&bytes) {
                Ok(alert) => {
                    println!(
                        "{}: a valid CAP 1.2 message ({} {} {}, {} info block(s))",
                        file.display(),
                        alert.status.as_str(),
                        alert.msg_type.as_str(),
                        alert.identifier,
                        alert.infos.len()
                    );
                    Ok(())
                }
                Err(CapError::Invalid(problems)) => {
                    for p in &problems {
                        eprintln!("{}: {}: {}", file.display(), p.path, p.message);
                    }
                    anyhow::bail!("{}: {} problem(s)", file.display(), problems.len())
                }
                Err(e) => anyhow::bail!("{}: {e}", file.display()),
            }
        }
    }
}
