//! Batches handed to workers through the queue: a claim marks its rows with
//! the batch, a second take flags what is left as possibly duplicated, the
//! start-up recovery of a coordinator leaves batches alone, and a batch given
//! up fails what it has left (possibly sent) with a record for operators.
//! Also: two handles on one database (two processes: two SQLite writers on
//! one file, or two PostgreSQL pools) claim without overlapping. Each story
//! runs on both backends.

#[macro_use]
extern crate crieur_testkit;

use crieur_store::{DeliveryOutcome, OutcomeKind, SingleMessage, Store, StoreError};
use crieur_testkit::{Backend, TestDb};

struct Fixture {
    store: Store,
    db: TestDb,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = crieur_testkit::database(backend)?;
    let store = Store::open(&db.url).await.unwrap();
    Some(Fixture { store, db })
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

fn sent(id: i64) -> DeliveryOutcome {
    DeliveryOutcome {
        id,
        provider: "smsc".into(),
        result: OutcomeKind::Sent {
            references: vec![],
            await_receipts: false,
            reach: None,
            confirmed: false,
        },
    }
}

story! {
async fn a_batch_is_taken_flagged_on_redelivery_and_dead_lettered(f) {
    let store = f.store.clone();
    store
        .deliveries()
        .enqueue_messages(codes(10))
        .await
        .unwrap();
    let b = store.batches();

    let batch = b
        .claim_batch("sms", 6, 100)
        .await
        .unwrap()
        .expect("a batch");
    assert_eq!((batch.channel.as_str(), batch.size), ("sms", 6));
    assert_eq!(b.unpublished_batches().await.unwrap(), vec![batch.clone()]);
    b.batch_published(batch.id, 101).await.unwrap();
    assert!(b.unpublished_batches().await.unwrap().is_empty());
    assert!(b.claim_batch("email", 6, 100).await.unwrap().is_none());

    // A coordinator's restart leaves the batch's claims to the queue.
    assert_eq!(b.recover_unbatched_deliveries().await.unwrap(), 0);

    let open = b.open_batches().await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].published && open[0].takes == 0 && open[0].worker.is_none());
    let first = b.take_batch(batch.id, "w1", 7, 102).await.unwrap();
    let open = b.open_batches().await.unwrap();
    assert_eq!((open[0].takes, open[0].worker.as_deref()), (1, Some("w1")));
    assert_eq!(first.takes, 1);
    assert_eq!(first.deliveries.len(), 6);
    assert!(first.deliveries.iter().all(|d| d.body.starts_with("code")));
    // w1 records two outcomes, then dies.
    let done: Vec<i64> = first.deliveries[..2].iter().map(|d| d.id).collect();
    store
        .deliveries()
        .record_deliveries(done.iter().map(|id| sent(*id)).collect(), vec![], 103)
        .await
        .unwrap();

    let second = b.take_batch(batch.id, "w2", 7, 110).await.unwrap();
    assert_eq!(second.takes, 2);
    let left: Vec<i64> = second.deliveries.iter().map(|d| d.id).collect();
    assert_eq!(left.len(), 4);
    assert!(
        left.iter().all(|id| !done.contains(id)),
        "recorded ones are skipped"
    );

    // Taken twice and idle since 110: stale for max_deliver 2, not for 3.
    assert!(b.stale_batches(3, 200).await.unwrap().is_empty());
    assert!(b.stale_batches(2, 110).await.unwrap().is_empty());
    let stale = b.stale_batches(2, 200).await.unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!((stale[0].id, stale[0].stream_seq), (batch.id, Some(7)));

    let failed = b
        .dead_letter_batch(batch.id, "too many deliveries", 201)
        .await
        .unwrap();
    assert_eq!(failed, 4);
    let letters = b.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].batch_id, letters[0].deliveries, letters[0].takes),
        (batch.id, 4, 2)
    );
    assert_eq!(letters[0].worker.as_deref(), Some("w2"));
    assert!(b.stale_batches(2, 300).await.unwrap().is_empty(), "closed");
    assert!(b.open_batches().await.unwrap().is_empty());
    // Nothing left claimed: 4 of the 10 are still queued, never taken.
    assert_eq!(store.deliveries().unfinished_deliveries().await.unwrap(), 4);
    assert_eq!(
        b.dead_letter_batch(batch.id, "again", 202).await.unwrap(),
        0
    );

    assert!(matches!(
        b.take_batch(9_999, "w1", 1, 300).await,
        Err(StoreError::NotFound)
    ));
}
}

story! {
async fn an_embedded_claim_is_recovered_and_a_finished_batch_closed(f) {
    let store = f.store.clone();
    store.deliveries().enqueue_messages(codes(4)).await.unwrap();
    let embedded = store
        .deliveries()
        .claim_deliveries("sms", 2, 100)
        .await
        .unwrap();
    assert_eq!(embedded.len(), 2);
    let batch = store
        .batches()
        .claim_batch("sms", 10, 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.size, 2);
    // Only the embedded engine's claims go back.
    assert_eq!(
        store
            .batches()
            .recover_unbatched_deliveries()
            .await
            .unwrap(),
        2
    );
    let taken = store
        .batches()
        .take_batch(batch.id, "w", 1, 101)
        .await
        .unwrap();
    store
        .deliveries()
        .record_deliveries(
            taken.deliveries.iter().map(|d| sent(d.id)).collect(),
            vec![],
            102,
        )
        .await
        .unwrap();
    store.batches().close_batch(batch.id, 103).await.unwrap();
    let again = store
        .batches()
        .take_batch(batch.id, "w", 1, 104)
        .await
        .unwrap();
    assert!(again.deliveries.is_empty(), "nothing left to send");
    assert_eq!(
        store
            .batches()
            .dead_letter_batch(batch.id, "x", 105)
            .await
            .unwrap(),
        0
    );
    assert!(store.batches().dead_letters().await.unwrap().is_empty());
}
}

story! {
async fn two_handles_on_one_database_claim_without_overlap(f) {
    // Two stores: two writer threads and pools, as two processes have.
    let a = f.store.clone();
    let b = Store::open(&f.db.url).await.unwrap();
    a.deliveries().enqueue_messages(codes(2_000)).await.unwrap();
    let claim = |s: Store| async move {
        let mut ids = Vec::new();
        while let Some(batch) = s.batches().claim_batch("sms", 37, 100).await.unwrap() {
            let taken = s.batches().take_batch(batch.id, "w", 1, 100).await.unwrap();
            ids.extend(taken.deliveries.iter().map(|d| d.id));
        }
        ids
    };
    let (x, y) = tokio::join!(tokio::spawn(claim(a.clone())), tokio::spawn(claim(b)));
    let (x, y) = (x.unwrap(), y.unwrap());
    let mut all: Vec<i64> = x.iter().chain(&y).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        2_000,
        "each claimed once: {} + {}",
        x.len(),
        y.len()
    );
    assert_eq!(x.len() + y.len(), 2_000);
    eprintln!("claimed {} and {} through two writers", x.len(), y.len());
}
}
