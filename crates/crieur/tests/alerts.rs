//! Alerts over HTTP: jurisdiction refusals (audited) and clipping, one message
//! per person and channel, the person's language, approval by a second person,
//! the safety limiter, the lifecycle (cancel referencing the original), the
//! public page, the Atom feed and the CAP message.

mod common;

use common::{Agent, TestApp, account, audit_entries, citizen, sms_to, unix_now};
use crieur_domain::access::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    let app = common::spawn_in(dir, config, Default::default()).await;
    common::small_registry(&app.store).await;
    app
}

fn liege_home() -> Value {
    json!({"label": "home", "street": "Place Saint-Lambert", "house_number": "1", "postcode": "4000"})
}
fn liege_pin() -> Value {
    json!({"label": "work", "street": "Quai inconnu", "house_number": "3", "postcode": "4000",
           "longitude": 5.5800, "latitude": 50.6400})
}
fn namur_home() -> Value {
    json!({"label": "home", "street": "Rue de Fer", "house_number": "10", "postcode": "5000"})
}

/// A staff member signed in, with the CSRF token the console page carries.
struct Staff {
    agent: Agent,
    csrf: String,
}

async fn staff(app: &TestApp, username: &str, role: Role, territory: &str) -> Staff {
    let secret = account(&app.store, username, role, territory, true)
        .await
        .expect("secret");
    let mut agent = Agent::new(app);
    let r = agent
        .sign_in(username, Some(secret.code_at(unix_now())))
        .await;
    assert_eq!(r.location.as_deref(), Some("/console"), "{}", r.body);
    agent.get("/console").await;
    let csrf = agent.csrf();
    Staff { agent, csrf }
}

impl Staff {
    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .agent
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
            .json(body)
            .send()
            .await
            .expect("sent");
        let status = r.status();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post_xml(&self, path: &str, xml: &str) -> (StatusCode, Value) {
        let r = self
            .agent
            .client
            .post(format!("{}{path}", self.agent.base))
            .header(
                "cookie",
                format!(
                    "crieur_session={}",
                    self.agent.cookie.as_deref().unwrap_or("")
                ),
            )
            .header("x-csrf-token", &self.csrf)
            .header("content-type", "application/cap+xml")
            .header("accept-language", "en")
            .body(xml.to_owned())
            .send()
            .await
            .expect("sent");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, &body).await
    }

    async fn incident(&self, title: &str) -> i64 {
        let (status, v) = self.post("/api/incidents", json!({"title": title})).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["id"].as_i64().expect("id")
    }
}

fn composition(sms_fr: &str) -> Value {
    json!({
        "template": "fire-smoke",
        "category": "Fire", "urgency": "Immediate", "severity": "Severe", "certainty": "Observed",
        "web": "https://crieur.example/alerts",
        "texts": {
            "fr": {"event": "Incendie", "headline": "Incendie industriel", "instruction": "Fermez portes et fenêtres.", "sms": sms_fr},
            "nl": {"event": "Brand", "headline": "Industriële brand", "instruction": "Sluit deuren en ramen.", "sms": "Brand: sluit deuren en ramen."}
        }
    })
}

fn draft(status: &str, sms_fr: &str, area: Value) -> Value {
    json!({"status": status, "composition": composition(sms_fr), "area": area})
}

fn liege() -> Value {
    json!([{"kind": "territory", "nis": "62063"}])
}

#[tokio::test]
async fn a_mayor_warns_her_municipality_only_each_person_once_in_their_language() {
    let app = app().await;
    // Two addresses in Liège: one message all the same.
    citizen(&app, "fr", "+32470000001", &[liege_home(), liege_pin()]).await;
    // In Namur: out of the zone.
    citizen(&app, "nl", "+32470000002", &[namur_home()]).await;
    // English is not written: Liège's official language (French) is used.
    citizen(&app, "en", "+32470000003", &[liege_pin()]).await;
    let mayor = staff(&app, "mayor.liege", Role::Mayor, "62063").await;
    let incident = mayor.incident("Incendie rue X").await;

    // Namur is not hers: refused and audited, nothing stored.
    let (status, v) = mayor
        .post(
            &format!("/api/incidents/{incident}/alerts"),
            draft(
                "Exercise",
                "Incendie: restez a l'interieur.",
                json!([{"kind": "territory", "nis": "92094"}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "alert.outside_jurisdiction");
    assert_eq!(
        audit_entries(&app.store, "alert.outside_jurisdiction")
            .await
            .len(),
        1
    );
    // The whole province, clipped at her choice to her municipality.
    let mut clipped = draft(
        "Exercise",
        "x",
        json!([{"kind": "territory", "nis": "60000"}]),
    );
    clipped["clip"] = json!(true);
    let (status, v) = mayor.post("/api/alerts/preview", clipped).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["clipped"], true);
    assert_eq!(v["persons"], 2, "{v}");

    let (status, v) = mayor
        .post(
            "/api/alerts/preview",
            draft("Exercise", "Incendie: restez a l'interieur.", liege()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["persons"], 2);
    assert_eq!(v["messages"]["sms"]["fr"], 2, "{v}");
    assert!(v["messages"]["sms"].get("nl").is_none(), "{v}");
    assert_eq!(v["texts"]["fr"]["sms_encoding"], "GSM-7", "{v}");

    let (status, v) = mayor
        .post(
            &format!("/api/incidents/{incident}/alerts"),
            draft("Exercise", "Incendie: restez a l'interieur.", liege()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().expect("id");
    // A draft is not public.
    assert_eq!(
        app.get(&format!("/alerts/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, v) = mayor
        .post(&format!("/api/alerts/{id}/release"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["persons"], 2);

    // Delivery runs in the background: wait for it.
    let mut first = Vec::new();
    for _ in 0..50 {
        first = sms_to(&app, "+32470000001").await;
        if first.len() >= 2 && sms_to(&app, "+32470000003").await.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let alerts_to_first: Vec<_> = first.iter().filter(|t| t.contains("EXERCICE")).collect();
    assert_eq!(
        alerts_to_first.len(),
        1,
        "one SMS for two addresses: {first:?}"
    );
    assert!(
        alerts_to_first[0].starts_with("EXERCICE - Incendie"),
        "{first:?}"
    );
    let english = sms_to(&app, "+32470000003").await;
    assert!(
        english.iter().any(|t| t.starts_with("EXERCICE - ")),
        "{english:?}"
    );
    assert!(
        sms_to(&app, "+32470000002")
            .await
            .iter()
            .all(|t| !t.contains("Brand")),
        "Namur is outside the zone"
    );

    // Each message is accounted for in the stored plan.
    let counts = app
        .store
        .deliveries()
        .delivery_counts(id)
        .await
        .expect("counts");
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(
        (counts[0].channel.as_str(), counts[0].sent, counts[0].queued),
        ("sms", 2, 0)
    );
    assert_eq!(counts[0].possible_duplicates, 0);
    // The same live, as server-sent events (the stream ends once all is done),
    // and the final report as CSV, whose reading is audited.
    let (status, events) = mayor
        .send(
            reqwest::Method::GET,
            &format!("/api/alerts/{id}/progress"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = events.as_str().expect("an event stream").to_owned();
    assert!(
        events.contains("event: done") && events.contains("\"sent\":2"),
        "{events}"
    );
    let (status, csv) = mayor
        .send(
            reqwest::Method::GET,
            &format!("/api/alerts/{id}/deliveries.csv"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().expect("csv").to_owned();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.contains("sms,fr,+32470000001,sent,1,simulator,,false,"),
        "{csv}"
    );
    assert_eq!(
        audit_entries(&app.store, "alert.delivery_report")
            .await
            .len(),
        1
    );

    // Steering the delivery: nothing is pending any more, nothing failed;
    // both actions are audited. Another municipality's mayor does not see it,
    // and a communication officer may not steer it.
    let (status, v) = mayor
        .post(&format!("/api/alerts/{id}/stop"), json!({}))
        .await;
    assert_eq!(
        (status, &v["cancelled"]),
        (StatusCode::OK, &json!(0)),
        "{v}"
    );
    let (status, v) = mayor
        .post(&format!("/api/alerts/{id}/retry-failed"), json!({}))
        .await;
    assert_eq!((status, &v["queued"]), (StatusCode::OK, &json!(0)), "{v}");
    assert_eq!(
        audit_entries(&app.store, "alert.stop_delivery").await.len(),
        1
    );
    assert_eq!(
        audit_entries(&app.store, "alert.retry_failed").await.len(),
        1
    );
    let namur = staff(&app, "mayor.namur", Role::Mayor, "92094").await;
    let (status, _) = namur
        .post(&format!("/api/alerts/{id}/stop"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let officer = staff(&app, "com.liege", Role::CommunicationOfficer, "62063").await;
    let (status, _) = officer
        .post(&format!("/api/alerts/{id}/stop"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let page = mayor
        .send(
            reqwest::Method::GET,
            &format!("/console/alerts/{id}/delivery"),
            &Value::Null,
        )
        .await;
    assert_eq!(page.0, StatusCode::OK);

    // Public page, feed and CAP.
    let page = app.get(&format!("/alerts/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("html");
    assert!(
        page.contains("EXERCICE - Incendie industriel") && page.contains("OEFENING - "),
        "all languages"
    );
    let feed = app.get("/alerts.atom").await.text().await.expect("atom");
    assert!(feed.contains(&format!("/alerts/{id}/cap.xml")), "{feed}");
    let xml = app
        .get(&format!("/alerts/{id}/cap.xml"))
        .await
        .text()
        .await
        .expect("cap");
    let cap = crieur_domain::cap::Alert::from_xml(xml.as_bytes()).expect("valid CAP");
    assert_eq!(cap.status.as_str(), "Exercise");
    assert_eq!(cap.infos.len(), 2);
    assert_eq!(cap.infos[0].areas[0].geocodes[0].value, "62063");
    // Valid against the OASIS schema, as other systems will check it.
    if let Some(schema) = crieur_testkit::CapSchema::find() {
        schema
            .check(&xml)
            .expect("the exported alert is valid CAP 1.2");
    }
    // The same message on the command line.
    let out = common::crieur(&[
        "--database-url",
        &app.db_url,
        "cap",
        "export",
        &id.to_string(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let exported = crieur_domain::cap::Alert::from_xml(common::stdout(&out).trim().as_bytes())
        .expect("valid CAP from the command line");
    assert_eq!(exported, cap);

    // A follow-up repeating the original's texts would warn everyone again.
    let mut same = draft("Exercise", "Incendie: restez a l'interieur.", liege());
    same["msg_type"] = json!("Cancel");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{id}/follow-up"), same)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["problems"][0]["error"], "alert.follow_up_same_text");

    // Cancel: a new message referencing the original.
    let mut cancel = draft("Exercise", "Fin de l'exercice.", liege());
    cancel["msg_type"] = json!("Cancel");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{id}/follow-up"), cancel)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let cancel_id = v["id"].as_i64().expect("id");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{cancel_id}/release"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let xml = app
        .get(&format!("/alerts/{cancel_id}/cap.xml"))
        .await
        .text()
        .await
        .expect("cap");
    let cancel = crieur_domain::cap::Alert::from_xml(xml.as_bytes()).expect("valid CAP");
    if let Some(schema) = crieur_testkit::CapSchema::find() {
        schema
            .check(&xml)
            .expect("the cancellation is valid CAP 1.2");
    }
    assert_eq!(cancel.msg_type.as_str(), "Cancel");
    assert_eq!(cancel.references.len(), 1);
    assert_eq!(cancel.references[0].identifier, cap.identifier);
    assert_eq!(audit_entries(&app.store, "alert.release").await.len(), 2);
}

#[tokio::test]
async fn national_alerts_need_a_second_person() {
    let app = app().await;
    let first = staff(&app, "minister", Role::Minister, "01000").await;
    let second = staff(&app, "minister.deputy", Role::Minister, "01000").await;
    let incident = first.incident("Tempête nationale").await;
    let country = json!([{"kind": "territory", "nis": "01000"}]);
    let (_, v) = first
        .post(
            &format!("/api/incidents/{incident}/alerts"),
            draft("Actual", "Tempete: restez chez vous.", country.clone()),
        )
        .await;
    let id = v["id"].as_i64().expect("id");

    let (status, v) = first
        .post(&format!("/api/alerts/{id}/release"), json!({}))
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("alert.needs_approval"))
    );
    let (status, _) = first
        .post(&format!("/api/alerts/{id}/submit"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, v) = first
        .post(&format!("/api/alerts/{id}/release"), json!({}))
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("alert.second_person"))
    );
    // The console offers the decision to the other minister only.
    let approve = format!("data-action=\"approve\" data-id=\"{id}\"");
    let page = |who: &Staff| {
        let mut agent = Agent::new(&app);
        agent.cookie = who.agent.cookie.clone();
        async move { agent.get("/console/incidents").await.body }
    };
    assert!(!page(&first).await.contains(&approve));
    assert!(page(&second).await.contains(&approve));
    let (status, v) = second
        .post(
            &format!("/api/alerts/{id}/release"),
            json!({"comment": "Vu, OK"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, shown) = second
        .send(
            reqwest::Method::GET,
            &format!("/api/alerts/{id}"),
            &json!(null),
        )
        .await;
    assert_eq!(shown["state"], "released");
    assert_eq!(shown["decision_comment"], "Vu, OK");
    assert_eq!(
        audit_entries(&app.store, "alert.approve_release")
            .await
            .len(),
        1
    );

    // A rejection needs a reason, and sends the alert back to be edited.
    let (_, v) = first
        .post(
            &format!("/api/incidents/{incident}/alerts"),
            draft("Actual", "Autre texte.", country.clone()),
        )
        .await;
    let other = v["id"].as_i64().expect("id");
    first
        .post(&format!("/api/alerts/{other}/submit"), json!({}))
        .await;
    let (status, _) = second
        .post(
            &format!("/api/alerts/{other}/reject"),
            json!({"comment": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = second
        .post(
            &format!("/api/alerts/{other}/reject"),
            json!({"comment": "Texte trop vague"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Only its author edits it: an approver must not have written it.
    let (status, v) = second
        .send(
            reqwest::Method::PUT,
            &format!("/api/alerts/{other}"),
            &draft("Actual", "Texte du second.", country.clone()),
        )
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("alert.author_only"))
    );
    let (status, _) = first
        .send(
            reqwest::Method::PUT,
            &format!("/api/alerts/{other}"),
            &draft("Actual", "Texte precis.", country),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, shown) = first
        .send(
            reqwest::Method::GET,
            &format!("/api/alerts/{other}"),
            &json!(null),
        )
        .await;
    assert_eq!(shown["state"], "draft");

    // A mayor does not see the minister's alerts.
    let mayor = staff(&app, "mayor.liege", Role::Mayor, "62063").await;
    let (status, _) = mayor
        .send(
            reqwest::Method::GET,
            &format!("/api/alerts/{id}"),
            &json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_limiter_asks_before_a_repeat_and_caps_releases_per_minute() {
    let app = app().await;
    let mayor = staff(&app, "mayor.liege", Role::Mayor, "62063").await;
    let incident = mayor.incident("Inondation").await;
    let release = |sms: &'static str, confirm: bool| {
        let mayor = &mayor;
        async move {
            let (_, v) = mayor
                .post(
                    &format!("/api/incidents/{incident}/alerts"),
                    draft("Test", sms, liege()),
                )
                .await;
            let id = v["id"].as_i64().expect("id");
            mayor
                .post(
                    &format!("/api/alerts/{id}/release"),
                    json!({"confirm_repeat": confirm}),
                )
                .await
        }
    };
    assert_eq!(
        release("Crue: montez a l'etage.", false).await.0,
        StatusCode::OK
    );
    let (status, v) = release("Crue: montez a l'etage.", false).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("alert.repeat_needs_confirmation")
        )
    );
    assert_eq!(
        release("Crue: montez a l'etage.", true).await.0,
        StatusCode::OK
    );
    assert_eq!(
        release("Crue: evitez les berges.", false).await.0,
        StatusCode::OK
    );
    let (status, v) = release("Crue: restez prudents.", false).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (
            StatusCode::TOO_MANY_REQUESTS,
            Some("alert.too_many_releases")
        )
    );
    assert_eq!(
        audit_entries(&app.store, "alert.release_limited")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn bad_compositions_and_roles_are_refused_and_nothing_is_stored() {
    let app = app().await;
    let mayor = staff(&app, "mayor.liege", Role::Mayor, "62063").await;
    let incident = mayor.incident("Essai").await;
    let bowtie = json!({"type": "Polygon", "coordinates": [[[5.5, 50.6], [5.6, 50.7], [5.6, 50.6], [5.5, 50.7], [5.5, 50.6]]]});
    let mut bad = draft(
        "Real",
        &"a".repeat(700),
        json!([
            {"kind": "territory", "nis": "99999"},
            {"kind": "polygon", "geojson": bowtie},
        ]),
    );
    bad["composition"]["texts"]["fr"]["headline"] = json!("");
    let (status, v) = mayor
        .post(&format!("/api/incidents/{incident}/alerts"), bad)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields: Vec<&str> = v["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["field"].as_str().expect("field"))
        .collect();
    assert!(
        fields.contains(&"status"),
        "a status CAP does not know: {fields:?}"
    );
    let (status, v) = mayor
        .post(&format!("/api/incidents/{incident}/alerts"), {
            let mut d = draft("Exercise", &"a".repeat(700), json!([
                {"kind": "territory", "nis": "99999"},
                {"kind": "polygon", "geojson": {"type": "Polygon", "coordinates": [[[5.5, 50.6], [5.6, 50.7], [5.6, 50.6], [5.5, 50.7], [5.5, 50.6]]]}},
            ]));
            d["composition"]["texts"]["fr"]["headline"] = json!("");
            d
        })
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let problems: Vec<(String, String)> = v["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().to_owned(),
                p["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (field, words) in [
        ("texts.fr.sms", "SMS is too long"),
        ("texts.fr.headline", "required"),
        ("area.0", "Unknown territory"),
        ("area.1", "polygon is not valid"),
    ] {
        assert!(
            problems
                .iter()
                .any(|(f, m)| f == field && m.contains(words)),
            "{field}: {words} in {problems:?}"
        );
    }
    let stored = app
        .store
        .alerts()
        .alerts_of_incident(incident)
        .await
        .expect("alerts");
    assert!(stored.is_empty(), "nothing stored");

    // A communication officer drafts but does not release; the refusal is audited.
    let officer = staff(&app, "com.liege", Role::CommunicationOfficer, "62063").await;
    let (status, v) = officer
        .post(
            &format!("/api/incidents/{incident}/alerts"),
            draft("Exercise", "Texte.", liege()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().expect("id");
    let (status, _) = officer
        .post(&format!("/api/alerts/{id}/release"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(audit_entries(&app.store, "release_alert").await.len(), 1);
}

/// A weather service's warning, as another system would publish it.
fn met_warning(polygon: &str, extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>{extra}
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>meteo-2026-1129-0042</identifier><sender>warnings@meteo.example</sender>
  <sent>2026-11-29T09:00:00+01:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>fr-BE</language><category>Met</category><event>Orages</event>
    <urgency>Expected</urgency><severity>Moderate</severity><certainty>Likely</certainty>
    <headline>Avertissement orange aux orages</headline>
    <instruction>Rentrez le mobilier de jardin.</instruction>
    <area><areaDesc>Liège centre</areaDesc><polygon>{polygon}</polygon></area></info>
  <info><language>nl-BE</language><category>Met</category><event>Onweer</event>
    <urgency>Expected</urgency><severity>Moderate</severity><certainty>Likely</certainty>
    <headline>Oranje waarschuwing voor onweer</headline>
    <area><areaDesc>Luik centrum</areaDesc><polygon>{polygon}</polygon></area></info>
</alert>"#
    )
}

#[tokio::test]
async fn a_weather_warning_in_cap_becomes_a_draft_within_the_jurisdiction() {
    let app = app().await;
    let mayor = staff(&app, "mayor.liege", Role::Mayor, "62063").await;
    let incident = mayor.incident("Orages").await;
    let path = format!("/api/incidents/{incident}/alerts/cap");
    let centre = "50.640,5.562 50.640,5.585 50.651,5.585 50.651,5.562 50.640,5.562";
    let (status, v) = mayor.post_xml(&path, &met_warning(centre, "")).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().expect("id");
    let (_, draft) = mayor
        .send(
            reqwest::Method::GET,
            &format!("/api/alerts/{id}"),
            &json!(null),
        )
        .await;
    assert_eq!(draft["state"], "draft");
    assert_eq!(draft["status"], "Actual");
    assert_eq!(draft["composition"]["category"], "Met");
    assert_eq!(
        draft["composition"]["texts"]["fr"]["headline"],
        "Avertissement orange aux orages"
    );
    assert_eq!(draft["composition"]["texts"]["nl"]["event"], "Onweer");
    assert_eq!(draft["area"][0]["kind"], "polygon");
    assert_eq!(audit_entries(&app.store, "alert.cap_import").await.len(), 1);

    // Beyond Liège (up to Namur): refused, unless clipped at the author's choice.
    let wide = "50.40,4.80 50.40,5.70 50.70,5.70 50.70,4.80 50.40,4.80";
    let (status, v) = mayor.post_xml(&path, &met_warning(wide, "")).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("alert.outside_jurisdiction"))
    );
    let (status, v) = mayor
        .post_xml(&format!("{path}?clip=true"), &met_warning(wide, ""))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");

    // Hostile or broken messages: a named problem, nothing stored.
    let before = app
        .store
        .alerts()
        .alerts_of_incident(incident)
        .await
        .expect("alerts")
        .len();
    let xxe = r#"<!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>"#;
    let (status, v) = mayor.post_xml(&path, &met_warning(centre, xxe)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("DOCTYPE"),
        "{v}"
    );
    let old = met_warning(centre, "").replace("cap:1.2", "cap:1.1");
    let (status, v) = mayor.post_xml(&path, &old).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (status, _) = mayor.post_xml(&path, "<alert").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let huge = format!("{}{}", met_warning(centre, ""), " ".repeat(1_100_000));
    let (status, _) = mayor.post_xml(&path, &huge).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let after = app
        .store
        .alerts()
        .alerts_of_incident(incident)
        .await
        .expect("alerts")
        .len();
    assert_eq!(before, after, "nothing stored");
}

#[tokio::test]
async fn an_exercise_can_be_kept_to_the_test_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    config.alerts.test_group = vec!["+32470000021".into()];
    let app = common::spawn_in(dir, config, Default::default()).await;
    common::small_registry(&app.store).await;
    citizen(&app, "fr", "+32470000021", &[liege_home()]).await;
    citizen(&app, "fr", "+32470000022", &[liege_pin()]).await;
    let mayor = staff(&app, "mayor.liege", Role::Mayor, "62063").await;
    let incident = mayor.incident("Exercice annuel").await;

    let mut real = draft("Actual", "Texte.", liege());
    real["test_group"] = json!(true);
    let (status, v) = mayor.post("/api/alerts/preview", real).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["problems"][0]["field"], "test_group");

    let mut exercise = draft("Exercise", "Exercice de sirene.", liege());
    exercise["test_group"] = json!(true);
    let (_, v) = mayor.post("/api/alerts/preview", exercise.clone()).await;
    assert_eq!(v["persons"], 1, "{v}");
    let (_, v) = mayor
        .post(&format!("/api/incidents/{incident}/alerts"), exercise)
        .await;
    let id = v["id"].as_i64().expect("id");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{id}/release"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let mut member = Vec::new();
    for _ in 0..50 {
        member = sms_to(&app, "+32470000021").await;
        if member.iter().any(|t| t.contains("EXERCICE")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        member.iter().any(|t| t.starts_with("EXERCICE - ")),
        "{member:?}"
    );
    // Wait until every planned message is accounted for before looking for absences.
    let mut counts = Vec::new();
    for _ in 0..50 {
        counts = app
            .store
            .deliveries()
            .delivery_counts(id)
            .await
            .expect("counts");
        if counts.first().is_some_and(|c| c.queued + c.sending == 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        (counts.len(), counts[0].sent),
        (1, 1),
        "one message planned and sent: {counts:?}"
    );
    let other = sms_to(&app, "+32470000022").await;
    assert!(
        other.iter().all(|t| !t.contains("EXERCICE")),
        "not in the test group: {other:?}"
    );
    // Not public, and its follow-ups stay within the test group.
    assert_eq!(
        app.get(&format!("/alerts/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let mut update = draft("Exercise", "Fin de l'exercice de sirene.", liege());
    update["msg_type"] = json!("Update");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{id}/follow-up"), update)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let follow_up = v["id"].as_i64().expect("id");
    let stored = app
        .store
        .alerts()
        .alert(follow_up)
        .await
        .expect("read")
        .expect("stored");
    assert!(
        stored.test_group,
        "the follow-up stays within the test group"
    );
}

/// A mobile operator's CAP endpoint over HTTPS: keeps what it receives and
/// acknowledges with a reference and the reach it reports.
struct OperatorPeer {
    url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    _server: tokio::task::JoinHandle<()>,
}

async fn operator_peer(dir: &std::path::Path, name: &str, reach: u64) -> (OperatorPeer, String) {
    use axum::routing::post;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let ca = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&ca, cert.cert.pem()).expect("write ca");
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert.cert.pem().into_bytes(),
        cert.signing_key.serialize_pem().into_bytes(),
    )
    .await
    .expect("tls config");
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = received.clone();
    let tag = name.to_owned();
    let router = axum::Router::new().route(
        "/cap",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let keep = keep.clone();
            let tag = tag.clone();
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let n = {
                    let mut k = keep.lock().unwrap();
                    k.push((key, body));
                    k.len()
                };
                axum::Json(json!({"reference": format!("{tag}-{n}"), "reach": reach}))
            }
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        axum_server::from_tcp_rustls(listener, tls)
            .expect("listener")
            .serve(router.into_make_service())
            .await
            .expect("operator peer");
    });
    (
        OperatorPeer {
            url: format!("https://localhost:{port}/cap"),
            received,
            _server: server,
        },
        ca.display().to_string(),
    )
}

#[tokio::test]
async fn actual_alerts_and_their_follow_ups_reach_the_mobile_operators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (proximus, proximus_ca) = operator_peer(dir.path(), "proximus", 412_000).await;
    let (orange, orange_ca) = operator_peer(dir.path(), "orange", 198_500).await;
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    config.channels.operators = vec![
        crieur::config::OperatorEndpoint {
            name: "proximus".into(),
            url: proximus.url.clone(),
            token: Some(crieur::config::Secret("px-token".into())),
            rate: None,
            extra_roots: vec![proximus_ca.into()],
        },
        crieur::config::OperatorEndpoint {
            name: "orange".into(),
            url: orange.url.clone(),
            token: None,
            rate: None,
            extra_roots: vec![orange_ca.into()],
        },
    ];
    let app = common::spawn_in(dir, config, Default::default()).await;
    common::small_registry(&app.store).await;
    citizen(&app, "fr", "+32470000001", &[liege_home()]).await;
    let mayor = staff(&app, "mayor.liege", Role::Mayor, "62063").await;
    let incident = mayor.incident("Nuage toxique").await;

    // An exercise never reaches the operators: they would broadcast it to everyone.
    let (_, v) = mayor
        .post(
            &format!("/api/incidents/{incident}/alerts"),
            draft("Exercise", "Exercice: restez chez vous.", liege()),
        )
        .await;
    let exercise = v["id"].as_i64().expect("id");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{exercise}/release"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // An Actual alert goes to each operator once, as CAP with the polygon and
    // the cell-broadcast text; their acknowledgement and reach are stored.
    let (_, v) = mayor
        .post(
            &format!("/api/incidents/{incident}/alerts"),
            draft(
                "Actual",
                "Nuage toxique: fermez portes et fenetres.",
                liege(),
            ),
        )
        .await;
    let actual = v["id"].as_i64().expect("id");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{actual}/release"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    app.settle().await;
    let lines = app
        .store
        .deliveries()
        .delivery_report(actual)
        .await
        .expect("report");
    let operators: Vec<_> = lines.iter().filter(|l| l.channel == "operator").collect();
    assert_eq!(operators.len(), 2, "{lines:?}");
    for l in &operators {
        assert_eq!(l.state, "sent", "{l:?}");
        assert_eq!(l.provider.as_deref(), Some(l.address.as_str()));
    }
    let reach: u64 = operators.iter().filter_map(|l| l.reach).sum();
    assert_eq!(reach, 412_000 + 198_500);
    let exercise_lines = app
        .store
        .deliveries()
        .delivery_report(exercise)
        .await
        .expect("report");
    assert!(exercise_lines.iter().all(|l| l.channel != "operator"));
    for peer in [&proximus, &orange] {
        let got = peer.received.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "one alert, once");
        let cap = crieur_domain::cap::Alert::from_xml(got[0].1.as_bytes()).expect("valid CAP");
        assert_eq!(cap.status.as_str(), "Actual");
        assert!(!cap.infos[0].areas.is_empty());
        assert!(
            cap.infos.iter().any(|i| i
                .parameters
                .iter()
                .any(|p| p.value_name == "cell_broadcast" && p.value.contains("fermez"))),
            "{}",
            got[0].1
        );
    }

    // Its all-clear goes to the same operators, referring to it.
    let (status, v) = mayor
        .post(
            &format!("/api/alerts/{actual}/follow-up"),
            json!({"msg_type": "Update", "status": "Actual",
                   "composition": composition("Fin d'alerte: vous pouvez sortir."), "area": liege()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let update = v["id"].as_i64().expect("id");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{update}/release"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    app.settle().await;
    for peer in [&proximus, &orange] {
        let got = peer.received.lock().unwrap().clone();
        assert_eq!(got.len(), 2);
        assert_ne!(
            got[0].0, got[1].0,
            "each delivery has its own idempotency key"
        );
        let cap = crieur_domain::cap::Alert::from_xml(got[1].1.as_bytes()).expect("valid CAP");
        assert_eq!(cap.msg_type.as_str(), "Update");
        assert_eq!(cap.references.len(), 1);
    }
    app.stop().await;
}

/// A voice alert through a SIP trunk: SIPp is the citizen's phone; it
/// answers, echoes the audio and presses 1, and the report says confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_alert_is_confirmed_with_1_by_the_callee() {
    let Some(sipp) = crieur_testkit::peer("SIPp", &["sipp"], "apt-get install -y sip-tester")
    else {
        return;
    };
    if crieur_testkit::peer("espeak-ng", &["espeak-ng"], "apt-get install -y espeak-ng").is_none() {
        return;
    }
    let free = |proto_udp: bool| {
        if proto_udp {
            std::net::UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        } else {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        }
    };
    let (phone_port, media_port, sip_port) = (free(true), free(true), free(false));
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crieur-telephony/tests/sip/uas_press_1.xml"
    );
    let logs = tempfile::tempdir().expect("tempdir");
    let mut phone = tokio::process::Command::new(sipp)
        .args([
            "-sf",
            scenario,
            "-rtp_echo",
            "-m",
            "1",
            "-nostdin",
            "-i",
            "127.0.0.1",
        ])
        .args([
            "-p",
            &phone_port.to_string(),
            "-mp",
            &media_port.to_string(),
        ])
        .current_dir(logs.path())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp starts");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    config.telephony.sip_listen = format!("127.0.0.1:{sip_port}").parse().unwrap();
    config.channels.voice = vec![crieur::config::VoiceTrunk {
        name: "trunk".into(),
        trunk: format!("127.0.0.1:{phone_port}"),
        username: None,
        password: None,
        from_user: "1771".into(),
        ring_timeout_seconds: 10,
        concurrency: 10,
        calls_per_second: 5.0,
    }];
    let app = common::spawn_in(dir, config, Default::default()).await;
    common::small_registry(&app.store).await;
    common::citizen_with(
        &app,
        "fr",
        json!({"number": "+32470000031", "sms": true, "voice": true}),
        &[liege_home()],
    )
    .await;
    let mayor = staff(&app, "mayor.liege", Role::Mayor, "62063").await;
    let incident = mayor.incident("Nuage toxique").await;
    let (_, v) = mayor
        .post(
            &format!("/api/incidents/{incident}/alerts"),
            draft("Exercise", "Exercice: fermez les fenetres.", liege()),
        )
        .await;
    let id = v["id"].as_i64().expect("id");
    let (status, v) = mayor
        .post(&format!("/api/alerts/{id}/release"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    app.settle().await;
    let report = app
        .store
        .deliveries()
        .delivery_report(id)
        .await
        .expect("report");
    let voice = report
        .iter()
        .find(|l| l.channel == "voice")
        .expect("a voice delivery");
    assert_eq!(voice.state, "confirmed", "{report:?}");
    assert_eq!(voice.provider.as_deref(), Some("trunk"));
    let sms = report.iter().find(|l| l.channel == "sms").expect("an SMS");
    assert_eq!(sms.state, "sent", "the SMS went to the simulator");
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), phone.wait())
        .await
        .expect("the phone's scenario ends")
        .expect("sipp");
    assert!(status.success(), "sipp: {status:?}");
    app.stop().await;
}
