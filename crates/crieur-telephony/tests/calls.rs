//! The hotline's call interface against real peers on loopback: SIPp callers
//! going through an IVR, waiting on hold and hanging up at every step; baresip
//! as an operator's registered phone (auto-answer, a 440 Hz tone as its
//! microphone) and SIPp as a second operator. Each test skips when a peer is
//! missing (and fails instead under CRIEUR_REQUIRE_PEERS=1).

#[path = "sip/peers.rs"]
#[allow(dead_code)]
mod peers;

use crieur_telephony::calls::{
    AfterOperator, Announcements, BridgeEnd, BridgeOptions, CallEvent, CallEventKind, CallState,
    CallsError, CollectEnd, DigitRequest, InboundCall, Operator, Switchboard, SwitchboardConfig,
};
use crieur_telephony::g711::Codec;
use crieur_telephony::media::{Clip, MediaConfig};
use crieur_telephony::sip::{Credentials, EndReason, SipConfig, SipEndpoint};
use crieur_telephony::tts::{Prompt, Tts, TtsConfig};
use peers::{Peer, RawSip, build, free_ports, header};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn espeak() -> Option<PathBuf> {
    crieur_testkit::peer("espeak-ng", &["espeak-ng"], "apt-get install -y espeak-ng")
}

/// A scenario file beside this test.
fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/calls")
        .join(name)
}

/// `ms` of a pure tone at 8 kHz.
fn tone(hz: f64, ms: u32) -> Vec<i16> {
    (0..ms * 8)
        .map(|i| {
            let t = f64::from(i) / 8000.0;
            ((t * hz * std::f64::consts::TAU).sin() * 8000.0) as i16
        })
        .collect()
}

/// The switchboard on 127.0.0.1 with operators 1001 and 1002, and a log of
/// every call event.
struct Bench {
    switchboard: Switchboard,
    endpoint: SipEndpoint,
    addr: SocketAddr,
    log: EventLog,
}

async fn bench() -> Bench {
    let config = SipConfig {
        users: vec![
            Credentials::new("1001", "secret1001"),
            Credentials::new("1002", "secret1002"),
        ],
        ..SipConfig::default()
    };
    let (endpoint, incoming) = SipEndpoint::start(config).await.expect("endpoint starts");
    let addr = endpoint.udp_addr().expect("UDP address");
    let tts = Tts::new(TtsConfig::default()).expect("tts");
    // Our RTP ports outside the kernel's ephemeral range, where the peers'
    // ports come from (free_ports): neither can take the other's.
    let media = MediaConfig {
        ports: Some(20_000..=29_999),
        ..MediaConfig::default()
    };
    let config = SwitchboardConfig {
        media,
        ..SwitchboardConfig::default()
    };
    let switchboard = Switchboard::new(endpoint.clone(), incoming, tts, config);
    let log = EventLog::start(&switchboard);
    Bench {
        switchboard,
        endpoint,
        addr,
        log,
    }
}

impl Bench {
    /// The next call `peer` places.
    async fn next_call(&mut self, peer: &Peer) -> InboundCall {
        match tokio::time::timeout(Duration::from_secs(10), self.switchboard.next_call()).await {
            Ok(call) => call.expect("endpoint running"),
            Err(_) => panic!("no call within 10 s:\n{}", peer.output()),
        }
    }

    async fn no_dialog_left(&self) {
        wait_until("no dialog left", Duration::from_secs(10), || {
            self.endpoint.active_dialogs() == 0
        })
        .await;
    }
}

/// Every event, as it was published.
#[derive(Clone)]
struct EventLog(Arc<Mutex<Vec<CallEvent>>>);

impl EventLog {
    fn start(switchboard: &Switchboard) -> Self {
        let log = EventLog(Arc::default());
        let mut rx = switchboard.events();
        let sink = log.0.clone();
        tokio::spawn(async move {
            while let Ok(event) = rx.recv().await {
                sink.lock().unwrap().push(event);
            }
        });
        log
    }

    fn kinds(&self, call_id: &str) -> Vec<CallEventKind> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.call_id == call_id)
            .map(|e| e.kind.clone())
            .collect()
    }

    fn count(&self, call_id: &str, what: impl Fn(&CallEventKind) -> bool) -> usize {
        self.kinds(call_id).iter().filter(|k| what(k)).count()
    }

    async fn wait_for(&self, call_id: &str, what: impl Fn(&CallEventKind) -> bool + Copy) {
        wait_until("event", Duration::from_secs(10), || {
            self.count(call_id, what) > 0
        })
        .await;
    }

    /// Waits for the call's end; checks that it began with `Offered`, ended
    /// with `Ended` and nothing else, and that its timestamps never go back.
    async fn wait_complete(&self, call_id: &str) -> Vec<CallEventKind> {
        self.wait_for(call_id, |k| matches!(k, CallEventKind::Ended { .. }))
            .await;
        // Anything published late would come now.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let events: Vec<CallEvent> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.call_id == call_id)
            .cloned()
            .collect();
        let kinds: Vec<CallEventKind> = events.iter().map(|e| e.kind.clone()).collect();
        assert!(
            matches!(kinds.first(), Some(CallEventKind::Offered { .. })),
            "{kinds:?}"
        );
        assert!(
            matches!(kinds.last(), Some(CallEventKind::Ended { .. })),
            "Ended comes last: {kinds:?}"
        );
        let ends = kinds
            .iter()
            .filter(|k| matches!(k, CallEventKind::Ended { .. }))
            .count();
        assert_eq!(ends, 1, "{kinds:?}");
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "{events:?}");
        kinds
    }
}

async fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} not reached within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// baresip registered as `user` at our registrar, answering by itself and
/// sending a 440 Hz tone.
struct Phone {
    peer: Peer,
    /// Its console (UDP): `b` hangs up.
    console: SocketAddr,
}

impl Phone {
    /// The operator puts the phone down.
    async fn hang_up(&self) {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        socket.send_to(b"b", self.console).await.expect("send");
    }
}

async fn operator_phone(baresip: &Path, bench: &Bench, user: &str, password: &str) -> Phone {
    let dir = tempfile::TempDir::new().expect("tempdir");
    // baresip listens on SIP (UDP, TCP), TLS one above, and its console two above.
    let sip_port = free_ports(3);
    let rtp = free_ports(20);
    let recipe = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sip/baresip.conf"
    ))
    .expect("baresip config");
    let conf = recipe
        .replace("@SIP_PORT@", &sip_port.to_string())
        .replace("@CONS_PORT@", &(sip_port + 2).to_string())
        .replace("@RTP_FIRST@", &rtp.to_string())
        .replace("@RTP_LAST@", &(rtp + 19).to_string());
    std::fs::write(dir.path().join("config"), conf).expect("config");
    std::fs::write(
        dir.path().join("accounts"),
        format!(
            "<sip:{user}@{}>;auth_pass={password};answermode=auto;regint=60;audio_codecs=PCMU\n",
            bench.addr
        ),
    )
    .expect("accounts");
    let conf_dir = dir.path().display().to_string();
    let phone = Peer::spawn(baresip, &["-f".to_owned(), conf_dir], dir);
    let deadline = Instant::now() + Duration::from_secs(15);
    while bench.endpoint.registered(user).is_none() {
        assert!(
            Instant::now() < deadline,
            "baresip not registered as {user} within 15 s:\n{}",
            phone.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Phone {
        peer: phone,
        console: SocketAddr::from(([127, 0, 0, 1], sip_port + 2)),
    }
}

/// SIPp calling the hotline number 1771 with `args` (a scenario, -d...).
fn caller(sipp: &Path, bench: &Bench, args: &[&str]) -> Peer {
    let target = bench.addr.to_string();
    let mut all = vec![target.as_str(), "-s", "1771"];
    all.extend_from_slice(args);
    sipp_peer(sipp, &all).0
}

/// SIPp with `args`, its SIP port (returned) and two above it its media ports:
/// audio (+2, +3) and video (+4, +5), all checked free.
fn sipp_peer(sipp: &Path, args: &[&str]) -> (Peer, u16) {
    let port = free_ports(6);
    (Peer::sipp(sipp, port, port + 2, args), port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_answer_prompt_and_digits_then_we_hang_up() {
    let (Some(sipp), Some(_)) = (peers::sipp(), espeak()) else {
        return;
    };
    let mut bench = bench().await;
    // SIPp streams this while it presses 1, 2, #.
    let dir = tempfile::TempDir::new().expect("tempdir");
    let tone_file = dir.path().join("tone.ulaw");
    let mut ulaw = Vec::new();
    Codec::Pcmu.encode_into(&tone(300.0, 2000), &mut ulaw);
    std::fs::write(&tone_file, ulaw).expect("tone file");
    let script = std::fs::read_to_string(scenario("uac_ivr.xml"))
        .expect("scenario")
        .replace("[tone_file]", &tone_file.display().to_string());
    let script_file = dir.path().join("uac_ivr.xml");
    std::fs::write(&script_file, script).expect("scenario copy");
    let sipp_run = caller(
        &sipp,
        &bench,
        &["-sf", &script_file.display().to_string(), "-m", "1"],
    );

    let mut call = bench.next_call(&sipp_run).await;
    assert_eq!(call.dialed(), "1771");
    assert_eq!(call.caller().user, "sipp");
    assert_eq!(call.state(), CallState::Offered);
    call.ringing().expect("180");
    call.answer().await.expect("answered");
    assert_eq!(call.state(), CallState::Answered);
    call.say("fr", "Bienvenue.").await.expect("prompt played");
    let request = DigitRequest::new(4, Duration::from_secs(5), Duration::from_secs(3), Some('#'));
    let digits = call.collect_digits(&request).await.expect("digits");
    assert_eq!(digits, "12");
    let stats = call.media_stats().expect("answered call has media");
    assert!(stats.audio_frames_sent > 20, "{stats:?}");
    assert!(stats.packets_received > 20, "the caller's tone: {stats:?}");
    call.hangup().await.expect("BYE answered");
    assert_eq!(call.state(), CallState::Ended);
    assert!(matches!(
        call.play(Prompt::from_samples(tone(440.0, 100))).await,
        Err(CallsError::CallEnded(EndReason::LocalHangup))
    ));

    let (code, output) = sipp_run.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "sipp failed:\n{output}");
    let kinds = bench.log.wait_complete(call.call_id()).await;
    assert!(
        matches!(&kinds[..], [
            CallEventKind::Offered { caller, dialed },
            CallEventKind::Answered,
            CallEventKind::DigitsCollected { digits, ended_by: CollectEnd::Terminator },
            CallEventKind::Ended { reason: EndReason::LocalHangup },
        ] if caller.user == "sipp" && dialed == "1771" && digits == "12"),
        "{kinds:?}"
    );
    bench.no_dialog_left().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_to_a_registered_operator_relays_audio_until_the_caller_hangs_up() {
    let (Some(sipp), Some(baresip)) = (peers::sipp(), peers::baresip()) else {
        return;
    };
    let mut bench = bench().await;
    let _phone = operator_phone(&baresip, &bench, "1001", "secret1001").await;
    // The caller echoes what it hears (the operator's tone), and hangs up after 4 s.
    let sipp_run = caller(
        &sipp,
        &bench,
        &["-sn", "uac", "-rtp_echo", "-d", "4000", "-m", "1"],
    );
    let mut call = bench.next_call(&sipp_run).await;
    call.answer().await.expect("answered");
    let operator = Operator::registered("1001");
    call.bridge(&operator, &BridgeOptions::default())
        .await
        .expect("operator answers");
    assert_eq!(
        call.state(),
        CallState::Bridged {
            operator: operator.clone()
        }
    );
    assert_eq!(bench.endpoint.active_dialogs(), 2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stats = call.bridge_stats().await.expect("bridged");
    // The operator's tone reached the caller, whose echo reached the operator.
    assert!(stats.operator.packets_received > 40, "{stats:?}");
    assert!(stats.to_caller.frames > 40, "{stats:?}");
    assert!(stats.caller.packets_received > 30, "{stats:?}");
    assert!(stats.to_operator.frames > 30, "{stats:?}");
    assert!(stats.caller.packets_sent > 40 && stats.operator.packets_sent > 40);
    assert_eq!(stats.caller.wrong_source + stats.operator.wrong_source, 0);

    let report = tokio::time::timeout(Duration::from_secs(10), call.bridge_ended())
        .await
        .expect("the caller hangs up")
        .expect("bridge report");
    assert_eq!(report.end, BridgeEnd::CallerHungUp);
    assert_eq!(report.operator, operator);
    assert_eq!(
        report.operator_leg,
        Some(EndReason::LocalHangup),
        "the operator's phone got our BYE"
    );
    assert!(report.stats.to_operator.frames > report.stats.to_operator.filled / 4);
    assert_eq!(call.end_reason(), Some(EndReason::RemoteHangup));
    assert!(matches!(
        call.unbridge().await,
        Err(CallsError::CallEnded(EndReason::RemoteHangup))
    ));
    let (code, output) = sipp_run.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "sipp failed:\n{output}");
    bench.no_dialog_left().await;
    let kinds = bench.log.wait_complete(call.call_id()).await;
    assert!(
        kinds.contains(&CallEventKind::Bridged {
            operator: operator.clone()
        }),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&CallEventKind::Unbridged {
            operator,
            end: BridgeEnd::CallerHungUp
        }),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_music_with_announcements_until_stopped() {
    let Some(sipp) = peers::sipp() else { return };
    let mut bench = bench().await;
    let script = scenario("uac_wait_bye.xml").display().to_string();
    let sipp_run = caller(&sipp, &bench, &["-sf", &script, "-m", "1"]);
    let mut call = bench.next_call(&sipp_run).await;
    call.answer().await.expect("answered");
    let id = call.call_id().to_owned();
    let announcements = |k: &CallEventKind| matches!(k, CallEventKind::Announcement { .. });

    let music = Clip::from_pcm(Codec::Pcmu, &tone(440.0, 700));
    let position = Prompt::from_samples(tone(880.0, 300));
    let before = call.media_stats().expect("media").packets_sent;
    let started = Instant::now();
    // Announce at once, then after every 500 ms of music: starts at 0, 0.8, 1.6 s
    // (frames 0, 40, 80; 2.4 s would be next).
    let hold = call
        .hold(
            &music,
            Some(Announcements::every(
                Duration::from_millis(500),
                position.clone(),
            )),
        )
        .expect("on hold");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let sent = call.media_stats().expect("media").packets_sent - before;
    let paced = (started.elapsed().as_millis() / 20) as u64;
    assert!(
        sent + 5 >= paced && sent <= paced + 1,
        "{sent} packets in {:?} of hold",
        started.elapsed()
    );
    assert!(sent >= 95, "2 s of hold: {sent} packets");
    let expected = sent.div_ceil(40);
    let counted = bench.log.count(&id, announcements) as u64;
    assert!(
        counted.abs_diff(expected) <= 1 && counted >= 3,
        "{counted} announcements in {sent} frames"
    );
    assert_eq!(hold.announcements(), counted);

    // The queue engine has nothing to say for now: music only.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let counted = hold.announcements();
    hold.set_announcement(None);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(hold.announcements(), counted, "music only");
    // The caller moved up: say so at once.
    hold.set_announcement(Some(position));
    hold.announce_now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hold.announcements(), counted + 1);
    assert_eq!(bench.log.count(&id, announcements) as u64, counted + 1);
    assert!(hold.is_active());

    hold.stop();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let stopped_at = call.media_stats().expect("media").packets_sent;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        call.media_stats().expect("media").packets_sent,
        stopped_at,
        "nothing is sent after the hold stops"
    );
    assert_eq!(
        bench.log.count(&id, |k| *k == CallEventKind::HoldStopped),
        1
    );

    call.hangup().await.expect("BYE");
    let (code, output) = sipp_run.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "sipp failed:\n{output}");
    bench.no_dialog_left().await;
    let kinds = bench.log.wait_complete(&id).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == CallEventKind::HoldStarted)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_hanging_up_ends_play_collect_and_hold_at_once() {
    let Some(sipp) = peers::sipp() else { return };
    let mut bench = bench().await;
    // Three callers, each hanging up 1 s after the answer.
    let sipp_run = caller(
        &sipp,
        &bench,
        &["-sn", "uac", "-d", "1000", "-m", "3", "-l", "3", "-r", "10"],
    );
    let mut tasks = Vec::new();
    for step in ["play", "collect", "hold"] {
        let mut call = bench.next_call(&sipp_run).await;
        tasks.push(tokio::spawn(async move {
            call.answer().await.expect("answered");
            let started = Instant::now();
            let ended = match step {
                "play" => call
                    .play(Prompt::from_samples(tone(440.0, 10_000)))
                    .await
                    .expect_err("a 10 s prompt outlasts the call"),
                "collect" => {
                    let request = DigitRequest::new(
                        4,
                        Duration::from_secs(10),
                        Duration::from_secs(5),
                        Some('#'),
                    );
                    call.collect_digits(&request)
                        .await
                        .expect_err("nobody presses anything")
                }
                _ => {
                    let music = Clip::from_pcm(Codec::Pcmu, &tone(440.0, 500));
                    let hold = call.hold(&music, None).expect("on hold");
                    let reason = tokio::time::timeout(Duration::from_secs(10), call.ended())
                        .await
                        .expect("the caller hangs up");
                    // The hold ends with the call.
                    wait_until("hold over", Duration::from_secs(1), || !hold.is_active()).await;
                    call.play(Prompt::from_samples(tone(440.0, 100)))
                        .await
                        .expect_err("nothing more to do with the call");
                    assert_eq!(reason, EndReason::RemoteHangup);
                    CallsError::CallEnded(reason)
                }
            };
            let took = started.elapsed();
            assert!(
                matches!(ended, CallsError::CallEnded(EndReason::RemoteHangup)),
                "{step}: {ended:?}"
            );
            assert!(took < Duration::from_millis(2500), "{step}: {took:?}");
            assert_eq!(call.state(), CallState::Ended);
            assert!(call.media_stats().is_none(), "{step}: media closed");
            call.call_id().to_owned()
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("call task"));
    }
    let (code, output) = sipp_run.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "sipp failed:\n{output}");
    bench.no_dialog_left().await;
    for id in &ids {
        let kinds = bench.log.wait_complete(id).await;
        assert_eq!(
            kinds.last(),
            Some(&CallEventKind::Ended {
                reason: EndReason::RemoteHangup
            })
        );
    }
    assert_eq!(
        bench
            .log
            .count(&ids[2], |k| *k == CallEventKind::HoldStopped),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blind_transfer_from_one_operator_to_another() {
    let (Some(sipp), Some(baresip)) = (peers::sipp(), peers::baresip()) else {
        return;
    };
    let mut bench = bench().await;
    let _phone = operator_phone(&baresip, &bench, "1001", "secret1001").await;
    // Operator B: a SIPp phone that answers and echoes what it hears.
    let (b_phone, b_port) = sipp_peer(&sipp, &["-sn", "uas", "-rtp_echo", "-m", "1"]);
    let script = scenario("uac_wait_bye.xml").display().to_string();
    let sipp_run = caller(&sipp, &bench, &["-sf", &script, "-rtp_echo", "-m", "1"]);
    let mut call = bench.next_call(&sipp_run).await;
    call.answer().await.expect("answered");
    let a = Operator::registered("1001");
    let b = Operator::uri(format!("sip:1002@127.0.0.1:{b_port}"));
    call.bridge(&a, &BridgeOptions::default())
        .await
        .expect("operator A answers");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let with_a = call.bridge_stats().await.expect("bridged to A");
    assert!(with_a.operator.packets_received > 20, "{with_a:?}");

    let ringback = Prompt::from_samples(tone(425.0, 1000));
    let options = BridgeOptions {
        ringback: Some(ringback.into()),
        ..BridgeOptions::default()
    };
    let report = call.transfer(&b, &options).await.expect("B answers");
    assert_eq!(report.operator, a);
    assert_eq!(report.end, BridgeEnd::Released);
    assert_eq!(
        report.operator_leg,
        Some(EndReason::LocalHangup),
        "A's leg ended"
    );
    assert_eq!(
        call.state(),
        CallState::Bridged {
            operator: b.clone()
        }
    );
    assert_eq!(bench.endpoint.active_dialogs(), 2, "caller and B only");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let with_b = call.bridge_stats().await.expect("bridged to B");
    // B echoes what we send it; the caller echoes what we relay from B: audio
    // goes round caller -> us -> B -> us -> caller.
    assert!(with_b.operator.packets_sent > 60, "{with_b:?}");
    assert!(
        with_b.operator.packets_received > 50,
        "B hears us: {with_b:?}"
    );
    assert!(with_b.to_caller.frames > 40, "{with_b:?}");
    assert!(with_b.to_operator.frames > 30, "{with_b:?}");

    call.hangup().await.expect("BYE");
    let (code, output) = sipp_run.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "caller failed:\n{output}");
    let (code, output) = b_phone.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "operator B failed:\n{output}");
    bench.no_dialog_left().await;
    let kinds = bench.log.wait_complete(call.call_id()).await;
    let bridge_events: Vec<_> = kinds
        .iter()
        .filter(|k| {
            matches!(
                k,
                CallEventKind::Bridged { .. }
                    | CallEventKind::Unbridged { .. }
                    | CallEventKind::Transferred { .. }
            )
        })
        .cloned()
        .collect();
    assert_eq!(
        bridge_events,
        vec![
            CallEventKind::Bridged {
                operator: a.clone()
            },
            CallEventKind::Unbridged {
                operator: a.clone(),
                end: BridgeEnd::Released
            },
            CallEventKind::Transferred {
                from: a,
                to: b.clone()
            },
            CallEventKind::Bridged {
                operator: b.clone()
            },
            CallEventKind::Unbridged {
                operator: b,
                end: BridgeEnd::Released
            },
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_operator_hangs_up_the_caller_is_hung_up_or_kept() {
    let (Some(sipp), Some(baresip)) = (peers::sipp(), peers::baresip()) else {
        return;
    };
    let mut bench = bench().await;
    let phone = operator_phone(&baresip, &bench, "1001", "secret1001").await;
    let operator = Operator::registered("1001");
    // Two callers one after the other, each staying until we hang up.
    let script = scenario("uac_wait_bye.xml").display().to_string();
    let sipp_run = caller(&sipp, &bench, &["-sf", &script, "-m", "2", "-l", "1"]);

    // The hotline's way: the operator hangs up, the conversation is over.
    let mut call = bench.next_call(&sipp_run).await;
    call.answer().await.expect("answered");
    call.bridge(&operator, &BridgeOptions::default())
        .await
        .expect("operator answers");
    tokio::time::sleep(Duration::from_millis(500)).await;
    phone.hang_up().await;
    let report = tokio::time::timeout(Duration::from_secs(10), call.bridge_ended())
        .await
        .unwrap_or_else(|_| panic!("operator did not hang up:\n{}", phone.peer.output()))
        .expect("report");
    assert_eq!(
        report.end,
        BridgeEnd::OperatorHungUp {
            reason: EndReason::RemoteHangup
        }
    );
    assert_eq!(
        call.end_reason(),
        Some(EndReason::LocalHangup),
        "caller hung up"
    );
    assert_eq!(call.state(), CallState::Ended);
    let kinds = bench.log.wait_complete(call.call_id()).await;
    assert!(
        kinds.ends_with(&[
            CallEventKind::Unbridged {
                operator: operator.clone(),
                end: BridgeEnd::OperatorHungUp {
                    reason: EndReason::RemoteHangup
                }
            },
            CallEventKind::Ended {
                reason: EndReason::LocalHangup
            }
        ]),
        "{kinds:?}"
    );

    // Kept for the engine: back in the queue after the operator's phone dropped.
    let mut call = bench.next_call(&sipp_run).await;
    call.answer().await.expect("answered");
    let options = BridgeOptions {
        after_operator: AfterOperator::ReturnToEngine,
        ..BridgeOptions::default()
    };
    call.bridge(&operator, &options)
        .await
        .expect("operator answers");
    tokio::time::sleep(Duration::from_millis(500)).await;
    phone.hang_up().await;
    let report = tokio::time::timeout(Duration::from_secs(10), call.bridge_ended())
        .await
        .expect("operator hangs up")
        .expect("report");
    assert!(matches!(report.end, BridgeEnd::OperatorHungUp { .. }));
    assert_eq!(call.state(), CallState::Answered);
    let music = Clip::from_pcm(Codec::Pcmu, &tone(440.0, 500));
    let hold = call.hold(&music, None).expect("back on hold");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(call.media_stats().expect("media").packets_sent > 10);
    drop(hold);
    call.hangup().await.expect("BYE");

    let (code, output) = sipp_run.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "sipp failed:\n{output}");
    bench.no_dialog_left().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_common_codec_is_refused_488_and_a_cancelled_call_cannot_be_answered() {
    let mut bench = bench().await;
    let raw = RawSip::new(bench.addr).await;
    let g729_only = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                     t=0 0\r\nm=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
    let invite = build("INVITE", &raw, "g729", 1, "g729-1", None, "", g729_only);
    raw.send(invite.as_bytes()).await;
    let mut call = tokio::time::timeout(Duration::from_secs(5), bench.switchboard.next_call())
        .await
        .expect("call delivered")
        .expect("endpoint running");
    assert!(matches!(
        call.answer().await,
        Err(CallsError::NotAcceptable(_))
    ));
    let refused = raw.expect_status(488, Duration::from_secs(2)).await;
    let tag = header(&refused, "To")
        .and_then(|to| to.split(";tag=").nth(1))
        .expect("tag");
    let ack = build("ACK", &raw, "g729", 1, "g729-1", Some(tag), "", "");
    raw.send(ack.as_bytes()).await;
    assert_eq!(
        bench.log.wait_complete(call.call_id()).await[1..],
        [
            CallEventKind::Rejected { code: 488 },
            CallEventKind::Ended {
                reason: EndReason::Rejected
            }
        ]
    );

    // The caller gives up while the engine is still deciding.
    let pcmu = g729_only
        .replace("RTP/AVP 18", "RTP/AVP 0")
        .replace("18 G729", "0 PCMU");
    let invite = build("INVITE", &raw, "gone", 1, "gone-1", None, "", &pcmu);
    raw.send(invite.as_bytes()).await;
    let mut call = tokio::time::timeout(Duration::from_secs(5), bench.switchboard.next_call())
        .await
        .expect("call delivered")
        .expect("endpoint running");
    call.ringing().expect("180");
    raw.expect_status(180, Duration::from_secs(2)).await;
    let cancel = build("CANCEL", &raw, "gone", 1, "gone-1", None, "", "");
    raw.send(cancel.as_bytes()).await;
    raw.expect_status(487, Duration::from_secs(2)).await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(2), call.ended()).await,
        Ok(EndReason::Cancelled)
    );
    assert!(matches!(
        call.answer().await,
        Err(CallsError::CallEnded(EndReason::Cancelled))
    ));
    bench.no_dialog_left().await;
    assert_eq!(
        bench.log.wait_complete(call.call_id()).await[1..],
        [CallEventKind::Ended {
            reason: EndReason::Cancelled
        }]
    );
}
