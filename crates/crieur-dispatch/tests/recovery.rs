//! The plan stored with a release is sent once per delivery; deliveries claimed
//! by a process that stopped before recording them are sent again and counted
//! as possibly duplicated, and nothing else is.

use crieur_channels::{DeviceSimulator, Outbox};
use crieur_store::{
    AlertState, NewAccount, NewAlert, PlannedDelivery, PlannedText, Release, Store,
};
use std::sync::Arc;

async fn released_alert(store: &Store, recipients: usize) -> i64 {
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
        .unwrap();
    let alerts = store.alerts();
    let incident = alerts
        .open_incident("Fire", "62063".parse().unwrap(), account.id)
        .await
        .unwrap();
    let id = alerts
        .create_alert(&NewAlert {
            incident_id: incident.id,
            identifier: "test-1".into(),
            territory: "62063".parse().unwrap(),
            status: "Exercise".into(),
            msg_type: "Alert".into(),
            references_id: None,
            test_group: false,
            composition: "{}".into(),
            area: "[]".into(),
            fingerprint: "f".into(),
            author_id: account.id,
        })
        .await
        .unwrap();
    let deliveries = (0..recipients)
        .map(|i| PlannedDelivery {
            channel: "sms".into(),
            language: "fr".into(),
            address: format!("+3247{i:07}"),
        })
        .collect();
    alerts
        .release_alert(
            id,
            &Release {
                fingerprint: "f".into(),
                from: AlertState::Draft,
                approver: None,
                by: account.id,
                now: 0,
                sent: "2026-11-29T10:00:00+00:00".into(),
                recipients: "{}".into(),
                texts: vec![PlannedText {
                    channel: "sms".into(),
                    language: "fr".into(),
                    subject: String::new(),
                    body: "EXERCICE - Fermez portes et fenêtres.".into(),
                }],
                deliveries,
            },
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn claimed_but_unrecorded_deliveries_are_sent_again_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let store = Store::open(&url).await.unwrap();
    let alert = released_alert(&store, 1_000).await;
    // A process claims a batch, hands it to the channel, and dies before recording.
    let lost = store.deliveries().claim_deliveries(100, 0).await.unwrap();
    assert_eq!(lost.len(), 100);
    let simulator = Arc::new(DeviceSimulator::new(10_000));
    for d in &lost[..60] {
        simulator
            .send(crieur_dispatch::message(d).unwrap())
            .await
            .unwrap();
    }
    drop(store);

    // The next process starts.
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.deliveries().recover_deliveries().await.unwrap(), 100);
    while crieur_dispatch::round(&store, simulator.as_ref())
        .await
        .unwrap()
        > 0
    {}

    let counts = store.deliveries().delivery_counts(alert).await.unwrap();
    assert_eq!(counts.len(), 1);
    let sms = &counts[0];
    assert_eq!(
        (sms.queued, sms.sending, sms.sent, sms.failed),
        (0, 0, 1_000, 0)
    );
    assert_eq!(sms.possible_duplicates, 100, "the claimed window, no more");
    // Every recipient got the alert; only those in the lost window twice.
    let mut per_number = std::collections::HashMap::<String, usize>::new();
    for m in simulator.messages(None) {
        *per_number
            .entry(m.message.recipient().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_number.len(), 1_000);
    assert_eq!(per_number.values().filter(|n| **n == 2).count(), 60);
    assert!(per_number.values().all(|n| *n <= 2));
}

#[tokio::test]
async fn a_release_that_fails_stores_no_plan() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let store = Store::open(&url).await.unwrap();
    let alert = released_alert(&store, 10).await;
    // Releasing again: the state no longer allows it, and nothing is added.
    let again = store
        .alerts()
        .release_alert(
            alert,
            &Release {
                fingerprint: "f".into(),
                from: AlertState::Draft,
                approver: None,
                by: 1,
                now: 0,
                sent: "2026-11-29T10:00:00+00:00".into(),
                recipients: "{}".into(),
                texts: vec![],
                deliveries: vec![PlannedDelivery {
                    channel: "sms".into(),
                    language: "fr".into(),
                    address: "+32470999999".into(),
                }],
            },
        )
        .await;
    assert!(again.is_err());
    let counts = store.deliveries().delivery_counts(alert).await.unwrap();
    assert_eq!(counts[0].queued, 10);
}
