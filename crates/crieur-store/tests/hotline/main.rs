//! The hotline's storage on a fresh database per test, each story run on
//! SQLite and on PostgreSQL: the one-active rules, call-outs, calls and their
//! forms, the queue log, approved answers, callbacks and topic trends, and that
//! no hotline reaches another's rows.

#[macro_use]
extern crate crieur_testkit;

mod activation;
mod answers;
mod callbacks;
mod calls;
mod queue_log;
mod relatives;
mod trends;

use crieur_domain::Language;
use crieur_store::{CallRecord, NewAccount, NewHotline, Store};

/// An hour boundary (unix seconds), so buckets are easy to reason about.
pub const T0: i64 = 1_749_999_600;

#[derive(Debug)]
pub struct Fixture {
    pub store: Store,
    /// Two staff accounts.
    pub alice: i64,
    pub bob: i64,
    /// An open incident.
    pub incident: i64,
    _db: crieur_testkit::TestDb,
}

/// `None` when the backend is not reachable (the test is then skipped).
pub async fn fixture(backend: crieur_testkit::Backend) -> Option<Fixture> {
    let db = crieur_testkit::database(backend)?;
    let store = Store::open(&db.url).await.unwrap();
    let alice = account(&store, "alice").await;
    let bob = account(&store, "bob").await;
    let incident = incident(&store, alice).await;
    Some(Fixture {
        store,
        alice,
        bob,
        incident,
        _db: db,
    })
}

async fn account(store: &Store, username: &str) -> i64 {
    store
        .accounts()
        .create_account(&NewAccount {
            username: username.into(),
            display_name: username.into(),
            role: crieur_domain::access::Role::HotlineSupervisor,
            territory: "62063".parse().unwrap(),
            password_hash: "hash".into(),
            totp_secret: None,
        })
        .await
        .unwrap()
        .id
}

pub async fn incident(store: &Store, by: i64) -> i64 {
    store
        .alerts()
        .open_incident("Fire in Liège", "62063".parse().unwrap(), by)
        .await
        .unwrap()
        .id
}

pub fn new_hotline(incident_id: i64, number: &str, by: i64) -> NewHotline {
    NewHotline {
        incident_id,
        number: number.into(),
        languages: vec![Language::Fr, Language::Nl],
        config: r#"{"greeting":"Bonjour"}"#.into(),
        staffing_target: crieur_store::DEFAULT_STAFFING_TARGET,
        activated_by: by,
        activated_at: T0,
    }
}

/// An active hotline on a number of its own, for an incident of its own.
pub async fn hotline(f: &Fixture, number: &str) -> i64 {
    let incident = incident(&f.store, f.alice).await;
    f.store
        .hotline()
        .activate_hotline(&new_hotline(incident, number, f.alice))
        .await
        .unwrap()
        .id
}

/// A call that has just entered, before any menu choice.
pub fn entered(hotline_id: i64, call_id: &str, caller: &str, at: i64) -> CallRecord {
    CallRecord {
        hotline_id,
        call_id: call_id.into(),
        caller: caller.into(),
        line: None,
        language: None,
        ivr_path: String::new(),
        entered_at: at,
        answered_at: None,
        ended_at: None,
        operator_id: None,
        ending: None,
    }
}
