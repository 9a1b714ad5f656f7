//! The engine's promises, with scripted providers (the wire protocols are
//! tested against real peers in crieur-channels): each delivery is sent once,
//! except the claimed window after a crash, which is counted; priorities;
//! retries; permanent failures with their reason; "retry the failed ones";
//! failover; cancel; receipts; pace.

use crieur_channels::{Accepted, ChannelError, Envelope, Provider, Receipt, ReceiptSink};
use crieur_dispatch::{Dispatcher, Settings};
use crieur_store::{
    AlertState, DeliveryCounts, NewAccount, NewAlert, PlannedDelivery, PlannedText, Priority,
    Release, SingleMessage, Store,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

/// What a scripted provider does for one address at one attempt.
type Script = dyn Fn(&str, usize) -> Result<Accepted, ChannelError> + Send + Sync;

struct Scripted {
    name: &'static str,
    ready: AtomicBool,
    concurrency: usize,
    rate: Option<f64>,
    receipts: bool,
    delay: Duration,
    script: Box<Script>,
    /// Every send, in order: (address, text).
    log: Mutex<Vec<(String, String)>>,
    tries: Mutex<HashMap<String, usize>>,
}

impl std::fmt::Debug for Scripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Scripted {
    fn new(name: &'static str) -> Scripted {
        Scripted {
            name,
            ready: AtomicBool::new(true),
            concurrency: 64,
            rate: None,
            receipts: false,
            delay: Duration::ZERO,
            script: Box::new(|to, _| {
                Ok(Accepted {
                    references: vec![format!("ref-{to}")],
                    reach: None,
                    confirmed: false,
                })
            }),
            log: Mutex::default(),
            tries: Mutex::default(),
        }
    }

    fn sent(&self) -> Vec<(String, String)> {
        self.log.lock().unwrap().clone()
    }

    fn per_address(&self) -> HashMap<String, usize> {
        let mut n = HashMap::new();
        for (to, _) in self.sent() {
            *n.entry(to).or_default() += 1;
        }
        n
    }
}

#[async_trait::async_trait]
impl Provider for Scripted {
    fn name(&self) -> &str {
        self.name
    }
    fn channels(&self) -> &'static [&'static str] {
        &["sms", "email"]
    }
    fn concurrency(&self) -> usize {
        self.concurrency
    }
    fn rate(&self) -> Option<f64> {
        self.rate
    }
    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
    fn receipts(&self) -> bool {
        self.receipts
    }
    async fn send(&self, e: &Envelope) -> Result<Accepted, ChannelError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let to = e.message.recipient().to_owned();
        let attempt = {
            let mut tries = self.tries.lock().unwrap();
            let n = tries.entry(to.clone()).or_default();
            *n += 1;
            *n
        };
        let result = (self.script)(&to, attempt);
        if result.is_ok() {
            let text = match &e.message {
                crieur_channels::Outbound::Sms { text, .. } => text.clone(),
                crieur_channels::Outbound::Email { body, .. } => body.clone(),
                _ => String::new(),
            };
            self.log.lock().unwrap().push((to, text));
        }
        result
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    url: String,
    store: Store,
    account: i64,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let store = Store::open(&url).await.unwrap();
    let account = store
        .accounts()
        .create_account(&NewAccount {
            username: "mayor".into(),
            display_name: "Mayor".into(),
            role: crieur_domain::access::Role::Mayor,
            territory: "62063".parse().unwrap(),
            password_hash: "not used".into(),
            totp_secret: None,
        })
        .await
        .unwrap()
        .id;
    Harness {
        _dir: dir,
        url,
        store,
        account,
    }
}

impl Harness {
    /// Releases an alert with one SMS per number `+3247{first..first+n}`.
    async fn alert(&self, first: usize, n: usize, priority: Priority, text: &str) -> i64 {
        let alerts = self.store.alerts();
        let incident = alerts
            .open_incident("Fire", "62063".parse().unwrap(), self.account)
            .await
            .unwrap();
        let id = alerts
            .create_alert(&NewAlert {
                incident_id: incident.id,
                identifier: format!("test-{first}-{text}"),
                territory: "62063".parse().unwrap(),
                status: "Exercise".into(),
                msg_type: "Alert".into(),
                references_id: None,
                test_group: false,
                composition: "{}".into(),
                area: "[]".into(),
                fingerprint: text.into(),
                author_id: self.account,
            })
            .await
            .unwrap();
        alerts
            .release_alert(
                id,
                &Release {
                    fingerprint: text.into(),
                    from: AlertState::Draft,
                    approver: None,
                    by: self.account,
                    now: 0,
                    sent: "2026-11-29T10:00:00+00:00".into(),
                    recipients: "{}".into(),
                    texts: vec![PlannedText {
                        channel: "sms".into(),
                        language: "fr".into(),
                        subject: String::new(),
                        body: text.into(),
                    }],
                    deliveries: (first..first + n).map(number).map(sms).collect(),
                    priority,
                },
            )
            .await
            .unwrap();
        id
    }

    async fn counts(&self, alert: i64) -> DeliveryCounts {
        let all = self
            .store
            .deliveries()
            .delivery_counts(alert)
            .await
            .unwrap();
        all.into_iter().fold(DeliveryCounts::default(), |mut t, c| {
            t.queued += c.queued;
            t.sending += c.sending;
            t.sent += c.sent;
            t.delivered += c.delivered;
            t.failed += c.failed;
            t.retrying += c.retrying;
            t.cancelled += c.cancelled;
            t.confirmed += c.confirmed;
            t.possible_duplicates += c.possible_duplicates;
            t
        })
    }

    /// Starts the engine; stop it with the returned handle.
    fn start(&self, providers: Vec<Arc<dyn Provider>>, settings: Settings) -> Running {
        self.start_with_receipts(providers, settings, crieur_dispatch::receipts())
    }

    fn start_with_receipts(
        &self,
        providers: Vec<Arc<dyn Provider>>,
        settings: Settings,
        (_sink, receipts): (ReceiptSink, crieur_dispatch::ReceiptQueue),
    ) -> Running {
        let stop = Arc::new(Notify::new());
        let wake = Arc::new(Notify::new());
        wake.notify_waiters();
        let task = tokio::spawn(
            Dispatcher {
                store: self.store.clone(),
                providers,
                receipts,
                settings,
                wake,
            }
            .run(stop.clone()),
        );
        Running { stop, task }
    }
}

struct Running {
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<Result<(), crieur_store::StoreError>>,
}

impl Running {
    async fn stop(self) {
        self.stop.notify_one();
        self.task.await.unwrap().unwrap();
    }
}

fn number(i: usize) -> String {
    format!("+3247{i:07}")
}

fn sms(address: String) -> PlannedDelivery {
    PlannedDelivery {
        channel: "sms".into(),
        language: "fr".into(),
        address,
    }
}

fn fast() -> Settings {
    Settings {
        backoff: Duration::from_millis(10),
        idle: Duration::from_millis(50),
        ..Settings::default()
    }
}

/// Waits until `done` holds for the alert's counts, or fails after 30 s.
async fn until(h: &Harness, alert: i64, done: impl Fn(&DeliveryCounts) -> bool) -> DeliveryCounts {
    let start = Instant::now();
    loop {
        let c = h.counts(alert).await;
        if done(&c) {
            return c;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "stuck at {c:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_delivery_leaves_once() {
    let h = harness().await;
    let alert = h
        .alert(0, 3_000, Priority::Actual, "Fermez les fenêtres")
        .await;
    let p = Arc::new(Scripted::new("smsc"));
    let run = h.start(vec![p.clone()], fast());
    let c = until(&h, alert, |c| c.sent == 3_000).await;
    run.stop().await;
    assert_eq!(
        (c.queued, c.sending, c.failed, c.possible_duplicates),
        (0, 0, 0, 0)
    );
    let per = p.per_address();
    assert_eq!(per.len(), 3_000);
    assert!(per.values().all(|n| *n == 1));
    assert!(p.sent().iter().all(|(_, t)| t == "Fermez les fenêtres"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_but_unrecorded_deliveries_are_sent_again_and_counted() {
    let h = harness().await;
    let alert = h.alert(0, 1_000, Priority::Actual, "Alerte").await;
    // A process claims a batch, sends part of it, and dies before recording.
    let lost = h
        .store
        .deliveries()
        .claim_deliveries("sms", 100, 0)
        .await
        .unwrap();
    assert_eq!(lost.len(), 100);
    let p = Arc::new(Scripted::new("smsc"));
    for d in &lost[..60] {
        p.send(&Envelope {
            delivery: d.id,
            message: crieur_dispatch::message(d).unwrap(),
        })
        .await
        .unwrap();
    }
    let Harness {
        _dir, url, store, ..
    } = h;
    drop(store);
    // The next process starts on the same file.
    let store = Store::open(&url).await.unwrap();
    let h = Harness {
        _dir,
        url,
        store,
        account: 1,
    };
    let run = h.start(vec![p.clone()], fast());
    let c = until(&h, alert, |c| c.sent == 1_000).await;
    run.stop().await;
    assert_eq!(c.possible_duplicates, 100, "the claimed window, no more");
    let per = p.per_address();
    assert_eq!(per.len(), 1_000);
    assert_eq!(per.values().filter(|n| **n == 2).count(), 60);
    assert!(per.values().all(|n| *n <= 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_then_actual_alerts_then_exercises() {
    let h = harness().await;
    let exercise = h.alert(0, 200, Priority::Practice, "EXERCICE").await;
    let actual = h.alert(1_000, 200, Priority::Actual, "ALERTE").await;
    h.store
        .deliveries()
        .enqueue_messages(vec![SingleMessage {
            channel: "sms".into(),
            language: "fr".into(),
            address: "+32499000000".into(),
            subject: String::new(),
            body: "Votre code: 123456".into(),
        }])
        .await
        .unwrap();
    let mut p = Scripted::new("smsc");
    p.concurrency = 1;
    let p = Arc::new(p);
    let run = h.start(vec![p.clone()], fast());
    until(&h, exercise, |c| c.sent == 200).await;
    run.stop().await;
    assert_eq!(h.counts(actual).await.sent, 200);
    let texts: Vec<String> = p.sent().into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts[0], "Votre code: 123456");
    assert!(
        texts[1..201].iter().all(|t| t == "ALERTE"),
        "actual before exercise"
    );
    assert!(texts[201..].iter().all(|t| t == "EXERCICE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_failures_are_retried_and_permanent_ones_kept_with_their_reason() {
    let h = harness().await;
    let alert = h.alert(0, 100, Priority::Actual, "Alerte").await;
    let mut p = Scripted::new("smsc");
    p.script = Box::new(|to, attempt| {
        let i: usize = to[5..].parse().unwrap();
        match i % 10 {
            // busy twice, then accepted
            1 if attempt <= 2 => Err(ChannelError::Temporary(
                "smpp 0x00000008 ESME_RSYSERR".into(),
            )),
            2 if attempt <= 1 => Err(ChannelError::Throttled(
                "smpp 0x00000058 ESME_RTHROTTLED".into(),
            )),
            3 if attempt <= 1 => Err(ChannelError::Unknown("no answer in 15 s".into())),
            9 => Err(ChannelError::Permanent(
                "smpp 0x0000000B ESME_RINVDSTADR".into(),
            )),
            _ => Ok(Accepted::default()),
        }
    });
    let p = Arc::new(p);
    let run = h.start(vec![p.clone()], fast());
    let c = until(&h, alert, |c| c.sent + c.failed == 100).await;
    run.stop().await;
    assert_eq!((c.sent, c.failed), (90, 10));
    assert_eq!(
        c.possible_duplicates, 10,
        "unknown outcomes count as possible duplicates"
    );
    let report = h.store.deliveries().delivery_report(alert).await.unwrap();
    let busy = report.iter().find(|l| l.address == number(1)).unwrap();
    assert_eq!((busy.state, busy.attempts), ("sent", 3));
    let bad = report.iter().find(|l| l.address == number(9)).unwrap();
    assert_eq!(bad.state, "failed");
    assert!(
        bad.error.as_deref().unwrap().contains("ESME_RINVDSTADR"),
        "{bad:?}"
    );
    assert_eq!(bad.attempts, 1, "a permanent failure is not retried");

    // "Retry the failed ones": they go again, and succeed this time.
    assert_eq!(
        h.store.deliveries().retry_failed(alert, 0).await.unwrap(),
        10
    );
    let ok = Arc::new(Scripted::new("smsc"));
    let run = h.start(vec![ok.clone()], fast());
    let c = until(&h, alert, |c| c.sent == 100).await;
    run.stop().await;
    assert_eq!(c.failed, 0);
    assert_eq!(
        ok.per_address().len(),
        10,
        "only the failed ones were sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_give_up_after_the_last_attempt() {
    let h = harness().await;
    let alert = h.alert(0, 5, Priority::Actual, "Alerte").await;
    let mut p = Scripted::new("smsc");
    p.script = Box::new(|_, _| Err(ChannelError::Temporary("smtp 451 4.3.0 later".into())));
    let p = Arc::new(p);
    let settings = Settings {
        max_attempts: 2,
        ..fast()
    };
    let run = h.start(vec![p.clone()], settings);
    let c = until(&h, alert, |c| c.failed == 5).await;
    run.stop().await;
    assert_eq!(c.sent, 0);
    let report = h.store.deliveries().delivery_report(alert).await.unwrap();
    assert!(
        report
            .iter()
            .all(|l| l.attempts == 2 && l.error.as_deref().unwrap().contains("after 2 attempts"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_provider_takes_over_while_the_first_cannot() {
    let h = harness().await;
    let alert = h.alert(0, 400, Priority::Actual, "Alerte").await;
    let mut primary = Scripted::new("primary");
    // Bound at first, then its connection drops: it says so.
    primary.script = Box::new(|_, _| Err(ChannelError::Unavailable("no bind".into())));
    let primary = Arc::new(primary);
    let backup = Arc::new(Scripted::new("backup"));
    let run = h.start(vec![primary.clone(), backup.clone()], fast());
    tokio::time::sleep(Duration::from_millis(100)).await;
    primary.ready.store(false, Ordering::SeqCst);
    let c = until(&h, alert, |c| c.sent == 400).await;
    run.stop().await;
    assert_eq!((c.failed, c.possible_duplicates), (0, 0));
    assert!(primary.sent().is_empty());
    assert_eq!(backup.per_address().len(), 400);
    let report = h.store.deliveries().delivery_report(alert).await.unwrap();
    assert!(
        report
            .iter()
            .all(|l| l.provider.as_deref() == Some("backup"))
    );
    assert!(
        report.iter().all(|l| l.attempts == 1),
        "an unavailable provider costs no attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_what_is_still_pending() {
    let h = harness().await;
    let alert = h.alert(0, 2_000, Priority::Actual, "Alerte").await;
    let mut p = Scripted::new("smsc");
    p.concurrency = 4;
    p.delay = Duration::from_millis(5);
    let p = Arc::new(p);
    let run = h.start(vec![p.clone()], fast());
    until(&h, alert, |c| c.sent >= 50).await;
    let cancelled = h
        .store
        .deliveries()
        .cancel_deliveries(alert, 0)
        .await
        .unwrap();
    let c = until(&h, alert, |c| c.sending == 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    run.stop().await;
    let c2 = h.counts(alert).await;
    assert_eq!(c.sent, c2.sent, "nothing leaves after the cancel settles");
    assert!(cancelled > 1_000, "most were still pending: {cancelled}");
    assert_eq!(c2.sent + c2.cancelled, 2_000);
    assert_eq!(p.sent().len() as u64, c2.sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_mark_deliveries_delivered_or_failed() {
    let h = harness().await;
    let alert = h.alert(0, 50, Priority::Actual, "Alerte").await;
    let mut p = Scripted::new("smsc");
    p.receipts = true;
    p.script = Box::new(|to, _| {
        Ok(Accepted {
            references: vec![format!("{to}/1"), format!("{to}/2")],
            reach: None,
            confirmed: false,
        })
    });
    let p = Arc::new(p);
    let (sink, queue) = crieur_dispatch::receipts();
    let run = h.start_with_receipts(vec![p.clone()], fast(), (sink.clone(), queue));
    // A receipt may come before its message's outcome is recorded: it waits
    // and is acknowledged once stored.
    let early = receipt(&sink, &number(0), 1, None);
    let c = until(&h, alert, |c| c.sent == 50).await;
    assert_eq!(c.delivered, 0);
    assert!(early.await.unwrap(), "acknowledged once matched");
    for i in 0..50 {
        for seg in 1..=2 {
            if i == 0 && seg == 1 {
                continue;
            }
            let failure = (i == 7 && seg == 2).then(|| "stat:UNDELIV err:001".to_owned());
            assert!(receipt(&sink, &number(i), seg, failure).await.unwrap());
        }
    }
    // A duplicate receipt is acknowledged and changes nothing.
    assert!(receipt(&sink, &number(3), 1, None).await.unwrap());
    let c = until(&h, alert, |c| c.delivered == 49).await;
    run.stop().await;
    assert_eq!((c.sent, c.failed), (0, 1));
    let report = h.store.deliveries().delivery_report(alert).await.unwrap();
    let failed = report.iter().find(|l| l.state == "failed").unwrap();
    assert_eq!(failed.address, number(7));
    assert!(failed.error.as_deref().unwrap().contains("UNDELIV"));
}

fn receipt(
    sink: &ReceiptSink,
    to: &str,
    seg: usize,
    failure: Option<String>,
) -> oneshot::Receiver<bool> {
    let (tx, rx) = oneshot::channel();
    sink.try_send((
        Receipt {
            provider: "smsc".into(),
            reference: format!("{to}/{seg}"),
            failure,
        },
        tx,
    ))
    .unwrap();
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_rate_is_kept() {
    let h = harness().await;
    let alert = h.alert(0, 300, Priority::Actual, "Alerte").await;
    let mut p = Scripted::new("smsc");
    p.rate = Some(200.0);
    let p = Arc::new(p);
    let started = Instant::now();
    let run = h.start(vec![p.clone()], fast());
    until(&h, alert, |c| c.sent == 300).await;
    let took = started.elapsed();
    run.stop().await;
    // 300 messages at 200 per second cannot take less than about 1.4 s.
    assert!(took >= Duration::from_millis(1_400), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_without_provider_fails_its_deliveries_clearly() {
    let h = harness().await;
    let alert = h.alert(0, 3, Priority::Actual, "Alerte").await;
    let run = h.start(vec![], fast());
    let c = until(&h, alert, |c| c.failed == 3).await;
    run.stop().await;
    assert_eq!(c.sent, 0);
    let report = h.store.deliveries().delivery_report(alert).await.unwrap();
    assert_eq!(
        report[0].error.as_deref(),
        Some("no sms provider is configured")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_message_is_recorded_as_confirmed() {
    let h = harness().await;
    let alert = h.alert(0, 10, Priority::Actual, "Alerte").await;
    let mut p = Scripted::new("trunk");
    // Recipients 0 to 4 press 1; the others only listen.
    p.script = Box::new(|to, _| {
        let i: usize = to[5..].parse().unwrap();
        Ok(Accepted {
            references: vec![format!("call-{i}")],
            reach: None,
            confirmed: i < 5,
        })
    });
    p.receipts = true;
    let p = Arc::new(p);
    let run = h.start(vec![p.clone()], fast());
    let c = until(&h, alert, |c| c.sent + c.confirmed == 10).await;
    run.stop().await;
    assert_eq!((c.confirmed, c.sent), (5, 5));
    let report = h.store.deliveries().delivery_report(alert).await.unwrap();
    assert_eq!(
        report
            .iter()
            .find(|l| l.address == number(0))
            .unwrap()
            .state,
        "confirmed"
    );
}
