//! Starts the real application on 127.0.0.1:0 with a fresh database per test: a
//! SQLite file, or with `CRIEUR_TEST_DATABASE=postgres` a PostgreSQL schema of
//! its own (dropped with the `TestApp`).
#![allow(dead_code)]

use crieur::app::{App, Mode};
use crieur::config::Config;
use std::process::{Command, Output};
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub store: crieur_store::Store,
    /// The running application's state (its hotlines, for instance).
    pub state: crieur_web::AppState,
    pub dir: tempfile::TempDir,
    pub db_url: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn config_in(dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.database.url = match crieur_testkit::Backend::from_env() {
        crieur_testkit::Backend::Sqlite => format!("sqlite://{}", dir.join("crieur.db").display()),
        crieur_testkit::Backend::Postgres => crieur_testkit::fresh_postgres_url()
            .expect("CRIEUR_TEST_DATABASE=postgres, but PostgreSQL is not reachable"),
    };
    config
}

pub async fn spawn() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_in(dir.path());
    spawn_in(dir, config, Mode::default()).await
}

pub async fn spawn_in(dir: tempfile::TempDir, config: Config, mode: Mode) -> TestApp {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,crieur=info,crieur_web=info")
            }),
        )
        .with_test_writer()
        .try_init();
    // reqwest is built without a default TLS provider; use the server's (ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db_url = config.database.url.clone();
    let scheme = if config.web.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let app = App::build(config, mode).await.expect("app builds");
    let store = app.state().store.clone();
    let state = app.state().clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(listener, async {
        let _ = stopped.await;
    }));
    TestApp {
        base: format!("{scheme}://{addr}"),
        store,
        state,
        dir,
        db_url,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    /// Waits until the dispatch engine has sent everything stored so far
    /// (verification codes go through it, a few milliseconds after the request).
    pub async fn settle(&self) {
        let start = std::time::Instant::now();
        while self
            .store
            .deliveries()
            .unfinished_deliveries()
            .await
            .expect("count")
            > 0
        {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "the dispatcher did not settle"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Stops the server and waits for it to finish.
    ///
    /// (A PostgreSQL test schema is dropped when the `TestApp` is.)
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.expect("server task").expect("server ran cleanly");
        }
    }
}

/// Runs the real `crieur` binary.
pub fn crieur(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crieur"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("crieur runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Creates an account with `password`; with `totp`, a second factor is already
/// enrolled and returned.
pub async fn account(
    store: &crieur_store::Store,
    username: &str,
    role: crieur_domain::access::Role,
    territory: &str,
    totp: bool,
) -> Option<crieur_domain::credentials::TotpSecret> {
    let secret = totp.then(crieur_domain::credentials::TotpSecret::generate);
    store
        .accounts()
        .create_account(&crieur_store::NewAccount {
            username: username.into(),
            display_name: format!("Test {username}"),
            role,
            territory: territory.parse().expect("nis"),
            password_hash: crieur_domain::credentials::hash_password(PASSWORD).expect("hash"),
            totp_secret: secret.as_ref().map(|s| s.to_base32()),
        })
        .await
        .expect("account created");
    secret
}

pub const PASSWORD: &str = "a long enough test password";

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A browser-like HTTP client: keeps the session cookie, reads CSRF tokens.
pub struct Agent {
    pub base: String,
    pub client: reqwest::Client,
    pub cookie: Option<String>,
    pub last_body: String,
}

pub struct Reply {
    pub status: reqwest::StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Agent {
    pub fn new(app: &TestApp) -> Agent {
        Agent {
            base: app.base.clone(),
            client: app.client.clone(),
            cookie: None,
            last_body: String::new(),
        }
    }

    async fn finish(&mut self, r: reqwest::Response) -> Reply {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().expect("ascii cookie");
            if let Some(rest) = v.strip_prefix("crieur_session=") {
                let value = rest.split(';').next().unwrap_or("");
                self.cookie = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().expect("ascii").to_owned());
        let body = r.text().await.expect("body");
        self.last_body = body.clone();
        Reply {
            status,
            location,
            body,
        }
    }

    fn with_cookie(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => rb.header("cookie", format!("crieur_session={c}")),
            None => rb,
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let rb = self.with_cookie(self.client.get(format!("{}{path}", self.base)));
        let r = rb.send().await.expect("sent");
        self.finish(r).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let rb = self.with_cookie(self.client.post(format!("{}{path}", self.base)).form(form));
        let r = rb.send().await.expect("sent");
        self.finish(r).await
    }

    /// The CSRF token of the last page received.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .last_body
            .find(marker)
            .expect("a form with a CSRF token")
            + marker.len();
        let end = self.last_body[start..].find('"').expect("end of token");
        self.last_body[start..start + end].to_owned()
    }

    /// Signs in with the test password and, if given, a TOTP code.
    pub async fn sign_in(&mut self, username: &str, code: Option<String>) -> Reply {
        self.get("/login").await;
        let csrf = self.csrf();
        let r = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", PASSWORD),
                ],
            )
            .await;
        match (r.location.as_deref(), code) {
            (Some("/login/code"), Some(code)) => {
                self.get("/login/code").await;
                let csrf = self.csrf();
                self.post("/login/code", &[("csrf", &csrf), ("code", &code)])
                    .await
            }
            _ => r,
        }
    }
}

/// Audit entries matching `action`, newest first.
pub async fn audit_entries(
    store: &crieur_store::Store,
    action: &str,
) -> Vec<crieur_domain::audit::AuditEntry> {
    store
        .audit()
        .recent_audit(Some(action), 1000)
        .await
        .expect("audit readable")
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// Two real-looking addresses in the registry: one in Liège, one in Namur.
pub async fn small_registry(store: &crieur_store::Store) {
    let registry = [
        ("Place Saint-Lambert", "1", "4000", "62063", 5.5736, 50.6452),
        ("Rue de Fer", "10", "5000", "92094", 4.8652, 50.4636),
    ]
    .map(
        |(street, n, pc, nis, lon, lat)| crieur_domain::address::RegistryAddress {
            street_nl: None,
            street_fr: Some(street.into()),
            street_de: None,
            house_number: n.into(),
            box_number: None,
            postcode: pc.into(),
            municipality: nis.parse().expect("nis"),
            lon,
            lat,
        },
    );
    store
        .addresses()
        .import_addresses("test registry", false, &registry)
        .await
        .expect("registry");
}

/// SMS rows the device simulator shows for `to`, newest first.
pub async fn sms_to(app: &TestApp, to: &str) -> Vec<String> {
    app.settle().await;
    let html = app.get("/simulator").await.text().await.expect("html");
    let marker = format!("data-to=\"{to}\" data-channel=\"sms\"");
    html.match_indices(&marker)
        .map(|(start, _)| {
            let row = &html[start..];
            let row = &row[..row.find("</tr>").unwrap_or(row.len())];
            let cell = row.rfind("<td class=\"wrap\">").map_or(0, |i| i + 17);
            row[cell..].trim_end_matches("</td>").to_owned()
        })
        .collect()
}

/// Registers a citizen through the JSON API and confirms their phone with the
/// code the simulator received. `addresses` are (street, number, postcode,
/// optional pin).
pub async fn citizen(
    app: &TestApp,
    lang: &str,
    phone: &str,
    addresses: &[serde_json::Value],
) -> serde_json::Value {
    citizen_with(
        app,
        lang,
        serde_json::json!({"number": phone, "sms": true}),
        addresses,
    )
    .await
}

/// Like [`citizen`], with the phone's channels given (`{"number", "sms", "voice"}`);
/// the code is read from the SMS, so `sms` must be on.
pub async fn citizen_with(
    app: &TestApp,
    lang: &str,
    phone_json: serde_json::Value,
    addresses: &[serde_json::Value],
) -> serde_json::Value {
    let phone = phone_json["number"].as_str().expect("a number").to_owned();
    let phone = phone.as_str();
    let r = app
        .client
        .post(app.url("/api/registrations"))
        .json(&serde_json::json!({
            "language": lang,
            "phones": [phone_json],
            "addresses": addresses,
            "consent": true
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let created: serde_json::Value = r.json().await.expect("json");
    let code = sms_to(app, phone)
        .await
        .first()
        .and_then(|t| {
            let d: Vec<char> = t.chars().collect();
            d.windows(6)
                .find(|w| w.iter().all(char::is_ascii_digit))
                .map(|w| w.iter().collect::<String>())
        })
        .expect("a code");
    let r = app
        .client
        .post(app.url("/api/registrations/me/verify"))
        .header(
            "authorization",
            format!("Bearer {}", created["token"].as_str().expect("token")),
        )
        .json(&serde_json::json!({"contact_id": created["contacts"][0]["id"], "code": code}))
        .send()
        .await
        .expect("sent");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["verified"], true, "{v}");
    created
}

/// Signs in through the sign-in page in the browser (and the code step, for
/// roles with a second factor), until the console is shown.
pub async fn browser_sign_in(
    c: &fantoccini::Client,
    app: &TestApp,
    username: &str,
    code: Option<String>,
) {
    use fantoccini::Locator;
    use std::time::Duration;
    c.goto(&app.url("/login?lang=fr"))
        .await
        .expect("sign-in page");
    for (field, text) in [("username", username), ("password", PASSWORD)] {
        c.find(Locator::Id(field))
            .await
            .expect("field")
            .send_keys(text)
            .await
            .expect("type");
    }
    c.find(Locator::Css("form[action='/login'] button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    if let Some(code) = code {
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id("code"))
            .await
            .expect("code step")
            .send_keys(&code)
            .await
            .expect("type code");
        c.find(Locator::Css("form[action='/login/code'] button"))
            .await
            .expect("button")
            .click()
            .await
            .expect("verify");
    }
    for _ in 0..100 {
        let url = c.current_url().await.expect("url");
        if url.path() == "/console" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{username} not signed in");
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        crieur_testkit::drop_postgres_schema_later(&self.db_url);
    }
}

/// The `i`th synthetic recipient's phone number.
pub fn recipient(i: usize) -> String {
    format!("+3247{i:07}")
}

/// Releases an Exercise alert with one SMS to each of `recipients` synthetic
/// numbers ([`recipient`]), straight through the store: the dispatch tests' load.
pub async fn release_sms_alert(
    store: &crieur_store::Store,
    identifier: &str,
    recipients: usize,
) -> i64 {
    use crieur_store::{
        AlertState, NewAccount, NewAlert, PlannedDelivery, PlannedText, Priority, Release,
    };
    let mayor = store
        .accounts()
        .create_account(&NewAccount {
            username: "mayor".into(),
            display_name: "Mayor".into(),
            role: crieur_domain::access::Role::Mayor,
            territory: "62063".parse().unwrap(),
            password_hash: "not used".into(),
            totp_secret: None,
        })
        .await
        .unwrap()
        .id;
    let alerts = store.alerts();
    let incident = alerts
        .open_incident("Seveso", "62063".parse().unwrap(), mayor)
        .await
        .unwrap();
    let id = alerts
        .create_alert(&NewAlert {
            incident_id: incident.id,
            identifier: identifier.into(),
            territory: "62063".parse().unwrap(),
            status: "Exercise".into(),
            msg_type: "Alert".into(),
            references_id: None,
            test_group: false,
            composition: "{}".into(),
            area: "[]".into(),
            fingerprint: "f".into(),
            author_id: mayor,
        })
        .await
        .unwrap();
    alerts
        .release_alert(
            id,
            &Release {
                fingerprint: "f".into(),
                from: AlertState::Draft,
                approver: None,
                by: mayor,
                now: 0,
                sent: "2026-11-29T10:00:00+00:00".into(),
                recipients: "{}".into(),
                texts: vec![PlannedText {
                    channel: "sms".into(),
                    language: "fr".into(),
                    subject: String::new(),
                    body: "EXERCICE - Nuage toxique: fermez portes et fenêtres.".into(),
                }],
                deliveries: (0..recipients)
                    .map(|i| PlannedDelivery {
                        channel: "sms".into(),
                        language: "fr".into(),
                        address: recipient(i),
                    })
                    .collect(),
                priority: Priority::Practice,
            },
        )
        .await
        .unwrap();
    id
}
