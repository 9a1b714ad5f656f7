//! SIP signalling against real peers on loopback: SIPp as caller, callee, trunk
//! and registering phone, baresip as an operator's phone, and raw datagrams for
//! what no well-behaved peer sends. Each test skips when its peer is missing
//! (and fails instead under CRIEUR_REQUIRE_PEERS=1).

#[path = "sip/peers.rs"]
mod peers;

use crieur_telephony::sip::{
    CallRequest, Credentials, EndReason, ExpiresBounds, IncomingCalls, OutgoingCall, SipConfig,
    SipEndpoint,
};
use peers::{Peer, RawSip, body, build, free_ports, header, request, scenario};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// PCMU with RFC 4733 events, as the media layer will offer or answer.
const SDP: &str = "v=0\r\n\
o=crieur 1 1 IN IP4 127.0.0.1\r\n\
s=crieur\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn config() -> SipConfig {
    SipConfig {
        users: vec![
            Credentials::new("1001", "secret1001"),
            Credentials::new("1002", "secret1002"),
        ],
        register_expires: ExpiresBounds {
            default: 3600,
            min: 30,
            max: 3600,
        },
        ..SipConfig::default()
    }
}

async fn start(config: SipConfig) -> (SipEndpoint, IncomingCalls, SocketAddr) {
    let (endpoint, calls) = SipEndpoint::start(config).await.expect("endpoint starts");
    let addr = endpoint.udp_addr().expect("UDP address");
    (endpoint, calls, addr)
}

/// Answers every incoming call with [`SDP`] and reports how each one ended.
fn answer_all(mut calls: IncomingCalls) -> mpsc::UnboundedReceiver<(String, EndReason)> {
    let (ended_tx, ended_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(incoming) = calls.next().await {
            let ended_tx = ended_tx.clone();
            tokio::spawn(async move {
                assert!(
                    incoming.sdp_offer().contains("m=audio"),
                    "{}",
                    incoming.sdp_offer()
                );
                let callee = incoming.callee().to_owned();
                incoming.ringing().expect("180");
                let call = incoming.answer(SDP).expect("200");
                let reason = call.ended().await;
                let _ = ended_tx.send((callee, reason));
            });
        }
    });
    ended_rx
}

async fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} not reached within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn no_dialog_left(endpoint: &SipEndpoint) {
    wait_until("no dialog left", Duration::from_secs(10), || {
        endpoint.active_dialogs() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_calls_us_and_hangs_up() {
    let Some(sipp) = peers::sipp() else { return };
    let (endpoint, calls, addr) = start(config()).await;
    let mut ended = answer_all(calls);
    let port = free_ports(4);
    let run = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &[
            "-sn",
            "uac",
            &addr.to_string(),
            "-s",
            "1771",
            "-m",
            "10",
            "-r",
            "5",
            "-d",
            "1000",
        ],
    );
    let (code, output) = run.exit_code(Duration::from_secs(30)).await;
    assert_eq!(code, 0, "sipp failed:\n{output}");
    for _ in 0..10 {
        let (callee, reason) = tokio::time::timeout(Duration::from_secs(5), ended.recv())
            .await
            .expect("each call ends")
            .expect("answering task alive");
        assert_eq!(callee, "1771");
        assert_eq!(reason, EndReason::RemoteHangup);
    }
    assert_eq!(endpoint.stats().calls_in, 10);
    no_dialog_left(&endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_call_sipp_and_hang_up() {
    let Some(sipp) = peers::sipp() else { return };
    let (endpoint, _calls, _) = start(config()).await;
    let port = free_ports(4);
    let callee = Peer::sipp(&sipp, port, port + 2, &["-sn", "uas", "-m", "20"]);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let mut req = CallRequest::new(format!("+3247000{i:04}@127.0.0.1:{port}"), SDP);
            req.ring_timeout = Duration::from_secs(10);
            match endpoint.call(req).await.expect("call placed") {
                OutgoingCall::Answered { sdp_answer, call } => {
                    assert!(sdp_answer.contains("m=audio"), "{sdp_answer}");
                    assert!(!call.call_id().contains('@'), "{}", call.call_id());
                    call.hangup().await.expect("BYE answered");
                    assert_eq!(call.ended().await, EndReason::LocalHangup);
                }
                other => panic!("call {i}: {other:?}"),
            }
        }));
    }
    for task in tasks {
        task.await.expect("call task");
    }
    let elapsed = started.elapsed();
    println!(
        "20 calls (INVITE/200/ACK/BYE/200) in {elapsed:?}: {:.0} calls/s",
        20.0 / elapsed.as_secs_f64()
    );
    let (code, output) = callee.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "sipp failed:\n{output}");
    assert_eq!(endpoint.stats().calls_out, 20);
    no_dialog_left(&endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_over_tcp_both_ways() {
    let Some(sipp) = peers::sipp() else { return };
    let (endpoint, calls, _) = start(config()).await;
    let tcp = endpoint.tcp_addr().expect("TCP address");
    let mut ended = answer_all(calls);

    let port = free_ports(4);
    let caller = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &[
            "-sn",
            "uac",
            "-t",
            "t1",
            &tcp.to_string(),
            "-s",
            "1771",
            "-m",
            "3",
            "-r",
            "3",
            "-d",
            "300",
        ],
    );
    let (code, output) = caller.exit_code(Duration::from_secs(20)).await;
    assert_eq!(code, 0, "sipp over TCP failed:\n{output}");
    for _ in 0..3 {
        let (_, reason) = ended.recv().await.expect("call ended");
        assert_eq!(reason, EndReason::RemoteHangup);
    }

    let port = free_ports(4);
    let callee = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &["-sn", "uas", "-t", "t1", "-m", "2"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..2 {
        let mut req = CallRequest::new(format!("1001@127.0.0.1:{port};transport=tcp"), SDP);
        req.ring_timeout = Duration::from_secs(10);
        match endpoint.call(req).await.expect("call placed") {
            OutgoingCall::Answered { call, .. } => call.hangup().await.expect("BYE"),
            other => panic!("{other:?}"),
        }
    }
    let (code, output) = callee.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "sipp TCP callee failed:\n{output}");
    no_dialog_left(&endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_timeout_cancels_busy_is_busy_silence_is_unreachable() {
    let Some(sipp) = peers::sipp() else { return };
    let (endpoint, _calls, _) = start(config()).await;

    let port = free_ports(4);
    let ringing = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &["-sf", &scenario("uas_ring_no_answer.xml"), "-m", "1"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut req = CallRequest::new(format!("1001@127.0.0.1:{port}"), SDP);
    req.ring_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let outcome = endpoint.call(req).await.expect("call placed");
    assert!(matches!(outcome, OutgoingCall::NoAnswer), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let (code, output) = ringing.exit_code(Duration::from_secs(10)).await;
    assert_eq!(code, 0, "the callee did not see CANCEL then ACK:\n{output}");

    let port = free_ports(4);
    let busy = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &["-sf", &scenario("uas_busy.xml"), "-m", "1"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let outcome = endpoint
        .call(CallRequest::new(format!("1001@127.0.0.1:{port}"), SDP))
        .await
        .expect("call placed");
    assert!(matches!(outcome, OutgoingCall::Busy), "{outcome:?}");
    let (code, output) = busy.exit_code(Duration::from_secs(10)).await;
    assert_eq!(code, 0, "the busy callee got no ACK:\n{output}");

    let silent = free_ports(1);
    let mut req = CallRequest::new(format!("1001@127.0.0.1:{silent}"), SDP);
    req.ring_timeout = Duration::from_millis(500);
    let outcome = endpoint.call(req).await.expect("call placed");
    assert!(
        matches!(outcome, OutgoingCall::Unreachable { .. }),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_towards_a_trunk() {
    let Some(sipp) = peers::sipp() else { return };
    let (endpoint, _calls, _) = start(config()).await;
    let port = free_ports(4);
    let trunk = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &["-sf", &scenario("uas_trunk_digest.xml"), "-m", "1"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut req = CallRequest::new(format!("sip:+3225551771@127.0.0.1:{port}"), SDP);
    req.credentials = Some(Credentials::new("trunk-user", "trunk-secret"));
    req.ring_timeout = Duration::from_secs(10);
    match endpoint.call(req).await.expect("call placed") {
        OutgoingCall::Answered { sdp_answer, call } => {
            assert!(sdp_answer.contains("PCMU"), "{sdp_answer}");
            call.hangup().await.expect("BYE");
        }
        other => panic!("{other:?}"),
    }
    let (code, output) = trunk.exit_code(Duration::from_secs(10)).await;
    assert_eq!(code, 0, "the trunk refused our digest:\n{output}");

    // Without credentials the challenge is the final answer.
    let port = free_ports(4);
    let trunk = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &["-sf", &scenario("uas_trunk_digest.xml"), "-m", "1"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let outcome = endpoint
        .call(CallRequest::new(
            format!("sip:+3225551771@127.0.0.1:{port}"),
            SDP,
        ))
        .await
        .expect("call placed");
    assert!(
        matches!(outcome, OutgoingCall::Rejected { code: 401, .. }),
        "{outcome:?}"
    );
    drop(trunk);
    no_dialog_left(&endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_registers_and_we_call_it() {
    let Some(baresip) = peers::baresip() else {
        return;
    };
    let (endpoint, _calls, addr) = start(config()).await;
    let dir = tempfile::TempDir::new().expect("tempdir");
    let sip_port = free_ports(2);
    let cons_port = sip_port + 1;
    let rtp = free_ports(20);
    let recipe = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sip/baresip.conf"
    ))
    .expect("baresip config");
    let conf = recipe
        .replace("@SIP_PORT@", &sip_port.to_string())
        .replace("@CONS_PORT@", &cons_port.to_string())
        .replace("@RTP_FIRST@", &rtp.to_string())
        .replace("@RTP_LAST@", &(rtp + 19).to_string());
    std::fs::write(dir.path().join("config"), conf).expect("config");
    std::fs::write(
        dir.path().join("accounts"),
        format!(
            "<sip:1001@{addr}>;auth_pass=secret1001;answermode=auto;regint=60;audio_codecs=PCMU\n"
        ),
    )
    .expect("accounts");
    let conf_dir = dir.path().display().to_string();
    let phone = Peer::spawn(&baresip, &["-f".to_owned(), conf_dir], dir);

    wait_until("baresip registered", Duration::from_secs(15), || {
        endpoint.registered("1001").is_some()
    })
    .await;
    let registered = endpoint.registered("1001").expect("registered");
    assert_eq!(registered, SocketAddr::from(([127, 0, 0, 1], sip_port)));
    let registration = endpoint.registration("1001").expect("registration");
    assert!(
        registration.contact.contains("127.0.0.1"),
        "{registration:?}"
    );

    let mut req = CallRequest::new("ignored", SDP);
    req.ring_timeout = Duration::from_secs(10);
    match endpoint
        .call_registered("1001", req)
        .await
        .expect("call placed")
    {
        OutgoingCall::Answered { sdp_answer, call } => {
            assert!(sdp_answer.contains("PCMU"), "{sdp_answer}");
            tokio::time::sleep(Duration::from_millis(500)).await;
            call.hangup().await.expect("BYE");
            assert_eq!(call.ended().await, EndReason::LocalHangup);
        }
        other => panic!("baresip did not answer: {other:?}\n{}", phone.output()),
    }
    assert!(
        endpoint
            .call_registered("1009", CallRequest::new("x", SDP))
            .await
            .is_err(),
        "an unregistered user cannot be called"
    );
    drop(phone);
    no_dialog_left(&endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_registers_with_digest_and_a_wrong_password_is_refused() {
    let Some(sipp) = peers::sipp() else { return };
    let (endpoint, _calls, addr) = start(config()).await;
    let target = addr.to_string();

    let port = free_ports(4);
    let good = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &[
            "-sf",
            &scenario("register_digest.xml"),
            &target,
            "-s",
            "1002",
            "-au",
            "1002",
            "-ap",
            "secret1002",
            "-m",
            "1",
        ],
    );
    let (code, output) = good.exit_code(Duration::from_secs(10)).await;
    assert_eq!(code, 0, "REGISTER refused:\n{output}");
    assert_eq!(
        endpoint.registered("1002"),
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    );

    let port = free_ports(4);
    let bad = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &[
            "-sf",
            &scenario("register_digest.xml"),
            &target,
            "-s",
            "1001",
            "-au",
            "1001",
            "-ap",
            "not-the-password",
            "-m",
            "1",
        ],
    );
    let (code, _) = bad.exit_code(Duration::from_secs(10)).await;
    assert_ne!(code, 0, "a wrong password registered");
    assert_eq!(endpoint.registered("1001"), None);
    assert!(endpoint.stats().registrations_refused >= 1);

    // The same by hand: 401 with a challenge, then 403 for a wrong answer.
    let raw = RawSip::new(addr).await;
    raw.send(request("REGISTER", &raw, "reg-1", 1, "Expires: 60\r\n").as_bytes())
        .await;
    let challenge = raw.expect_status(401, Duration::from_secs(2)).await;
    let nonce = challenge
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("nonce in the challenge");
    assert!(challenge.contains("qop=\"auth\""), "{challenge}");
    let authorization = format!(
        "Authorization: Digest username=\"1771\", realm=\"crieur\", nonce=\"{nonce}\", \
         uri=\"sip:{addr}\", response=\"00000000000000000000000000000000\", algorithm=MD5, \
         qop=auth, nc=00000001, cnonce=\"abc\"\r\nExpires: 60\r\n"
    );
    raw.send(request("REGISTER", &raw, "reg-1", 2, &authorization).as_bytes())
        .await;
    raw.expect_status(403, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_datagrams_never_stop_the_endpoint() {
    let (endpoint, _calls, addr) = start(config()).await;
    let raw = RawSip::new(addr).await;

    for junk in [
        &b"\x00\x01\x02\xff garbage"[..],
        b"hello\r\n\r\n",
        b"SIP/2.0 200 OK\r\n\r\n",
        &[0xffu8; 3000][..],
    ] {
        raw.send(junk).await;
    }
    assert_eq!(
        raw.recv(Duration::from_millis(300)).await,
        None,
        "junk is not answered"
    );

    let options = request("OPTIONS", &raw, "bad-1", 1, "");
    let first_line = options.lines().next().unwrap_or_default().to_owned();
    let bad_start_line = options.replacen(&first_line, "OPTIONS sip:1771@ SIP/2.0", 1);
    raw.send(bad_start_line.as_bytes()).await;
    raw.expect_status(400, Duration::from_secs(2)).await;

    let no_call_id: String = request("OPTIONS", &raw, "bad-2", 1, "")
        .lines()
        .filter(|l| !l.starts_with("Call-ID"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    raw.send(no_call_id.as_bytes()).await;
    raw.expect_status(400, Duration::from_secs(2)).await;

    let huge_length = request("INVITE", &raw, "bad-3", 1, "")
        .replace("Content-Length: 0", "Content-Length: 4294967296000");
    raw.send(huge_length.as_bytes()).await;
    raw.expect_status(400, Duration::from_secs(2)).await;

    let unknown = request("FROBNICATE", &raw, "bad-4", 1, "");
    raw.send(unknown.as_bytes()).await;
    let reply = raw.expect_status(501, Duration::from_secs(2)).await;
    assert!(reply.contains("Allow:"), "{reply}");

    let subscribe = request("SUBSCRIBE", &raw, "bad-5", 1, "Event: presence\r\n");
    raw.send(subscribe.as_bytes()).await;
    raw.expect_status(405, Duration::from_secs(2)).await;

    // TCP garbage closes that connection and nothing else.
    let tcp = endpoint.tcp_addr().expect("TCP");
    if let Ok(mut stream) = tokio::net::TcpStream::connect(tcp).await {
        use tokio::io::AsyncWriteExt;
        let _ = stream
            .write_all(b"\x00\xffNOT SIP AT ALL\r\n\r\nContent-Length: 99\r\n\r\n")
            .await;
    }

    raw.send(request("OPTIONS", &raw, "ok-1", 1, "").as_bytes())
        .await;
    let ok = raw.expect_status(200, Duration::from_secs(2)).await;
    assert!(ok.contains("Allow:"), "{ok}");
    let stats = endpoint.stats();
    assert!(stats.malformed_answered >= 4, "{stats:?}");
    assert!(stats.malformed_dropped >= 3, "{stats:?}");
    assert_eq!(endpoint.active_dialogs(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_flood_gets_503_and_leaves_no_dialog() {
    let Some(sipp) = peers::sipp() else { return };
    let (endpoint, calls, addr) = start(SipConfig {
        invite_rate_per_source: 50,
        ..config()
    })
    .await;
    let mut ended = answer_all(calls);
    let port = free_ports(4);
    let flood = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &[
            "-sn",
            "uac",
            &addr.to_string(),
            "-r",
            "200",
            "-m",
            "200",
            "-d",
            "200",
        ],
    );
    let (code, output) = flood.exit_code(Duration::from_secs(30)).await;
    let stats = endpoint.stats();
    println!("flood: sipp exit {code}, {stats:?}");
    assert!(stats.flood_rejected > 0, "{stats:?}\n{output}");
    assert!(stats.calls_in >= 50, "{stats:?}");
    assert_eq!(stats.calls_in + stats.flood_rejected, 200, "{stats:?}");
    for _ in 0..stats.calls_in {
        let (_, reason) = tokio::time::timeout(Duration::from_secs(10), ended.recv())
            .await
            .expect("every answered call ends")
            .expect("answering task alive");
        assert_eq!(reason, EndReason::RemoteHangup);
    }
    no_dialog_left(&endpoint).await;
    let raw = RawSip::new(addr).await;
    raw.send(request("OPTIONS", &raw, "after-flood", 1, "").as_bytes())
        .await;
    raw.expect_status(200, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reject_ringing_timeout_and_the_dialog_cap() {
    let (endpoint, mut calls, addr) = start(SipConfig {
        max_dialogs: 1,
        max_ringing: Duration::from_secs(1),
        ..config()
    })
    .await;
    let raw = RawSip::new(addr).await;
    raw.send(request("INVITE", &raw, "cap-1", 1, "").as_bytes())
        .await;
    let first = tokio::time::timeout(Duration::from_secs(2), calls.next())
        .await
        .expect("call delivered")
        .expect("stream open");
    assert_eq!(first.callee(), "1771");
    assert_eq!(first.caller().user, "caller");
    assert_eq!(first.remote_addr(), raw.local());
    first.ringing().expect("180");
    raw.expect_status(180, Duration::from_secs(2)).await;

    raw.send(request("INVITE", &raw, "cap-2", 1, "").as_bytes())
        .await;
    let refused = raw.expect_status(503, Duration::from_secs(2)).await;
    assert!(refused.contains("Retry-After: 5"), "{refused}");
    assert_eq!(endpoint.stats().overload_rejected, 1);

    raw.send(request("CANCEL", &raw, "cap-1", 1, "").as_bytes())
        .await;
    raw.expect_status(200, Duration::from_secs(2)).await;
    raw.expect_status(487, Duration::from_secs(2)).await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(2), first.ended()).await,
        Ok(EndReason::Cancelled)
    );
    no_dialog_left(&endpoint).await;
    drop(first);

    let mut next_call = async |call_id: &str| {
        raw.send(request("INVITE", &raw, call_id, 1, "").as_bytes())
            .await;
        tokio::time::timeout(Duration::from_secs(2), calls.next())
            .await
            .expect("call delivered")
            .expect("stream open")
    };
    // Rejected by the application: 488 (no common codec), ACKed.
    let call = next_call("cap-3").await;
    call.reject(488).expect("488");
    let refused = raw.expect_status(488, Duration::from_secs(2)).await;
    let tag = header(&refused, "To")
        .and_then(|to| to.split(";tag=").nth(1))
        .expect("tag");
    let ack = build("ACK", &raw, "cap-3", 1, "cap-3-1", Some(tag), "", "");
    raw.send(ack.as_bytes()).await;
    no_dialog_left(&endpoint).await;

    // Dropped undecided: 480.
    drop(next_call("cap-4").await);
    raw.expect_status(480, Duration::from_secs(2)).await;
    no_dialog_left(&endpoint).await;

    // Left ringing: refused 480 after max_ringing.
    let call = next_call("cap-5").await;
    call.ringing().expect("180");
    let started = Instant::now();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(3), call.ended()).await,
        Ok(EndReason::NotAnswered)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    raw.expect_status(480, Duration::from_secs(2)).await;
    assert!(call.answer(SDP).is_err(), "too late to answer");
    no_dialog_left(&endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ack_ends_the_call_after_64_t1() {
    let Some(sipp) = peers::sipp() else { return };
    let (endpoint, mut calls, addr) = start(SipConfig {
        t1: Duration::from_millis(50),
        ..config()
    })
    .await;
    let port = free_ports(4);
    let caller = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &[
            "-sf",
            &scenario("uac_no_ack.xml"),
            &addr.to_string(),
            "-s",
            "1771",
            "-m",
            "1",
        ],
    );
    let incoming = tokio::time::timeout(Duration::from_secs(5), calls.next())
        .await
        .expect("call delivered")
        .expect("stream open");
    let answered_at = Instant::now();
    let call = incoming.answer(SDP).expect("200");
    let reason = tokio::time::timeout(Duration::from_secs(10), call.ended())
        .await
        .expect("the call ends by itself");
    assert_eq!(reason, EndReason::AckTimeout);
    let waited = answered_at.elapsed();
    assert!(
        waited >= Duration::from_millis(3000) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
    let (code, output) = caller.exit_code(Duration::from_secs(10)).await;
    assert_eq!(code, 0, "the caller got no BYE:\n{output}");
    no_dialog_left(&endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinvite_info_and_bye_inside_an_answered_call() {
    let external = SocketAddr::from(([192, 0, 2, 10], 5999));
    let (endpoint, mut calls, addr) = start(SipConfig {
        external: Some(external),
        ..config()
    })
    .await;
    let raw = RawSip::new(addr).await;
    let offer = SDP.replace("crieur", "caller").replace("40000", "42000");
    let invite = build("INVITE", &raw, "dlg-1", 1, "dlg-1-1", None, "", &offer);
    raw.send(invite.as_bytes()).await;
    let incoming = tokio::time::timeout(Duration::from_secs(2), calls.next())
        .await
        .expect("call delivered")
        .expect("stream open");
    assert_eq!(incoming.sdp_offer(), offer);
    let call = incoming.answer(SDP).expect("200");
    let ok = raw.expect_status(200, Duration::from_secs(2)).await;
    assert_eq!(header(&ok, "Content-Type"), Some("application/sdp"));
    assert_eq!(body(&ok), SDP);
    let contact = header(&ok, "Contact").expect("Contact");
    assert!(
        contact.contains("192.0.2.10:5999"),
        "external address: {contact}"
    );
    let to = header(&ok, "To").expect("To");
    let tag = to.split(";tag=").nth(1).expect("To tag").to_owned();
    let in_dialog = |method: &str, cseq: u32, branch: &str, body: &str| {
        build(method, &raw, "dlg-1", cseq, branch, Some(&tag), "", body)
    };
    raw.send(in_dialog("ACK", 1, "dlg-1-ack1", "").as_bytes())
        .await;

    // A refresh (no SDP) is answered with our SDP.
    raw.send(in_dialog("INVITE", 2, "dlg-1-2", "").as_bytes())
        .await;
    let refresh = raw.expect_status(200, Duration::from_secs(2)).await;
    assert_eq!(body(&refresh), SDP);
    raw.send(in_dialog("ACK", 2, "dlg-1-ack2", "").as_bytes())
        .await;

    // Putting the call on hold changes the media: refused, the call goes on.
    let hold = offer.replace("a=sendrecv", "a=sendonly");
    raw.send(in_dialog("INVITE", 3, "dlg-1-3", &hold).as_bytes())
        .await;
    raw.expect_status(488, Duration::from_secs(2)).await;
    raw.send(in_dialog("ACK", 3, "dlg-1-3", "").as_bytes())
        .await;

    raw.send(in_dialog("INFO", 4, "dlg-1-4", "").as_bytes())
        .await;
    raw.expect_status(200, Duration::from_secs(2)).await;
    raw.send(in_dialog("OPTIONS", 5, "dlg-1-5", "").as_bytes())
        .await;
    raw.expect_status(200, Duration::from_secs(2)).await;
    assert_eq!(call.end_reason(), None);

    raw.send(in_dialog("BYE", 6, "dlg-1-6", "").as_bytes())
        .await;
    raw.expect_status(200, Duration::from_secs(2)).await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(2), call.ended()).await,
        Ok(EndReason::RemoteHangup)
    );
    no_dialog_left(&endpoint).await;

    // The dialog is gone: another BYE is answered 481.
    raw.send(in_dialog("BYE", 7, "dlg-1-7", "").as_bytes())
        .await;
    raw.expect_status(481, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_lifetimes_and_unregistering() {
    use md5::{Digest, Md5};
    let (endpoint, _calls, addr) = start(config()).await;
    let raw = RawSip::new(addr).await;
    let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
    raw.send(request("REGISTER", &raw, "reg-2", 1, "Expires: 60\r\n").as_bytes())
        .await;
    let challenge = raw.expect_status(401, Duration::from_secs(2)).await;
    let nonce = challenge
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("nonce")
        .to_owned();
    let uri = format!("sip:{addr}");
    let authorization = |nc: u32| {
        let ha1 = md5("1001:crieur:secret1001".to_owned());
        let ha2 = md5(format!("REGISTER:{uri}"));
        let response = md5(format!("{ha1}:{nonce}:{nc:08x}:c0ffee:auth:{ha2}"));
        format!(
            "Authorization: Digest username=\"1001\", realm=\"crieur\", nonce=\"{nonce}\", \
             uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, \
             nc={nc:08x}, cnonce=\"c0ffee\"\r\n"
        )
    };
    // The To user is 1771 in `request`: registering 1001's credentials for it is refused.
    raw.send(
        request(
            "REGISTER",
            &raw,
            "reg-2",
            2,
            &format!("{}Expires: 60\r\n", authorization(1)),
        )
        .as_bytes(),
    )
    .await;
    raw.expect_status(403, Duration::from_secs(2)).await;

    let register = |cseq: u32, nc: u32, expires: &str| {
        request(
            "REGISTER",
            &raw,
            "reg-2",
            cseq,
            &format!("{}{expires}", authorization(nc)),
        )
        .replace("To: <sip:1771@", "To: <sip:1001@")
    };
    raw.send(register(3, 2, "Expires: 10\r\n").as_bytes()).await;
    let brief = raw.expect_status(423, Duration::from_secs(2)).await;
    assert_eq!(header(&brief, "Min-Expires"), Some("30"));

    raw.send(register(4, 3, "Expires: 99999\r\n").as_bytes())
        .await;
    let ok = raw.expect_status(200, Duration::from_secs(2)).await;
    assert!(
        header(&ok, "Contact")
            .expect("Contact")
            .ends_with(";expires=3600"),
        "{ok}"
    );
    assert_eq!(endpoint.registered("1001"), Some(raw.local()));

    // A replayed nonce count is challenged again (stale), not accepted.
    raw.send(register(5, 3, "Expires: 60\r\n").as_bytes()).await;
    let stale = raw.expect_status(401, Duration::from_secs(2)).await;
    assert!(stale.contains("stale=true"), "{stale}");

    raw.send(register(6, 10, "Expires: 0\r\n").as_bytes()).await;
    let removed = raw.expect_status(200, Duration::from_secs(2)).await;
    assert_eq!(header(&removed, "Contact"), None);
    assert_eq!(endpoint.registered("1001"), None);
}
