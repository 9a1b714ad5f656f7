//! `crieur migrate-store` as an operator runs it: a SQLite store moves into a
//! PostgreSQL schema, the copy's audit chain verifies with `crieur audit
//! verify`, a second run refuses the now non-empty destination, and the
//! password in the URL is never printed. Skipped without PostgreSQL.

mod common;

use common::{crieur, stderr, stdout};
use crieur_domain::audit::{AuditRecord, Outcome};
use crieur_store::{NewAccount, Store};

#[tokio::test]
async fn a_sqlite_installation_moves_to_postgresql() {
    let Some(pg) = crieur_testkit::database(crieur_testkit::Backend::Postgres) else {
        return;
    };
    let lite = crieur_testkit::database(crieur_testkit::Backend::Sqlite).unwrap();
    let store = Store::open(&lite.url).await.unwrap();
    let account = store
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
        .unwrap();
    for action in ["account.create", "auth.sign_in"] {
        store
            .audit()
            .append_audit(
                AuditRecord::new("cli:root", action, Outcome::Success)
                    .target(account.username.clone()),
                "2025-06-15T15:06:40Z".into(),
            )
            .await
            .unwrap();
    }
    // Trust authentication ignores the password: it only has to stay unprinted.
    let to = pg
        .url
        .replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
    assert_ne!(to, pg.url, "the test server's URL names the user postgres");

    let out = crieur(&["migrate-store", "--from", &lite.url, "--to", &to]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{text}{err}");
    assert!(
        text.contains("accounts") && text.contains("row counts match"),
        "{text}"
    );
    assert!(
        text.contains("audit log intact (2 entries verified)"),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !err.contains("hunter2"),
        "{text}{err}"
    );

    let out = crieur(&["--database-url", &pg.url, "audit", "verify"]);
    assert!(
        stdout(&out).contains("audit log intact: 2 entries verified"),
        "{}",
        stderr(&out)
    );
    let out = crieur(&["--database-url", &pg.url, "accounts", "list"]);
    assert!(
        stdout(&out).contains("mayor"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );

    let out = crieur(&["migrate-store", "--from", &lite.url, "--to", &to]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--replace"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2"));
}
