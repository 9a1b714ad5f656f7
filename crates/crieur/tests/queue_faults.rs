//! Dispatch over NATS JetStream under faults, end to end: the real `crieur`
//! binary as the server (claiming and publishing batches) and three
//! `crieur worker` processes sharing one store, sending an alert over SMPP to
//! a loopback SMSC (smpp34's engine), with the test's own `nats-server`.
//!
//! - A worker killed with SIGKILL in the middle: every recipient gets exactly
//!   one SMS, except the killed worker's unrecorded batches, delivered again to
//!   the others and flagged as possibly duplicated in the report.
//! - NATS stopped for ten seconds in the middle: dispatch pauses, resumes when
//!   it is back, and every recipient gets exactly one SMS.
//!
//! The store is a SQLite file shared by the processes (WAL), or with
//! `CRIEUR_TEST_DATABASE=postgres` a PostgreSQL schema of its own. Without
//! `nats-server` the tests are skipped, unless `CRIEUR_REQUIRE_PEERS=1`.

mod common;

use crieur_channels::smpp::loopback::LoopbackSmsc;
use crieur_store::{DeliveryCounts, Store};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RECIPIENTS: usize = 30_000;
const BATCH: u32 = 256;
const OUTSTANDING: u32 = 16;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A nats-server with JetStream of the test's own, stopped and started again
/// on the same port and storage folder.
struct Nats {
    binary: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<std::process::Child>,
}

impl Nats {
    fn start(dir: &Path) -> Option<Nats> {
        let binary = crieur_testkit::peer(
            "nats-server",
            &[
                "/usr/sbin/nats-server",
                "/usr/bin/nats-server",
                "nats-server",
            ],
            "apt-get install nats-server",
        )?;
        let mut nats = Nats {
            binary,
            port: free_port(),
            dir: dir.join("nats"),
            child: None,
        };
        nats.run();
        Some(nats)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let child = std::process::Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nats-server did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it as an operator would (SIGTERM: JetStream flushes to disk).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn write_config(dir: &Path, url: &str, nats: &Nats, smsc: &LoopbackSmsc) -> PathBuf {
    let config = dir.join("crieur.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
url = "{url}"

[queue]
kind = "nats"
url = "{nats}"
ack_wait_seconds = 3
batch = {BATCH}
outstanding = {OUTSTANDING}

[[channels.sms]]
name = "smsc"
host = "127.0.0.1"
port = {port}
system_id = "crieur"
password = "secret"
sender = "BE-Alert"
rate = 3000
delivery_receipts = false
"#,
            nats = nats.url(),
            port = smsc.port
        ),
    )
    .unwrap();
    config
}

fn crieur(config: &Path, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_crieur"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,crieur_dispatch=info".into()),
        )
        .kill_on_drop(true)
        .spawn()
        .expect("the crieur binary starts")
}

/// The server (coordinating) and three workers.
fn start_all(config: &Path) -> (tokio::process::Child, Vec<tokio::process::Child>) {
    let listen = format!("127.0.0.1:{}", free_port());
    let server = crieur(config, &["serve", "--listen", &listen]);
    let workers = (0..3).map(|_| crieur(config, &["worker"])).collect();
    (server, workers)
}

async fn sms_counts(store: &Store, alert: i64) -> DeliveryCounts {
    store
        .deliveries()
        .delivery_counts(alert)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.channel == "sms")
        .fold(DeliveryCounts::default(), |mut t, c| {
            t.queued += c.queued;
            t.sending += c.sending;
            t.sent += c.sent;
            t.failed += c.failed;
            t.retrying += c.retrying;
            t.possible_duplicates += c.possible_duplicates;
            t
        })
}

async fn until_submits(smsc: &LoopbackSmsc, n: u64) {
    let start = Instant::now();
    while smsc.submits() < n {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "sending did not start: {} submits",
            smsc.submits()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn until_finished(store: &Store, alert: i64) -> DeliveryCounts {
    let start = Instant::now();
    loop {
        let c = sms_counts(store, alert).await;
        if c.queued + c.sending + c.retrying == 0 {
            return c;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "stuck at {c:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Addresses the report flags as possibly duplicated, as the SMSC sees them.
async fn flagged(store: &Store, alert: i64) -> HashSet<String> {
    store
        .deliveries()
        .delivery_report(alert)
        .await
        .unwrap()
        .iter()
        .filter(|l| l.possible_duplicate)
        .map(|l| l.address.trim_start_matches('+').to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_leaves_only_its_reported_window_to_be_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nats) = Nats::start(dir.path()) else {
        return;
    };
    let Some(db) = crieur_testkit::database(crieur_testkit::Backend::from_env()) else {
        return;
    };
    let url = db.url.clone();
    let store = Store::open(&url).await.unwrap();
    let alert = common::release_sms_alert(&store, "queue-1", RECIPIENTS).await;
    let smsc = LoopbackSmsc::start("secret")
        .await
        .expect("the SMSC starts");
    smsc.count_destinations(true);
    let config = write_config(dir.path(), &url, &nats, &smsc);
    let (mut server, mut workers) = start_all(&config);

    until_submits(&smsc, 8_000).await;
    // The worker that took a batch last: it is sending it now.
    let holder = loop {
        let open = store.batches().open_batches().await.unwrap();
        let held = open.iter().find_map(|b| {
            let pid: u32 = b.worker.as_deref()?.rsplit('-').next()?.parse().ok()?;
            workers.iter().position(|w| w.id() == Some(pid))
        });
        if let Some(at) = held {
            break at;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    workers[holder].kill().await.expect("SIGKILL");
    let at_kill = smsc.submits();
    assert!(
        at_kill < RECIPIENTS as u64,
        "killed in the middle: {at_kill}"
    );

    let after = until_finished(&store, alert).await;
    for w in &mut workers {
        w.kill().await.expect("stop");
    }
    server.kill().await.expect("stop");
    assert_eq!((after.sent, after.failed), (RECIPIENTS as u64, 0));

    let per = smsc.per_destination();
    assert_eq!(per.len(), RECIPIENTS, "every recipient reached");
    let flagged = flagged(&store, alert).await;
    let repeated: Vec<&String> = per
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(to, _)| to)
        .collect();
    assert!(per.values().all(|n| *n <= 2), "at most one resend");
    for to in &repeated {
        assert!(
            flagged.contains(*to),
            "{to} received twice but is not flagged"
        );
    }
    // The window is what the killed worker had taken and not recorded; the
    // coordinator never lets more than `outstanding` batches be out.
    assert!(
        after.possible_duplicates > 0,
        "the killed worker was sending a batch: what it left is flagged"
    );
    assert!(
        after.possible_duplicates <= u64::from(BATCH * OUTSTANDING),
        "{} possibly duplicated",
        after.possible_duplicates
    );
    assert!(
        store.batches().dead_letters().await.unwrap().is_empty(),
        "nothing dead-lettered"
    );
    eprintln!(
        "worker killed after {at_kill} submits; {} resent of {} flagged as possibly duplicated",
        repeated.len(),
        after.possible_duplicates
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_pauses_while_nats_is_down_and_resumes_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut nats) = Nats::start(dir.path()) else {
        return;
    };
    let Some(db) = crieur_testkit::database(crieur_testkit::Backend::from_env()) else {
        return;
    };
    let url = db.url.clone();
    let store = Store::open(&url).await.unwrap();
    let alert = common::release_sms_alert(&store, "queue-1", RECIPIENTS).await;
    let smsc = LoopbackSmsc::start("secret")
        .await
        .expect("the SMSC starts");
    smsc.count_destinations(true);
    let config = write_config(dir.path(), &url, &nats, &smsc);
    let (mut server, mut workers) = start_all(&config);

    until_submits(&smsc, 8_000).await;
    nats.stop();
    let at_stop = smsc.submits();
    // What workers had already taken may still go out; then nothing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let drained = smsc.submits();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let paused = smsc.submits();
    let during = sms_counts(&store, alert).await;
    assert_eq!(drained, paused, "nothing is sent while NATS is down");
    assert!(
        during.queued > 0 && paused < RECIPIENTS as u64,
        "the outage came in the middle: {during:?}, {paused} sent"
    );

    nats.run();
    let resumed = Instant::now();
    until_submits(&smsc, paused + 1).await;
    let resumed_after = resumed.elapsed();
    let after = until_finished(&store, alert).await;
    for w in &mut workers {
        w.kill().await.expect("stop");
    }
    server.kill().await.expect("stop");
    assert_eq!((after.sent, after.failed), (RECIPIENTS as u64, 0));
    let per = smsc.per_destination();
    assert_eq!(per.len(), RECIPIENTS, "every recipient reached");
    assert!(
        per.values().all(|n| *n == 1),
        "exactly one SMS each: {} received more",
        per.values().filter(|n| **n > 1).count()
    );
    assert_eq!(after.possible_duplicates, 0, "nothing in doubt");
    eprintln!(
        "NATS stopped after {at_stop} submits, {drained} when drained; resumed {:.1} s after its restart",
        resumed_after.as_secs_f64()
    );
}
