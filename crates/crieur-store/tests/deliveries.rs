//! The dispatch bookkeeping, on each backend: a release stores its plan, claims
//! take due work by priority and never one row twice (even from two handles at
//! once, as two processes would), outcomes and receipts move each delivery to
//! the same state, and the audit chain stays whole under concurrent appends.

#[macro_use]
extern crate crieur_testkit;

use crieur_domain::audit::{AuditRecord, verify_chain};
use crieur_store::{
    AlertState, DeliveryOutcome, NewAccount, NewAlert, OutcomeKind, PlannedDelivery, PlannedText,
    Priority, ReceiptRecord, Release, SingleMessage, Store,
};
use crieur_testkit::{Backend, TestDb};
use std::collections::HashSet;

const NOW: i64 = 1_750_000_000;

struct Fixture {
    store: Store,
    db: TestDb,
    author: i64,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = crieur_testkit::database(backend)?;
    let store = Store::open(&db.url).await.unwrap();
    let author = store
        .accounts()
        .create_account(&NewAccount {
            username: "mayor".into(),
            display_name: "Mayor".into(),
            role: crieur_domain::access::Role::Mayor,
            territory: "62063".parse().unwrap(),
            password_hash: "hash".into(),
            totp_secret: None,
        })
        .await
        .unwrap()
        .id;
    Some(Fixture { store, db, author })
}

/// Releases an alert whose plan has `n` SMS, addressed +3247000000i.
async fn released(f: &Fixture, n: usize) -> i64 {
    let alerts = f.store.alerts();
    let incident = alerts
        .open_incident("Fire", "62063".parse().unwrap(), f.author)
        .await
        .unwrap();
    let id = alerts
        .create_alert(&NewAlert {
            incident_id: incident.id,
            identifier: format!("urn:test:{}", incident.id),
            territory: "62063".parse().unwrap(),
            status: "Actual".into(),
            msg_type: "Alert".into(),
            references_id: None,
            test_group: false,
            composition: "{}".into(),
            area: "[]".into(),
            fingerprint: "fp".into(),
            author_id: f.author,
        })
        .await
        .unwrap();
    let text = |language: &str| PlannedText {
        channel: "sms".into(),
        language: language.into(),
        subject: String::new(),
        body: format!("Close your windows ({language})"),
    };
    alerts
        .release_alert(
            id,
            &Release {
                fingerprint: "fp".into(),
                from: AlertState::Draft,
                approver: None,
                by: f.author,
                now: NOW,
                sent: "2025-06-15T15:06:40+00:00".into(),
                recipients: "{}".into(),
                texts: vec![text("fr"), text("nl")],
                deliveries: (0..n)
                    .map(|i| PlannedDelivery {
                        channel: "sms".into(),
                        language: if i % 2 == 0 { "fr" } else { "nl" }.into(),
                        address: format!("+32470{i:06}"),
                    })
                    .collect(),
                priority: Priority::Actual,
            },
        )
        .await
        .unwrap();
    id
}

fn outcome(id: i64, result: OutcomeKind) -> DeliveryOutcome {
    DeliveryOutcome {
        id,
        provider: "smsc".into(),
        result,
    }
}

story! {
    async fn claims_outcomes_and_receipts_move_each_delivery_once(f) {
        let alert = released(&f, 5).await;
        let d = f.store.deliveries();
        d.enqueue_messages(vec![SingleMessage {
            channel: "sms".into(),
            language: "fr".into(),
            address: "+32470999999".into(),
            subject: String::new(),
            body: "Code 123456".into(),
        }])
        .await
        .unwrap();
        assert_eq!(d.unfinished_deliveries().await.unwrap(), 6);
        assert_eq!(d.channels_with_work().await.unwrap(), vec!["sms".to_owned()]);

        // The code first, then the plan in order, each with its text.
        let claimed = d.claim_deliveries("sms", 5, NOW).await.unwrap();
        let texts: Vec<(&str, &str, u32)> = claimed
            .iter()
            .map(|c| (c.address.as_str(), c.body.as_str(), c.attempts))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("+32470999999", "Code 123456", 1),
                ("+32470000000", "Close your windows (fr)", 1),
                ("+32470000001", "Close your windows (nl)", 1),
                ("+32470000002", "Close your windows (fr)", 1),
                ("+32470000003", "Close your windows (nl)", 1),
            ]
        );
        assert_eq!(claimed[0].alert_id, None);
        assert_eq!(claimed[1].alert_id, Some(alert));
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();

        let known = d
            .record_deliveries(
                vec![
                    outcome(ids[0], OutcomeKind::Sent {
                        references: vec![],
                        await_receipts: false,
                        reach: None,
                        confirmed: false,
                    }),
                    outcome(ids[1], OutcomeKind::Sent {
                        references: vec!["r1".into(), "r2".into()],
                        await_receipts: true,
                        reach: None,
                        confirmed: false,
                    }),
                    outcome(ids[2], OutcomeKind::Retry {
                        at: NOW + 60,
                        reason: "throttled".into(),
                        possibly_sent: true,
                    }),
                    outcome(ids[3], OutcomeKind::Failed {
                        reason: "rejected".into(),
                        possibly_sent: false,
                    }),
                    outcome(ids[4], OutcomeKind::Requeue { at: NOW }),
                ],
                vec![
                    ReceiptRecord { provider: "smsc".into(), reference: "r1".into(), failure: None },
                    // The same receipt twice counts once.
                    ReceiptRecord { provider: "smsc".into(), reference: "r1".into(), failure: None },
                    ReceiptRecord { provider: "smsc".into(), reference: "nope".into(), failure: None },
                ],
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(known, vec![true, true, false]);
        let report = d.delivery_report(alert).await.unwrap();
        let states: Vec<&str> = report.iter().map(|l| l.state).collect();
        assert_eq!(states, vec!["sent", "retrying", "failed", "retrying", "queued"]);
        assert!(report[1].possible_duplicate && !report[2].possible_duplicate);
        assert_eq!(report[2].error.as_deref(), Some("rejected"));
        // The requeued one did not count its attempt.
        assert_eq!(report[3].attempts, 0);

        // The second segment's receipt completes the message.
        let known = d
            .record_deliveries(
                vec![],
                vec![ReceiptRecord { provider: "smsc".into(), reference: "r2".into(), failure: None }],
                NOW + 1,
            )
            .await
            .unwrap();
        assert_eq!(known, vec![true]);
        assert_eq!(d.delivery_report(alert).await.unwrap()[0].state, "delivered");

        // Only due retries are claimed; then the queue by age.
        let next = d.claim_deliveries("sms", 10, NOW + 1).await.unwrap();
        let next: Vec<i64> = next.iter().map(|c| c.id).collect();
        assert_eq!(next, vec![ids[4], ids[4] + 1]);
        let later = d.claim_deliveries("sms", 10, NOW + 60).await.unwrap();
        assert_eq!(later.iter().map(|c| (c.id, c.attempts)).collect::<Vec<_>>(), vec![(ids[2], 2)]);

        // A stop: what was claimed goes back, marked as possibly duplicated.
        assert_eq!(d.recover_deliveries().await.unwrap(), 3);
        assert_eq!(d.retry_failed(alert, NOW + 70).await.unwrap(), 1);
        assert_eq!(d.cancel_deliveries(alert, NOW + 80).await.unwrap(), 4);
        assert_eq!(d.unfinished_deliveries().await.unwrap(), 0);
        let counts = d.delivery_counts(alert).await.unwrap();
        assert_eq!(counts.len(), 2, "{counts:?}");
        // Never given to a provider (the requeued one, and the last) comes
        // first, as SQLite sorts NULL.
        assert_eq!(counts[0].provider, None);
        assert_eq!((counts[0].cancelled, counts[0].possible_duplicates), (2, 2));
        assert_eq!(counts[1].provider.as_deref(), Some("smsc"));
        assert_eq!(
            (counts[1].delivered, counts[1].cancelled, counts[1].possible_duplicates),
            (1, 2, 1)
        );
    }
}

story! {
    async fn a_failed_receipt_ends_a_message_whatever_came_before(f) {
        let alert = released(&f, 1).await;
        let d = f.store.deliveries();
        let id = d.claim_deliveries("sms", 1, NOW).await.unwrap()[0].id;
        let sent = OutcomeKind::Sent {
            references: vec!["a".into(), "b".into(), "c".into()],
            await_receipts: true,
            reach: Some(3),
            confirmed: false,
        };
        let receipt = |r: &str, failure: Option<&str>| ReceiptRecord {
            provider: "smsc".into(),
            reference: r.into(),
            failure: failure.map(str::to_owned),
        };
        d.record_deliveries(
            vec![outcome(id, sent)],
            vec![receipt("a", None), receipt("b", Some("absent")), receipt("c", Some("later"))],
            NOW,
        )
        .await
        .unwrap();
        let line = &d.delivery_report(alert).await.unwrap()[0];
        assert_eq!((line.state, line.error.as_deref(), line.reach), ("failed", Some("absent"), Some(3)));
    }
}

story! {
    async fn two_processes_claiming_at_once_never_take_one_delivery_twice(f) {
        let alert = released(&f, 2_000).await;
        // A second handle: its own pool (and, on SQLite, its own writer), as a
        // second process would have.
        let other = Store::open(&f.db.url).await.unwrap();
        let mut workers = tokio::task::JoinSet::new();
        for store in [f.store.clone(), other.clone(), f.store.clone(), other] {
            workers.spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let claimed = store.deliveries().claim_deliveries("sms", 37, NOW).await.unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed.into_iter().map(|c| c.id));
                }
            });
        }
        let mut all = Vec::new();
        while let Some(mine) = workers.join_next().await {
            all.extend(mine.unwrap());
        }
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!((all.len(), distinct.len()), (2_000, 2_000));
        let counts = f.store.deliveries().delivery_counts(alert).await.unwrap();
        assert_eq!(counts[0].sending, 2_000);
    }
}

story! {
    async fn concurrent_appends_keep_one_unbroken_audit_chain(f) {
        let other = Store::open(&f.db.url).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..60 {
            let store = if i % 2 == 0 { f.store.clone() } else { other.clone() };
            tasks.spawn(async move {
                let record = AuditRecord::new(
                    format!("user{i}"),
                    "test.append",
                    crieur_domain::audit::Outcome::Success,
                );
                store
                    .audit()
                    .append_audit(record, format!("2025-06-15T15:06:{:02}Z", i % 60))
                    .await
                    .unwrap()
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let entries = f.store.audit().audit_entries(0, 1_000).await.unwrap();
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=60).collect::<Vec<_>>());
        assert_eq!(verify_chain(entries), Ok(60));
        let recent = f.store.audit().recent_audit(Some("user5"), 100).await.unwrap();
        assert_eq!(recent.len(), 11, "user5 and user50..59");
        assert!(recent.windows(2).all(|w| w[0].seq > w[1].seq));
    }
}
