//! `crieur bench voice`: a voice alert to many numbers through the real SIP
//! endpoint and voice provider, against SIPp on loopback answering every call
//! (`-sn uas`) and, by default, echoing our RTP back (`-rtp_echo`). Each call
//! plays the prompt as an alert does (the message twice, then "press 1") and
//! hangs up when it ends. Prints call setups per second, answer latency, peak
//! concurrent calls with media, RTP packets, CPU per call and peak memory,
//! beside the goals on a 2-core machine: 100 call setups/s and 500 concurrent
//! calls with media. Run it from a release build.

use crieur_channels::ChannelError;
use crieur_telephony::sip::{SipConfig, SipEndpoint};
use crieur_telephony::tts::{self, Tts, TtsConfig, TtsError};
use crieur_telephony::voice::{CallReport, VoiceConfig, VoiceProvider};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

const GOAL_SETUPS_PER_SECOND: f64 = 100.0;
const GOAL_CONCURRENT: usize = 500;
/// Linux reports process CPU times in USER_HZ ticks, 100 a second.
const TICKS_PER_SECOND: f64 = 100.0;

/// What `crieur bench voice` is asked to do.
#[derive(Debug, Clone)]
pub(super) struct VoiceBench {
    pub calls: u64,
    pub concurrency: usize,
    pub rate: f64,
    pub echo: bool,
    pub language: String,
    pub script: String,
    pub confirm_wait: Duration,
}

/// One call as the bench saw it: when it was placed (from the start), and
/// its outcome.
struct Placed {
    at: Duration,
    length: Duration,
    outcome: Result<CallReport, ChannelError>,
}

pub(super) async fn voice(bench: &VoiceBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        bench.calls > 0 && bench.concurrency > 0 && bench.rate > 0.0,
        "--calls, --concurrency and --rate must be above zero"
    );
    let Some(sipp) = which("sipp") else {
        println!("voice: skipped, SIPp is not installed (apt-get install sip-tester)");
        return Ok(());
    };
    let tts = Tts::new(TtsConfig::default())?;
    let rendering = Instant::now();
    let prompt = match render(&tts, &bench.language, &bench.script).await {
        Ok(seconds) => seconds,
        Err(TtsError::NotInstalled { .. }) => {
            println!("voice: skipped, espeak-ng is not installed (apt-get install espeak-ng)");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let sip_port = free_udp_port()?;
    let media_port = free_udp_port()?;
    let log_dir = tempfile::tempdir()?;
    let mut args: Vec<String> = ["-sn", "uas", "-i", "127.0.0.1", "-t", "u1", "-nostdin"]
        .map(String::from)
        .to_vec();
    args.extend([
        "-p".into(),
        sip_port.to_string(),
        "-mp".into(),
        media_port.to_string(),
        "-l".into(),
        "1000000".into(),
        "-m".into(),
        bench.calls.to_string(),
    ]);
    if bench.echo {
        args.push("-rtp_echo".into());
    }
    let mut callee = tokio::process::Command::new(&sipp)
        .args(&args)
        .current_dir(log_dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(log_dir.path().join("stdout.log"))?)
        .stderr(std::fs::File::create(log_dir.path().join("stderr.log"))?)
        .kill_on_drop(true)
        .spawn()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Some(status) = callee.try_wait()? {
        anyhow::bail!(
            "SIPp exited at once ({status}): {}",
            sipp_output(log_dir.path())
        );
    }
    let sipp_pid = callee.id();
    println!(
        "voice alert: {} calls to distinct numbers, at most {} at once, {} calls/s asked; \
         callee: SIPp -sn uas on 127.0.0.1:{sip_port}{}",
        bench.calls,
        bench.concurrency,
        bench.rate,
        if bench.echo {
            " echoing our RTP (-rtp_echo)"
        } else {
            " (no RTP echo)"
        }
    );
    println!(
        "prompt: {prompt:.1} s of audio per call ({} message twice, then \"press 1\"), \
         rendered once in {} ms; each call hangs up {} ms after it",
        bench.language,
        rendering.elapsed().as_millis(),
        bench.confirm_wait.as_millis()
    );

    let (sip, _incoming) = SipEndpoint::start(SipConfig {
        max_dialogs: (bench.concurrency * 2).max(2000),
        ..SipConfig::default()
    })
    .await?;
    let sip = Arc::new(sip);
    let mut config = VoiceConfig::new("bench", format!("127.0.0.1:{sip_port}"));
    config.ring_timeout = Duration::from_secs(10);
    config.confirm_wait = bench.confirm_wait;
    config.concurrency = bench.concurrency;
    config.calls_per_second = Some(bench.rate);
    let provider = Arc::new(VoiceProvider::new(config, sip.clone(), tts));

    let start = Instant::now();
    let cpu_before = (
        cpu_seconds(None),
        sipp_pid.and_then(|p| cpu_seconds(Some(p))),
    );
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample(
        provider.clone(),
        sip.clone(),
        sipp_pid,
        done.clone(),
    ));
    let slots = Arc::new(Semaphore::new(bench.concurrency));
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / bench.rate));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut held_back = Duration::ZERO;
    let finished = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..bench.calls {
        let waiting = Instant::now();
        let slot = slots.clone().acquire_owned().await?;
        held_back += waiting.elapsed();
        pace.tick().await;
        let (calling, ended) = (provider.clone(), finished.clone());
        let (language, script) = (bench.language.clone(), bench.script.clone());
        tasks.spawn(async move {
            let at = start.elapsed();
            let number = format!("+3247{:07}", i % 10_000_000);
            let outcome = Box::pin(calling.call(i as i64, &number, &language, &script)).await;
            drop(slot);
            ended.fetch_add(1, Ordering::Relaxed);
            Placed {
                at,
                length: start.elapsed() - at,
                outcome: outcome.map(|(_, report)| report),
            }
        });
        if (i + 1) % (bench.rate.ceil() as u64 * 10).max(1) == 0 {
            println!(
                "  {:>6.1} s: {} placed, {} ended, {} in media",
                start.elapsed().as_secs_f64(),
                i + 1,
                finished.load(Ordering::Relaxed),
                provider.calls_in_media()
            );
        }
    }
    let mut placed = Vec::with_capacity(bench.calls as usize);
    while let Some(call) = tasks.join_next().await {
        placed.push(call?);
    }
    let total = start.elapsed();
    let cpu_after = (
        cpu_seconds(None),
        sipp_pid.and_then(|p| cpu_seconds(Some(p))),
    );
    done.store(true, Ordering::Relaxed);
    let peaks = sampler.await?;
    let sipp_says = match tokio::time::timeout(Duration::from_secs(10), callee.wait()).await {
        Ok(_) => sipp_counts(log_dir.path()),
        Err(_) => {
            let _ = callee.kill().await;
            format!("still running, killed; {}", sipp_counts(log_dir.path()))
        }
    };

    report(
        bench,
        &placed,
        total,
        held_back,
        &peaks,
        (cpu_before, cpu_after),
    );
    println!("SIPp's own count: {sipp_says}");
    Ok(())
}

/// Renders the message and the question as a call will (from the cache then)
/// and returns the seconds of audio a call plays.
async fn render(tts: &Tts, language: &str, script: &str) -> Result<f64, TtsError> {
    let message = tts.render(language, script).await?;
    let question = tts::confirm_prompt(language).unwrap_or(tts::CONFIRM_EN);
    let confirm = tts.render(language, question).await?;
    let played = tts::concat(&[
        tts::silence(300),
        message.clone(),
        tts::silence(1_000),
        message,
        tts::silence(500),
        confirm,
    ]);
    Ok(played.duration().as_secs_f64())
}

/// The highest values seen while the calls ran.
#[derive(Debug, Default)]
struct Peaks {
    in_media: usize,
    dialogs: usize,
    /// CPU over one second, in seconds: ours, SIPp's.
    cpu_second: f64,
    sipp_cpu_second: f64,
}

async fn sample(
    provider: Arc<VoiceProvider>,
    sip: Arc<SipEndpoint>,
    sipp: Option<u32>,
    done: Arc<AtomicBool>,
) -> Peaks {
    let mut peaks = Peaks::default();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut last = (
        Instant::now(),
        cpu_seconds(None),
        sipp.and_then(|p| cpu_seconds(Some(p))),
    );
    while !done.load(Ordering::Relaxed) {
        tick.tick().await;
        peaks.in_media = peaks.in_media.max(provider.calls_in_media());
        peaks.dialogs = peaks.dialogs.max(sip.active_dialogs());
        let elapsed = last.0.elapsed().as_secs_f64();
        if elapsed >= 1.0 {
            let now = (
                Instant::now(),
                cpu_seconds(None),
                sipp.and_then(|p| cpu_seconds(Some(p))),
            );
            if let (Some(a), Some(b)) = (last.1, now.1) {
                peaks.cpu_second = peaks.cpu_second.max((b - a) / elapsed);
            }
            if let (Some(a), Some(b)) = (last.2, now.2) {
                peaks.sipp_cpu_second = peaks.sipp_cpu_second.max((b - a) / elapsed);
            }
            last = now;
        }
    }
    peaks
}

fn report(
    bench: &VoiceBench,
    placed: &[Placed],
    total: Duration,
    held_back: Duration,
    peaks: &Peaks,
    ((ours_before, sipp_before), (ours_after, sipp_after)): CpuSpan,
) {
    let answered: Vec<(&Placed, &CallReport)> = placed
        .iter()
        .filter_map(|p| p.outcome.as_ref().ok().map(|r| (p, r)))
        .collect();
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for p in placed {
        if let Err(e) = &p.outcome {
            let kind: String = e.to_string().chars().take(80).collect();
            *failures.entry(kind).or_default() += 1;
        }
    }
    let n = answered.len();
    println!(
        "answered {n} of {} in {:.1} s; the pace waited {:.1} s in all for a free call slot \
         (--concurrency {})",
        placed.len(),
        total.as_secs_f64(),
        held_back.as_secs_f64(),
        bench.concurrency
    );
    let mut setups: Vec<Duration> = answered
        .iter()
        .map(|(p, r)| p.at + r.answered_after)
        .collect();
    setups.sort();
    let goal = |ok: bool| if ok { "met" } else { "NOT met" };
    if n >= 2 {
        let rate = |calls: &[Duration]| {
            let span = calls[calls.len() - 1]
                .saturating_sub(calls[0])
                .as_secs_f64();
            (calls.len() - 1) as f64 / span.max(1e-9)
        };
        let whole = rate(&setups);
        let ramp = rate(&setups[..n.min(bench.concurrency)]);
        let mut per_second: BTreeMap<u64, u64> = BTreeMap::new();
        for at in &setups {
            *per_second.entry(at.as_secs()).or_default() += 1;
        }
        let busiest = per_second.values().max().copied().unwrap_or(0);
        let best = whole.max(ramp);
        println!(
            "call setups (INVITE to 200 OK): {ramp:.1}/s over the first {} calls, \
             {whole:.1}/s over the whole run, {busiest} in the busiest second \
             [goal >= {GOAL_SETUPS_PER_SECOND}/s: {}]",
            n.min(bench.concurrency),
            goal(best >= GOAL_SETUPS_PER_SECOND * 0.99)
        );
        let mean_length = answered
            .iter()
            .map(|(p, _)| p.length)
            .sum::<Duration>()
            .as_secs_f64()
            / n as f64;
        println!(
            "  a call lasts {mean_length:.2} s on average: with {} slots the sustained pace \
             is at most {:.1} calls/s",
            bench.concurrency,
            bench.concurrency as f64 / mean_length
        );
        let mut latency: Vec<Duration> = answered.iter().map(|(_, r)| r.answered_after).collect();
        latency.sort();
        let pick = |q: f64| latency[((n - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
        println!(
            "answer latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            pick(0.5),
            pick(0.99),
            pick(1.0)
        );
    }
    println!(
        "peak concurrent calls with media: {} (SIP dialogs: {}) [goal >= {GOAL_CONCURRENT}: {}]",
        peaks.in_media,
        peaks.dialogs,
        goal(peaks.in_media >= GOAL_CONCURRENT)
    );
    let sent: u64 = answered.iter().map(|(_, r)| r.packets_sent).sum();
    let received: u64 = answered.iter().map(|(_, r)| r.packets_received).sum();
    let silent = answered
        .iter()
        .filter(|(_, r)| r.packets_received == 0)
        .count();
    println!(
        "RTP packets: {sent} sent ({:.0} a call), {received} received ({:.1} % of sent){}",
        sent as f64 / n.max(1) as f64,
        100.0 * received as f64 / sent.max(1) as f64,
        if bench.echo && silent > 0 {
            format!("; {silent} answered calls got nothing back")
        } else {
            String::new()
        }
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    if let (Some(a), Some(b)) = (ours_before, ours_after) {
        let cpu = b - a;
        println!(
            "CPU, crieur: {cpu:.1} s = {:.2} ms a call, {:.1} % of {cores} cores over the run, \
             {:.0} % of one core in the busiest second",
            cpu * 1e3 / placed.len().max(1) as f64,
            100.0 * cpu / (total.as_secs_f64() * cores),
            100.0 * peaks.cpu_second
        );
    }
    if let (Some(a), Some(b)) = (sipp_before, sipp_after) {
        let cpu = b - a;
        println!(
            "CPU, SIPp: {cpu:.1} s = {:.1} % of one core over the run, {:.0} % in the busiest \
             second{}",
            100.0 * cpu / total.as_secs_f64(),
            100.0 * peaks.sipp_cpu_second,
            if peaks.sipp_cpu_second > 0.9 {
                " (SIPp is the limit)"
            } else {
                ""
            }
        );
    }
    println!("peak memory (VmHWM): {:.0} MiB", peak_rss_mib());
    if failures.is_empty() {
        println!("failures: none");
    } else {
        println!("failures by kind:");
        for (kind, count) in &failures {
            println!("  {count:>6}  {kind}");
        }
    }
}

/// CPU seconds (before, after) of crieur and SIPp.
type CpuSpan = ((Option<f64>, Option<f64>), (Option<f64>, Option<f64>));

/// User plus system CPU time of this process, or of `pid`, in seconds.
pub(super) fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces: fields are counted after its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

pub(super) fn peak_rss_mib() -> f64 {
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

/// A UDP port free on 127.0.0.1 now, with the next one (RTCP) free too.
pub(super) fn free_udp_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let port = socket.local_addr()?.port();
        if port % 2 == 0
            && port < u16::MAX - 4
            && std::net::UdpSocket::bind(("127.0.0.1", port + 2)).is_ok()
        {
            return Ok(port);
        }
    }
    anyhow::bail!("no free UDP port on 127.0.0.1")
}

pub(super) fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

pub(super) fn sipp_output(dir: &Path) -> String {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    format!("{}{}", read("stdout.log"), read("stderr.log"))
}

/// SIPp's final successful and failed call counters, from its last screen.
pub(super) fn sipp_counts(dir: &Path) -> String {
    let out = sipp_output(dir);
    let last = |name: &str| {
        out.lines()
            .rev()
            .find(|l| l.trim_start().starts_with(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    match (last("Successful call"), last("Failed call")) {
        (Some(ok), Some(failed)) => format!("{ok}; {failed} (periodic | cumulative)"),
        _ => "no statistics screen".to_owned(),
    }
}
