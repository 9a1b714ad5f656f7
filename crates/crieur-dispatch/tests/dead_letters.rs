//! The coordinator against a real nats-server: it publishes claimed batches
//! once (a restart publishes the unconfirmed ones again under the same
//! message id, dropped as duplicates), and a batch that workers take and never
//! finish is dead-lettered after `max_deliver` deliveries: its deliveries
//! without an outcome fail as possibly sent, a record is kept, and the message
//! leaves the stream. Skipped without `nats-server`, unless
//! `CRIEUR_REQUIRE_PEERS=1`.

use async_nats::jetstream::{self, consumer::PullConsumer};
use crieur_dispatch::queue::{Coordinator, QueueSettings};
use crieur_store::{SingleMessage, Store};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

struct Nats(std::process::Child, u16);

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nats(dir: &std::path::Path) -> Option<Nats> {
    let binary = crieur_testkit::peer(
        "nats-server",
        &[
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
            "nats-server",
        ],
        "apt-get install nats-server",
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.join("nats"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nats-server starts");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nats-server did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Nats(child, port))
}

fn codes(n: usize) -> Vec<SingleMessage> {
    (0..n)
        .map(|i| SingleMessage {
            channel: "sms".into(),
            language: "fr".into(),
            address: format!("+3247{i:07}"),
            subject: String::new(),
            body: format!("code {i}"),
        })
        .collect()
}

fn coordinator(
    store: &Store,
    settings: &QueueSettings,
) -> (Arc<Notify>, tokio::task::JoinHandle<()>) {
    let stop = Arc::new(Notify::new());
    let run = Coordinator {
        store: store.clone(),
        settings: settings.clone(),
        wake: Arc::new(Notify::new()),
        idle: Duration::from_millis(50),
    }
    .run(stop.clone());
    (
        stop,
        tokio::spawn(async move { run.await.expect("the coordinator runs") }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_never_finished_is_dead_lettered_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = nats(dir.path()) else {
        return;
    };
    let store = Store::open(&format!("sqlite://{}", dir.path().join("d.db").display()))
        .await
        .unwrap();
    store
        .deliveries()
        .enqueue_messages(codes(10))
        .await
        .unwrap();
    let settings = QueueSettings {
        url: format!("nats://127.0.0.1:{}", server.1),
        ack_wait: Duration::from_secs(1),
        max_deliver: 2,
        batch: 4,
        ..QueueSettings::default()
    };
    let (stop, running) = coordinator(&store, &settings);

    // A worker that takes every batch it is given and dies before finishing.
    let client = async_nats::connect(settings.url.as_str()).await.unwrap();
    let js = jetstream::new(client);
    let consumer: PullConsumer = loop {
        if let Ok(s) = js.get_stream(&settings.stream).await
            && let Ok(c) = s.get_consumer("crieur_work-sms").await
        {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let start = Instant::now();
    let mut deliveries = 0;
    while store.batches().dead_letters().await.unwrap().len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "not dead-lettered: {:?}",
            store.batches().open_batches().await.unwrap()
        );
        let mut got = consumer
            .fetch()
            .max_messages(10)
            .expires(Duration::from_millis(300))
            .messages()
            .await
            .unwrap();
        while let Some(Ok(m)) = got.next().await {
            let info = m.info().unwrap();
            let batch: i64 = std::str::from_utf8(&m.payload).unwrap().parse().unwrap();
            store
                .batches()
                .take_batch(batch, "doomed", info.stream_sequence, 0)
                .await
                .unwrap();
            deliveries += 1;
        }
    }
    let mut stream = js.get_stream(&settings.stream).await.unwrap();
    while stream.info().await.unwrap().state.messages > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "dead-lettered messages are deleted from the stream"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.notify_one();
    running.await.unwrap();

    // 10 codes in batches of 4: three batches, each delivered twice.
    assert_eq!(deliveries, 6, "max_deliver is kept");
    let letters = store.batches().dead_letters().await.unwrap();
    assert_eq!(letters.iter().map(|d| d.deliveries).sum::<u64>(), 10);
    assert!(
        letters
            .iter()
            .all(|d| d.takes == 2 && d.worker.as_deref() == Some("doomed"))
    );
    // Nothing silently stuck: every code failed, visibly, and the stream is empty.
    assert_eq!(store.deliveries().unfinished_deliveries().await.unwrap(), 0);
    assert!(store.batches().open_batches().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_takers_die_before_taking_it_is_dead_lettered_too() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = nats(dir.path()) else {
        return;
    };
    let store = Store::open(&format!("sqlite://{}", dir.path().join("a.db").display()))
        .await
        .unwrap();
    store.deliveries().enqueue_messages(codes(3)).await.unwrap();
    let settings = QueueSettings {
        url: format!("nats://127.0.0.1:{}", server.1),
        ack_wait: Duration::from_secs(1),
        max_deliver: 2,
        ..QueueSettings::default()
    };
    let (stop, running) = coordinator(&store, &settings);
    let client = async_nats::connect(settings.url.as_str()).await.unwrap();
    let js = jetstream::new(client);
    let consumer: PullConsumer = loop {
        if let Ok(s) = js.get_stream(&settings.stream).await
            && let Ok(c) = s.get_consumer("crieur_work-sms").await
        {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Fetched and dropped every time: the store never hears of a take, so
    // only the server's advisory can tell the batch is spent.
    let start = Instant::now();
    let mut deliveries = 0;
    while store.batches().dead_letters().await.unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "not dead-lettered"
        );
        let mut got = consumer
            .fetch()
            .max_messages(10)
            .expires(Duration::from_millis(300))
            .messages()
            .await
            .unwrap();
        while let Some(Ok(_)) = got.next().await {
            deliveries += 1;
        }
    }
    stop.notify_one();
    running.await.unwrap();
    assert_eq!(deliveries, 2, "max_deliver is kept");
    let letters = store.batches().dead_letters().await.unwrap();
    assert_eq!((letters[0].deliveries, letters[0].takes), (3, 0));
    assert_eq!(store.deliveries().unfinished_deliveries().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_publishes_each_batch_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = nats(dir.path()) else {
        return;
    };
    let store = Store::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
        .await
        .unwrap();
    let settings = QueueSettings {
        url: format!("nats://127.0.0.1:{}", server.1),
        batch: 5,
        ..QueueSettings::default()
    };
    // A batch claimed by a coordinator that stopped before hearing that the
    // queue stored it, and one never sent at all.
    store
        .deliveries()
        .enqueue_messages(codes(10))
        .await
        .unwrap();
    let first = store
        .batches()
        .claim_batch("sms", 5, 0)
        .await
        .unwrap()
        .unwrap();
    let second = store
        .batches()
        .claim_batch("sms", 5, 0)
        .await
        .unwrap()
        .unwrap();
    let client = async_nats::connect(settings.url.as_str()).await.unwrap();
    let js = jetstream::new(client);
    let _ = js
        .create_stream(jetstream::stream::Config {
            name: settings.stream.clone(),
            subjects: vec![format!("{}.>", settings.subject)],
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            duplicate_window: settings.duplicate_window,
            ..Default::default()
        })
        .await
        .unwrap();
    js.send_publish(
        "crieur.work.sms",
        jetstream::message::PublishMessage::build()
            .payload(first.id.to_string().into())
            .message_id(format!("crieur-batch-{}", first.id)),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    let (stop, running) = coordinator(&store, &settings);
    let start = Instant::now();
    while !store
        .batches()
        .unpublished_batches()
        .await
        .unwrap()
        .is_empty()
    {
        assert!(start.elapsed() < Duration::from_secs(20), "not published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.notify_one();
    running.await.unwrap();
    let mut stream = js.get_stream(&settings.stream).await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        2,
        "batches {} and {} once each",
        first.id,
        second.id
    );
}
