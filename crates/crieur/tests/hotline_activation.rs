//! Switching a hotline on and off over HTTP: the authority's form, refusals
//! (role, jurisdiction, a configuration that could not work, a number outside
//! the pool or in use), the call-out of on-call operators through the dispatch
//! engine to the device simulator, their answers by link, and the audit trail.

mod common;

use common::{Agent, TestApp, account, audit_entries, sms_to, unix_now};
use crieur_domain::access::Role;
use reqwest::StatusCode;

async fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    config.hotline.numbers = vec!["1771".into(), "1772".into()];
    config.hotline.on_call = vec![crieur::config::OnCall {
        username: "op.liege".into(),
        phone: Some("+32470000501".into()),
        email: Some("op@crieur.invalid".into()),
    }];
    config.telephony.sip_listen = "127.0.0.1:0".parse().unwrap();
    common::spawn_in(dir, config, Default::default()).await
}

async fn signed_in(app: &TestApp, username: &str, role: Role, territory: &str) -> Agent {
    let secret = account(&app.store, username, role, territory, true).await;
    let mut agent = Agent::new(app);
    let code = secret.map(|s| s.code_at(unix_now()));
    agent.sign_in(username, code).await;
    agent
}

fn form<'a>(csrf: &'a str, number: &'a str, languages: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf", csrf),
        ("number", number),
        ("staffing_target", "4"),
        ("strategy", "longest-idle"),
        ("max_wait_minutes", "5"),
        ("wrap_up_seconds", "30"),
        ("line_relatives", "on"),
        ("line_psychosocial", "on"),
        ("call_out", "op.liege"),
    ];
    for l in languages {
        f.push(("language", l));
    }
    for (k, v) in [
        ("greeting_fr", "Bonjour, ligne de crise."),
        ("greeting_nl", "Goeiedag, crisislijn."),
        ("holding_fr", "Patientez."),
        ("holding_nl", "Even geduld."),
        ("closing_fr", "Fermé."),
        ("closing_nl", "Gesloten."),
    ] {
        f.push((k, v));
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authority_activates_calls_out_operators_and_deactivates_audited() {
    let app = app().await;
    account(
        &app.store,
        "op.liege",
        Role::HotlineOperator,
        "62063",
        false,
    )
    .await;
    let mut mayor = signed_in(&app, "mayor.l", Role::Mayor, "62063").await;
    let mayor_id = app
        .store
        .accounts()
        .account_by_username("mayor.l")
        .await
        .unwrap()
        .unwrap()
        .id;
    let incident = app
        .store
        .alerts()
        .open_incident("Fire at the port", "62063".parse().unwrap(), mayor_id)
        .await
        .unwrap();
    let path = format!("/console/incidents/{}/hotline", incident.id);
    let page = mayor.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"activate\""), "{}", page.body);
    let csrf = mayor.csrf();

    // A configuration that cannot work is refused when saved, with the reason.
    let refused = mayor
        .post(&format!("{path}/activate"), &form(&csrf, "1771", &[]))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("Choisissez au moins une langue"),
        "{}",
        refused.body
    );
    let outside = mayor
        .post(&format!("{path}/activate"), &form(&csrf, "112", &["fr"]))
        .await;
    assert_eq!(outside.status, StatusCode::BAD_REQUEST);
    assert!(outside.body.contains("ne fait pas partie de la réserve"));
    assert!(
        app.store
            .hotline()
            .active_hotlines()
            .await
            .unwrap()
            .is_empty()
    );

    let done = mayor
        .post(
            &format!("{path}/activate"),
            &form(&csrf, "1771", &["fr", "nl"]),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let active = app.store.hotline().active_hotlines().await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].number, "1771");
    let audit = audit_entries(&app.store, "hotline.activate").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "mayor.l");

    // The on-call operator got an SMS (through the dispatch engine) with a link.
    let sms = sms_to(&app, "+32470000501").await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    let link = sms[0]
        .split_whitespace()
        .find(|w| w.contains("/callout/"))
        .expect("a link");
    let token = link.rsplit('/').next().unwrap();
    let callout_page = app.get(&format!("/callout/{token}")).await;
    assert_eq!(callout_page.status(), StatusCode::OK);
    let answer = app
        .client
        .post(app.url(&format!("/api/callouts/{token}")))
        .json(&serde_json::json!({"coming": true, "eta_minutes": 20}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    let bad = app
        .client
        .post(app.url(&format!("/api/callouts/{}", "0".repeat(64))))
        .json(&serde_json::json!({"coming": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::NOT_FOUND);
    let page = mayor.get(&path).await;
    assert!(
        page.body.contains("arrive</td>") && page.body.contains("20 min"),
        "{}",
        page.body
    );

    // The same number cannot serve a second incident at once.
    let other = app
        .store
        .alerts()
        .open_incident("Flood", "62063".parse().unwrap(), mayor_id)
        .await
        .unwrap();
    let other_path = format!("/console/incidents/{}/hotline", other.id);
    mayor.get(&other_path).await;
    let csrf = mayor.csrf();
    let busy = mayor
        .post(
            &format!("{other_path}/activate"),
            &form(&csrf, "1771", &["fr"]),
        )
        .await;
    assert_eq!(busy.status, StatusCode::BAD_REQUEST);

    // Deactivation, audited.
    mayor.get(&path).await;
    let csrf = mayor.csrf();
    let closed = mayor
        .post(
            &format!("{path}/deactivate"),
            &[("csrf", &csrf), ("closing", "La ligne est fermée.")],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    assert!(
        app.store
            .hotline()
            .active_hotlines()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        audit_entries(&app.store, "hotline.deactivate").await.len(),
        1
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_and_other_authorities_cannot_activate() {
    let app = app().await;
    let mut mayor = signed_in(&app, "mayor.l", Role::Mayor, "62063").await;
    let mayor_id = app
        .store
        .accounts()
        .account_by_username("mayor.l")
        .await
        .unwrap()
        .unwrap()
        .id;
    let incident = app
        .store
        .alerts()
        .open_incident("Fire", "62063".parse().unwrap(), mayor_id)
        .await
        .unwrap();
    let path = format!("/console/incidents/{}/hotline", incident.id);
    mayor.get(&path).await;

    let mut operator = signed_in(&app, "op.x", Role::HotlineOperator, "62063").await;
    let seen = operator.get(&path).await;
    assert!(!seen.body.contains("id=\"activate\""));
    operator.get("/console").await;
    let csrf = operator.csrf();
    let r = operator
        .post(&format!("{path}/activate"), &form(&csrf, "1771", &["fr"]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let denied = audit_entries(&app.store, "activate_hotline").await;
    assert!(denied.iter().any(|e| e.actor == "op.x"), "{denied:?}");

    // The mayor of Namur does not see Liège's incident at all.
    let mut namur = signed_in(&app, "mayor.n", Role::Mayor, "92094").await;
    assert_eq!(namur.get(&path).await.status, StatusCode::NOT_FOUND);
    assert!(
        app.store
            .hotline()
            .active_hotlines()
            .await
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}
