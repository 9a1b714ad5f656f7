//! A registration surge, measured: many clients register citizens through the
//! JSON API on loopback and confirm their phone with the code the device
//! simulator received. Prints throughput and latency percentiles.
//!
//!     cargo run --release -p crieur --example bench_registration -- [COUNT] [CONCURRENCY]
//!
//! The server runs in this process on an embedded SQLite file in a temporary
//! folder (WAL, synchronous=FULL), with the synthetic address registry loaded.

use crieur::app::{App, Mode};
use crieur::config::Config;
use crieur_domain::Territories;
use crieur_domain::address::parse_registry_csv;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LANGS: [&str; 4] = ["fr", "nl", "de", "en"];

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn report(name: &str, mut micros: Vec<u64>) {
    micros.sort_unstable();
    println!(
        "  {name:<22} p50 {:>7.2} ms   p90 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        percentile(&micros, 0.50),
        percentile(&micros, 0.90),
        percentile(&micros, 0.99),
        percentile(&micros, 1.0)
    );
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(32);
    let _ = rustls::crypto::ring::default_provider().install_default();

    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.channels.simulator = true;
    config.metrics.enabled = false;
    // The surge comes from one address here; real limits would stop it.
    config.registration.per_address_per_hour = u32::MAX;
    config.registration.codes_per_range_per_hour = u32::MAX;
    let app = App::build(config, Mode::default()).await?;
    let state = app.state().clone();
    let simulator = state.simulator.clone().expect("the simulator is on");

    let csv = crieur::demo::synthetic_registry_csv()?;
    let territories = Territories::embedded()?;
    let registry = parse_registry_csv(&csv[..], &territories)?.addresses;
    state
        .store
        .addresses()
        .import_addresses("bench", true, &registry)
        .await?;
    let registry = Arc::new(registry);
    println!(
        "Registration surge: {count} citizens, {concurrency} concurrent clients, registry of {} addresses",
        registry.len()
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(listener, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, next, registry, simulator) = (
            client.clone(),
            base.clone(),
            next.clone(),
            registry.clone(),
            simulator.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut register = Vec::new();
            let mut verify = Vec::new();
            let mut complete = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let number = format!("+3247{:07}", i % 10_000_000);
                let a = &registry[(i * 7919) % registry.len()];
                let b = &registry[(i * 104_729 + 13) % registry.len()];
                let body = serde_json::json!({
                    "language": LANGS[i % 4],
                    "phones": [{"number": number, "sms": true}],
                    "addresses": [
                        {"label": "home", "street": a.street(), "house_number": a.house_number, "postcode": a.postcode},
                        {"label": "work", "street": b.street(), "house_number": b.house_number, "postcode": b.postcode},
                    ],
                    "consent": true
                });
                let t0 = Instant::now();
                let r = client.post(format!("{base}/api/registrations")).json(&body).send().await;
                let Ok(r) = r else { failures += 1; continue };
                if r.status() != reqwest::StatusCode::CREATED {
                    failures += 1;
                    continue;
                }
                let created: serde_json::Value = r.json().await.unwrap_or_default();
                let t1 = Instant::now();
                let token = created["token"].as_str().unwrap_or_default().to_owned();
                let contact = created["contacts"][0]["id"].as_i64().unwrap_or_default();
                // The code goes through the dispatch engine: wait for it to
                // reach the simulated phone (this wait counts in the figures).
                let mut latest = simulator.latest(&number);
                let waited = Instant::now();
                while latest.is_none() && waited.elapsed() < Duration::from_secs(10) {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    latest = simulator.latest(&number);
                }
                let code: String = latest
                    .map(|m| match &m.message {
                        crieur_channels::Outbound::Sms { text, .. } => text.clone(),
                        _ => String::new(),
                    })
                    .unwrap_or_default()
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                    .unwrap_or_default()
                    .to_owned();
                let t2 = Instant::now();
                let r = client
                    .post(format!("{base}/api/registrations/me/verify"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"contact_id": contact, "code": code}))
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) => r.json::<serde_json::Value>().await.map(|v| v["verified"] == true).unwrap_or(false),
                    Err(_) => false,
                };
                let t3 = Instant::now();
                if !ok {
                    failures += 1;
                    continue;
                }
                register.push((t1 - t0).as_micros() as u64);
                verify.push((t3 - t2).as_micros() as u64);
                complete.push(((t1 - t0) + (t3 - t2)).as_micros() as u64);
            }
            (register, verify, complete, failures)
        }));
    }
    let (mut register, mut verify, mut complete, mut failures) =
        (Vec::new(), Vec::new(), Vec::new(), 0);
    for w in workers {
        let (r, v, c, f) = w.await?;
        register.extend(r);
        verify.extend(v);
        complete.extend(c);
        failures += f;
    }
    let elapsed = started.elapsed();
    let done = complete.len();
    println!(
        "  completed {done} registrations (register + confirm) in {:.2} s: {:.0} per second; {failures} failed",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
    );
    report("register (POST)", register);
    report("confirm (POST)", verify);
    report("completed (both)", complete);
    let db = std::fs::metadata(dir.path().join("bench.db"))
        .map(|m| m.len())
        .unwrap_or(0)
        + std::fs::metadata(dir.path().join("bench.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "  peak memory {:.0} MiB, database {:.1} MiB",
        peak_rss_mib(),
        db as f64 / 1_048_576.0
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .ok();
    Ok(())
}
