//! The operator desk over HTTP: signing in to a hotline's desk and out,
//! presence, the refusals (a role that does not answer calls, another
//! authority's hotline, a second hotline, a second sign-in, a call that is not
//! the operator's, bad form fields), callbacks taken and finished, approved
//! answers and the desk's event stream, and the audit trail.

mod common;

use common::{Agent, TestApp, account, audit_entries, unix_now};
use crieur_domain::Language;
use crieur_domain::access::Role;
use crieur_domain::acd::Line;
use crieur_domain::hotline::HotlineConfig;
use crieur_store::{CallRecord, CallbackState, NewAnswerVersion, NewCallback};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

async fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    config.hotline.numbers = vec!["1771".into(), "1772".into()];
    config.telephony.sip_listen = "127.0.0.1:0".parse().unwrap();
    common::spawn_in(dir, config, Default::default()).await
}

/// A signed-in staff member and the CSRF token of their session.
struct Operator {
    agent: Agent,
    csrf: String,
    id: i64,
}

impl Operator {
    async fn new(app: &TestApp, username: &str, role: Role, territory: &str) -> Operator {
        let secret = account(&app.store, username, role, territory, false).await;
        let mut agent = Agent::new(app);
        agent
            .sign_in(username, secret.map(|s| s.code_at(unix_now())))
            .await;
        // Any console form carries the session's token.
        agent.get("/console").await;
        let csrf = agent.csrf();
        let id = app
            .store
            .accounts()
            .account_by_username(username)
            .await
            .unwrap()
            .unwrap()
            .id;
        Operator { agent, csrf, id }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.agent.base);
        let mut rb = match method {
            "GET" => self.agent.client.get(url),
            "PUT" => self.agent.client.put(url),
            _ => self.agent.client.post(url),
        }
        .header(
            "cookie",
            format!("crieur_session={}", self.agent.cookie.as_deref().unwrap()),
        )
        .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("sent");
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, None).await
    }
}

fn sign_in_body(extension: &str, native: &[&str]) -> Value {
    json!({"extension": extension, "native": native, "spoken": ["en"], "psychosocial": false})
}

struct Setup {
    app: TestApp,
    incident: i64,
    a: i64,
    b: i64,
}

async fn setup() -> Setup {
    let app = app().await;
    account(&app.store, "mayor.l", Role::Mayor, "62063", true).await;
    let mayor = app
        .store
        .accounts()
        .account_by_username("mayor.l")
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut ids = Vec::new();
    for (title, number) in [("Fire at the port", "1771"), ("Flood", "1772")] {
        let incident = app
            .store
            .alerts()
            .open_incident(title, "62063".parse().unwrap(), mayor)
            .await
            .unwrap();
        let hotline = app
            .state
            .hotlines
            .activate(incident.id, number, HotlineConfig::default(), mayor)
            .await
            .expect("activated");
        ids.push((incident.id, hotline.id));
    }
    Setup {
        incident: ids[0].0,
        a: ids[0].1,
        b: ids[1].1,
        app,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_sign_in_change_presence_and_are_refused_where_they_may_not_act() {
    let Setup { app, a, b, .. } = setup().await;
    let op = Operator::new(&app, "op.a", Role::HotlineOperator, "62063").await;
    let desk = format!("/api/hotlines/{a}/desk");

    // The page: sign-in form, topics and municipalities in the UI language.
    let mut page_agent = Agent::new(&app);
    page_agent.cookie = op.agent.cookie.clone();
    let page = page_agent
        .get(&format!("/console/hotlines/{a}/desk?lang=fr"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for wanted in [
        "id=\"sign-in-form\"",
        "Consignes de sécurité",
        "value=\"62063\"",
        "data-csrf=",
    ] {
        assert!(page.body.contains(wanted), "{wanted}: {}", page.body);
    }

    // A role that does not answer calls: refused and audited.
    let comms = Operator::new(&app, "comms.l", Role::CommunicationOfficer, "62063").await;
    let mut comms_page = Agent::new(&app);
    comms_page.cookie = comms.agent.cookie.clone();
    let refused = comms_page.get(&format!("/console/hotlines/{a}/desk")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (status, _) = comms
        .post(&format!("{desk}/sign-in"), sign_in_body("1009", &["fr"]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let denied = audit_entries(&app.store, "answer_calls").await;
    assert!(denied.len() >= 2, "{denied:?}");
    assert!(denied.iter().all(|e| e.actor == "comms.l"));

    // Another authority's hotline does not exist for them.
    let far = Operator::new(&app, "op.antwerp", Role::HotlineOperator, "10000").await;
    let (status, _) = far.get(&desk).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut far_page = Agent::new(&app);
    far_page.cookie = far.agent.cookie.clone();
    assert_eq!(
        far_page
            .get(&format!("/console/hotlines/{a}/desk"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Bad sign-ins, with the reason in the operator's language.
    let (status, body) = op
        .post(
            &format!("{desk}/sign-in?lang=fr"),
            sign_in_body("", &["fr"]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "desk.bad_extension");
    assert!(
        body["message"].as_str().unwrap().contains("poste"),
        "{body}"
    );
    let (status, body) = op
        .post(&format!("{desk}/sign-in"), sign_in_body("1001", &[]))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("desk.no_language"))
    );

    // Signed in: available, audited.
    let (status, body) = op
        .post(&format!("{desk}/sign-in"), sign_in_body("1001", &["fr"]))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, state) = op.get(&desk).await;
    assert_eq!(state["signed_in"], true, "{state}");
    assert_eq!(state["presence"], "available");
    assert_eq!(state["desk"]["extension"], "1001");
    assert_eq!(state["desk"]["relatives"], false);
    assert_eq!(state["desk"]["spoken"], json!(["en"]));
    let signed = audit_entries(&app.store, "hotline.desk_sign_in").await;
    assert_eq!(signed.len(), 1);
    assert_eq!(signed[0].actor, "op.a");

    // Twice on the same desk, or on a second hotline: refused.
    let (status, body) = op
        .post(&format!("{desk}/sign-in"), sign_in_body("1001", &["fr"]))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("desk.already_signed_in"))
    );
    let other = format!("/api/hotlines/{b}/desk");
    let (status, body) = op
        .post(&format!("{other}/sign-in"), sign_in_body("1001", &["fr"]))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("desk.other_hotline"))
    );
    let (status, body) = op
        .post(&format!("{other}/presence"), json!({"available": false}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("desk.other_hotline"))
    );
    let (_, elsewhere) = op.get(&other).await;
    assert_eq!(elsewhere["signed_in"], false);
    assert_eq!(elsewhere["elsewhere"], a);

    // Break and ready.
    let (status, _) = op
        .post(&format!("{desk}/presence"), json!({"available": false}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, state) = op.get(&format!("{desk}?lang=en")).await;
    assert_eq!(state["presence"], "break");
    assert_eq!(state["presence_label"], "On break");
    let (status, _) = op
        .post(&format!("{desk}/presence"), json!({"available": true}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(op.get(&desk).await.1["presence"], "available");

    // No call: nothing to take or transfer.
    let (status, body) = op
        .post(&format!("{desk}/take"), json!({"call_id": "nope"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("desk.not_offered"))
    );
    let (status, body) = op
        .post(
            &format!("{desk}/transfer"),
            json!({"call_id": "nope", "to": "relatives", "kind": "blind"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("desk.not_your_call"))
    );
    let (status, _) = op
        .post(
            &format!("{desk}/transfer"),
            json!({"call_id": "nope", "to": "elsewhere", "kind": "blind"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Signing out, audited; then nothing to sign out of.
    let (status, _) = op.post(&format!("{desk}/sign-out"), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(op.get(&desk).await.1["signed_in"], false);
    assert_eq!(
        audit_entries(&app.store, "hotline.desk_sign_out")
            .await
            .len(),
        1
    );
    let (status, body) = op.post(&format!("{desk}/sign-out"), json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("desk.not_signed_in"))
    );
    // Now free to sign in to the other hotline.
    let (status, _) = op
        .post(&format!("{other}/sign-in"), sign_in_body("1001", &["nl"]))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_forms_are_checked_and_saved_only_by_the_operator_of_the_call() {
    let Setup { app, a, .. } = setup().await;
    let op = Operator::new(&app, "op.a", Role::HotlineOperator, "62063").await;
    let colleague = Operator::new(&app, "op.b", Role::HotlineOperator, "62063").await;
    let now = unix_now() as i64;
    for (call_id, operator) in [("call-a", op.id), ("call-b", colleague.id)] {
        app.store
            .hotline()
            .upsert_call(&CallRecord {
                hotline_id: a,
                call_id: call_id.into(),
                caller: "+32470000777".into(),
                line: Some(Line::Information),
                language: Some(Language::Fr),
                ivr_path: "lang:1 > menu:1".into(),
                entered_at: now,
                answered_at: Some(now),
                ended_at: Some(now + 60),
                operator_id: Some(operator),
                ending: Some("answered".into()),
            })
            .await
            .unwrap();
    }
    let form = |call: &str| format!("/api/hotlines/{a}/desk/calls/{call}/form");
    let good = json!({
        "topics": ["evacuation", "health"],
        "tags": "école, gaz ,, école",
        "question": "Faut-il évacuer l'école ?",
        "municipality": "62063",
        "worry": 4,
        "notes": "Rassurée.",
        "outcome": "informed"
    });

    // Someone else's call: refused, audited, nothing stored.
    let (status, body) = op.call("PUT", &form("call-b"), Some(good.clone())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("desk.not_your_call"))
    );
    let denied = audit_entries(&app.store, "hotline.call_form").await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].outcome, "denied");
    let (status, _) = op.call("PUT", &form("call-x"), Some(good.clone())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bad fields: 400 with the reason, nothing stored.
    let long_tag = "x".repeat(41);
    let eleven = (0..11)
        .map(|i| format!("t{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for (field, value, key) in [
        ("topics", json!(["nope"]), "desk.form.bad_topic"),
        ("tags", json!(long_tag), "desk.form.tag_too_long"),
        ("tags", json!(eleven), "desk.form.too_many_tags"),
        ("municipality", json!("99999"), "desk.form.bad_municipality"),
        ("municipality", json!("60000"), "desk.form.bad_municipality"),
        ("municipality", json!("Liège"), "desk.form.bad_municipality"),
        ("worry", json!(6), "desk.form.bad_worry"),
        ("worry", json!(0), "desk.form.bad_worry"),
        ("outcome", json!("bogus"), "desk.form.bad_outcome"),
        (
            "question",
            json!("?".repeat(1001)),
            "desk.form.question_too_long",
        ),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        let (status, body) = op
            .call("PUT", &format!("{}?lang=fr", form("call-a")), Some(bad))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_eq!(body["error"], key, "{field}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let call = app
        .store
        .hotline()
        .call(a, "call-a")
        .await
        .unwrap()
        .unwrap();
    assert!(call.form.is_none(), "{call:?}");

    // A good form is stored as given, once cleaned.
    let (status, body) = op.call("PUT", &form("call-a"), Some(good)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let filed = app
        .store
        .hotline()
        .call(a, "call-a")
        .await
        .unwrap()
        .unwrap()
        .form
        .expect("saved");
    assert_eq!(filed.by, op.id);
    assert_eq!(filed.form.topics, ["evacuation", "health"]);
    assert_eq!(filed.form.tags, ["école", "gaz"]);
    assert_eq!(
        filed.form.municipality.map(|m| m.to_string()).as_deref(),
        Some("62063")
    );
    assert_eq!(filed.form.worry.map(|w| w.level()), Some(4));
    assert_eq!(filed.form.outcome, "informed");
    let (status, back) = op.get(&form("call-a")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(back["tags"], "école, gaz");
    assert_eq!(back["worry"], 4);
    let saved = audit_entries(&app.store, "hotline.call_form").await;
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[0].outcome, "success");

    // Signed in to another hotline, the same operator may not file here.
    let b_desk = app
        .store
        .hotline()
        .active_hotlines()
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.id != a)
        .unwrap()
        .id;
    let (status, _) = op
        .post(
            &format!("/api/hotlines/{b_desk}/desk/sign-in"),
            sign_in_body("1001", &["fr"]),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = op
        .call("PUT", &form("call-a"), Some(json!({"topics": ["other"]})))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("desk.other_hotline"))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_are_taken_and_finished_and_answers_follow_live() {
    let Setup {
        app, incident, a, ..
    } = setup().await;
    let op = Operator::new(&app, "op.a", Role::HotlineOperator, "62063").await;
    let colleague = Operator::new(&app, "op.b", Role::HotlineOperator, "62063").await;
    let desk = format!("/api/hotlines/{a}/desk");
    let callback = app
        .store
        .hotline()
        .create_callback(&NewCallback {
            hotline_id: a,
            call_id: None,
            number: "+32470000900".into(),
            language: Language::Fr,
            line: Line::Information,
            reason: "max_wait".into(),
            note: String::new(),
            at: unix_now() as i64,
        })
        .await
        .unwrap();
    let (status, list) = op.get(&format!("{desk}/callbacks")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["number"], "+32470000900");
    assert_eq!(list[0]["state"], "open");

    let take = format!("{desk}/callbacks/{}/take", callback.id);
    let finish = format!("{desk}/callbacks/{}/finish", callback.id);
    // Only from the desk.
    let (status, body) = op.post(&take, json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("desk.not_signed_in"))
    );
    for who in [&op, &colleague] {
        let (status, _) = who
            .post(&format!("{desk}/sign-in"), sign_in_body("1001", &["fr"]))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, _) = op.post(&take, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = colleague.get(&format!("{desk}/callbacks")).await;
    assert_eq!(list[0]["taken"], true, "{list}");
    let (status, body) = colleague.post(&take, json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("desk.callback_taken"))
    );
    let (status, _) = colleague
        .post(&finish, json!({"success": true, "note": "not mine"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = op
        .post(
            &finish,
            json!({"success": true, "note": "Rappelée, rassurée."}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = op.get(&format!("{desk}/callbacks")).await;
    assert!(list.as_array().unwrap().is_empty(), "{list}");
    let stored = app.store.hotline().callbacks(a, false).await.unwrap();
    assert_eq!(stored[0].state, CallbackState::Done);
    assert!(stored[0].note.contains("Rappelée"));
    assert_eq!(audit_entries(&app.store, "hotline.callback").await.len(), 1);

    // Approved answers, and the stream that says when they change.
    let (_, answers) = op.get(&format!("{desk}/answers")).await;
    assert!(answers.as_array().unwrap().is_empty());
    let mut events = op
        .agent
        .client
        .get(app.url(&format!("{desk}/events")))
        .header(
            "cookie",
            format!("crieur_session={}", op.agent.cookie.as_deref().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let mayor = app
        .store
        .accounts()
        .account_by_username("mayor.l")
        .await
        .unwrap()
        .unwrap()
        .id;
    app.store
        .hotline()
        .publish_answer(&NewAnswerVersion {
            incident_id: incident,
            answer_key: None,
            language: Language::Fr,
            title: "Faut-il évacuer ?".into(),
            body: "Non: restez à l'intérieur, fenêtres fermées.".into(),
            topics: vec!["evacuation".into()],
            author: mayor,
            at: unix_now() as i64,
        })
        .await
        .unwrap();
    app.state.hotlines.answers_changed(incident);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("answers_changed") {
        let chunk = tokio::time::timeout_at(deadline, events.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let (_, answers) = op.get(&format!("{desk}/answers?lang=fr")).await;
    assert_eq!(answers[0]["title"], "Faut-il évacuer ?", "{answers}");
    assert_eq!(answers[0]["topics"], json!(["Évacuation"]));
    drop(events);
    app.stop().await;
}
