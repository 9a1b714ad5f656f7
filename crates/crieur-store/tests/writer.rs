//! The writer commits concurrent requests together; one that fails leaves
//! nothing behind and does not take the others down with it.

use crieur_store::{NewAccount, Store, StoreError};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_in_a_batch_spoils_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("w.db").display());
    let store = Store::open(&url).await.unwrap();
    store
        .accounts()
        .create_account(&account("taken"))
        .await
        .unwrap();
    // Many writes at once, so they share batches; one of them must fail.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = store.clone();
        let name = if i == 100 {
            "taken".to_owned()
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
    // Durable: a fresh handle on the file sees exactly those accounts.
    drop(store);
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.accounts().accounts().await.unwrap().len(), 200);
}
