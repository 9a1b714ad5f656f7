//! Voice alerts against a real callee: SIPp answers, echoes our RTP back
//! (so we count what reached the phone) and presses 1 as RFC 4733 events;
//! another SIPp answers and never presses; a third is busy.

#[path = "sip/peers.rs"]
#[allow(dead_code)]
mod peers;

use crieur_channels::{ChannelError, Envelope, Outbound, Provider};
use crieur_telephony::sip::{SipConfig, SipEndpoint};
use crieur_telephony::tts::{Tts, TtsConfig};
use crieur_telephony::voice::{VoiceConfig, VoiceProvider};
use peers::{Peer, free_ports, scenario};
use std::sync::Arc;
use std::time::Duration;

fn espeak() -> Option<std::path::PathBuf> {
    crieur_testkit::peer("espeak-ng", &["espeak-ng"], "apt-get install -y espeak-ng")
}

async fn provider(trunk_port: u16, confirm_wait: Duration) -> VoiceProvider {
    let (sip, _incoming) = SipEndpoint::start(SipConfig::default())
        .await
        .expect("endpoint starts");
    let mut config = VoiceConfig::new("trunk", format!("127.0.0.1:{trunk_port}"));
    config.confirm_wait = confirm_wait;
    config.ring_timeout = Duration::from_secs(5);
    let tts = Tts::new(TtsConfig::default()).expect("tts");
    VoiceProvider::new(config, Arc::new(sip), tts)
}

fn alert(to: &str) -> Envelope {
    Envelope {
        delivery: 7,
        message: Outbound::Voice {
            to: to.into(),
            language: "fr".into(),
            script: "Exercice. Fermez les fenêtres.".into(),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callee_hears_the_alert_and_confirms_with_1() {
    let (Some(sipp), Some(_)) = (peers::sipp(), espeak()) else {
        return;
    };
    let port = free_ports(4);
    let callee = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &["-sf", &scenario("uas_press_1.xml"), "-rtp_echo", "-m", "1"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let voice = provider(port, Duration::from_secs(5)).await;
    let (call_id, report) = voice
        .call(7, "+32470000001", "fr", "Exercice. Fermez les fenêtres.")
        .await
        .expect("answered");
    assert!(!call_id.is_empty());
    assert!(report.confirmed, "{report:?}");
    assert!(report.packets_sent > 50, "audio left: {report:?}");
    assert!(
        report.packets_received > 20,
        "the phone got our audio and echoed it: {report:?}"
    );
    assert!(report.answered_after < Duration::from_secs(5), "{report:?}");
    assert_eq!(voice.calls_in_media(), 0, "the call is over");
    let (code, out) = callee.exit_code(Duration::from_secs(20)).await;
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_who_listens_without_pressing_is_reached_but_not_confirmed() {
    let (Some(sipp), Some(_)) = (peers::sipp(), espeak()) else {
        return;
    };
    let port = free_ports(4);
    let callee = Peer::sipp(&sipp, port, port + 2, &["-sn", "uas", "-m", "1"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let voice = provider(port, Duration::from_millis(500)).await;
    let accepted = voice.send(&alert("+32470000002")).await.expect("answered");
    assert!(!accepted.confirmed);
    assert_eq!(accepted.references.len(), 1);
    let (code, out) = callee.exit_code(Duration::from_secs(20)).await;
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_is_temporary_and_a_bad_number_permanent() {
    let (Some(sipp), Some(_)) = (peers::sipp(), espeak()) else {
        return;
    };
    let port = free_ports(4);
    let callee = Peer::sipp(
        &sipp,
        port,
        port + 2,
        &["-sf", &scenario("uas_busy.xml"), "-m", "1"],
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let voice = provider(port, Duration::from_millis(500)).await;
    let busy = voice.send(&alert("+32470000003")).await;
    assert!(
        matches!(&busy, Err(ChannelError::Temporary(r)) if r == "busy"),
        "{busy:?}"
    );
    let bad = voice.send(&alert("0470 12 34 56")).await;
    assert!(matches!(bad, Err(ChannelError::Permanent(_))), "{bad:?}");
    let (code, out) = callee.exit_code(Duration::from_secs(20)).await;
    assert_eq!(code, 0, "{out}");
}
