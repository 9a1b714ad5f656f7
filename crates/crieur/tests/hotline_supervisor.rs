//! The hotline supervisor's view over HTTP: service figures from a known queue
//! log, the queue_log CSV export and its audit, staffing from observed calls
//! and after an alert, approved answers (publish, version, withdraw, refusals,
//! the desks' event), topic trends, and who may see what.

mod common;

use common::{Agent, TestApp, account, audit_entries, unix_now};
use crieur_domain::access::Role;
use crieur_domain::staffing::{AlertForecast, StaffingPolicy, plan_after_alert};
use crieur_store::{
    AlertState, CallForm, CallRecord, HotlineLine, NewAlert, NewQueueLogEntry, Priority, Release,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const LIEGE: &str = "62063";
const NAMUR: &str = "92094";

/// A signed-in staff member and the CSRF token of their console.
struct Staff {
    agent: Agent,
    csrf: String,
}

async fn staff(app: &TestApp, username: &str, role: Role, territory: &str) -> Staff {
    let secret = account(&app.store, username, role, territory, true).await;
    let mut agent = Agent::new(app);
    let r = agent
        .sign_in(username, secret.map(|s| s.code_at(unix_now())))
        .await;
    assert_eq!(r.location.as_deref(), Some("/console"), "{}", r.body);
    agent.get("/console").await;
    let csrf = agent.csrf();
    Staff { agent, csrf }
}

impl Staff {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.agent
            .client
            .request(method, format!("{}{path}", self.agent.base))
            .header(
                "cookie",
                format!(
                    "crieur_session={}",
                    self.agent.cookie.as_deref().unwrap_or("")
                ),
            )
            .header("x-csrf-token", &self.csrf)
            .header("accept-language", "en")
    }

    async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .request(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// The application, a mayor of Liège who activated 1771 for an incident
/// through the console, and the hotline's id.
struct Scene {
    app: TestApp,
    mayor: Staff,
    incident: i64,
    hotline: i64,
}

async fn scene() -> Scene {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    config.hotline.numbers = vec!["1771".into()];
    config.telephony.sip_listen = "127.0.0.1:0".parse().unwrap();
    let app = common::spawn_in(dir, config, Default::default()).await;
    let mut mayor = staff(&app, "mayor.l", Role::Mayor, LIEGE).await;
    let mayor_id = account_id(&app, "mayor.l").await;
    let incident = app
        .store
        .alerts()
        .open_incident("Chlorine leak", LIEGE.parse().unwrap(), mayor_id)
        .await
        .unwrap()
        .id;
    let path = format!("/console/incidents/{incident}/hotline");
    mayor.agent.get(&path).await;
    let csrf = mayor.agent.csrf();
    let done = mayor
        .agent
        .post(
            &format!("{path}/activate"),
            &[
                ("csrf", csrf.as_str()),
                ("number", "1771"),
                ("language", "fr"),
                ("language", "nl"),
                ("greeting_fr", "Bonjour."),
                ("greeting_nl", "Goeiedag."),
                ("holding_fr", "Patientez."),
                ("holding_nl", "Even geduld."),
                ("closing_fr", "Fermé."),
                ("closing_nl", "Gesloten."),
                ("staffing_target", "4"),
                ("strategy", "longest-idle"),
                ("max_wait_minutes", "5"),
                ("wrap_up_seconds", "30"),
                ("line_relatives", "on"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let hotline = app
        .store
        .hotline()
        .hotline_of_incident(incident)
        .await
        .unwrap()
        .unwrap()
        .id;
    Scene {
        app,
        mayor,
        incident,
        hotline,
    }
}

async fn account_id(app: &TestApp, username: &str) -> i64 {
    app.store
        .accounts()
        .account_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .id
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn line(hotline: i64, at: i64, call: &str, event: &str, data: [&str; 3]) -> NewQueueLogEntry {
    NewQueueLogEntry {
        hotline_id: hotline,
        at,
        call_id: call.into(),
        queue: "information-fr".into(),
        agent: if event == "ENTERQUEUE" || event == "ABANDON" {
            "NONE".into()
        } else {
            "7".into()
        },
        event: event.into(),
        data1: data[0].into(),
        data2: data[1].into(),
        data3: data[2].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_come_from_the_queue_log_and_its_export_is_audited() {
    let s = scene().await;
    let sup = staff(&s.app, "sup.liege", Role::HotlineSupervisor, LIEGE).await;
    // Eight callers half an hour ago: six answered after 5 to 60 s (four
    // within 20 s), two hung up while waiting.
    let start = now_ms() - 30 * 60_000;
    let mut log = Vec::new();
    for (i, hold) in [5, 10, 15, 20, 30, 60].iter().enumerate() {
        let call = format!("call-{i}");
        let at = start + i as i64 * 1000;
        log.push(line(
            s.hotline,
            at,
            &call,
            "ENTERQUEUE",
            ["+3247000000", "0", ""],
        ));
        let hold = hold.to_string();
        log.push(line(s.hotline, at + 1, &call, "CONNECT", [&hold, "2", "1"]));
        log.push(line(
            s.hotline,
            at + 2,
            &call,
            "COMPLETECALLER",
            [&hold, "100", "1"],
        ));
    }
    for i in 6..8 {
        let call = format!("call-{i}");
        let at = start + i * 1000;
        log.push(line(
            s.hotline,
            at,
            &call,
            "ENTERQUEUE",
            ["+3247000001", "0", ""],
        ));
        log.push(line(s.hotline, at + 1, &call, "ABANDON", ["1", "1", "40"]));
    }
    let seeded = log.len();
    s.app.store.hotline().append_queue_log(log).await.unwrap();

    let (status, f) = sup
        .get_json(&format!("/api/hotlines/{}/figures", s.hotline))
        .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    let h = &f["last_hour"];
    assert_eq!(h["offered"], 8);
    assert_eq!(h["answered"], 6);
    assert_eq!(h["answered_in_time"], 4);
    assert_eq!(h["abandoned"], 2);
    assert_eq!(h["service_level"], 0.5);
    assert!(
        (h["asa_s"].as_f64().unwrap() - 140.0 / 6.0).abs() < 1e-9,
        "{h}"
    );
    assert_eq!(h["abandon_rate"], 0.25);
    assert_eq!(h["talk_s"], 100.0);
    assert_eq!(f["since_activation"]["offered"], 8);
    assert_eq!(f["target"]["fraction"], 0.8);

    // The page shows them against the target, with the live queues.
    let mut agent = sup.agent;
    let page = agent
        .get(&format!("/console/hotlines/{}/supervisor", s.hotline))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for needle in [
        "id=\"figures\"",
        "50 %",
        "23 s",
        "25 %",
        "80 % en 20 s",
        "data-queue=\"information-fr\"",
        "id=\"queue-log\"",
        "COMPLETECALLER",
    ] {
        assert!(page.body.contains(needle), "{needle} missing");
    }
    let sup = Staff {
        csrf: agent.csrf(),
        agent,
    };

    // The recent log, newest first.
    let (_, recent) = sup
        .get_json(&format!("/api/hotlines/{}/queue-log?minutes=60", s.hotline))
        .await;
    let recent = recent.as_array().unwrap();
    assert_eq!(recent.len(), seeded);
    assert_eq!(recent[0]["event"], "ABANDON");

    // The export: Asterisk's columns, time in seconds with milliseconds.
    let r = sup
        .request(
            reqwest::Method::GET,
            &format!("/api/hotlines/{}/queue-log.csv", s.hotline),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time,callid,queue,agent,event,data1,data2,data3");
    assert_eq!(lines.len(), seeded + 1, "{csv}");
    let first = format!(
        "{}.{:03},call-0,information-fr,NONE,ENTERQUEUE,+3247000000,0,",
        start / 1000,
        start % 1000
    );
    assert_eq!(lines[1], first);
    let audit = audit_entries(&s.app.store, "hotline.queue_log_export").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "sup.liege");
    assert_eq!(
        audit[0].target.as_deref(),
        Some(format!("hotline:{}", s.hotline).as_str())
    );

    // The live view, as JSON and as the first event of the stream.
    let (_, live) = sup
        .get_json(&format!("/api/hotlines/{}/live", s.hotline))
        .await;
    assert_eq!(live["running"], true);
    assert!(live["queues"].as_array().unwrap().len() >= 2, "{live}");
    let mut stream = sup
        .request(
            reqwest::Method::GET,
            &format!("/api/hotlines/{}/live/events", s.hotline),
        )
        .send()
        .await
        .unwrap();
    let first = read_until(&mut stream, "event: live").await;
    assert!(first.contains("\"queues\""), "{first}");
    drop(stream);
    drop(s.mayor);
    s.app.stop().await;
}

/// Reads a server-sent event stream until `needle` appears (10 s at most).
async fn read_until(stream: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in {seen}"))
            .unwrap()
            .expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staffing_from_observed_calls_and_after_an_alert() {
    let s = scene().await;
    let sup = staff(&s.app, "sup.liege", Role::HotlineSupervisor, LIEGE).await;
    let path = format!("/api/hotlines/{}/staffing", s.hotline);

    // No call yet: no estimate, the configured handling time.
    let (status, st) = sup.get_json(&path).await;
    assert_eq!(status, StatusCode::OK, "{st}");
    assert_eq!(st["observed"]["calls"], 0);
    assert!(st["observed"]["plan"].is_null());
    assert_eq!(st["observed"]["handle_source"], "configured");
    assert_eq!(st["observed"]["handle_seconds"], 210.0);

    // 400 calls in the last hour, 150 s of talk plus 30 s of wrap-up each.
    let start = now_ms() - 59 * 60_000;
    let mut log = Vec::new();
    for i in 0..400i64 {
        let call = format!("c{i}");
        let at = start + i * 8_000;
        log.push(line(s.hotline, at, &call, "ENTERQUEUE", ["+3247", "0", ""]));
        log.push(line(s.hotline, at + 1, &call, "CONNECT", ["3", "1", "1"]));
        log.push(line(
            s.hotline,
            at + 2,
            &call,
            "COMPLETECALLER",
            ["3", "150", "1"],
        ));
    }
    s.app.store.hotline().append_queue_log(log).await.unwrap();
    let (_, st) = sup.get_json(&path).await;
    let o = &st["observed"];
    assert_eq!(o["calls"], 400);
    assert_eq!(o["handle_source"], "measured");
    assert_eq!(o["handle_seconds"], 180.0);
    assert_eq!(o["plan"]["agents"], 24, "{o}");
    assert_eq!(o["plan"]["calls_per_hour"], 400.0);

    // An alert of the incident reaching 100,000 people.
    let mayor = account_id(&s.app, "mayor.l").await;
    let alerts = s.app.store.alerts();
    let alert = alerts
        .create_alert(&NewAlert {
            incident_id: s.incident,
            identifier: "sup-1".into(),
            territory: LIEGE.parse().unwrap(),
            status: "Actual".into(),
            msg_type: "Alert".into(),
            references_id: None,
            test_group: false,
            composition: json!({"texts": {"fr": {"headline": "Fuite de chlore"}}}).to_string(),
            area: "[]".into(),
            fingerprint: "f".into(),
            author_id: mayor,
        })
        .await
        .unwrap();
    alerts
        .release_alert(
            alert,
            &Release {
                fingerprint: "f".into(),
                from: AlertState::Draft,
                approver: None,
                by: mayor,
                now: unix_now() as i64,
                sent: "2026-11-29T10:00:00+00:00".into(),
                recipients: json!({"persons": 100_000}).to_string(),
                texts: vec![],
                deliveries: vec![],
                priority: Priority::Actual,
            },
        )
        .await
        .unwrap();
    let expected = |rate: f64, share: f64| {
        plan_after_alert(
            100_000,
            &AlertForecast {
                call_rate: rate,
                first_hour_share: share,
            },
            180.0,
            &StaffingPolicy::default(),
        )
        .unwrap()
        .agents
    };
    let (_, st) = sup.get_json(&path).await;
    let a = &st["alerts"][0];
    assert_eq!(a["alert_id"], alert);
    assert_eq!(a["recipients"], 100_000);
    assert_eq!(a["headline"], "Fuite de chlore");
    assert!((a["expected_calls"].as_f64().unwrap() - 300.0).abs() < 1e-6);
    assert_eq!(a["plan"]["agents"], expected(0.005, 0.6));
    let (_, st) = sup
        .get_json(&format!("{path}?call_rate_percent=1&first_hour_percent=50"))
        .await;
    assert!((st["alerts"][0]["expected_calls"].as_f64().unwrap() - 500.0).abs() < 1e-6);
    assert_eq!(st["alerts"][0]["plan"]["agents"], expected(0.01, 0.5));
    let (status, bad) = sup.get_json(&format!("{path}?first_hour_percent=0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"], "supervisor.bad_forecast");

    // The page says it in words, with the forecast table.
    let mut agent = sup.agent;
    let page = agent
        .get(&format!(
            "/console/hotlines/{}/supervisor?call_rate_percent=1&first_hour_percent=50",
            s.hotline
        ))
        .await;
    assert!(
        page.body.contains("24 opérateurs nécessaires"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"forecasts\""));
    assert!(page.body.contains("Fuite de chlore"));
    drop(s.mayor);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_answers_are_published_versioned_withdrawn_and_announced() {
    let s = scene().await;
    let sup = staff(&s.app, "sup.liege", Role::HotlineSupervisor, LIEGE).await;
    let base = format!("/api/hotlines/{}/answers", s.hotline);
    // The supervisor's stream tells of changed answers, as the desks' does.
    let mut stream = sup
        .request(
            reqwest::Method::GET,
            &format!("/api/hotlines/{}/live/events", s.hotline),
        )
        .send()
        .await
        .unwrap();
    read_until(&mut stream, "event: live").await;

    let (status, v1) = sup
        .post_json(
            &base,
            json!({"language": "fr", "title": "Les écoles sont-elles fermées ?",
                   "body": "Les écoles de Liège restent fermées demain.", "topics": ["schools"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    assert_eq!(v1["version"], 1);
    let key = v1["answer_key"].as_i64().unwrap();
    let seen = read_until(&mut stream, "event: answers").await;
    assert!(seen.contains(&format!("data: {}", s.incident)), "{seen}");

    let (status, v2) = sup
        .post_json(
            &base,
            json!({"answer_key": key, "language": "fr", "title": "Les écoles sont-elles fermées ?",
                   "body": "Les écoles de Liège rouvrent jeudi.", "topics": ["schools", "instructions"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["answer_key"], key);
    let (_, list) = sup.get_json(&base).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["body"], "Les écoles de Liège rouvrent jeudi.");
    let (_, history) = sup.get_json(&format!("{base}/{key}/history")).await;
    assert_eq!(history.as_array().unwrap().len(), 2);

    // Bad input: translated problems, nothing stored.
    for (body, field, error) in [
        (
            json!({"language": "fr", "title": "  ", "body": "x"}),
            "title",
            "answers.no_title",
        ),
        (
            json!({"language": "fr", "title": "t", "body": ""}),
            "body",
            "answers.no_body",
        ),
        (
            json!({"language": "fr", "title": "x".repeat(201), "body": "b"}),
            "title",
            "answers.title_too_long",
        ),
        (
            json!({"language": "fr", "title": "t", "body": "b".repeat(4001)}),
            "body",
            "answers.body_too_long",
        ),
        (
            json!({"language": "xx", "title": "t", "body": "b"}),
            "language",
            "answers.bad_language",
        ),
        (
            json!({"language": "fr", "title": "t", "body": "b", "topics": ["ufo"]}),
            "topics",
            "answers.unknown_topic",
        ),
    ] {
        let (status, v) = sup.post_json(&base, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["problems"][0]["field"], field, "{v}");
        assert_eq!(v["problems"][0]["error"], error, "{v}");
    }
    let (_, v) = sup
        .post_json(&base, json!({"language": "fr", "title": "", "body": "b"}))
        .await;
    assert_eq!(v["problems"][0]["message"], "The title is empty.");
    let (status, _) = sup
        .post_json(
            &base,
            json!({"answer_key": 9999, "language": "fr", "title": "t", "body": "b"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.app
            .store
            .hotline()
            .answer_history(s.incident, key)
            .await
            .unwrap()
            .len(),
        2
    );

    // Withdrawn: gone from the desks, cannot be withdrawn or versioned again.
    let (status, _) = sup
        .post_json(&format!("{base}/{key}/withdraw"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    read_until(&mut stream, "event: answers").await;
    let (_, list) = sup.get_json(&base).await;
    assert!(list.as_array().unwrap().is_empty());
    let (status, _) = sup
        .post_json(&format!("{base}/{key}/withdraw"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = sup
        .post_json(
            &base,
            json!({"answer_key": key, "language": "fr", "title": "t", "body": "b"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        audit_entries(&s.app.store, "hotline.answer_publish")
            .await
            .len(),
        2
    );
    assert_eq!(
        audit_entries(&s.app.store, "hotline.answer_withdraw")
            .await
            .len(),
        1
    );

    // The page's form, without JavaScript: a refusal comes back with the
    // message and what was typed; a success redirects to the list.
    let mut agent = sup.agent;
    let page_path = format!("/console/hotlines/{}/supervisor", s.hotline);
    agent.get(&page_path).await;
    let csrf = agent.csrf();
    let refused = agent
        .post(
            &format!("{page_path}/answers"),
            &[
                ("csrf", csrf.as_str()),
                ("language", "fr"),
                ("title", "Eau du robinet ?"),
                ("body", " "),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("La réponse est vide."),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"Eau du robinet ?\""));
    let done = agent
        .post(
            &format!("{page_path}/answers"),
            &[
                ("csrf", csrf.as_str()),
                ("language", "nl"),
                ("title", "Kraantjeswater?"),
                ("body", "Het kraantjeswater is drinkbaar."),
                ("topic", "water_food"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = agent.get(done.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Het kraantjeswater is drinkbaar."));
    assert!(page.body.contains("id=\"answers-flash\""));

    // The mayor may publish too (PublishAnswers) and read the figures.
    let (status, _) = s
        .mayor
        .post_json(
            &base,
            json!({"language": "fr", "title": "Mot du bourgmestre", "body": "Restez chez vous."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    drop(stream);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_see_and_publish() {
    let s = scene().await;
    let page = format!("/console/hotlines/{}/supervisor", s.hotline);
    let answers = format!("/api/hotlines/{}/answers", s.hotline);

    // An operator reads the answers but neither supervises nor publishes.
    let op = staff(&s.app, "op.liege", Role::HotlineOperator, LIEGE).await;
    let (status, _) = op.get_json(&answers).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = op.get_json(&page).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = op
        .get_json(&format!("/api/hotlines/{}/figures", s.hotline))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = op
        .post_json(
            &answers,
            json!({"language": "fr", "title": "t", "body": "b"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let denied = audit_entries(&s.app.store, "supervise_hotline").await;
    assert!(denied.iter().all(|e| e.actor == "op.liege"));
    assert_eq!(denied.len(), 2);
    assert_eq!(
        audit_entries(&s.app.store, "publish_answers").await.len(),
        1
    );

    // A communication officer of Liège: no.
    let officer = staff(&s.app, "com.liege", Role::CommunicationOfficer, LIEGE).await;
    let (status, _) = officer.get_json(&page).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another authority's hotline does not exist for them, nor does the export.
    let namur = staff(&s.app, "mayor.n", Role::Mayor, NAMUR).await;
    for path in [
        page.clone(),
        answers.clone(),
        format!("/api/hotlines/{}/queue-log.csv", s.hotline),
        format!("/api/hotlines/{}/trends", s.hotline),
        "/console/hotlines/99999/supervisor".to_owned(),
    ] {
        let (status, _) = namur.get_json(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let other_sup = staff(&s.app, "sup.namur", Role::HotlineSupervisor, NAMUR).await;
    let (status, _) = other_sup
        .post_json(
            &answers,
            json!({"language": "fr", "title": "t", "body": "b"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        audit_entries(&s.app.store, "hotline.queue_log_export")
            .await
            .is_empty()
    );

    // The mayor who activated it sees the figures, read-only for staffing.
    let (status, _) = s.mayor.get_json(&page).await;
    assert_eq!(status, StatusCode::OK);
    // Without a session: sign in first.
    let r = s.app.get(&page).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trends_show_top_rising_and_municipalities_and_lead_to_drafts() {
    let s = scene().await;
    let sup = staff(&s.app, "sup.liege", Role::HotlineSupervisor, LIEGE).await;
    let op = account_id(&s.app, "sup.liege").await;
    let now = unix_now() as i64;
    let current = now - now.rem_euclid(1800);
    let mut n = 0;
    let mut call = |entered_at: i64, topics: &[&str], nis: Option<&str>| {
        n += 1;
        let id = format!("t{n}");
        let record = CallRecord {
            hotline_id: s.hotline,
            call_id: id.clone(),
            caller: "+32470000000".into(),
            line: Some(HotlineLine::Information),
            language: Some(crieur_domain::Language::Fr),
            ivr_path: String::new(),
            entered_at,
            answered_at: Some(entered_at + 5),
            ended_at: Some(entered_at + 100),
            operator_id: Some(op),
            ending: Some("answered".into()),
        };
        let form = CallForm {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            municipality: nis.map(|n| n.parse().unwrap()),
            ..CallForm::default()
        };
        (record, form)
    };
    let mut calls = Vec::new();
    // Traffic: three calls in each of the three previous half hours, one now
    // (Namur). Health: nothing before, five now (Liège). Animals: two now.
    for b in 1..=3 {
        for _ in 0..3 {
            calls.push(call(current - b * 1800, &["traffic"], Some(NAMUR)));
        }
    }
    calls.push(call(current, &["traffic"], Some(NAMUR)));
    for _ in 0..5 {
        calls.push(call(current, &["health"], Some(LIEGE)));
    }
    calls.push(call(current, &["animals", "health"], None));
    calls.push(call(current, &["animals"], None));
    // Older than the six hours shown.
    calls.push(call(current - 8 * 3600, &["schools"], Some(LIEGE)));
    for (record, form) in &calls {
        s.app.store.hotline().upsert_call(record).await.unwrap();
        s.app
            .store
            .hotline()
            .save_call_form(s.hotline, &record.call_id, form, op, now)
            .await
            .unwrap();
    }

    let (status, t) = sup
        .get_json(&format!("/api/hotlines/{}/trends", s.hotline))
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["hours"], 6);
    assert_eq!(t["top"][0]["topic"], "traffic");
    assert_eq!(t["top"][0]["total"], 10);
    assert_eq!(t["top"][1]["topic"], "health");
    assert_eq!(t["top"][1]["total"], 6);
    assert_eq!(t["top"][1]["label"], "Health, symptoms");
    assert!(
        !t["top"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["topic"] == "schools")
    );
    let rising: Vec<&str> = t["rising"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["topic"].as_str().unwrap())
        .collect();
    assert_eq!(rising, ["health"], "{t}");
    assert_eq!(t["rising"][0]["last"], 6);
    let places = t["municipalities"].as_array().unwrap();
    assert_eq!(places[0]["nis"], NAMUR);
    assert_eq!(places[0]["name"], "Namur");
    assert_eq!(places[0]["mentions"], 10);
    assert_eq!(places[1]["nis"], LIEGE);
    assert_eq!(places[1]["topics"][0]["topic"], "health");
    assert!(places[2]["nis"].is_null());
    let (_, short) = sup
        .get_json(&format!(
            "/api/hotlines/{}/trends?hours=1&min_count=10",
            s.hotline
        ))
        .await;
    assert!(short["rising"].as_array().unwrap().is_empty());

    // On the page: a trend's links draft an answer on the topic, or an alert
    // update of this incident.
    let mut agent = sup.agent;
    let page = agent
        .get(&format!("/console/hotlines/{}/supervisor", s.hotline))
        .await;
    assert!(page.body.contains("id=\"trends-rising\""));
    let draft = format!(
        "/console/hotlines/{}/supervisor?topic=health#answer-form",
        s.hotline
    );
    assert!(page.body.contains(&draft), "{}", page.body);
    let alert_link = format!(
        "/console/alerts?incident={}&#38;language=fr&#38;headline=Mise+%C3%A0+jour+%3A+Sant%C3%A9%2C+sympt%C3%B4mes",
        s.incident
    );
    assert!(page.body.contains(&alert_link), "{}", page.body);
    let form = agent
        .get(&format!(
            "/console/hotlines/{}/supervisor?topic=health",
            s.hotline
        ))
        .await;
    assert!(
        form.body.contains("value=\"Santé, symptômes\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("value=\"health\" checked"));
    drop(s.mayor);
    s.app.stop().await;
}
