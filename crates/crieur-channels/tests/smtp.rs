//! The SMTP provider against a real SMTP server: aiosmtpd 1.4.6 on loopback,
//! driven by `tests/peers/smtp_peer.py` (faults scripted by recipient).

use crieur_channels::smtp::{Security, SmtpConfig, SmtpProvider};
use crieur_channels::{ChannelError, Envelope, Outbound, Provider};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "python3 -m pip install aiosmtpd==1.4.6";

/// A running aiosmtpd peer; killed when dropped.
struct Peer {
    _child: tokio::process::Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// Test certificates: a CA the provider may trust, and the server's key pair.
struct Pki {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Clone, Copy)]
enum PeerTls {
    StartTls,
    Implicit,
}

impl Peer {
    /// Starts the peer, or returns `None` (after saying why) when aiosmtpd is
    /// missing and peers are not required.
    async fn start(tls: Option<(PeerTls, &Pki)>, args: &[&str]) -> Option<Peer> {
        let python = crieur_testkit::peer("python3", &["python3"], INSTALL_HINT)?;
        let probe = std::process::Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .expect("run python3");
        if !probe.status.success() {
            let msg = format!("aiosmtpd is not installed; install it with: {INSTALL_HINT}");
            assert!(
                !crieur_testkit::peers_required(),
                "CRIEUR_REQUIRE_PEERS=1 and {msg}"
            );
            eprintln!("SKIPPED: {msg}");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let portfile = dir.path().join("port");
        let log = dir.path().join("log.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/smtp_peer.py");
        let mut command = tokio::process::Command::new(python);
        command
            .arg(script)
            .arg(&portfile)
            .arg(&log)
            .args(args)
            .kill_on_drop(true);
        if let Some((mode, pki)) = tls {
            let mode = match mode {
                PeerTls::StartTls => "starttls",
                PeerTls::Implicit => "implicit",
            };
            command
                .args(["--tls", mode, "--cert"])
                .arg(&pki.cert)
                .arg("--key")
                .arg(&pki.key);
        }
        let mut child = command.spawn().expect("spawn the SMTP peer");
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&portfile) {
                break text.trim().parse().expect("port number");
            }
            if let Some(status) = child.try_wait().expect("peer status") {
                panic!("the SMTP peer exited: {status}");
            }
            assert!(Instant::now() < deadline, "the SMTP peer did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Some(Peer {
            _child: child,
            port,
            log,
            _dir: dir,
        })
    }

    fn records(&self, event: &str) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line"))
            .filter(|record| record["event"] == event)
            .collect()
    }

    fn messages(&self) -> Vec<Value> {
        self.records("message")
    }

    fn connections(&self) -> usize {
        self.records("connect").len()
    }

    fn config(&self, security: Security) -> SmtpConfig {
        let mut config = SmtpConfig::new(
            "test-relay",
            "127.0.0.1",
            self.port,
            "BE-Alert <alert@crieur.example>",
            "crieur.example",
        );
        config.security = security;
        config.timeout = Duration::from_secs(5);
        config
    }
}

fn pki() -> (Pki, tempfile::TempDir) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Crieur test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (
        Pki {
            ca_pem: ca.pem(),
            cert,
            key: key_path,
        },
        dir,
    )
}

fn email(delivery: i64, to: &str, subject: &str, body: &str) -> Envelope {
    Envelope {
        delivery,
        message: Outbound::Email {
            to: to.to_owned(),
            subject: subject.to_owned(),
            body: body.to_owned(),
            html: None,
            unsubscribe: None,
        },
    }
}

fn with_html(mut envelope: Envelope, html: &str) -> Envelope {
    if let Outbound::Email { html: h, .. } = &mut envelope.message {
        *h = Some(html.to_owned());
    }
    envelope
}

fn with_unsubscribe(mut envelope: Envelope, url: &str) -> Envelope {
    if let Outbound::Email { unsubscribe, .. } = &mut envelope.message {
        *unsubscribe = Some(url.to_owned());
    }
    envelope
}

fn parts(message: &Value) -> Vec<(String, String)> {
    message["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["content_type"].as_str().unwrap().to_owned(),
                p["text"].as_str().unwrap().trim_end().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_french_alert_with_html_arrives_intact_and_subjects_round_trip() {
    let Some(peer) = Peer::start(None, &[]).await else {
        return;
    };
    let provider = SmtpProvider::new(peer.config(Security::None)).unwrap();
    let subject = "Alerte : fermez portes et fenêtres — incendie à Liège";
    let body = "Un incendie important s'est déclaré. Restez à l'intérieur, coupez la ventilation.";
    let html = "<p>Un incendie important s'est déclaré. <strong>Restez à l'intérieur</strong>.</p>";
    let envelope = with_html(email(7, "citoyen@example.be", subject, body), html);

    let accepted = provider.send(&envelope).await.expect("accepted");
    assert_eq!(accepted.references, ["<7.crieur@crieur.example>"]);

    let messages = peer.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m["mail_from"], "alert@crieur.example");
    assert_eq!(m["rcpt_tos"], serde_json::json!(["citoyen@example.be"]));
    assert_eq!(m["subject"], subject);
    assert_eq!(m["from"], "BE-Alert <alert@crieur.example>");
    assert_eq!(m["to"], "citoyen@example.be");
    assert_eq!(m["message_id"], "<7.crieur@crieur.example>");
    assert!(m["date"].is_string(), "a Date header");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(
        parts(m),
        [
            ("text/plain".to_owned(), body.to_owned()),
            ("text/html".to_owned(), html.to_owned())
        ]
    );
    assert!(m["list_unsubscribe"].is_null());
    assert!(m["list_unsubscribe_post"].is_null());
    assert!(!m["content"].as_str().unwrap().contains("List-Unsubscribe"));
    assert_eq!(m["defects"], serde_json::json!([]));

    // The same delivery sent again keeps its Message-ID; the other languages'
    // subjects survive the trip too.
    let subjects = [
        "Alarm: sluit ramen en deuren — grote brand in Luik (Liège) ë ï",
        "Warnung: Türen und Fenster schließen — Großbrand in Eupen",
        "Alert: close doors and windows — large fire",
    ];
    provider.send(&envelope).await.expect("resent");
    for (i, subject) in subjects.iter().enumerate() {
        let delivery = 100 + i64::try_from(i).unwrap();
        provider
            .send(&email(delivery, "citoyen@example.be", subject, "Texte"))
            .await
            .expect("accepted");
    }
    let messages = peer.messages();
    assert_eq!(messages[1]["message_id"], "<7.crieur@crieur.example>");
    for (i, subject) in subjects.iter().enumerate() {
        let m = &messages[2 + i];
        assert_eq!(m["subject"], *subject);
        assert_eq!(m["content_type"], "text/plain");
        assert_eq!(parts(m), [("text/plain".to_owned(), "Texte".to_owned())]);
    }
}

#[tokio::test]
async fn a_general_interest_message_has_one_click_unsubscribe() {
    let Some(peer) = Peer::start(None, &[]).await else {
        return;
    };
    let provider = SmtpProvider::new(peer.config(Security::None)).unwrap();
    let url = "https://crieur.example/u/3f9a1c";
    let envelope = with_unsubscribe(
        email(
            8,
            "abonne@example.be",
            "Info : exercice annuel",
            "Exercice demain à 10 h.",
        ),
        url,
    );
    provider.send(&envelope).await.expect("accepted");
    let messages = peer.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["list_unsubscribe"], format!("<{url}>"));
    assert_eq!(
        messages[0]["list_unsubscribe_post"],
        "List-Unsubscribe=One-Click"
    );
    assert_eq!(messages[0]["message_id"], "<8.crieur@crieur.example>");
}

#[tokio::test]
async fn starttls_with_auth_needs_a_trusted_certificate_and_the_right_password() {
    let (pki, _certs) = pki();
    let Some(peer) = Peer::start(Some((PeerTls::StartTls, &pki)), &[]).await else {
        return;
    };
    let secured = |password: &str, trusted: bool| {
        let mut config = peer.config(Security::StartTls);
        config.username = Some("crieur".into());
        config.password = Some(password.into());
        if trusted {
            config.extra_roots = vec![pki.ca_pem.clone()];
        }
        SmtpProvider::new(config).unwrap()
    };

    // The peer offers AUTH only once encrypted: success proves STARTTLS.
    let good = secured("secret", true);
    good.send(&email(1, "a@example.be", "Test", "Corps"))
        .await
        .expect("accepted over STARTTLS with AUTH");
    assert_eq!(peer.messages().len(), 1);

    let wrong = secured("guess", true);
    match wrong.send(&email(2, "a@example.be", "Test", "Corps")).await {
        Err(ChannelError::Unavailable(reason)) => assert!(reason.contains("535"), "{reason}"),
        other => panic!("wrong password gave {other:?}"),
    }

    let untrusted = secured("secret", false);
    match untrusted
        .send(&email(3, "a@example.be", "Test", "Corps"))
        .await
    {
        Err(ChannelError::Unavailable(reason)) => assert!(reason.contains("STARTTLS"), "{reason}"),
        other => panic!("an untrusted certificate gave {other:?}"),
    }

    // No STARTTLS offered (plain peer): no fallback to plain text.
    let Some(plain) = Peer::start(None, &[]).await else {
        return;
    };
    let mut config = plain.config(Security::StartTls);
    config.extra_roots = vec![pki.ca_pem.clone()];
    let downgrade = SmtpProvider::new(config).unwrap();
    assert!(matches!(
        downgrade
            .send(&email(4, "a@example.be", "Test", "Corps"))
            .await,
        Err(ChannelError::Unavailable(_))
    ));
    assert_eq!(peer.messages().len(), 1);
    assert!(plain.messages().is_empty());

    let debug = format!("{:?} {good:?}", peer.config(Security::StartTls));
    assert!(!debug.contains("secret"));
    let mut config = peer.config(Security::StartTls);
    config.password = Some("secret".into());
    assert!(!format!("{config:?}").contains("secret"));
}

#[tokio::test]
async fn implicit_tls_works_and_checks_the_certificate() {
    let (pki, _certs) = pki();
    let Some(peer) = Peer::start(Some((PeerTls::Implicit, &pki)), &[]).await else {
        return;
    };
    let mut config = peer.config(Security::Implicit);
    config.username = Some("crieur".into());
    config.password = Some("secret".into());
    config.extra_roots = vec![pki.ca_pem.clone()];
    let provider = SmtpProvider::new(config.clone()).unwrap();
    for delivery in 1..=3 {
        provider
            .send(&email(delivery, "b@example.be", "Implicite", "Chiffré"))
            .await
            .expect("accepted over implicit TLS");
    }
    assert_eq!(peer.messages().len(), 3);
    assert_eq!(peer.connections(), 1);

    config.extra_roots.clear();
    let untrusted = SmtpProvider::new(config).unwrap();
    match untrusted
        .send(&email(4, "b@example.be", "Implicite", "Chiffré"))
        .await
    {
        Err(ChannelError::Unavailable(reason)) => assert!(reason.contains("TLS"), "{reason}"),
        other => panic!("an untrusted certificate gave {other:?}"),
    }
    assert_eq!(peer.messages().len(), 3);
}

#[tokio::test]
async fn refusals_cost_an_rset_not_the_connection() {
    let Some(peer) = Peer::start(None, &[]).await else {
        return;
    };
    let mut config = peer.config(Security::None);
    config.connections = 1;
    let provider = SmtpProvider::new(config).unwrap();

    let tempfail = email(1, "tempfail@example.be", "Test", "Corps");
    for _ in 0..2 {
        match provider.send(&tempfail).await {
            Err(ChannelError::Temporary(reason)) => {
                assert_eq!(reason, "smtp 451 4.3.0 Try again later");
            }
            other => panic!("451 gave {other:?}"),
        }
    }
    match provider
        .send(&email(2, "bounce@example.be", "Test", "Corps"))
        .await
    {
        Err(ChannelError::Permanent(reason)) => {
            assert_eq!(reason, "smtp 550 5.1.1 No such user");
        }
        other => panic!("550 gave {other:?}"),
    }
    provider
        .send(&email(3, "ok@example.be", "Test", "Corps"))
        .await
        .expect("accepted after the refusals");
    provider
        .send(&tempfail)
        .await
        .expect("the third try of tempfail is accepted");

    let messages = peer.messages();
    let ids: Vec<_> = messages.iter().map(|m| m["message_id"].clone()).collect();
    assert_eq!(
        ids,
        ["<3.crieur@crieur.example>", "<1.crieur@crieur.example>"]
    );
    assert_eq!(
        peer.connections(),
        1,
        "one connection for five transactions"
    );
}

#[tokio::test]
async fn a_lost_connection_says_whether_the_message_may_have_left() {
    let Some(peer) = Peer::start(None, &[]).await else {
        return;
    };
    let mut config = peer.config(Security::None);
    config.connections = 1;
    config.timeout = Duration::from_millis(800);
    let provider = SmtpProvider::new(config).unwrap();

    // Closed at RCPT: not sent. The reused connection is replaced once, and the
    // fresh one is closed too.
    provider
        .send(&email(1, "ok@example.be", "Test", "Corps"))
        .await
        .unwrap();
    match provider
        .send(&email(2, "drop@example.be", "Test", "Corps"))
        .await
    {
        Err(ChannelError::Temporary(reason)) => {
            assert!(reason.contains("before the message was sent"), "{reason}");
        }
        other => panic!("a connection closed at RCPT gave {other:?}"),
    }
    assert_eq!(peer.connections(), 2);

    // Closed once the content is in: may have been taken.
    match provider
        .send(&email(3, "hangup@example.be", "Test", "Corps"))
        .await
    {
        Err(ChannelError::Unknown(reason)) => assert!(reason.contains("closed"), "{reason}"),
        other => panic!("a connection closed after the content gave {other:?}"),
    }
    // The server has the message but its reply comes too late: unknown.
    match provider
        .send(&email(4, "slow@example.be", "Test", "Corps"))
        .await
    {
        Err(ChannelError::Unknown(reason)) => assert!(reason.contains("no reply"), "{reason}"),
        other => panic!("a late reply gave {other:?}"),
    }
    let ids: Vec<_> = peer
        .messages()
        .iter()
        .map(|m| m["message_id"].clone())
        .collect();
    assert_eq!(
        ids,
        ["<1.crieur@crieur.example>", "<4.crieur@crieur.example>"]
    );

    // And the provider goes on with a new connection.
    provider
        .send(&email(5, "ok@example.be", "Test", "Corps"))
        .await
        .expect("accepted on a new connection");
    assert!(provider.ready());
}

#[tokio::test]
async fn connections_are_recycled_and_closed_with_quit() {
    let Some(peer) = Peer::start(None, &[]).await else {
        return;
    };
    let mut config = peer.config(Security::None);
    config.connections = 1;
    config.recycle_after = 3;
    let provider = SmtpProvider::new(config).unwrap();
    for delivery in 1..=7 {
        provider
            .send(&email(delivery, "ok@example.be", "Test", "Corps"))
            .await
            .unwrap();
    }
    assert_eq!(peer.connections(), 3);
    provider.shutdown().await;
    // The peer logs a disconnect once our QUIT closed each connection.
    let deadline = Instant::now() + Duration::from_secs(5);
    while peer.records("disconnect").len() < 3 {
        assert!(Instant::now() < deadline, "connections left open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(peer.messages().len(), 7);
    assert!(matches!(
        provider
            .send(&email(8, "ok@example.be", "Test", "Corps"))
            .await,
        Err(ChannelError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_costs_no_message() {
    let Some(peer) = Peer::start(None, &["--idle-timeout", "0.5"]).await else {
        return;
    };
    let ok = |delivery| email(delivery, "ok@example.be", "Test", "Corps");
    let mut config = peer.config(Security::None);
    config.connections = 1;

    // Without a NOOP check, MAIL finds the connection closed: the message has
    // not left, so it goes on a fresh connection.
    config.idle_check = Duration::from_secs(60);
    let unchecked = SmtpProvider::new(config.clone()).unwrap();
    unchecked.send(&ok(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    unchecked
        .send(&ok(2))
        .await
        .expect("sent on a new connection");
    assert_eq!(peer.connections(), 2);
    assert!(peer.records("noop").is_empty());

    // With it, a short idle costs a NOOP and keeps the connection; a long one
    // fails the NOOP and opens a new connection before MAIL.
    config.idle_check = Duration::from_millis(100);
    let checked = SmtpProvider::new(config).unwrap();
    checked.send(&ok(3)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    checked.send(&ok(4)).await.unwrap();
    assert_eq!(peer.connections(), 3);
    assert_eq!(peer.records("noop").len(), 1);
    tokio::time::sleep(Duration::from_millis(800)).await;
    checked.send(&ok(5)).await.unwrap();
    assert_eq!(peer.connections(), 4);
    assert_eq!(peer.messages().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_messages_from_fifty_tasks_over_four_connections() {
    let Some(peer) = Peer::start(None, &[]).await else {
        return;
    };
    let mut config = peer.config(Security::None);
    config.connections = 4;
    let provider = Arc::new(SmtpProvider::new(config).unwrap());
    assert_eq!(provider.concurrency(), 4);

    let started = Instant::now();
    let tasks: Vec<_> = (0..50_i64)
        .map(|task| {
            let provider = Arc::clone(&provider);
            tokio::spawn(async move {
                for i in 0..10 {
                    let delivery = task * 10 + i;
                    let to = format!("citoyen{delivery}@example.be");
                    let accepted = provider
                        .send(&email(delivery, &to, "Alerte", "Restez à l'intérieur."))
                        .await
                        .expect("accepted");
                    assert_eq!(
                        accepted.references,
                        [format!("<{delivery}.crieur@crieur.example>")]
                    );
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    eprintln!(
        "500 messages over 4 connections to aiosmtpd in {elapsed:?}: {:.0} messages/s",
        500.0 / elapsed.as_secs_f64()
    );

    let messages = peer.messages();
    assert_eq!(messages.len(), 500);
    let ids: HashSet<_> = messages
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 500);
    let recipients: HashSet<_> = messages
        .iter()
        .map(|m| m["rcpt_tos"][0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recipients.len(), 500);
    let connections = peer.connections();
    assert!((1..=4).contains(&connections), "{connections} connections");
}

#[tokio::test]
async fn an_unreachable_relay_backs_off_and_is_not_ready() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = SmtpConfig::new(
        "down",
        "127.0.0.1",
        port,
        "alert@crieur.example",
        "crieur.example",
    );
    config.security = Security::None;
    config.backoff = Duration::from_millis(300);
    let provider = SmtpProvider::new(config).unwrap();
    assert!(provider.ready());
    for delivery in 1..=3 {
        match provider
            .send(&email(delivery, "a@example.be", "Test", "Corps"))
            .await
        {
            Err(ChannelError::Unavailable(reason)) => {
                assert!(reason.contains("cannot connect"), "{reason}");
            }
            other => panic!("an unreachable relay gave {other:?}"),
        }
    }
    assert!(!provider.ready());
    match provider
        .send(&email(4, "a@example.be", "Test", "Corps"))
        .await
    {
        Err(ChannelError::Unavailable(reason)) => {
            assert!(reason.contains("backing off"), "{reason}");
        }
        other => panic!("backing off gave {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(provider.ready(), "ready to try again after the back-off");
}

#[test]
fn bad_settings_are_refused() {
    let base = || {
        SmtpConfig::new(
            "r",
            "127.0.0.1",
            25,
            "alert@crieur.example",
            "crieur.example",
        )
    };
    assert!(SmtpProvider::new(base()).is_ok());
    let mut c = base();
    c.from = "not a mailbox".into();
    assert!(SmtpProvider::new(c).is_err());
    let mut c = base();
    c.username = Some("u".into());
    assert!(SmtpProvider::new(c).is_err());
    let mut c = base();
    c.connections = 0;
    assert!(SmtpProvider::new(c).is_err());
    let mut c = base();
    c.extra_roots = vec!["not a certificate".into()];
    assert!(SmtpProvider::new(c).is_err());
    let mut c = base();
    c.mail_domain = "crieur.example>".into();
    assert!(SmtpProvider::new(c).is_err());
}
