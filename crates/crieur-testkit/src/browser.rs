//! Headless Chromium through chromedriver, cleaned up even when a test panics.

use fantoccini::{Client, ClientBuilder};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running chromedriver (hence its Chromium) with a throw-away profile.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    port: u16,
    chromium: PathBuf,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver, or returns `None` (test skipped) when Chromium or its
    /// driver is not installed. See [`crate::peer`] for the skipping rule.
    ///
    /// # Panics
    /// When chromedriver cannot start or does not listen within 10 s.
    pub fn start() -> Option<Browser> {
        let hint = "apt-get install -y chromium chromium-driver";
        let chromium = crate::peer("Chromium", &["/usr/bin/chromium", "chromium"], hint)?;
        let driver = crate::peer(
            "chromedriver",
            &["/usr/bin/chromedriver", "chromedriver"],
            hint,
        )?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let profile = tempfile::tempdir().expect("a temporary profile folder");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            // Chromium writes here whatever --user-data-dir says.
            .env("XDG_CONFIG_HOME", profile.path())
            .env("XDG_CACHE_HOME", profile.path())
            .env("TMPDIR", profile.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let browser = Browser {
            child,
            port,
            chromium,
            profile,
        };
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "chromedriver is not listening on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(browser)
    }

    /// A new WebDriver session in headless Chromium, with a window of the given size.
    ///
    /// # Panics
    /// When the session cannot be created.
    pub async fn client(&self, width: u32, height: u32) -> Client {
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         format!("--window-size={width},{height}"),
                         format!("--user-data-dir={}", self.profile.path().join("chromium").display())],
                // about:blank, not the new-tab page that tries the network.
                "prefs": { "session.restore_on_startup": 4, "session.startup_urls": ["about:blank"] }
            }
        });
        let caps = caps.as_object().cloned().expect("capabilities object");
        ClientBuilder::new(hyper_util_connector())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session")
    }
}

fn hyper_util_connector() -> hyper_util::client::legacy::connect::HttpConnector {
    hyper_util::client::legacy::connect::HttpConnector::new()
}

impl Drop for Browser {
    fn drop(&mut self) {
        // /shutdown makes chromedriver quit its browsers (killing it would orphan
        // Chromium); it ignores requests without a Host header.
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let t0 = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// axe-core's script, used to check pages against WCAG 2.1 AA. It comes from npm
/// (`npm install --prefix target/axe axe-core`), or from the file named by
/// `CRIEUR_AXE`. `None` (test skipped) when absent, unless peers are required.
///
/// # Panics
/// When it is missing and [`crate::peers_required`] is true.
pub fn axe_script() -> Option<String> {
    let default = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/axe/node_modules/axe-core/axe.min.js"
    );
    let path = std::env::var("CRIEUR_AXE").unwrap_or_else(|_| default.to_owned());
    let found = crate::peer(
        "axe-core",
        &[path.as_str()],
        "npm install --prefix target/axe axe-core@4.14.1",
    )?;
    Some(std::fs::read_to_string(found).expect("axe-core is readable"))
}

/// Runs axe-core on the current page with the WCAG 2.0/2.1 A and AA rules and
/// returns the violations as `"rule: target (impact)"` lines.
///
/// # Panics
/// When the script cannot run in the page.
pub async fn wcag_violations(client: &Client, axe: &str) -> Vec<String> {
    client.execute(axe, vec![]).await.expect("axe-core loads");
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                .then(r => done(r.violations.flatMap(v => v.nodes.map(n => `${v.id}: ${n.target.join(' ')} (${v.impact})`))))
                .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    serde_json::from_value(result).expect("a list of violations")
}
