//! Media sessions talking over loopback UDP: paced audio, RFC 4733 keys through a
//! hostile network (lost, repeated and reordered packets), RTP from a wrong
//! address, and SDP negotiation from a SIPp offer down to packets on the wire.

use crieur_telephony::dtmf::{Digit, DtmfSender, TelephoneEvent};
use crieur_telephony::g711::Codec;
use crieur_telephony::media::{Clip, MediaConfig, MediaSession, MediaSocket, PlayOutcome};
use crieur_telephony::rtp::{FRAME_BYTES, Frame, RtpHeader, RtpPacket, RtpSender, send_paced};
use crieur_telephony::sdp::{
    LocalMedia, Negotiated, NegotiationError, SdpError, SessionDescription,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::{Instant, sleep, timeout};

/// The SDP of /work/shared/recipes/telephony/sipp/uac_rtp_dtmf.xml, with SIPp's
/// keywords filled in as `-i 127.0.0.1 -mp <port>` does.
fn sipp_offer(media_port: u16) -> String {
    format!(
        "v=0\r\n\
         o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
         s=-\r\n\
         c=IN IP4 127.0.0.1\r\n\
         t=0 0\r\n\
         m=audio {media_port} RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\n\
         a=ptime:20\r\n"
    )
}

/// Two sessions on loopback that negotiated with each other through SDP.
async fn pair() -> (MediaSession, MediaSession) {
    let caller_socket = MediaSocket::bind(&MediaConfig::default()).await.unwrap();
    let callee_socket = MediaSocket::bind(&MediaConfig::default()).await.unwrap();
    let caller = LocalMedia::new(
        caller_socket.local_addr().ip(),
        caller_socket.local_addr().port(),
    );
    let callee = LocalMedia::new(
        callee_socket.local_addr().ip(),
        callee_socket.local_addr().port(),
    );
    let offer = SessionDescription::parse(&caller.offer().to_string()).unwrap();
    let (answer, callee_agreed) = callee.answer(&offer).unwrap();
    let answer = SessionDescription::parse(&answer.to_string()).unwrap();
    let caller_agreed = caller.accept_answer(&answer).unwrap();
    (
        caller_socket.start(caller_agreed),
        callee_socket.start(callee_agreed),
    )
}

/// A session whose peer is a raw UDP socket the test drives.
async fn session_with_raw_peer(telephone_event: Option<u8>) -> (MediaSession, UdpSocket) {
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let socket = MediaSocket::bind(&MediaConfig::default()).await.unwrap();
    let session = socket.start(Negotiated {
        remote: peer.local_addr().unwrap(),
        codec: Codec::Pcmu,
        payload_type: 0,
        telephone_event,
        ptime: Some(20),
        direction: Default::default(),
    });
    (session, peer)
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(10)).await;
    }
}

/// Keys received within `quiet` of the previous one.
async fn keys(session: &mut MediaSession, quiet: Duration) -> String {
    let mut keys = String::new();
    while let Ok(Some(digit)) = timeout(quiet, session.next_digit()).await {
        keys.push(digit.as_char());
    }
    keys
}

/// Fifty distinct frames: frame n is a tone whose loudness depends on n.
fn test_pcm() -> Vec<i16> {
    (0..50 * FRAME_BYTES)
        .map(|i| {
            let frame = (i / FRAME_BYTES) as f64;
            let phase = i as f64 * 2.0 * std::f64::consts::PI * 440.0 / 8000.0;
            (phase.sin() * (500.0 + 600.0 * frame)) as i16
        })
        .collect()
}

#[tokio::test]
async fn fifty_paced_frames_arrive_in_order_and_intact() {
    let (caller, callee) = pair().await;
    let mut heard = callee.audio_frames(128);
    let pcm = test_pcm();
    let clip = Clip::from_pcm(Codec::Pcmu, &pcm);

    let started = Instant::now();
    let mut playback = caller.play_clip(&clip);
    assert_eq!(
        playback.finished().await,
        PlayOutcome::Finished { frames: 50 }
    );
    let took = started.elapsed();
    // Pacing: 50 frames take about a second. Generous bounds: this is no benchmark.
    assert!(took >= Duration::from_millis(900), "too fast: {took:?}");
    assert!(took < Duration::from_secs(4), "too slow: {took:?}");

    let mut frames = Vec::new();
    while frames.len() < 50 {
        let frame = timeout(Duration::from_secs(2), heard.recv())
            .await
            .unwrap()
            .unwrap();
        frames.push(frame);
    }
    assert!(frames[0].marker, "the first packet starts a talkspurt");
    for pair in frames.windows(2) {
        assert_eq!(pair[1].sequence, pair[0].sequence.wrapping_add(1));
        assert_eq!(pair[1].timestamp, pair[0].timestamp.wrapping_add(160));
        assert!(!pair[1].marker);
    }
    let mut decoded = Vec::new();
    for frame in &frames {
        assert_eq!(frame.payload.len(), FRAME_BYTES);
        Codec::Pcmu.decode_into(&frame.payload, &mut decoded);
    }
    let codes: Vec<u8> = frames
        .iter()
        .flat_map(|f| f.payload.iter().copied())
        .collect();
    assert_eq!(codes, clip.codes(), "payload bytes unchanged");
    for (sent, got) in pcm.iter().zip(&decoded) {
        let bound = i32::from(*sent).abs() / 16 + 8;
        assert!(
            (i32::from(*sent) - i32::from(*got)).abs() <= bound,
            "{sent} -> {got}"
        );
    }

    let sent = caller.stats();
    let received = callee.stats();
    assert_eq!(
        (sent.audio_frames_sent, sent.packets_sent, sent.send_errors),
        (50, 50, 0)
    );
    assert_eq!(received.packets_received, 50);
    assert_eq!(received.audio.received, 50);
    assert_eq!(received.audio.released, 50);
    assert_eq!(
        (
            received.audio.lost,
            received.audio.duplicated,
            received.audio.reordered
        ),
        (0, 0, 0)
    );
    assert_eq!((received.wrong_source, received.malformed), (0, 0));
}

#[tokio::test]
async fn keys_sent_by_one_session_are_heard_once_by_the_other() {
    let (caller, mut callee) = pair().await;
    for key in Digit::parse_all("12#").unwrap() {
        caller.send_digit(key);
    }
    assert_eq!(keys(&mut callee, Duration::from_millis(600)).await, "12#");
    let sent = caller.stats();
    assert_eq!(sent.digits_sent, 3);
    assert_eq!(
        sent.dtmf_packets_sent,
        3 * 7,
        "5 updates and the end 3 times, per key"
    );
    let received = callee.stats();
    assert_eq!(received.digits_received, 3);
    assert_eq!(received.dtmf_packets_received, 21);
    assert_eq!(
        received.audio.received, 0,
        "events never go to the audio path"
    );
}

#[tokio::test]
async fn keys_survive_loss_repetition_and_reordering() {
    let (mut session, peer) = session_with_raw_peer(Some(101)).await;
    let to = session.local_addr();
    let dtmf = DtmfSender::new(101);
    let mut rtp = RtpSender::with_initial(0, 0xC0FFEE, 65530, 1_000_000);
    let mut key = |c| dtmf.packets(&mut rtp, Digit::from_char(c).unwrap());

    // "1": every end packet sent twice more (five ends, then three more copies).
    let mut one = key('1');
    let end = one.last().unwrap().clone();
    one.extend([end.clone(), end.clone(), end]);
    // "2": its first packet (the one with the marker) lost.
    let mut two = key('2');
    two.remove(0);
    // "#": reordered, the ends first and the start last.
    let mut pound = key('#');
    pound.reverse();

    for packet in one.iter().chain(&two).chain(&pound) {
        peer.send_to(packet, to).await.unwrap();
    }
    assert_eq!(keys(&mut session, Duration::from_millis(500)).await, "12#");
    let stats = session.stats();
    assert_eq!(stats.digits_received, 3);
    assert_eq!(
        stats.dtmf_packets_received,
        (one.len() + two.len() + pound.len()) as u64
    );
    assert_eq!(stats.digits_dropped, 0);
}

#[tokio::test]
async fn sipp_style_keys_are_heard_once_each() {
    // As SIPp replays dtmf_2833_{1,2,pound}.pcap: an SSRC of their own, one
    // timestamp per key, and the end packet three times with one sequence number.
    let (mut session, peer) = session_with_raw_peer(Some(101)).await;
    let to = session.local_addr();
    for (event, seq, timestamp) in [
        (1u8, 7984u16, 13280u32),
        (2, 8042, 23200),
        (11, 8436, 92640),
    ] {
        for n in 0..10u16 {
            let end = n >= 7;
            let header = RtpHeader {
                marker: n == 0,
                payload_type: 101,
                sequence: seq + n.min(7),
                timestamp,
                ssrc: 0x0E05_384E,
            };
            let payload = TelephoneEvent {
                event,
                end,
                volume: 10,
                duration: n.min(7) * 320,
            };
            peer.send_to(&header.to_packet(&payload.to_bytes()), to)
                .await
                .unwrap();
        }
        sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(keys(&mut session, Duration::from_millis(500)).await, "12#");
}

#[tokio::test]
async fn rtp_from_a_wrong_address_is_dropped_and_counted() {
    let (mut session, peer) = session_with_raw_peer(Some(101)).await;
    let to = session.local_addr();
    let mut heard = session.audio_frames(64);
    let intruder = UdpSocket::bind("127.0.0.1:0").await.unwrap();

    let mut rtp = RtpSender::new(0);
    let mut packet = Vec::new();
    for _ in 0..5 {
        packet.clear();
        rtp.audio(&[0xFF; FRAME_BYTES], &mut packet);
        intruder.send_to(&packet, to).await.unwrap();
    }
    for packet in DtmfSender::new(101).packets(&mut rtp, Digit::from_char('9').unwrap()) {
        intruder.send_to(&packet, to).await.unwrap();
    }
    intruder.send_to(b"not even RTP", to).await.unwrap();
    eventually("the intruder's 13 datagrams", || {
        session.stats().wrong_source == 13
    })
    .await;

    // Garbage from the right address is counted as malformed; the call goes on.
    peer.send_to(&[0x80, 0x00], to).await.unwrap();
    peer.send_to(&[0x40; 40], to).await.unwrap();
    packet.clear();
    rtp.audio(&[0x55; FRAME_BYTES], &mut packet);
    peer.send_to(&packet, to).await.unwrap();
    let frame = timeout(Duration::from_secs(2), heard.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(frame.payload, [0x55; FRAME_BYTES]);

    let stats = session.stats();
    assert_eq!(stats.wrong_source, 13);
    assert_eq!(stats.malformed, 2);
    assert_eq!(stats.packets_received, 1);
    assert_eq!(stats.digits_received, 0);
    assert_eq!(
        timeout(Duration::from_millis(100), session.next_digit())
            .await
            .ok()
            .flatten(),
        None
    );
}

#[tokio::test]
async fn received_audio_is_put_back_in_order_and_counted() {
    let (session, peer) = session_with_raw_peer(None).await;
    let to = session.local_addr();
    let mut heard = session.audio_frames(128);
    let mut rtp = RtpSender::with_initial(0, 77, 65520, 0);
    let mut packets: Vec<Vec<u8>> = (0..50u8)
        .map(|n| {
            let mut packet = Vec::new();
            rtp.audio(&[n; FRAME_BYTES], &mut packet);
            packet
        })
        .collect();
    packets.swap(10, 11); // reordered
    packets.swap(30, 32); // 32, 31, 30: two reordered
    let copy = packets[20].clone();
    packets.insert(21, copy); // duplicated
    packets.remove(40); // lost (frame 39: 40 after the duplicate)
    for packet in &packets {
        peer.send_to(packet, to).await.unwrap();
    }
    // The last packets wait for the window; the hold time releases them.
    let mut got = Vec::new();
    while got.len() < 49 {
        let frame = timeout(Duration::from_secs(2), heard.recv())
            .await
            .unwrap()
            .unwrap();
        got.push(frame.payload[0]);
    }
    let expected: Vec<u8> = (0..50u8).filter(|n| *n != 39).collect();
    assert_eq!(got, expected, "in order, once each, frame 39 given up");
    let audio = session.stats().audio;
    assert_eq!((audio.received, audio.released), (49, 49));
    assert_eq!(
        (audio.lost, audio.duplicated, audio.reordered, audio.late),
        (1, 1, 3, 0)
    );
}

#[tokio::test]
async fn a_sipp_offer_is_answered_and_media_flows_both_ways() {
    let sipp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sipp_port = sipp.local_addr().unwrap().port();
    let socket = MediaSocket::bind(&MediaConfig::default()).await.unwrap();
    let ours = LocalMedia::new(socket.local_addr().ip(), socket.local_addr().port());

    let offer = SessionDescription::parse_bytes(sipp_offer(sipp_port).as_bytes()).unwrap();
    let (answer, agreed) = ours.answer(&offer).unwrap();
    let answer_text = answer.to_string();
    let audio_line = format!("m=audio {} RTP/AVP 0 101\r\n", socket.local_addr().port());
    assert!(answer_text.contains(&audio_line), "{answer_text}");
    assert!(answer_text.contains("a=rtpmap:0 PCMU/8000\r\n"));
    assert!(answer_text.contains("a=rtpmap:101 telephone-event/8000\r\n"));
    assert!(answer_text.contains("a=fmtp:101 0-16\r\n"));
    assert_eq!(
        (agreed.codec, agreed.telephone_event),
        (Codec::Pcmu, Some(101))
    );
    assert_eq!(agreed.remote, sipp.local_addr().unwrap());

    let session = socket.start(agreed);
    let prompt = Clip::new(Codec::Pcmu, vec![0xAB; 3 * FRAME_BYTES]);
    let mut playback = session.play_clip(&prompt);
    let mut buffer = [0u8; 2048];
    for n in 0..3u16 {
        let (len, from) = timeout(Duration::from_secs(2), sipp.recv_from(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from, session.local_addr());
        let packet = RtpPacket::parse(&buffer[..len]).unwrap();
        assert_eq!(packet.header.payload_type, 0);
        assert_eq!(packet.header.marker, n == 0);
        assert_eq!(packet.payload, [0xAB; FRAME_BYTES]);
    }
    assert_eq!(
        playback.finished().await,
        PlayOutcome::Finished { frames: 3 }
    );
}

#[tokio::test]
async fn offers_we_cannot_take_are_refused_for_a_488() {
    let ours = LocalMedia::new("127.0.0.1".parse().unwrap(), 7000);
    let g729 = sipp_offer(6000)
        .replace("RTP/AVP 0 101", "RTP/AVP 18 101")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000");
    let offer = SessionDescription::parse(&g729).unwrap();
    let error = ours.answer(&offer).unwrap_err();
    assert_eq!(error, NegotiationError::NoCommonCodec);
    assert_eq!(NegotiationError::SIP_STATUS, 488);

    for (broken, line) in [
        (
            "m=audio 6000 RTP/AVP 0 101",
            "m=audio sixthousand RTP/AVP 0 101",
        ),
        ("a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMU"),
        ("a=ptime:20", "a=ptime:twenty"),
        ("c=IN IP4 127.0.0.1", "c=IN IP4 not-an-address"),
        ("s=-", "s-"),
    ] {
        let text = sipp_offer(6000).replace(broken, line);
        let result = SessionDescription::parse(&text);
        assert!(
            matches!(result, Err(SdpError::BadLine { .. })),
            "{line}: {result:?}"
        );
    }
    let huge = sipp_offer(6000) + &"a=x-padding\r\n".repeat(2000);
    assert_eq!(SessionDescription::parse(&huge), Err(SdpError::TooLarge));
}

#[tokio::test]
async fn a_new_playback_replaces_the_current_one_and_stop_works() {
    let (session, _peer) = session_with_raw_peer(None).await;
    let long: Vec<Frame> = vec![[0xFF; FRAME_BYTES]; 500];
    let mut first = session.play(long.clone());
    sleep(Duration::from_millis(60)).await;
    let mut second = session.play(long);
    match first.finished().await {
        PlayOutcome::Stopped { frames } => assert!((1..500).contains(&frames), "{frames}"),
        other => panic!("{other:?}"),
    }
    sleep(Duration::from_millis(60)).await;
    second.stop();
    assert!(matches!(
        second.finished().await,
        PlayOutcome::Stopped { .. }
    ));
    let sent = session.stats().audio_frames_sent;
    sleep(Duration::from_millis(100)).await;
    assert_eq!(
        session.stats().audio_frames_sent,
        sent,
        "nothing sent once stopped"
    );
}

#[tokio::test]
async fn on_hold_nothing_is_sent_and_an_update_resumes() {
    let (session, peer) = session_with_raw_peer(Some(101)).await;
    let mut held = session.negotiated();
    held.direction = crieur_telephony::sdp::Direction::RecvOnly;
    session.update(held);
    let mut playback = session.play(vec![[0xFF; FRAME_BYTES]; 5]);
    assert_eq!(
        playback.finished().await,
        PlayOutcome::Finished { frames: 5 }
    );
    assert_eq!(session.stats().packets_sent, 0);

    let resumed = Negotiated {
        direction: Default::default(),
        ..held
    };
    session.update(resumed);
    let mut playback = session.play(vec![[0xFF; FRAME_BYTES]; 2]);
    assert_eq!(
        playback.finished().await,
        PlayOutcome::Finished { frames: 2 }
    );
    let mut buffer = [0u8; 256];
    let (_, from): (usize, SocketAddr) =
        timeout(Duration::from_secs(1), peer.recv_from(&mut buffer))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(from, session.local_addr());
    assert_eq!(session.stats().packets_sent, 2);
}

#[tokio::test]
async fn send_paced_sends_one_numbered_packet_per_20_ms() {
    let from = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rtp = RtpSender::with_initial(8, 5, 65535, 4_294_967_000);
    let frames = (0..10u8).map(|n| [n; FRAME_BYTES]);
    let started = Instant::now();
    let sent = send_paced(&from, to.local_addr().unwrap(), &mut rtp, frames)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(sent, 10);
    assert!(
        took >= Duration::from_millis(175) && took < Duration::from_secs(2),
        "{took:?}"
    );
    let mut buffer = [0u8; 512];
    for n in 0..10u8 {
        let (len, _) = to.recv_from(&mut buffer).await.unwrap();
        let packet = RtpPacket::parse(&buffer[..len]).unwrap();
        assert_eq!(packet.header.payload_type, 8);
        assert_eq!(packet.header.sequence, 65535u16.wrapping_add(u16::from(n)));
        assert_eq!(
            packet.header.timestamp,
            4_294_967_000u32.wrapping_add(160 * u32::from(n))
        );
        assert_eq!(packet.header.marker, n == 0);
        assert_eq!(packet.payload, [n; FRAME_BYTES]);
    }
}
