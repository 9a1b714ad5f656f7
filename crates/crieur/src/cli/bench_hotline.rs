//! `crieur bench hotline`: many callers at once through the hotline's IVR and
//! queues, SIPp on loopback on both sides. Callers (SIPp, `uac_hotline.xml`)
//! press the menu key and stay on the line for a while, hearing hold music and
//! place announcements; operators are a SIPp callee answering every call their
//! "phones" get. Prints call setups per second (INVITE in to 200 OK out), the
//! setup latency, how many waited and were connected at the peak, CPU and peak
//! memory, beside the goal of 100 call setups/s on a 2-core machine. Run it
//! from a release build.

use super::bench_voice::{
    cpu_seconds, free_udp_port, peak_rss_mib, sipp_counts, sipp_output, which,
};
use crieur_domain::Language;
use crieur_domain::acd::Skills;
use crieur_domain::hotline::{HotlineConfig, MenuOption};
use crieur_hotline::{Desk, Hotlines, RuntimeOptions};
use crieur_telephony::calls::{CallEventKind, Switchboard, SwitchboardConfig};
use crieur_telephony::media::MediaConfig;
use crieur_telephony::sip::{SipConfig, SipEndpoint};
use crieur_telephony::tts::{Tts, TtsConfig, TtsError};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const GOAL_SETUPS_PER_SECOND: f64 = 100.0;
static CALLER: &str = include_str!("../../../crieur-hotline/tests/sipp/uac_hotline.xml");

#[derive(Debug, Clone)]
pub(super) struct HotlineBench {
    pub callers: u64,
    pub operators: usize,
    pub rate: f64,
    /// How long each caller stays on the line before hanging up.
    pub hold: Duration,
}

pub(super) async fn hotline(bench: &HotlineBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        bench.callers > 0 && bench.operators > 0 && bench.rate > 0.0,
        "--callers, --operators and --rate must be above zero"
    );
    let Some(sipp) = which("sipp") else {
        println!("hotline: skipped, SIPp is not installed (apt-get install sip-tester)");
        return Ok(());
    };
    let tts = Tts::new(TtsConfig::default())?;
    match tts.render("fr", "Bonjour.").await {
        Err(TtsError::NotInstalled { .. }) => {
            println!("hotline: skipped, espeak-ng is not installed (apt-get install espeak-ng)");
            return Ok(());
        }
        other => {
            other?;
        }
    }
    let dir = tempfile::tempdir()?;
    let store = crieur_store::Store::open(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let opener = store
        .accounts()
        .create_account(&crieur_store::NewAccount {
            username: "bench.mayor".into(),
            display_name: "Bench".into(),
            role: crieur_domain::access::Role::Mayor,
            territory: "62063".parse()?,
            password_hash: "unused".into(),
            totp_secret: None,
        })
        .await?;
    let incident = store
        .alerts()
        .open_incident("Benchmark", "62063".parse()?, opener.id)
        .await?;

    // The operators' phones: one SIPp callee answering every call.
    let phones_port = free_udp_port()?;
    let phones_media = free_udp_port()?;
    let phones_dir = tempfile::tempdir()?;
    let mut phones = sipp_process(
        &sipp,
        phones_dir.path(),
        &[
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-t",
            "u1",
            "-nostdin",
            "-rtp_echo",
            "-p",
            &phones_port.to_string(),
            "-mp",
            &phones_media.to_string(),
        ],
    )?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Some(status) = phones.try_wait()? {
        anyhow::bail!(
            "SIPp (operators) exited at once ({status}): {}",
            sipp_output(phones_dir.path())
        );
    }

    let (endpoint, incoming) = SipEndpoint::start(SipConfig {
        invite_rate_per_source: 100_000,
        max_dialogs: (bench.callers as usize + bench.operators) * 2,
        incoming_queue: 10_000,
        ..SipConfig::default()
    })
    .await?;
    let registrar = endpoint
        .udp_addr()
        .ok_or_else(|| anyhow::anyhow!("no UDP address"))?;
    let switchboard = Switchboard::new(
        endpoint.clone(),
        incoming,
        tts,
        SwitchboardConfig {
            media: MediaConfig {
                ports: Some(20_000..=39_999),
                ..MediaConfig::default()
            },
            events_capacity: 1 << 16,
            ..SwitchboardConfig::default()
        },
    );
    let mut events = switchboard.events();
    let hotlines = Hotlines::new(
        store.clone(),
        RuntimeOptions {
            ring_timeout: Duration::from_secs(10),
            menu_timeout: Duration::from_secs(3),
            menu_attempts: 1,
        },
    );
    let mut config = HotlineConfig {
        languages: vec![Language::Fr],
        menu: vec![MenuOption {
            digit: '1',
            line: crieur_domain::acd::Line::Information,
        }],
        holding_until: 0,
        announce_every_s: 10,
        ..HotlineConfig::default()
    };
    config.greeting.insert(Language::Fr, "Bonjour.".into());
    config.acd.wrap_up_ms = 0;
    config.acd.keep_place_ms = 0;
    config.acd.information.max_wait_ms = 0;
    let hotline = hotlines
        .activate(incident.id, "1771", config, opener.id)
        .await?
        .id;
    for i in 0..bench.operators {
        // Real accounts: call records name the operator who answered.
        let account = store
            .accounts()
            .create_account(&crieur_store::NewAccount {
                username: format!("bench.op{i}"),
                display_name: format!("Operator {i}"),
                role: crieur_domain::access::Role::HotlineOperator,
                territory: "62063".parse()?,
                password_hash: "unused".into(),
                totp_secret: None,
            })
            .await?;
        hotlines.sign_in(
            hotline,
            account.id,
            Desk {
                name: format!("op{i}"),
                extension: format!("sip:op{i}@127.0.0.1:{phones_port}"),
                skills: Skills {
                    native: vec![Language::Fr],
                    ..Skills::default()
                },
            },
        )?;
    }
    let served = hotlines.serve(switchboard);

    // The callers.
    let callers_dir = tempfile::tempdir()?;
    let scenario = callers_dir.path().join("caller.xml");
    let tone = callers_dir.path().join("tone.ulaw");
    std::fs::write(&tone, vec![0xffu8; 1600])?;
    std::fs::write(
        &scenario,
        CALLER
            .replace("@TONE@", &tone.display().to_string())
            .replace("@KEY1@", "1")
            .replace("@KEY2@", "1")
            .replace("@HOLD_MS@", &bench.hold.as_millis().to_string())
            // Callers here only press keys: 2,000 streams would measure SIPp.
            .replace("<nop><action><exec rtp_stream=\"", "<!-- ")
            .replace(",-1,0\"/></action></nop>", " -->"),
    )?;
    let callers_port = free_udp_port()?;
    let callers_media = free_udp_port()?;
    println!(
        "hotline: {} callers at {} calls/s, each on the line {} s; {} operators (SIPp callee on \
         127.0.0.1:{phones_port}, echoing RTP); hold music and announcements every 10 s",
        bench.callers,
        bench.rate,
        bench.hold.as_secs(),
        bench.operators
    );
    let started = Instant::now();
    let ours_before = cpu_seconds(None);
    let mut callers = sipp_process(
        &sipp,
        callers_dir.path(),
        &[
            &registrar.to_string(),
            "-s",
            "1771",
            "-sf",
            &scenario.display().to_string(),
            "-i",
            "127.0.0.1",
            "-t",
            "u1",
            "-nostdin",
            "-p",
            &callers_port.to_string(),
            "-mp",
            &callers_media.to_string(),
            "-m",
            &bench.callers.to_string(),
            "-r",
            &bench.rate.to_string(),
            "-l",
            &bench.callers.to_string(),
        ],
    )?;
    let callers_pid = callers.id();
    let sipp_before = (cpu_seconds(callers_pid), cpu_seconds(phones.id()));

    let mut offered: HashMap<String, jiff::Timestamp> = HashMap::new();
    let mut latencies = Vec::new();
    let mut answered_at = Vec::new();
    let (mut peak_waiting, mut peak_connected) = (0usize, 0usize);
    let limit = Duration::from_secs_f64(bench.callers as f64 / bench.rate)
        + bench.hold
        + Duration::from_secs(120);
    let mut sample = tokio::time::interval(Duration::from_millis(100));
    let mut sipp_after = (None, None);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(e) => match e.kind {
                    CallEventKind::Offered { .. } => {
                        offered.insert(e.call_id, e.at);
                    }
                    CallEventKind::Answered => {
                        if let Some(at) = offered.get(&e.call_id) {
                            latencies.push(e.at.duration_since(*at).as_secs_f64() * 1e3);
                        }
                        answered_at.push(started.elapsed());
                    }
                    _ => {}
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    println!("(lost {n} call events: figures below undercount)");
                }
                Err(_) => break,
            },
            _ = sample.tick() => {
                if let Some((w, c, _)) = hotlines.counts(hotline) {
                    peak_waiting = peak_waiting.max(w);
                    peak_connected = peak_connected.max(c);
                }
                if callers.try_wait()?.is_some() {
                    break;
                }
                sipp_after = (cpu_seconds(callers_pid), cpu_seconds(phones.id()));
                anyhow::ensure!(started.elapsed() < limit, "callers still running after {limit:?}");
            }
        }
    }
    let total = started.elapsed();
    let ours_after = cpu_seconds(None);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = store.hotline().queue_log(hotline, 0, 1_000_000).await?;
    let count = |e: &str| log.iter().filter(|l| l.event == e).count();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let arrival = Duration::from_secs_f64(bench.callers as f64 / bench.rate);
    let in_arrival = answered_at
        .iter()
        .filter(|t| **t <= arrival + Duration::from_secs(1))
        .count();
    let setups = in_arrival as f64 / (arrival.as_secs_f64() + 1.0);
    let mut per_second: HashMap<u64, usize> = HashMap::new();
    for t in &answered_at {
        *per_second.entry(t.as_secs()).or_default() += 1;
    }
    println!(
        "calls answered by the IVR: {} of {} in {:.1} s",
        answered_at.len(),
        bench.callers,
        total.as_secs_f64()
    );
    println!(
        "call setups: {setups:.0}/s from the first answer to the last (goal {GOAL_SETUPS_PER_SECOND:.0}/s: {}), busiest second {}",
        if setups >= GOAL_SETUPS_PER_SECOND * 0.95 {
            "met"
        } else {
            "NOT met"
        },
        per_second.values().max().copied().unwrap_or(0)
    );
    println!(
        "setup latency (INVITE in to 200 OK out): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
    println!(
        "peak: {peak_waiting} callers waiting with announcements, {peak_connected} connected to operators"
    );
    let talk: Vec<u64> = log
        .iter()
        .filter(|l| l.event == "COMPLETECALLER" || l.event == "COMPLETEAGENT")
        .filter_map(|l| l.data2.parse().ok())
        .collect();
    let waited: Vec<u64> = log
        .iter()
        .filter(|l| l.event == "CONNECT")
        .filter_map(|l| l.data1.parse().ok())
        .collect();
    let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
    println!(
        "answered by operators after {:.1} s on average (longest {} s); talked {:.1} s on average",
        mean(&waited),
        waited.iter().max().copied().unwrap_or(0),
        mean(&talk)
    );
    println!(
        "queue log: {} ENTERQUEUE, {} CONNECT, {} COMPLETECALLER, {} ABANDON, {} RINGNOANSWER",
        count("ENTERQUEUE"),
        count("CONNECT"),
        count("COMPLETECALLER"),
        count("ABANDON"),
        count("RINGNOANSWER")
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    if let (Some(a), Some(b)) = (ours_before, ours_after) {
        let cpu = b - a;
        println!(
            "CPU, crieur: {cpu:.1} s = {:.1} ms a caller, {:.0} % of {cores} cores over the run",
            cpu * 1e3 / bench.callers as f64,
            100.0 * cpu / (total.as_secs_f64() * cores)
        );
    }
    if let ((Some(cb), Some(pb)), (Some(ca), Some(pa))) = (sipp_before, sipp_after) {
        println!(
            "CPU, SIPp: callers {:.1} s, operators {:.1} s ({:.0} % and {:.0} % of one core)",
            ca - cb,
            pa - pb,
            100.0 * (ca - cb) / total.as_secs_f64(),
            100.0 * (pa - pb) / total.as_secs_f64()
        );
    }
    println!("peak memory (VmHWM): {:.0} MiB", peak_rss_mib());
    println!("SIPp callers: {}", sipp_counts(callers_dir.path()));
    served.abort();
    let _ = phones.start_kill();
    endpoint.shutdown();
    Ok(())
}

fn sipp_process(
    sipp: &std::path::Path,
    dir: &std::path::Path,
    args: &[&str],
) -> anyhow::Result<tokio::process::Child> {
    Ok(tokio::process::Command::new(sipp)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout.log"))?)
        .stderr(std::fs::File::create(dir.join("stderr.log"))?)
        .kill_on_drop(true)
        .spawn()?)
}
