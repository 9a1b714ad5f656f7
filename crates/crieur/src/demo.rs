//! `crieur demo`: the platform on a local SQLite file with fictitious data, so a
//! newcomer sees it work with one command. Nothing here runs in `serve`.

use crate::app::{App, Mode};
use crate::config::Config;

/// A synthetic address registry generated from GeoNames places by
/// `tools/territories/build.py`: plausible street names, not real addresses.
static SYNTHETIC_REGISTRY: &[u8] = include_bytes!("../../../data/demo/synthetic-addresses.csv.gz");

pub async fn run(config: Config) -> anyhow::Result<()> {
    let listen = config.web.listen;
    let db = crate::config::redact_url(&config.database.url);
    let app = App::build(config, Mode { demo: true }).await?;
    seed(&app).await?;
    println!(
        "\nCrieur demo — fictitious data, nothing is ever sent for real.\n\n  \
         Open  http://{listen}/        home\n        http://{listen}/map     offline map of Belgium\n        \
         http://{listen}/api/openapi.json\n\n  Database: {db} (delete it to start afresh)\n  \
         Stop with Ctrl-C.\n"
    );
    crate::cli::serve_app(app, listen, "http").await
}

/// Loads the demo data once; later runs keep what the previous ones stored.
pub async fn seed(app: &App) -> anyhow::Result<()> {
    let state = app.state();
    if state.store.addresses().count_addresses().await? == 0 {
        let csv = crate::cli::maybe_gunzip(SYNTHETIC_REGISTRY.to_vec(), 1 << 30)?;
        let report = crate::cli::addresses::import(
            &state.store,
            &state.territories,
            "synthetic-addresses.csv (demo)",
            &csv,
            false,
        )
        .await?;
        tracing::info!("{report}");
    }
    Ok(())
}
