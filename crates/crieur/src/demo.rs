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

pub async fn run(mut config: Config) -> anyhow::Result<()> {
    demo_hotline(&mut config);
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
         http://{listen}/console/alerts  compose and release an alert (after signing in)\n        \
         http://{listen}/alerts  released alerts, their CAP messages and the Atom feed\n        \
         http://{listen}/console/incidents  incidents; each one's hotline (1771): activation, desk, supervisor\n        \
         http://{listen}/api/openapi.json\n\n  Database: {db} (delete it to start afresh)\n  \
         Stop with Ctrl-C.\n"
    );
    crate::cli::serve_app(app, listen, "http").await
}

/// The demo's hotline: number 1771, the demo operators on call (their SMS and
/// e-mails reach the device simulator), two operator phones, and SIP on a free
/// loopback port unless one was configured.
fn demo_hotline(config: &mut Config) {
    use crate::config::{OnCall, OperatorPhone, Secret, TelephonyConfig};
    let hotline = &mut config.hotline;
    if hotline.numbers.is_empty() {
        hotline.numbers = vec!["1771".into()];
    }
    if hotline.on_call.is_empty() {
        for (i, username) in ["operator", "relatives", "supervisor"].iter().enumerate() {
            hotline.on_call.push(OnCall {
                username: (*username).into(),
                phone: Some(format!("+3247099900{}", i + 1)),
                email: Some(format!("{username}@crieur.invalid")),
            });
        }
    }
    if hotline.phones.is_empty() {
        for user in ["1001", "1002"] {
            hotline.phones.push(OperatorPhone {
                user: user.into(),
                password: Secret(format!("demo{user}")),
            });
        }
    }
    if config.telephony.sip_listen == TelephonyConfig::default().sip_listen {
        config.telephony.sip_listen.set_port(0);
    }
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
    if state
        .store
        .citizens()
        .registration_counts()
        .await?
        .is_empty()
    {
        let n = seed_citizens(app).await?;
        state.audience.load(&state.store).await?;
        tracing::info!(citizens = n, "demo: synthetic citizens registered");
    }
    Ok(())
}

/// Synthetic citizens, so that an alert in the demo reaches someone: placed by
/// the population of real places, contacts marked as verified, every one
/// labelled as synthetic.
const DEMO_CITIZENS: usize = 2_000;

async fn seed_citizens(app: &App) -> anyhow::Result<usize> {
    let state = app.state();
    let people = crieur_domain::population::generate(&state.territories, 2025, DEMO_CITIZENS);
    let now = jiff::Timestamp::now().to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for p in people {
        // One in ten also asked for a voice call, so voice alerts show too.
        let voice = p.id % 10 == 0;
        let contact = |kind: &str, value: String, sms: bool| crieur_store::NewContact {
            kind: kind.into(),
            value,
            line: (kind == "phone").then(|| "mobile".to_owned()),
            sms,
            voice: voice && kind == "phone",
            verified_by: Some("demo-synthetic".into()),
        };
        let mut contacts: Vec<_> = p
            .phones
            .iter()
            .map(|n| contact("phone", n.clone(), true))
            .collect();
        contacts.extend(p.email.iter().map(|e| contact("email", e.clone(), false)));
        let addresses = p
            .addresses
            .iter()
            .zip(["home", "work", "family"])
            .map(|(a, label)| crieur_store::StoredAddress {
                label: label.into(),
                street: "Rue synthétique".into(),
                house_number: p.id.to_string(),
                postcode: state
                    .territories
                    .postal_codes_of(a.municipality)
                    .first()
                    .map(|c| (*c).to_owned())
                    .unwrap_or_default(),
                municipality: a.municipality,
                lon: a.lon,
                lat: a.lat,
                placed: "pin".into(),
            })
            .collect();
        let citizen = crieur_store::NewCitizen {
            language: p.language.code().into(),
            general_interest: false,
            consent_version: "demo-synthetic".into(),
            consent_at: now.clone(),
            source: "demo-synthetic".into(),
            contacts,
            addresses,
        };
        let store = state.store.clone();
        // Concurrent writes share the writer's commits.
        tasks.spawn(async move { store.citizens().register_citizen(&citizen).await });
    }
    let mut stored = 0;
    while let Some(done) = tasks.join_next().await {
        done??;
        stored += 1;
    }
    Ok(stored)
}
