//! `crieur bench dispatch`: the dispatch engine end to end on the embedded
//! store, as in production: an alert's plan stored in a SQLite file (or the
//! empty store `--store` names, e.g. a PostgreSQL schema), then
//! sent through the SMPP client to a loopback SMSC (smpp34's engine) and
//! through the SMTP client to Postfix's `smtp-sink`, beside Postfix's own load
//! generator `smtp-source` against the same sink. Prints messages per second,
//! time from release to the first message, total time and peak memory. Goals
//! on a 2-core machine: 50,000 SMS/s and 5,000 e-mails/s under 1 GiB. Run it
//! from a release build.
//!
//! With `--workers 1,2` the same SMS alert is also sent in queue mode: this
//! process coordinates (claims batches, publishes them to its own
//! `nats-server`), N `crieur worker` processes send, all sharing one store
//! (`--queue-database-url`, a fresh SQLite file by default); the figures are
//! printed side by side with the embedded engine's.

use crieur_channels::Provider;
use crieur_channels::smpp::loopback::LoopbackSmsc;
use crieur_channels::smpp::{SmppConfig, SmppProvider};
use crieur_channels::smtp::{Security, SmtpConfig, SmtpProvider};
use crieur_dispatch::{Dispatcher, Settings};
use crieur_store::{
    AlertState, NewAccount, NewAlert, PlannedDelivery, PlannedText, Priority, Release, Store,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Stores an alert whose plan is one message per address, as a release does.
pub(super) async fn release(
    store: &Store,
    account: i64,
    channel: &str,
    body: &str,
    addresses: impl Iterator<Item = String>,
) -> anyhow::Result<i64> {
    let alerts = store.alerts();
    let incident = alerts
        .open_incident("Benchmark", "01000".parse()?, account)
        .await?;
    let id = alerts
        .create_alert(&NewAlert {
            incident_id: incident.id,
            identifier: format!("bench-{channel}"),
            territory: "01000".parse()?,
            status: "Test".into(),
            msg_type: "Alert".into(),
            references_id: None,
            test_group: false,
            composition: "{}".into(),
            area: "[]".into(),
            fingerprint: channel.into(),
            author_id: account,
        })
        .await?;
    alerts
        .release_alert(
            id,
            &Release {
                fingerprint: channel.into(),
                from: AlertState::Draft,
                approver: None,
                by: account,
                now: 0,
                sent: "2026-11-29T10:00:00+00:00".into(),
                recipients: "{}".into(),
                texts: vec![PlannedText {
                    channel: channel.into(),
                    language: "fr".into(),
                    subject: "TEST - Alerte: nuage toxique".into(),
                    body: body.into(),
                }],
                deliveries: addresses
                    .map(|address| PlannedDelivery {
                        channel: channel.into(),
                        language: "fr".into(),
                        address,
                    })
                    .collect(),
                priority: Priority::Practice,
            },
        )
        .await?;
    Ok(id)
}

/// Runs the engine with `providers` until `expected` messages have reached the
/// far end (`reached`) and everything is recorded. Returns (first message,
/// all reached, all recorded) from the start.
async fn run(
    store: &Store,
    providers: Vec<Arc<dyn Provider>>,
    receipts: crieur_dispatch::ReceiptQueue,
    expected: u64,
    reached: impl Fn() -> u64,
) -> anyhow::Result<(Duration, Duration, Duration)> {
    let stop = Arc::new(Notify::new());
    let start = Instant::now();
    let engine = tokio::spawn(
        Dispatcher {
            store: store.clone(),
            providers,
            receipts,
            settings: Settings::default(),
            wake: Arc::new(Notify::new()),
        }
        .run(stop.clone()),
    );
    while reached() == 0 {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(60),
            "nothing was sent"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let first = start.elapsed();
    let mut last = (0, Instant::now());
    while reached() < expected {
        let n = reached();
        if n != last.0 {
            last = (n, Instant::now());
        }
        anyhow::ensure!(
            last.1.elapsed() < Duration::from_secs(30),
            "stalled at {n} of {expected}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let all = start.elapsed();
    loop {
        let asked = Instant::now();
        let left = store.deliveries().unfinished_deliveries().await?;
        tracing::debug!(
            left,
            took_ms = asked.elapsed().as_millis() as u64,
            "unfinished"
        );
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recorded = start.elapsed();
    stop.notify_one();
    engine.await??;
    Ok((first, all, recorded))
}

fn report(what: &str, n: u64, (first, all, recorded): (Duration, Duration, Duration)) {
    println!(
        "{what}: {n} in {:.2} s = {:.0}/s; first after {:.1} ms; all recorded after {:.2} s",
        all.as_secs_f64(),
        n as f64 / all.as_secs_f64(),
        first.as_secs_f64() * 1e3,
        recorded.as_secs_f64(),
    );
}

/// What `crieur bench dispatch` runs.
#[derive(Debug, Clone)]
pub(super) struct DispatchBench {
    pub sms: u64,
    pub emails: u64,
    pub receipts: bool,
    /// Worker counts to run in queue mode, after the embedded engine.
    pub workers: Vec<usize>,
    /// The store shared with the workers (a fresh SQLite file when `None`).
    pub queue_database: Option<String>,
    /// An empty store for the embedded engine (a fresh SQLite file when `None`).
    pub store: Option<String>,
}

pub(super) async fn dispatch(bench: &DispatchBench) -> anyhow::Result<()> {
    let (sms, emails, receipts) = (bench.sms, bench.emails, bench.receipts);
    let store = bench.store.as_deref();
    let mut columns: Vec<(String, (Duration, Duration, Duration))> = Vec::new();
    let dir = tempfile::tempdir()?;
    let url = match store {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let store = Store::open(&url).await?;
    println!(
        "store: {} ({})",
        crieur_store::redact_url(&url),
        store.kind()
    );
    let account = store
        .accounts()
        .create_account(&NewAccount {
            username: "bench".into(),
            display_name: "Benchmark".into(),
            role: crieur_domain::access::Role::Minister,
            territory: "01000".parse()?,
            password_hash: "not used".into(),
            totp_secret: None,
        })
        .await?
        .id;

    if sms > 0 {
        let started = Instant::now();
        release(
            &store,
            account,
            "sms",
            // One GSM 03.38 segment, as alert SMS are written.
            "TEST - Nuage toxique: fermez portes et fenetres, restez a l'interieur. \
             Infos: crieur.example",
            (0..sms).map(|i| format!("+3247{:07}", i % 10_000_000)),
        )
        .await?;
        println!(
            "stored a plan of {sms} SMS in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        let smsc = LoopbackSmsc::start("bench").await?;
        smsc.send_receipts(receipts);
        let (sink, queue) = crieur_dispatch::receipts();
        let mut config = SmppConfig::new(
            "smsc",
            "127.0.0.1",
            smsc.port,
            "crieur",
            "bench",
            "BE-Alert",
        );
        config.delivery_receipts = receipts;
        let provider = SmppProvider::start(config, sink);
        while provider.bound() < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = Counting {
            inner: provider.clone(),
            sent: sent.clone(),
        };
        let times = run(&store, vec![Arc::new(counter)], queue, sms, || {
            sent.load(std::sync::atomic::Ordering::Relaxed)
        })
        .await?;
        report("SMS over SMPP (4 binds x 64)", sms, times);
        columns.push(("embedded".into(), times));
        println!("submit_sm received by the SMSC: {}", smsc.submits());
        if receipts {
            let start = Instant::now();
            while smsc.receipts_acknowledged() < sms && start.elapsed() < Duration::from_secs(60) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            println!(
                "delivery receipts stored and acknowledged: {} ({:.2} s after the last SMS)",
                smsc.receipts_acknowledged(),
                start.elapsed().as_secs_f64()
            );
        }
        provider.shutdown().await;
        println!("peak memory so far: {:.0} MiB", peak_rss_mib());
        for &n in &bench.workers {
            match super::bench_queue::run(sms, n, bench.queue_database.as_deref()).await? {
                Some(times) => {
                    report(&format!("SMS over NATS with {n} worker(s)"), sms, times);
                    columns.push((format!("NATS, {n} worker(s)"), times));
                }
                None => break,
            }
        }
        if columns.len() > 1 {
            side_by_side(sms, &columns);
        }
    }

    if emails > 0 {
        let Some(sink) = which("smtp-sink") else {
            println!(
                "e-mail: skipped, Postfix's smtp-sink is not installed \
                 (apt-get install postfix, with no configuration)"
            );
            return Ok(());
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut args: Vec<String> = Vec::new();
        if is_root() {
            args.extend(["-u".into(), "nobody".into()]);
        }
        args.extend([format!("127.0.0.1:{port}"), "1024".into()]);
        let mut sink = tokio::process::Command::new(sink)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let connected = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            anyhow::ensure!(
                connected.elapsed() < Duration::from_secs(10),
                "smtp-sink did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        const SESSIONS: usize = 8;
        if let Some(source) = which("smtp-source") {
            let start = Instant::now();
            let status = tokio::process::Command::new(source)
                .args([
                    "-d",
                    "-s",
                    &SESSIONS.to_string(),
                    "-m",
                    &emails.to_string(),
                    "-l",
                    "1024",
                    "-f",
                    "bench@crieur.test",
                    "-t",
                    "sink@crieur.test",
                    &format!("127.0.0.1:{port}"),
                ])
                .status()
                .await?;
            let took = start.elapsed().as_secs_f64();
            println!(
                "Postfix smtp-source ({SESSIONS} sessions, 1 KiB): {emails} in {took:.2} s = {:.0}/s{}",
                emails as f64 / took,
                if status.success() {
                    ""
                } else {
                    " (it reported an error)"
                }
            );
        }
        release(
            &store,
            account,
            "email",
            "TEST - Nuage toxique: fermez portes et fenêtres, restez à l'intérieur.\n\n\
             Infos: https://crieur.example/alerts",
            (0..emails).map(|i| format!("citizen{i}@crieur.test")),
        )
        .await?;
        let mut config = SmtpConfig::new(
            "relay",
            "127.0.0.1",
            port,
            "BE-Alert <alert@crieur.test>",
            "crieur.test",
        );
        config.security = Security::None;
        config.connections = SESSIONS;
        let relay = Arc::new(SmtpProvider::new(config)?);
        let (_sink, queue) = crieur_dispatch::receipts();
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = Counting {
            inner: relay.clone(),
            sent: sent.clone(),
        };
        let times = run(&store, vec![Arc::new(counter)], queue, emails, || {
            sent.load(std::sync::atomic::Ordering::Relaxed)
        })
        .await?;
        report(
            &format!("e-mail over SMTP ({SESSIONS} connections, text + HTML)"),
            emails,
            times,
        );
        relay.shutdown().await;
        let _ = sink.kill().await;
    }
    println!("peak memory: {:.0} MiB", peak_rss_mib());
    Ok(())
}

/// The SMS runs as a table: one column per set-up.
fn side_by_side(n: u64, columns: &[(String, (Duration, Duration, Duration))]) {
    let width = columns
        .iter()
        .map(|(l, _)| l.len())
        .max()
        .unwrap_or(0)
        .max(10)
        + 2;
    let mut head = format!("{:<28}", format!("{n} SMS"));
    let mut rate = format!("{:<28}", "messages per second");
    let mut first = format!("{:<28}", "first message after (ms)");
    let mut all = format!("{:<28}", "all recorded after (s)");
    for (label, (f, a, r)) in columns {
        head.push_str(&format!("{label:>width$}"));
        rate.push_str(&format!("{:>width$.0}", n as f64 / a.as_secs_f64()));
        first.push_str(&format!("{:>width$.1}", f.as_secs_f64() * 1e3));
        all.push_str(&format!("{:>width$.2}", r.as_secs_f64()));
    }
    println!("\n{head}\n{rate}\n{first}\n{all}");
}

/// Counts the messages a provider accepted.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Provider>,
    sent: Arc<std::sync::atomic::AtomicU64>,
}

#[async_trait::async_trait]
impl Provider for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn channels(&self) -> &'static [&'static str] {
        self.inner.channels()
    }
    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }
    fn rate(&self) -> Option<f64> {
        self.inner.rate()
    }
    fn ready(&self) -> bool {
        self.inner.ready()
    }
    fn receipts(&self) -> bool {
        self.inner.receipts()
    }
    async fn send(
        &self,
        envelope: &crieur_channels::Envelope,
    ) -> Result<crieur_channels::Accepted, crieur_channels::ChannelError> {
        let r = self.inner.send(envelope).await;
        if r.is_ok() {
            self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        r
    }
}

pub(super) fn which(program: &str) -> Option<std::path::PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.exists())
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}
