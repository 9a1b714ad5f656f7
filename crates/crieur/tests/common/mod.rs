//! Starts the real application on 127.0.0.1:0 with a fresh SQLite file per test.
#![allow(dead_code)]

use crieur::app::{App, Mode};
use crieur::config::Config;
use std::process::{Command, Output};
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub db_url: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn config_in(dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.join("crieur.db").display());
    config
}

pub async fn spawn() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_in(dir.path());
    spawn_in(dir, config, Mode::default()).await
}

pub async fn spawn_in(dir: tempfile::TempDir, config: Config, mode: Mode) -> TestApp {
    // reqwest is built without a default TLS provider; use the server's (ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db_url = config.database.url.clone();
    let scheme = if config.web.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let app = App::build(config, mode).await.expect("app builds");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(listener, async {
        let _ = stopped.await;
    }));
    TestApp {
        base: format!("{scheme}://{addr}"),
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
