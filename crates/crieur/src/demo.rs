//! `crieur demo`: the platform on a local SQLite file with fictitious data, so a
//! newcomer sees it work with one command. Nothing here runs in `serve`.

use crate::app::{App, Mode};
use crate::config::Config;
use crieur_domain::access::Role;
use crieur_domain::audit::{AuditRecord, Outcome};
use crieur_domain::credentials::{TotpSecret, hash_password};
use crieur_store::NewAccount;
use crieur_web::DEMO_PASSWORD;

/// A synthetic address registry generated from GeoNames places by
/// `tools/territories/build.py`: plausible street names, not real addresses.
static SYNTHETIC_REGISTRY: &[u8] = include_bytes!("../../../data/demo/synthetic-addresses.csv.gz");

/// The demo's synthetic registry as CSV text (for the benchmarks, too).
pub fn synthetic_registry_csv() -> anyhow::Result<Vec<u8>> {
    crate::cli::maybe_gunzip(SYNTHETIC_REGISTRY.to_vec(), 1 << 30)
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let listen = config.web.listen;
    let db = crate::config::redact_url(&config.database.url);
    let app = App::build(config, Mode { demo: true }).await?;
    seed(&app).await?;
    println!(
        "\nCrieur demo — fictitious data, nothing is ever sent for real.\n\n  \
         Open  http://{listen}/        home\n        http://{listen}/map     offline map of Belgium\n        \
         http://{listen}/register   register for alerts as a citizen\n        \
         http://{listen}/simulator  device simulator: every SMS, call and e-mail \"sent\"\n        \
         http://{listen}/login   staff sign-in (demo accounts and codes listed there)\n        \
         http://{listen}/api/openapi.json\n\n  Database: {db} (delete it to start afresh)\n  \
         Stop with Ctrl-C.\n"
    );
    crate::cli::serve_app(app, listen, "http").await
}

/// One account per role, as listed on the demo's sign-in page.
const DEMO_ACCOUNTS: &[(&str, &str, Role, &str)] = &[
    (
        "minister",
        "Minister of the Interior (demo)",
        Role::Minister,
        "01000",
    ),
    (
        "governor.liege",
        "Governor of Liège (demo)",
        Role::Governor,
        "60000",
    ),
    ("mayor.liege", "Mayor of Liège (demo)", Role::Mayor, "62063"),
    ("mayor.namur", "Mayor of Namur (demo)", Role::Mayor, "92094"),
    (
        "officer.liege",
        "Communication officer, Liège (demo)",
        Role::CommunicationOfficer,
        "62063",
    ),
    (
        "supervisor",
        "Hotline supervisor (demo)",
        Role::HotlineSupervisor,
        "01000",
    ),
    (
        "operator",
        "Hotline operator (demo)",
        Role::HotlineOperator,
        "01000",
    ),
    (
        "relatives",
        "Relatives-line operator (demo)",
        Role::RelativesOperator,
        "01000",
    ),
    (
        "admin",
        "Administrator (demo)",
        Role::Administrator,
        "01000",
    ),
];

/// Loads the demo data once; later runs keep what the previous ones stored.
pub async fn seed(app: &App) -> anyhow::Result<()> {
    let state = app.state();
    if state.store.accounts().accounts().await?.is_empty() {
        let hash = tokio::task::spawn_blocking(|| hash_password(DEMO_PASSWORD))
            .await?
            .map_err(|e| anyhow::anyhow!("hashing the demo password: {e}"))?;
        for (username, name, role, territory) in DEMO_ACCOUNTS {
            // Roles that must use a second factor get one already enrolled; the
            // sign-in page shows its current code, in the demo only.
            let totp_secret = role
                .requires_second_factor()
                .then(|| TotpSecret::generate().to_base32());
            state
                .store
                .accounts()
                .create_account(&NewAccount {
                    username: (*username).to_owned(),
                    display_name: (*name).to_owned(),
                    role: *role,
                    territory: territory.parse()?,
                    password_hash: hash.clone(),
                    totp_secret,
                })
                .await?;
        }
        crate::cli::accounts::audit(
            &state.store,
            AuditRecord::new("demo", "demo.seed_accounts", Outcome::Success)
                .detail(format!("{} demo accounts", DEMO_ACCOUNTS.len())),
        )
        .await?;
    }
    if state.store.addresses().count_addresses().await? == 0 {
        let csv = synthetic_registry_csv()?;
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
