//! The server terminates TLS itself when given a certificate.

mod common;

use crieur::config::TlsConfig;

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).expect("write key");

    let mut config = common::config_in(dir.path());
    config.web.tls = Some(TlsConfig {
        cert_file,
        key_file,
    });
    let app = common::spawn_in(dir, config, Default::default()).await;
    let port = app.base.rsplit(':').next().expect("port").to_owned();

    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem")])
        .resolve(
            "localhost",
            ([127, 0, 0, 1], port.parse().expect("port")).into(),
        )
        .build()
        .expect("client");
    let r = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .expect("https request");
    assert_eq!(r.status(), reqwest::StatusCode::OK);

    // Plain HTTP on the TLS port gets no page.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));
    app.stop().await;
}
