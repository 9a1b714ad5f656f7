//! The SMPP connector against smpp34's own SMSC (`SmppServer`) on loopback. The
//! test SMSC records every submit_sm, injects faults per destination and sends
//! delivery receipts; a TCP relay between the two stands in for a cable that can
//! be cut.

use crieur_channels::smpp::{SmppConfig, SmppProvider};
use crieur_channels::{ChannelError, Envelope, Outbound, Provider, Receipt};
use crieur_domain::sms::{analyse, decode_ucs2, encode_gsm7};
use smpp34::SmppError;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

#[path = "smpp/smsc.rs"]
mod smsc;

use smsc::{Fault, Relay, Smsc};

// ---------------------------------------------------------------- helpers

fn config(port: u16, password: &str) -> SmppConfig {
    let mut config = SmppConfig::new(
        "test-smsc",
        "127.0.0.1",
        port,
        "crieur",
        password,
        "BE-Alert",
    );
    config.binds = 1;
    config.window = 16;
    config.submit_timeout = Duration::from_secs(2);
    config.bind_timeout = Duration::from_millis(500);
    config.reconnect_min = Duration::from_millis(50);
    config.reconnect_max = Duration::from_millis(400);
    config
}

type Receipts = mpsc::Receiver<(Receipt, oneshot::Sender<bool>)>;

fn start(config: SmppConfig) -> (Arc<SmppProvider>, Receipts) {
    let (sink, receipts) = mpsc::channel(64);
    (SmppProvider::start(config, sink), receipts)
}

async fn wait_for(what: &str, within: Duration, condition: impl Fn() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn started(config: SmppConfig) -> (Arc<SmppProvider>, Receipts) {
    let binds = config.binds;
    let (provider, receipts) = start(config);
    wait_for("every bind to be bound", Duration::from_secs(5), || {
        provider.bound() == binds
    })
    .await;
    (provider, receipts)
}

fn sms(delivery: i64, to: &str, text: &str) -> Envelope {
    Envelope {
        delivery,
        message: Outbound::Sms {
            to: to.into(),
            text: text.into(),
        },
    }
}

async fn next_receipt(receipts: &mut Receipts) -> (Receipt, oneshot::Sender<bool>) {
    tokio::time::timeout(Duration::from_secs(5), receipts.recv())
        .await
        .expect("a receipt in time")
        .expect("the provider keeps the sink")
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gsm_message_is_submitted_and_its_receipt_acknowledged_once_stored() {
    let smsc = Smsc::start("secret").await;
    smsc.send_receipts();
    let (provider, mut receipts) = started(config(smsc.port, "secret")).await;
    assert!(provider.ready());
    assert_eq!(provider.channels(), ["sms"]);

    let text = "Large fire in Ghent: close doors and windows. Info 1771 {cost 0 €}";
    let accepted = provider
        .send(&sms(1, "+32470123456", text))
        .await
        .expect("accepted");

    let submits = smsc.submits_to("32470123456");
    assert_eq!(submits.len(), 1);
    let submit = &submits[0];
    assert_eq!(submit.destination, (1, 1, "32470123456".into()));
    assert_eq!(submit.source, (5, 0, "BE-Alert".into()));
    assert_eq!(submit.data_coding, 0x00);
    assert_eq!(submit.esm_class, 0x00);
    assert_eq!(submit.registered_delivery, 1);
    assert_eq!(submit.bytes, encode_gsm7(text).expect("GSM text"));
    let id = submit.id.clone().expect("accepted by the SMSC");
    assert_eq!(accepted.references, vec![id.clone()]);
    assert_eq!(accepted.reach, None);

    // The receipt reaches the engine, and the SMSC hears nothing before it answers.
    let (receipt, answer) = next_receipt(&mut receipts).await;
    assert_eq!(
        receipt,
        Receipt {
            provider: "test-smsc".into(),
            reference: id.clone(),
            failure: None
        }
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        smsc.answers_for(&id).is_empty(),
        "acknowledged before stored"
    );

    // Not stored: the SMSC is told to try again, and does.
    answer.send(false).expect("provider waits");
    let (again, answer) = next_receipt(&mut receipts).await;
    assert_eq!(again.reference, id);
    assert_eq!(
        smsc.answers_for(&id),
        vec![SmppError::ESME_RX_T_APPN as u32]
    );
    answer.send(true).expect("provider waits");
    wait_for("the acknowledgement", Duration::from_secs(2), || {
        smsc.answers_for(&id).len() == 2
    })
    .await;
    assert_eq!(smsc.answers_for(&id), vec![0x64, 0x00]);

    // A failed delivery reported only in the receipt's text.
    smsc.receipt_kind("32470000002", 5, false);
    let accepted = provider
        .send(&sms(2, "+32470000002", "Test"))
        .await
        .expect("accepted");
    let (receipt, answer) = next_receipt(&mut receipts).await;
    assert_eq!(receipt.reference, accepted.references[0]);
    assert_eq!(receipt.failure.as_deref(), Some("UNDELIVERABLE (err:001)"));
    answer.send(true).expect("provider waits");

    // A citizen's reply is accepted and is no receipt.
    assert_eq!(smsc.deliver_reply("32470123456").await, 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(receipts.try_recv().is_err(), "a reply is not a receipt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_ucs2_text_goes_as_concatenated_segments() {
    let smsc = Smsc::start("secret").await;
    let (provider, _receipts) = started(config(smsc.port, "secret")).await;
    let text = "🔥 Προσοχή: μεγάλη πυρκαγιά στη Γάνδη. Κλείστε πόρτες και παράθυρα, \
                μείνετε μέσα και ακούστε το ραδιόφωνο. Внимание: пожар, закройте окна и двери. \
                Πληροφορίες στο 1771.";
    let expected = analyse(text);
    assert!(expected.segments >= 3, "{expected:?}");

    let accepted = provider
        .send(&sms(42, "+32470111111", text))
        .await
        .expect("accepted");

    let submits = smsc.submits_to("32470111111");
    assert_eq!(submits.len(), expected.segments);
    assert_eq!(
        accepted.references,
        submits
            .iter()
            .map(|s| s.id.clone().expect("accepted"))
            .collect::<Vec<_>>()
    );
    let reference = submits[0].bytes[3];
    let total = u8::try_from(submits.len()).expect("few segments");
    let mut payload = Vec::new();
    for (seq, submit) in (1..).zip(&submits) {
        assert_eq!(submit.data_coding, 0x08);
        assert_eq!(submit.esm_class, 0x40);
        assert_eq!(submit.bytes[..6], [0x05, 0x00, 0x03, reference, total, seq]);
        assert!(submit.bytes.len() <= 140, "a segment fits one SMS");
        payload.extend_from_slice(&submit.bytes[6..]);
    }
    assert_eq!(decode_ucs2(&payload).expect("UTF-16BE"), text);

    // Another message gets another concatenation reference.
    provider
        .send(&sms(43, "+32470111112", text))
        .await
        .expect("accepted");
    assert_ne!(smsc.submits_to("32470111112")[0].bytes[3], reference);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_classified() {
    let smsc = Smsc::start("secret").await;
    let (provider, _receipts) = started(config(smsc.port, "secret")).await;
    smsc.fault("32470000001", Fault::Throttle);
    smsc.fault("32470000002", Fault::QueueFull);
    smsc.fault("32470000003", Fault::InvalidDestination);
    smsc.fault("32470000004", Fault::SystemError);
    smsc.fault("32470000005", Fault::FailSegment(2));
    smsc.fault("32470000006", Fault::FailSegment(1));

    let outcome = |n: u8| {
        let provider = provider.clone();
        async move {
            provider
                .send(&sms(i64::from(n), &format!("+3247000000{n}"), "Hello"))
                .await
        }
    };
    assert_eq!(
        outcome(1).await,
        Err(ChannelError::Throttled(
            "smpp 0x00000058 ESME_RTHROTTLED".into()
        ))
    );
    assert_eq!(
        outcome(2).await,
        Err(ChannelError::Throttled(
            "smpp 0x00000014 ESME_RMSGQFUL".into()
        ))
    );
    assert_eq!(
        outcome(3).await,
        Err(ChannelError::Permanent(
            "smpp 0x0000000B ESME_RINVDSTADR".into()
        ))
    );
    assert_eq!(
        outcome(4).await,
        Err(ChannelError::Temporary(
            "smpp 0x00000008 ESME_RSYSERR".into()
        ))
    );

    // A refusal after the first segment left: a resend would duplicate it.
    let long = "Evacuate the area north of the E40 between Aalter and Drongen now. \
                Follow police instructions, take medicines and papers, help neighbours. \
                Reception centre: sports hall, Drongen.";
    assert_eq!(analyse(long).segments, 2);
    let partial = provider.send(&sms(5, "+32470000005", long)).await;
    assert!(
        matches!(&partial, Err(ChannelError::Unknown(reason)) if reason.contains("segment 2 of 2")),
        "{partial:?}"
    );
    // A refusal of the first segment: nothing left.
    let first = provider.send(&sms(6, "+32470000006", long)).await;
    assert!(
        matches!(first, Err(ChannelError::Throttled(_))),
        "{first:?}"
    );
    assert_eq!(
        smsc.submits_to("32470000006").len(),
        1,
        "stopped at the refusal"
    );

    // Never sendable, and never submitted.
    let before = smsc.submit_count();
    assert!(matches!(
        provider.send(&sms(7, "0470123456", "Hello")).await,
        Err(ChannelError::Permanent(_))
    ));
    let email = Envelope {
        delivery: 8,
        message: Outbound::Email {
            to: "a@example.org".into(),
            subject: "s".into(),
            body: "b".into(),
            html: None,
            unsubscribe: None,
        },
    };
    assert!(matches!(
        provider.send(&email).await,
        Err(ChannelError::Permanent(_))
    ));
    assert_eq!(smsc.submit_count(), before);
    assert!(provider.ready(), "refusals do not break the bind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_smsc_gives_an_unknown_outcome_after_the_submit_timeout() {
    let smsc = Smsc::start("secret").await;
    let mut config = config(smsc.port, "secret");
    config.submit_timeout = Duration::from_millis(300);
    let (provider, _receipts) = started(config).await;
    smsc.fault("32470999999", Fault::Silent);

    let start = Instant::now();
    let outcome = provider.send(&sms(1, "+32470999999", "Hello")).await;
    let waited = start.elapsed();
    assert!(
        matches!(&outcome, Err(ChannelError::Unknown(reason)) if reason.contains("submit_sm_resp")),
        "{outcome:?}"
    );
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_millis(1500), "{waited:?}");
    assert_eq!(
        smsc.submits_to("32470999999").len(),
        1,
        "it did reach the SMSC"
    );

    assert!(provider.ready());
    provider
        .send(&sms(2, "+32470123456", "Hello"))
        .await
        .expect("the bind still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_leaves_in_flight_submits_unknown_and_the_bind_comes_back() {
    let smsc = Smsc::start("secret").await;
    let relay = Relay::start(smsc.port).await;
    let mut config = config(relay.port, "secret");
    config.submit_timeout = Duration::from_secs(10);
    let (provider, _receipts) = started(config).await;
    assert_eq!(smsc.bind_attempts(), 1);

    let mut in_flight = tokio::task::JoinSet::new();
    for n in 0..5 {
        let destination = format!("3247055500{n}");
        smsc.fault(&destination, Fault::Silent);
        let provider = provider.clone();
        in_flight.spawn(async move {
            provider
                .send(&sms(n, &format!("+{destination}"), "Hello"))
                .await
        });
    }
    wait_for("the SMSC to hold 5 submits", Duration::from_secs(5), || {
        smsc.submit_count() == 5
    })
    .await;

    let cut = Instant::now();
    relay.cut_all();
    while let Some(outcome) = in_flight.join_next().await {
        let outcome = outcome.expect("send task");
        assert!(
            matches!(outcome, Err(ChannelError::Unknown(_))),
            "{outcome:?}"
        );
    }
    assert!(
        cut.elapsed() < Duration::from_secs(3),
        "known as lost long before the 10 s submit timeout: {:?}",
        cut.elapsed()
    );

    wait_for("a new bind", Duration::from_secs(5), || {
        smsc.bind_attempts() >= 2 && provider.ready()
    })
    .await;
    let accepted = provider
        .send(&sms(10, "+32470123456", "Back"))
        .await
        .expect("sent on the new bind");
    assert_eq!(accepted.references.len(), 1);

    // The SMSC may also unbind politely: the provider binds again. (smpp34's
    // server cannot take the unbind_resp it asked for, it nacks it, so its own
    // send_unbind always reports an error.)
    for esme in smsc.esmes() {
        let _ = esme.send_unbind().await;
    }
    wait_for(
        "a bind after the SMSC's unbind",
        Duration::from_secs(5),
        || smsc.bind_attempts() >= 3 && provider.ready(),
    )
    .await;
    provider
        .send(&sms(11, "+32470123456", "Again"))
        .await
        .expect("sent after the SMSC's unbind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_bind_leaves_the_provider_unavailable() {
    let smsc = Smsc::start("secret").await;
    let (provider, _receipts) = start(config(smsc.port, "wrong"));
    wait_for("a bind attempt", Duration::from_secs(2), || {
        smsc.bind_attempts() >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!provider.ready());
    assert_eq!(provider.bound(), 0);
    assert_eq!(smsc.bound_sessions(), 0);

    let start = Instant::now();
    let outcome = provider.send(&sms(1, "+32470123456", "Hello")).await;
    assert!(
        matches!(outcome, Err(ChannelError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(smsc.submit_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_sends_spread_over_the_binds() {
    let count: i64 = std::env::var("SMPP_LOAD_COUNT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let smsc = Smsc::start("secret").await;
    let mut config = config(smsc.port, "secret");
    config.binds = 4;
    config.window = 64;
    config.submit_timeout = Duration::from_secs(10);
    let (provider, _receipts) = started(config).await;
    assert_eq!(provider.concurrency(), 256);

    let start = Instant::now();
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..count {
        let provider = provider.clone();
        sends.spawn(async move {
            provider
                .send(&sms(n, &format!("+3247{n:07}"), "Close doors and windows."))
                .await
        });
    }
    let mut references = HashSet::new();
    while let Some(outcome) = sends.join_next().await {
        let accepted = outcome.expect("send task").expect("accepted");
        assert_eq!(accepted.references.len(), 1);
        references.insert(accepted.references[0].clone());
    }
    let elapsed = start.elapsed();
    println!(
        "{count} SMS over 4 binds in {:.3} s: {:.0} submit_sm/s",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(references.len(), usize::try_from(count).expect("count"));

    let submits = smsc.submits();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for submit in &submits {
        *seen.entry(submit.destination.2.as_str()).or_default() += 1;
    }
    assert_eq!(seen.len(), submits.len(), "each destination exactly once");
    assert_eq!(submits.len(), usize::try_from(count).expect("count"));
    let sessions: HashSet<&str> = submits.iter().map(|s| s.session.as_str()).collect();
    assert!(sessions.len() > 1, "only {} bind(s) used", sessions.len());

    // Shutting down unbinds every session and refuses further sends.
    provider.shutdown().await;
    assert!(!provider.ready());
    wait_for(
        "the SMSC to see the unbinds",
        Duration::from_secs(3),
        || smsc.bound_sessions() == 0,
    )
    .await;
    assert!(matches!(
        provider.send(&sms(-1, "+32470123456", "late")).await,
        Err(ChannelError::Unavailable(_))
    ));
}
