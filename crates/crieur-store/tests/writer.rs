//! Concurrent writes: one that fails leaves nothing behind and does not take
//! the others down with it (on SQLite they share the writer's batches; on
//! PostgreSQL each is its own transaction), and what was acknowledged is there
//! for a fresh handle.

#[macro_use]
extern crate crieur_testkit;

use crieur_store::{NewAccount, Store, StoreError};
use crieur_testkit::{Backend, TestDb};

fn account(username: &str) -> NewAccount {
    NewAccount {
        username: username.into(),
        display_name: username.into(),
        role: crieur_domain::access::Role::Mayor,
        territory: "62063".parse().unwrap(),
        password_hash: "hash".into(),
        totp_secret: None,
    }
}

async fn fixture(backend: Backend) -> Option<(Store, TestDb)> {
    let db = crieur_testkit::database(backend)?;
    Some((Store::open(&db.url).await.unwrap(), db))
}

story! {
    async fn a_failing_request_among_many_spoils_only_itself(f) {
        let (store, db) = f;
        store
            .accounts()
            .create_account(&account("taken"))
            .await
            .unwrap();
        // Many writes at once; one of them must fail (a username differing
        // only in case is taken too).
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let store = store.clone();
            let name = if i == 100 {
                "TAKEN".to_owned()
            } else {
                format!("user{i}")
            };
            tasks.spawn(async move { store.accounts().create_account(&account(&name)).await });
        }
        let mut created = 0;
        let mut conflicts = 0;
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                Ok(_) => created += 1,
                Err(StoreError::Conflict(_)) => conflicts += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((created, conflicts), (199, 1));
        // Durable: a fresh handle on the database sees exactly those accounts,
        // sorted without regard to case.
        drop(store);
        let store = Store::open(&db.url).await.unwrap();
        let all = store.accounts().accounts().await.unwrap();
        assert_eq!(all.len(), 200);
        assert_eq!(all.last().unwrap().username, "user99");
        let found = store.accounts().account_by_username(" Taken ").await.unwrap();
        assert_eq!(found.map(|a| a.username).as_deref(), Some("taken"));
    }
}
