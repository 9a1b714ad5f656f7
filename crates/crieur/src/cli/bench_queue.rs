//! `crieur bench dispatch --workers N`: the SMS alert sent in queue mode. This
//! process is the coordinator (as the server is), with its own `nats-server`
//! on a free port; N `crieur worker` processes (this same binary) send to a
//! loopback SMSC. Timing starts once every worker has bound to the SMSC.

use super::bench_dispatch::{release, which};
use crieur_channels::smpp::loopback::LoopbackSmsc;
use crieur_dispatch::queue::{Coordinator, QueueSettings};
use crieur_store::{NewAccount, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// (first message, all reached, all recorded) from the start; `None` when
/// `nats-server` is not installed.
pub(super) async fn run(
    sms: u64,
    workers: usize,
    database: Option<&str>,
) -> anyhow::Result<Option<(Duration, Duration, Duration)>> {
    let Some(nats_server) = which("nats-server") else {
        println!("NATS: skipped, nats-server is not installed (apt-get install nats-server)");
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    // One store per run: a PostgreSQL URL naming a schema gets `_w<N>` after it.
    let url = database.map_or_else(
        || format!("sqlite://{}", dir.path().join("queue.db").display()),
        |u| {
            if u.contains("schema=") {
                format!("{u}_w{workers}")
            } else {
                u.to_owned()
            }
        },
    );
    let store = Store::open(&url).await?;
    let account = store
        .accounts()
        .create_account(&NewAccount {
            username: format!("bench-{workers}-{}", std::process::id()),
            display_name: "Benchmark".into(),
            role: crieur_domain::access::Role::Minister,
            territory: "01000".parse()?,
            password_hash: "not used".into(),
            totp_secret: None,
        })
        .await?
        .id;
    release(
        &store,
        account,
        "sms",
        "TEST - Nuage toxique: fermez portes et fenetres, restez a l'interieur. \
         Infos: crieur.example",
        (0..sms).map(|i| format!("+3247{:07}", i % 10_000_000)),
    )
    .await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut nats = tokio::process::Command::new(nats_server)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path().join("nats"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let waiting = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        anyhow::ensure!(
            waiting.elapsed() < Duration::from_secs(10),
            "nats-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let nats_url = format!("nats://127.0.0.1:{port}");

    let smsc = LoopbackSmsc::start("bench").await?;
    let config = dir.path().join("worker.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
url = "{url}"

[queue]
kind = "nats"
url = "{nats_url}"

[[channels.sms]]
name = "smsc"
host = "127.0.0.1"
port = {port}
system_id = "crieur"
password = "bench"
sender = "BE-Alert"
delivery_receipts = false
"#,
            port = smsc.port
        ),
    )?;
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for _ in 0..workers {
        children.push(
            tokio::process::Command::new(&exe)
                .arg("--config")
                .arg(&config)
                .arg("worker")
                .env("RUST_LOG", "warn")
                .kill_on_drop(true)
                .spawn()?,
        );
    }
    let waiting = Instant::now();
    while smsc.bound() < 4 * workers {
        anyhow::ensure!(
            waiting.elapsed() < Duration::from_secs(30),
            "the workers did not bind to the SMSC"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let stop = Arc::new(Notify::new());
    let start = Instant::now();
    let coordinator = tokio::spawn(
        Coordinator {
            store: store.clone(),
            settings: QueueSettings {
                url: nats_url,
                ..QueueSettings::default()
            },
            wake: Arc::new(Notify::new()),
            idle: Duration::from_millis(5),
        }
        .run(stop.clone()),
    );
    while smsc.submits() == 0 {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(60),
            "nothing was sent"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let first = start.elapsed();
    let mut last = (0, Instant::now());
    while smsc.submits() < sms {
        let n = smsc.submits();
        if n != last.0 {
            last = (n, Instant::now());
        }
        anyhow::ensure!(
            last.1.elapsed() < Duration::from_secs(30),
            "stalled at {n} of {sms}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let all = start.elapsed();
    while store.deliveries().unfinished_deliveries().await? > 0 {
        anyhow::ensure!(
            start.elapsed() < all + Duration::from_secs(60),
            "outcomes not all recorded"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recorded = start.elapsed();
    stop.notify_one();
    coordinator.await??;
    for mut c in children {
        let _ = c.kill().await;
    }
    let _ = nats.kill().await;
    anyhow::ensure!(
        smsc.submits() == sms,
        "{} submits for {sms} SMS",
        smsc.submits()
    );
    Ok(Some((first, all, recorded)))
}
