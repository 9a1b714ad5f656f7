//! The hotline end to end on loopback: SIPp callers go through the IVR (language
//! and line keys as RFC 4733 events) into the queues, baresip phones registered
//! as operators answer, and one call is transferred to the relatives line. The
//! call records and the queue log are read back from the store. Skips when a
//! peer is missing (fails instead under CRIEUR_REQUIRE_PEERS=1).

#[path = "../../crieur-telephony/tests/sip/peers.rs"]
#[allow(dead_code)]
mod peers;

use crieur_domain::Language;
use crieur_domain::access::Role;
use crieur_domain::acd::{Line, Presence, QueueKey, Skills, TransferKind};
use crieur_domain::hotline::HotlineConfig;
use crieur_hotline::{Desk, Hotlines, RuntimeOptions};
use crieur_store::{NewAccount, Store};
use crieur_telephony::calls::{Switchboard, SwitchboardConfig};
use crieur_telephony::g711::Codec;
use crieur_telephony::media::MediaConfig;
use crieur_telephony::sip::{Credentials, SipConfig, SipEndpoint};
use crieur_telephony::tts::{Tts, TtsConfig};
use peers::{Peer, free_ports};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Peers {
    sipp: PathBuf,
    baresip: PathBuf,
}

fn peers() -> Option<Peers> {
    crieur_testkit::peer("espeak-ng", &["espeak-ng"], "apt-get install -y espeak-ng")?;
    Some(Peers {
        sipp: peers::sipp()?,
        baresip: peers::baresip()?,
    })
}

async fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} not reached within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn account(store: &Store, username: &str, role: Role) -> i64 {
    store
        .accounts()
        .create_account(&NewAccount {
            username: username.into(),
            display_name: username.into(),
            role,
            territory: "62063".parse().unwrap(),
            password_hash: "not used".into(),
            totp_secret: None,
        })
        .await
        .expect("account")
        .id
}

/// baresip registered as `user`, answering by itself.
async fn operator_phone(
    baresip: &Path,
    endpoint: &SipEndpoint,
    user: &str,
    password: &str,
) -> Peer {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let sip_port = free_ports(3);
    let rtp = free_ports(20);
    let recipe = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crieur-telephony/tests/sip/baresip.conf"
    ))
    .expect("baresip config");
    let conf = recipe
        .replace("@SIP_PORT@", &sip_port.to_string())
        .replace("@CONS_PORT@", &(sip_port + 2).to_string())
        .replace("@RTP_FIRST@", &rtp.to_string())
        .replace("@RTP_LAST@", &(rtp + 19).to_string());
    std::fs::write(dir.path().join("config"), conf).expect("config");
    let registrar = endpoint.udp_addr().expect("UDP address");
    std::fs::write(
        dir.path().join("accounts"),
        format!("<sip:{user}@{registrar}>;auth_pass={password};answermode=auto;regint=60;audio_codecs=PCMU\n"),
    )
    .expect("accounts");
    let conf_dir = dir.path().display().to_string();
    let phone = Peer::spawn(baresip, &["-f".to_owned(), conf_dir], dir);
    let deadline = Instant::now() + Duration::from_secs(15);
    while endpoint.registered(user).is_none() {
        assert!(
            Instant::now() < deadline,
            "baresip not registered as {user}:\n{}",
            phone.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    phone
}

/// A SIPp caller dialling 1771 that presses `key1` then `key2` and hangs up
/// after `hold_ms`.
fn caller(sipp: &Path, registrar: SocketAddr, key1: char, key2: char, hold_ms: u32) -> Peer {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let tone = dir.path().join("tone.ulaw");
    let samples: Vec<i16> = (0..16_000)
        .map(|i| ((f64::from(i) / 8000.0 * 300.0 * std::f64::consts::TAU).sin() * 6000.0) as i16)
        .collect();
    let mut ulaw = Vec::new();
    Codec::Pcmu.encode_into(&samples, &mut ulaw);
    std::fs::write(&tone, ulaw).expect("tone");
    let scenario = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sipp/uac_hotline.xml"
    ))
    .expect("scenario")
    .replace("@TONE@", &tone.display().to_string())
    .replace("@KEY1@", &key1.to_string())
    .replace("@KEY2@", &key2.to_string())
    .replace("@HOLD_MS@", &hold_ms.to_string());
    let file = dir.path().join("caller.xml");
    std::fs::write(&file, scenario).expect("scenario file");
    let port = free_ports(6);
    let target = registrar.to_string();
    let file = file.display().to_string();
    let peer = Peer::sipp(
        sipp,
        port,
        port + 2,
        &[&target, "-s", "1771", "-sf", &file, "-m", "1"],
    );
    // The scenario and tone must outlive the process: keep the folder.
    std::mem::forget(dir);
    peer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_go_through_the_ivr_to_operators_and_one_is_transferred_to_the_relatives_line() {
    let Some(peers) = peers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("h.db").display()))
        .await
        .unwrap();
    let mayor = account(&store, "mayor", Role::Mayor).await;
    let info_op = account(&store, "info.op", Role::HotlineOperator).await;
    let relatives_op = account(&store, "relatives.op", Role::RelativesOperator).await;
    let incident = store
        .alerts()
        .open_incident("Fire at the port", "62063".parse().unwrap(), mayor)
        .await
        .unwrap();

    let (endpoint, incoming) = SipEndpoint::start(SipConfig {
        users: vec![
            Credentials::new("1001", "secret1001"),
            Credentials::new("1002", "secret1002"),
        ],
        ..SipConfig::default()
    })
    .await
    .expect("endpoint");
    let registrar = endpoint.udp_addr().unwrap();
    let switchboard = Switchboard::new(
        endpoint.clone(),
        incoming,
        Tts::new(TtsConfig::default()).unwrap(),
        SwitchboardConfig {
            media: MediaConfig {
                ports: Some(20_000..=29_999),
                ..MediaConfig::default()
            },
            ..SwitchboardConfig::default()
        },
    );
    let hotlines = Hotlines::new(
        store.clone(),
        RuntimeOptions {
            ring_timeout: Duration::from_secs(8),
            menu_timeout: Duration::from_secs(3),
            menu_attempts: 1,
        },
    );
    let mut config = HotlineConfig {
        languages: vec![Language::Fr, Language::Nl],
        holding_until: 0,
        ..HotlineConfig::default()
    };
    config.greeting.insert(Language::Fr, "Bonjour.".into());
    config.greeting.insert(Language::Nl, "Goeiedag.".into());
    config.acd.keep_place_ms = 0;
    config.acd.wrap_up_ms = 1_000;
    let hotline = hotlines
        .activate(incident.id, "1771", config, mayor)
        .await
        .expect("activated")
        .id;
    hotlines.serve(switchboard);

    let _phone_a = operator_phone(&peers.baresip, &endpoint, "1001", "secret1001").await;
    let nl = |relatives| Skills {
        native: vec![Language::Nl],
        relatives,
        ..Skills::default()
    };
    hotlines
        .sign_in(
            hotline,
            info_op,
            Desk {
                name: "Info".into(),
                extension: "1001".into(),
                skills: nl(false),
            },
        )
        .unwrap();

    // Dutch (2), information (1).
    let first = caller(&peers.sipp, registrar, '2', '1', 22_000);
    wait_until("operator A on the call", Duration::from_secs(25), || {
        hotlines
            .desk(hotline, info_op)
            .is_ok_and(|d| d.presence == Presence::OnCall)
    })
    .await;
    let desk = hotlines.desk(hotline, info_op).unwrap();
    let call = desk.call.expect("the call on the desk");
    assert_eq!(
        (call.line, call.language),
        (Line::Information, Language::Nl)
    );
    assert_eq!(call.ivr_path, "lang:2 > menu:1");

    // The relatives-line operator arrives; A transfers the caller to them.
    let _phone_b = operator_phone(&peers.baresip, &endpoint, "1002", "secret1002").await;
    hotlines
        .sign_in(
            hotline,
            relatives_op,
            Desk {
                name: "Relatives".into(),
                extension: "1002".into(),
                skills: nl(true),
            },
        )
        .unwrap();
    // B cannot move a call that is not theirs; A cannot sign in twice.
    assert!(
        hotlines
            .transfer(
                hotline,
                relatives_op,
                &call.call_id,
                Line::Relatives,
                TransferKind::Blind
            )
            .is_err()
    );
    assert!(
        hotlines
            .sign_in(
                hotline,
                info_op,
                Desk {
                    name: "Info".into(),
                    extension: "1001".into(),
                    skills: nl(false)
                }
            )
            .is_err()
    );
    hotlines
        .transfer(
            hotline,
            info_op,
            &call.call_id,
            Line::Relatives,
            TransferKind::Blind,
        )
        .expect("transfer");
    wait_until("operator B on the call", Duration::from_secs(20), || {
        hotlines
            .desk(hotline, relatives_op)
            .is_ok_and(|d| d.presence == Presence::OnCall)
    })
    .await;
    assert_eq!(
        hotlines.queue_of(hotline, &call.call_id),
        Some(QueueKey::new(Line::Relatives, Language::Nl))
    );
    let on_b = hotlines.desk(hotline, relatives_op).unwrap().call.unwrap();
    assert_eq!(
        (on_b.line, on_b.transferred_from),
        (Line::Relatives, Some(Line::Information))
    );
    assert_ne!(
        hotlines.desk(hotline, info_op).unwrap().presence,
        Presence::OnCall
    );

    // A French caller for psychological support: nobody speaks French, so
    // they wait, then give up.
    let second = caller(&peers.sipp, registrar, '1', '3', 6_000);
    let (code, out) = second.exit_code(Duration::from_secs(40)).await;
    assert_eq!(code, 0, "second caller:\n{out}");
    let (code, out) = first.exit_code(Duration::from_secs(40)).await;
    assert_eq!(code, 0, "first caller:\n{out}");
    wait_until("no call left", Duration::from_secs(10), || {
        hotlines.counts(hotline) == Some((0, 0, 0))
    })
    .await;
    wait_until("operator B free again", Duration::from_secs(10), || {
        hotlines
            .desk(hotline, relatives_op)
            .is_ok_and(|d| d.presence != Presence::OnCall)
    })
    .await;

    // What was written down.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls = store.hotline().recent_calls(hotline, 10).await.unwrap();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let transferred = calls
        .iter()
        .find(|c| c.record.call_id == call.call_id)
        .unwrap();
    assert_eq!(transferred.record.operator_id, Some(relatives_op));
    assert_eq!(transferred.record.ending.as_deref(), Some("answered"));
    let gave_up = calls
        .iter()
        .find(|c| c.record.call_id != call.call_id)
        .unwrap();
    assert_eq!(gave_up.record.ending.as_deref(), Some("abandoned"));
    assert_eq!(gave_up.record.ivr_path, "lang:1 > menu:3");
    let log = store.hotline().queue_log(hotline, 0, 1000).await.unwrap();
    let of = |id: &str| -> Vec<String> {
        log.iter()
            .filter(|e| e.call_id == id)
            .map(|e| e.event.clone())
            .collect()
    };
    assert_eq!(
        of(&call.call_id),
        [
            "ENTERQUEUE",
            "CONNECT",
            "TRANSFER",
            "ENTERQUEUE",
            "CONNECT",
            "COMPLETECALLER"
        ]
    );
    assert_eq!(of(&gave_up.record.call_id), ["ENTERQUEUE", "ABANDON"]);
    let connects: Vec<&str> = log
        .iter()
        .filter(|e| e.event == "CONNECT")
        .map(|e| e.agent.as_str())
        .collect();
    assert_eq!(connects, [info_op.to_string(), relatives_op.to_string()]);

    hotlines.deactivate(hotline, mayor, "Fermé.").await.unwrap();
    assert!(hotlines.active(hotline).is_none());
}
