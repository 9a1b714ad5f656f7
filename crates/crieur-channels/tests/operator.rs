//! The operator provider against an HTTPS peer on loopback: an axum app served
//! by axum-server over rustls, with a certificate from a test CA, speaking
//! Crieur's operator interface (see `crieur_channels::operator`). The peer
//! records every request, reads its body with crieur-domain's CAP reader, and
//! answers as its path says (`/accept`, `/status/503`, `/slow`, `/drop`, `/huge`,
//! `/html`).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use crieur_channels::operator::{
    EXCERPT_CHARS, OperatorConfig, OperatorProvider, OperatorSetupError,
};
use crieur_channels::{Accepted, ChannelError, Envelope, Outbound, Provider};
use crieur_domain::Language;
use crieur_domain::cap::{self, Category, Certainty, MsgType, Scope, Severity, Status, Urgency};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const OPERATOR: &str = "proximus";
const TOKEN: &str = "s3cret-operator-token";
/// What `/slow` waits before answering.
const SLOW: Duration = Duration::from_secs(3);
/// The size of `/huge`'s answer.
const HUGE: usize = 256 * 1024 * 1024;

/// One request as the peer received it.
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    cap: Result<cap::Alert, String>,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    /// Bytes of `/huge`'s answer produced so far (pulled by the connection).
    streamed: AtomicUsize,
}

/// A running peer; stopped when dropped.
struct Peer {
    addr: SocketAddr,
    scheme: &'static str,
    ca_pem: String,
    shared: Arc<Shared>,
    handle: axum_server::Handle<SocketAddr>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

impl Peer {
    /// The peer over HTTPS.
    async fn start() -> Peer {
        Peer::launch(true).await
    }

    /// The same peer over plain HTTP.
    async fn start_plain() -> Peer {
        Peer::launch(false).await
    }

    async fn launch(tls: bool) -> Peer {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let handle = axum_server::Handle::new();
        let (ca_pem, tls_config) = pki();
        let service = app.into_make_service();
        if tls {
            let server = axum_server::tls_rustls::from_tcp_rustls(listener, tls_config)
                .unwrap()
                .handle(handle.clone());
            tokio::spawn(server.serve(service));
        } else {
            let server = axum_server::from_tcp(listener)
                .unwrap()
                .handle(handle.clone());
            tokio::spawn(server.serve(service));
        }
        handle.listening().await.expect("the peer listens");
        Peer {
            addr,
            scheme: if tls { "https" } else { "http" },
            ca_pem,
            shared,
            handle,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// Settings that trust the peer's CA, with a token and short timeouts.
    fn config(&self, path: &str) -> OperatorConfig {
        let mut config = OperatorConfig::new(OPERATOR, self.url(path));
        config.token = Some(TOKEN.to_owned());
        config.extra_roots = vec![self.ca_pem.clone()];
        config.timeout = Duration::from_secs(5);
        config.connect_timeout = Duration::from_secs(2);
        config.allow_plain_http = self.scheme == "http";
        config
    }

    fn provider(&self, path: &str) -> OperatorProvider {
        OperatorProvider::new(self.config(path)).expect("valid settings")
    }

    fn seen(&self) -> MutexGuard<'_, Vec<Seen>> {
        self.shared.seen.lock().unwrap()
    }
}

/// The peer's only handler: records the request, then answers as the path says.
async fn answer(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    shared.seen.lock().unwrap().push(Seen {
        path: uri.path().to_owned(),
        headers,
        cap: cap::Alert::from_xml(&body).map_err(|e| e.to_string()),
        body,
    });
    let ack = serde_json::json!({ "reference": format!("PX-{key}"), "reach": 1_234_567 });
    let mut parts = uri.path().trim_start_matches('/').splitn(2, '/');
    match (parts.next(), parts.next()) {
        (Some("accept"), _) => (StatusCode::ACCEPTED, axum::Json(ack)).into_response(),
        (Some("status"), Some(code)) => {
            let status = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            let body = format!(
                "refused by\r\n the\x07 test peer\x1b[0m {}",
                "x".repeat(5000)
            );
            (status, [(header::LOCATION, "/accept")], body).into_response()
        }
        (Some("slow"), _) => {
            tokio::time::sleep(SLOW).await;
            (StatusCode::OK, axum::Json(ack)).into_response()
        }
        (Some("huge"), _) => {
            // Valid JSON followed by a quarter of a gigabyte of whitespace,
            // produced only as fast as the connection takes it.
            let head = Bytes::from_static(br#"{"reference":"huge","reach":7}"#);
            let pad = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = std::iter::once(head).chain(std::iter::repeat_n(pad, HUGE / (64 * 1024)));
            let stream = futures_util::stream::iter(chunks.map(move |chunk| {
                shared.streamed.fetch_add(chunk.len(), Ordering::Relaxed);
                Ok::<_, std::convert::Infallible>(chunk)
            }));
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        // The connection's task dies with the request read and unanswered
        // (the panic message in the output is expected).
        (Some("drop"), _) => panic!("the test peer drops the connection"),
        (Some("html"), _) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Merci, alerte reçue</body></html>",
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A test CA (whose PEM the provider may trust) and the peer's TLS settings,
/// with a certificate for 127.0.0.1 and localhost signed by that CA.
fn pki() -> (String, axum_server::tls_rustls::RustlsConfig) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Crieur test operator CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    (
        ca.pem(),
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(server)),
    )
}

/// A fire alert for Herstal in Dutch and French: a polygon and a circle,
/// cell-broadcast-length texts.
fn alert() -> cap::Alert {
    let mut alert = cap::Alert::new(
        "BE-CRIEUR-2026-0042",
        "crisiscenter@crieur.example",
        "2026-11-29T10:15:00+01:00".parse().unwrap(),
        Status::Actual,
        MsgType::Alert,
        Scope::Public,
    );
    let texts = [
        (
            Language::Nl,
            "Industriële brand",
            "Giftige rook in Herstal",
            "Blijf binnen, sluit ramen en deuren.",
        ),
        (
            Language::Fr,
            "Incendie industriel",
            "Fumées toxiques à Herstal",
            "Restez à l'intérieur, fermez portes et fenêtres.",
        ),
    ];
    for (language, event, headline, instruction) in texts {
        let mut info = cap::Info::new(
            Category::Fire,
            event,
            Urgency::Immediate,
            Severity::Severe,
            Certainty::Observed,
        );
        info.language = Some(language.into());
        info.headline = Some(headline.into());
        info.instruction = Some(instruction.into());
        let mut area = cap::Area::new("Herstal");
        area.polygons.push(
            cap::Polygon::from_lat_lon(&[
                (50.66, 5.60),
                (50.72, 5.60),
                (50.72, 5.68),
                (50.66, 5.68),
                (50.66, 5.60),
            ])
            .unwrap(),
        );
        area.circles
            .push(cap::Circle::new(geo::Point::new(5.63, 50.68), 2.5).unwrap());
        info.areas.push(area);
        alert.infos.push(info);
    }
    alert
}

fn envelope(delivery: i64, cap: &str) -> Envelope {
    Envelope {
        delivery,
        message: Outbound::Operator {
            to: OPERATOR.to_owned(),
            cap: cap.to_owned(),
        },
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn an_alert_arrives_intact_with_token_and_key_and_the_acknowledgement_comes_back() {
    let peer = Peer::start().await;
    let provider = peer.provider("/accept");
    let alert = alert();
    let xml = alert.to_xml();
    assert!(cap::validate(&alert).is_empty(), "the test alert is valid");

    let accepted = provider.send(&envelope(4711, &xml)).await.unwrap();

    assert_eq!(
        accepted,
        Accepted {
            references: vec!["PX-crieur-4711".to_owned()],
            reach: Some(1_234_567),
            confirmed: false,
        }
    );
    let seen = peer.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.path, "/accept");
    assert_eq!(request.body.as_ref(), xml.as_bytes(), "byte-identical body");
    assert_eq!(
        request.cap.as_ref().unwrap(),
        &alert,
        "valid CAP, same alert"
    );
    assert_eq!(
        header(request, "content-type"),
        Some("application/cap+xml; charset=utf-8")
    );
    assert_eq!(
        header(request, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(header(request, "idempotency-key"), Some("crieur-4711"));
    assert!(provider.ready());
}

#[tokio::test]
async fn a_resend_carries_the_same_key_and_another_delivery_another_one() {
    let peer = Peer::start().await;
    let mut config = peer.config("/accept");
    config.token = None;
    let provider = OperatorProvider::new(config).unwrap();
    let xml = alert().to_xml();

    let first = provider.send(&envelope(1, &xml)).await.unwrap();
    let again = provider.send(&envelope(1, &xml)).await.unwrap();
    let other = provider.send(&envelope(2, &xml)).await.unwrap();

    assert_eq!(first, again);
    assert_eq!(other.references, vec!["PX-crieur-2"]);
    let seen = peer.seen();
    let keys: Vec<_> = seen
        .iter()
        .map(|s| header(s, "idempotency-key").unwrap())
        .collect();
    assert_eq!(keys, ["crieur-1", "crieur-1", "crieur-2"]);
    assert!(
        seen.iter().all(|s| header(s, "authorization").is_none()),
        "no token configured, no Authorization header"
    );
}

#[tokio::test]
async fn refusals_map_to_throttled_temporary_and_permanent_with_a_clean_excerpt() {
    let peer = Peer::start().await;
    let xml = alert().to_xml();
    let send = async |code: u16| {
        peer.provider(&format!("/status/{code}"))
            .send(&envelope(i64::from(code), &xml))
            .await
    };

    assert!(matches!(send(429).await, Err(ChannelError::Throttled(_))));
    for code in [408, 425, 500, 503] {
        match send(code).await {
            Err(ChannelError::Temporary(reason)) => {
                assert!(reason.starts_with(&format!("operator {code}: refused by the")));
            }
            other => panic!("{code}: {other:?}"),
        }
    }
    for code in [400, 401, 403, 404, 422] {
        let Err(ChannelError::Permanent(reason)) = send(code).await else {
            panic!("{code} should be permanent");
        };
        assert!(reason.starts_with(&format!("operator {code}")), "{reason}");
        assert!(
            reason.contains("refused by the test peer [0m xxx"),
            "{reason}"
        );
        assert!(!reason.chars().any(char::is_control), "{reason:?}");
        assert!(reason.chars().count() < EXCERPT_CHARS + 50, "{reason}");
        assert_eq!(
            reason.contains("credentials"),
            code == 401 || code == 403,
            "{reason}"
        );
    }
    // A redirect is not followed: the token must not go elsewhere.
    let Err(ChannelError::Permanent(reason)) = send(307).await else {
        panic!("307 should be permanent");
    };
    assert!(reason.contains("redirect"), "{reason}");
    let seen = peer.seen();
    assert!(seen.iter().all(|s| s.path.starts_with("/status/")));
    assert_eq!(seen.len(), 11);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_and_three_in_a_row_make_it_not_ready() {
    let peer = Peer::start().await;
    let xml = alert().to_xml();

    // A certificate from a CA the provider does not trust.
    let mut config = peer.config("/accept");
    config.extra_roots.clear();
    let untrusted = OperatorProvider::new(config).unwrap();
    match untrusted.send(&envelope(1, &xml)).await {
        Err(ChannelError::Unavailable(reason)) => {
            assert!(reason.contains("certificate"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(peer.seen().is_empty(), "nothing got through");

    // A closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut config = peer.config("/accept");
    config.url = format!("https://127.0.0.1:{port}/accept");
    let refused = OperatorProvider::new(config).unwrap();
    for attempt in 1..=3 {
        assert!(refused.ready(), "ready before failure {attempt}");
        match refused.send(&envelope(attempt, &xml)).await {
            Err(ChannelError::Unavailable(reason)) => {
                assert!(reason.contains("refused"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(!refused.ready());
    let Err(ChannelError::Unavailable(reason)) = refused.send(&envelope(4, &xml)).await else {
        panic!("resting providers refuse at once");
    };
    assert!(reason.contains("3 sends in a row"), "{reason}");
}

#[tokio::test]
async fn no_answer_within_the_timeout_is_an_unknown_outcome() {
    let peer = Peer::start().await;
    let mut config = peer.config("/slow");
    config.timeout = Duration::from_millis(600);
    config.connect_timeout = Duration::from_millis(300);
    let provider = OperatorProvider::new(config).unwrap();

    let started = Instant::now();
    let result = provider.send(&envelope(9, &alert().to_xml())).await;

    let Err(ChannelError::Unknown(reason)) = result else {
        panic!("{result:?}");
    };
    assert!(reason.contains("did not answer within"), "{reason}");
    assert!(started.elapsed() < SLOW, "returned at the timeout");
    assert_eq!(peer.seen().len(), 1, "the operator did get the alert");
    assert!(provider.ready(), "a slow operator is still reachable");
}

#[tokio::test]
async fn a_connection_lost_with_the_alert_sent_is_an_unknown_outcome() {
    let peer = Peer::start().await;
    let provider = peer.provider("/drop");

    let result = provider.send(&envelope(10, &alert().to_xml())).await;

    let Err(ChannelError::Unknown(reason)) = result else {
        panic!("{result:?}");
    };
    assert!(reason.contains("lost with the alert in flight"), "{reason}");
    assert_eq!(peer.seen().len(), 1, "the operator did get the alert");
    assert!(provider.ready());
}

#[tokio::test]
async fn a_huge_answer_is_not_read_to_the_end() {
    let peer = Peer::start().await;
    let provider = peer.provider("/huge");

    let started = Instant::now();
    let accepted = provider
        .send(&envelope(5, &alert().to_xml()))
        .await
        .unwrap();
    let elapsed = started.elapsed();

    // Its first 64 KiB are still valid JSON (the rest is whitespace).
    assert_eq!(accepted.references, vec!["huge"]);
    assert_eq!(accepted.reach, Some(7));
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let streamed = peer.shared.streamed.load(Ordering::Relaxed);
    assert!(
        streamed < 32 * 1024 * 1024,
        "{streamed} bytes of {HUGE} were produced for the reader"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_json_still_means_accepted() {
    let peer = Peer::start().await;
    let accepted = peer
        .provider("/html")
        .send(&envelope(6, &alert().to_xml()))
        .await
        .unwrap();
    assert_eq!(accepted, Accepted::default());
}

#[tokio::test]
async fn plain_http_only_when_allowed_and_the_token_never_shows() {
    let peer = Peer::start_plain().await;
    let mut config = peer.config("/accept");
    config.allow_plain_http = false;
    match OperatorProvider::new(config.clone()) {
        Err(OperatorSetupError::Url(url, why)) => {
            assert!(url.starts_with("http://"));
            assert!(why.contains("https://") && why.contains("allow_plain_http"));
        }
        other => panic!("{other:?}"),
    }
    config.allow_plain_http = true;
    let provider = OperatorProvider::new(config.clone()).unwrap();
    let accepted = provider
        .send(&envelope(8, &alert().to_xml()))
        .await
        .unwrap();
    assert_eq!(accepted.references, vec!["PX-crieur-8"]);

    for debug in [format!("{config:?}"), format!("{provider:?}")] {
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(
            debug.contains("redacted") && debug.contains(OPERATOR),
            "{debug}"
        );
    }
}

#[tokio::test]
async fn a_message_for_another_operator_or_channel_is_refused_unsent() {
    let peer = Peer::start().await;
    let provider = peer.provider("/accept");
    let xml = alert().to_xml();

    let mut other = envelope(1, &xml);
    other.message = Outbound::Operator {
        to: "orange".into(),
        cap: xml.clone(),
    };
    let Err(ChannelError::Permanent(reason)) = provider.send(&other).await else {
        panic!("another operator's alert must be refused");
    };
    assert!(
        reason.contains("orange") && reason.contains(OPERATOR),
        "{reason}"
    );
    let sms = Envelope {
        delivery: 2,
        message: Outbound::Sms {
            to: "+32470000000".into(),
            text: "hello".into(),
        },
    };
    assert!(matches!(
        provider.send(&sms).await,
        Err(ChannelError::Permanent(_))
    ));
    assert!(matches!(
        provider.send(&envelope(3, "  ")).await,
        Err(ChannelError::Permanent(_))
    ));
    assert!(peer.seen().is_empty());
    assert!(provider.ready());
}

#[test]
fn bad_settings_are_refused_with_a_reason() {
    let ok = || OperatorConfig::new(OPERATOR, "https://cbc.proximus.example/v1/alerts");
    assert!(OperatorProvider::new(ok()).is_ok());
    let refused = |change: &dyn Fn(&mut OperatorConfig)| {
        let mut config = ok();
        change(&mut config);
        OperatorProvider::new(config).unwrap_err()
    };
    assert!(matches!(
        refused(&|c| c.url = "ftp://cbc.example/".into()),
        OperatorSetupError::Url(..)
    ));
    assert!(matches!(
        refused(&|c| c.url = "https://user:pw@cbc.example/".into()),
        OperatorSetupError::Url(..)
    ));
    assert!(matches!(
        refused(&|c| c.extra_roots = vec!["not a certificate".into()]),
        OperatorSetupError::Certificate(_)
    ));
    assert!(matches!(
        refused(&|c| c.token = Some("two words".into())),
        OperatorSetupError::Setting(_)
    ));
    assert!(matches!(
        refused(&|c| c.connect_timeout = c.timeout),
        OperatorSetupError::Setting(_)
    ));
    assert!(matches!(
        refused(&|c| c.concurrency = 0),
        OperatorSetupError::Setting(_)
    ));
    assert!(matches!(
        refused(&|c| c.rate = Some(f64::NAN)),
        OperatorSetupError::Setting(_)
    ));
    assert!(matches!(
        refused(&|c| c.name = " ".into()),
        OperatorSetupError::Setting(_)
    ));
}
