//! Citizens register, confirm their contacts through the device simulator, see,
//! export and erase their data; every refusal is in their language and leaves
//! nothing stored.

mod common;

use common::{Agent, TestApp};
use reqwest::StatusCode;

async fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    let app = common::spawn_in(dir, config, Default::default()).await;
    common::small_registry(&app.store).await;
    app
}

fn form<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf", csrf),
        ("language", "fr"),
        ("phone_0", "0470 12 34 56"),
        ("phone_0_sms", "on"),
        ("email_0", "marie@example.be"),
        ("address_0_label", "home"),
        ("address_0_street", "place saint lambert"),
        ("address_0_number", "1"),
        ("address_0_postcode", "4000"),
        ("address_1_label", "work"),
        ("address_1_street", "Rue de Fer"),
        ("address_1_number", "10"),
        ("address_1_postcode", "5000"),
        ("consent", "on"),
    ];
    for (k, v) in extra {
        f.retain(|(fk, _)| fk != k);
        if !v.is_empty() {
            f.push((k, v));
        }
    }
    f
}

/// The newest message the simulator shows for `to`: (channel, text).
async fn simulated(app: &TestApp, to: &str) -> Option<(String, String)> {
    app.settle().await;
    let html = app.get("/simulator").await.text().await.expect("html");
    let marker = format!("data-to=\"{to}\" data-channel=\"");
    let start = html.find(&marker)? + marker.len();
    let channel = html[start..].split('"').next()?.to_owned();
    let row_end = start + html[start..].find("</tr>")?;
    let cell =
        html[start..row_end].rfind("<td class=\"wrap\">")? + start + "<td class=\"wrap\">".len();
    let text = html[cell..row_end].trim_end_matches("</td>").to_owned();
    Some((channel, text.replace("&#x2f;", "/").replace("&#47;", "/")))
}

/// The id of the first contact offered for confirmation on a page.
fn first_contact_id(body: &str) -> String {
    let marker = "name=\"contact\" value=\"";
    let start = body.find(marker).expect("a contact form") + marker.len();
    body[start..].split('"').next().expect("an id").to_owned()
}

fn six_digits(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    digits
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .map(|w| w.iter().collect())
        .expect("a 6-digit code in the message")
}

async fn citizen_count(app: &TestApp) -> u64 {
    app.store
        .citizens()
        .registration_counts()
        .await
        .expect("counts")
        .iter()
        .map(|(_, registered, deleted)| registered - deleted)
        .sum()
}

#[tokio::test]
async fn register_confirm_export_and_erase() {
    let app = app().await;
    let mut a = Agent::new(&app);
    a.get("/register?lang=fr").await;
    let csrf = a.csrf();
    let r = a.post("/register", &form(&csrf, &[])).await;
    assert_eq!(r.location.as_deref(), Some("/confirm"), "{}", r.body);

    let (channel, sms) = simulated(&app, "+32470123456")
        .await
        .expect("an SMS was simulated");
    assert_eq!(channel, "sms");
    assert!(sms.contains("code de confirmation"), "in French: {sms}");
    let page = a.get("/confirm").await;
    assert!(
        page.body.contains("Non confirmé"),
        "{:?} {}",
        page.location,
        page.body
    );
    let contact = first_contact_id(&page.body);
    let csrf = a.csrf();
    let r = a
        .post(
            "/confirm/phone",
            &[("csrf", &csrf), ("contact", &contact), ("code", "000000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Essais restants : 4"), "{}", r.body);
    let r = a
        .post(
            "/confirm/phone",
            &[
                ("csrf", &csrf),
                ("contact", &contact),
                ("code", &six_digits(&sms)),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("data-verified=\"+32470123456\""),
        "{}",
        r.body
    );

    let (channel, mail) = simulated(&app, "marie@example.be")
        .await
        .expect("an e-mail was simulated");
    assert_eq!(channel, "email");
    let token_start = mail.find("/confirm/email/").expect("a link");
    let path: String = mail[token_start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert_eq!(app.get(&path).await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&path).await.status(),
        StatusCode::NOT_FOUND,
        "a link works once"
    );

    let profile = a.get("/profile?lang=fr").await;
    assert!(
        profile.body.contains("Liège") && profile.body.contains("Namur"),
        "{}",
        profile.body
    );
    let export = a.get("/profile/export").await;
    let json: serde_json::Value = serde_json::from_str(&export.body).expect("JSON export");
    assert_eq!(json["language"], "fr");
    assert_eq!(json["addresses"].as_array().expect("addresses").len(), 2);
    assert_eq!(json["addresses"][0]["municipality"], "62063");
    assert!(
        json["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .all(|c| c["verified_at"].is_string())
    );
    assert!(
        json["consent"]["text_version"]
            .as_str()
            .expect("version")
            .starts_with("2026-11")
    );
    assert_eq!(
        citizen_count(&app).await,
        2,
        "one citizen counted in two municipalities"
    );

    a.get("/profile").await;
    let csrf = a.csrf();
    let r = a.post("/profile/delete", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("effacées"), "{}", r.body);
    assert_eq!(
        a.get("/profile").await.location.as_deref(),
        Some("/profile/access")
    );
    assert_eq!(citizen_count(&app).await, 0);
    let counts = app
        .store
        .citizens()
        .registration_counts()
        .await
        .expect("counts");
    assert!(
        counts
            .iter()
            .any(|(m, reg, del)| m.as_str() == "62063" && *reg == 1 && *del == 1),
        "anonymous counts stay: {counts:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_in_the_citizens_language_and_nothing_is_stored() {
    let app = app().await;
    let mut a = Agent::new(&app);
    a.get("/register").await;
    let csrf = a.csrf();
    let long = "x".repeat(300);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("phone_0", "0900 12 345")], "surtaxés"),
        (vec![("phone_0", "hello")], "pas valide"),
        (
            vec![("email_0", "marie@")],
            "adresse e-mail n’est pas valide",
        ),
        (vec![("consent", "")], "accepter l’utilisation"),
        (
            vec![("address_0_postcode", "9999")],
            "pas un code postal belge",
        ),
        (
            vec![("address_0_street", "Rue Inconnue")],
            "pas trouvé cette adresse",
        ),
        (vec![("address_0_street", long.as_str())], "trop long"),
        (
            vec![
                ("address_0_street", "Rue Inconnue"),
                ("address_0_lat", "48.85"),
                ("address_0_lon", "2.35"),
            ],
            "pas en Belgique",
        ),
        (
            vec![
                ("address_2_street", "Rue de Fer"),
                ("address_2_number", "10"),
                ("address_2_postcode", "5000"),
                ("address_3_street", "Rue de Fer"),
                ("address_3_number", "10"),
                ("address_3_postcode", "5000"),
                ("address_4_street", "Rue de Fer"),
                ("address_4_number", "10"),
                ("address_4_postcode", "5000"),
                ("address_5_street", "Rue de Fer"),
                ("address_5_number", "10"),
                ("address_5_postcode", "5000"),
            ],
            "5 adresses au maximum",
        ),
    ];
    for (extra, expected) in cases {
        let r = a.post("/register?lang=fr", &form(&csrf, &extra)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{extra:?}");
        assert!(
            r.body.contains(expected),
            "{extra:?}: expected {expected:?}"
        );
        assert!(r.body.contains("id=\"error-summary\""));
    }
    // The same refusal in Dutch.
    let r = a
        .post(
            "/register?lang=nl",
            &form(&csrf, &[("phone_0", "0900 12 345")]),
        )
        .await;
    assert!(r.body.contains("Betaalnummers"), "{}", r.body);
    assert_eq!(citizen_count(&app).await, 0, "nothing half-stored");
    assert!(
        simulated(&app, "+32470123456").await.is_none(),
        "no code sent for a refused form"
    );

    // An address not in the registry is accepted with a position in Belgium.
    let r = a
        .post(
            "/register",
            &form(
                &csrf,
                &[
                    ("address_0_street", "Chemin des Prés"),
                    ("address_0_lat", "50.0036"),
                    ("address_0_lon", "5.7158"),
                ],
            ),
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/confirm"), "{}", r.body);
    app.stop().await;
}

#[tokio::test]
async fn landlines_get_a_voice_call_and_codes_expire_after_five_attempts() {
    let app = app().await;
    let mut a = Agent::new(&app);
    a.get("/register").await;
    let csrf = a.csrf();
    let r = a
        .post(
            "/register",
            &form(&csrf, &[("phone_0", "04 222 33 44"), ("email_0", "")]),
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/confirm"), "{}", r.body);
    let (channel, script) = simulated(&app, "+3242223344")
        .await
        .expect("a call was simulated");
    assert_eq!(channel, "voice");
    assert!(script.contains("code de confirmation"), "{script}");
    let page = a.get("/confirm").await;
    let contact = first_contact_id(&page.body);
    let csrf = a.csrf();
    for _ in 0..5 {
        a.post(
            "/confirm/phone",
            &[("csrf", &csrf), ("contact", &contact), ("code", "999999")],
        )
        .await;
    }
    let spoken: String = script
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let r = a
        .post(
            "/confirm/phone?lang=en",
            &[("csrf", &csrf), ("contact", &contact), ("code", &spoken)],
        )
        .await;
    assert!(
        r.body.contains("expired or was tried too often"),
        "{}",
        r.body
    );
    app.stop().await;
}

#[tokio::test]
async fn sms_pumping_is_stopped_per_number_and_per_range() {
    let app = app().await;
    let mut a = Agent::new(&app);
    // The same number, registered again and again without confirming.
    for i in 0..3 {
        a.get("/register").await;
        let csrf = a.csrf();
        let r = a.post("/register", &form(&csrf, &[("email_0", "")])).await;
        assert_eq!(
            r.location.as_deref(),
            Some("/confirm"),
            "attempt {i}: {}",
            r.body
        );
    }
    a.get("/register").await;
    let csrf = a.csrf();
    let r = a
        .post("/register?lang=en", &form(&csrf, &[("email_0", "")]))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many codes"), "{}", r.body);

    // Neighbouring numbers of one range.
    let mut refused = false;
    for i in 10..25 {
        let number = format!("0475 55 66 {i}");
        a.get("/register").await;
        let csrf = a.csrf();
        let r = a
            .post(
                "/register",
                &form(&csrf, &[("phone_0", number.as_str()), ("email_0", "")]),
            )
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            assert!(i >= 20, "refused too early, at {i}");
            break;
        }
    }
    assert!(refused, "a range of numbers is limited");
    app.stop().await;
}

#[tokio::test]
async fn a_confirmed_citizen_gets_back_in_with_a_code_and_cannot_register_twice() {
    let app = app().await;
    let mut a = Agent::new(&app);
    a.get("/register").await;
    let csrf = a.csrf();
    a.post("/register", &form(&csrf, &[("email_0", "")])).await;
    let (_, sms) = simulated(&app, "+32470123456").await.expect("sms");
    let page = a.get("/confirm").await;
    let contact = first_contact_id(&page.body);
    let csrf = a.csrf();
    a.post(
        "/confirm/phone",
        &[
            ("csrf", &csrf),
            ("contact", &contact),
            ("code", &six_digits(&sms)),
        ],
    )
    .await;

    let mut b = Agent::new(&app);
    b.get("/register").await;
    let csrf = b.csrf();
    let r = b
        .post("/register?lang=en", &form(&csrf, &[("email_0", "")]))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("already registered"), "{}", r.body);

    // Password-less access: the same answer for unknown contacts.
    b.get("/profile/access").await;
    let csrf = b.csrf();
    let unknown = b
        .post(
            "/profile/access?lang=en",
            &[("csrf", &csrf), ("contact", "0470 99 99 99")],
        )
        .await;
    let known = b
        .post(
            "/profile/access?lang=en",
            &[("csrf", &csrf), ("contact", "0470 12 34 56")],
        )
        .await;
    assert_eq!(unknown.status, known.status);
    assert!(known.body.contains("If this contact is registered"));
    let (_, sms) = simulated(&app, "+32470123456").await.expect("access code");
    assert!(
        sms.contains("gérer votre profil"),
        "in the citizen's language: {sms}"
    );
    let csrf = b.csrf();
    let r = b
        .post(
            "/profile/access/code",
            &[
                ("csrf", &csrf),
                ("contact", "+32470123456"),
                ("code", &six_digits(&sms)),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/profile"), "{}", r.body);
    let profile = b.get("/profile").await;
    assert!(profile.body.contains("+32470123456"));
    app.stop().await;
}

#[tokio::test]
async fn the_json_api_registers_confirms_exports_and_erases() {
    let app = app().await;
    let body = serde_json::json!({
        "language": "nl",
        "phones": [{"number": "0470 12 34 56", "sms": true}],
        "emails": ["jan@example.be"],
        "addresses": [{"label": "home", "street": "Place Saint-Lambert", "house_number": "1", "postcode": "4000"}],
        "consent": true
    });
    let r = app
        .client
        .post(app.url("/api/registrations"))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: serde_json::Value = r.json().await.expect("json");
    let token = created["token"].as_str().expect("token").to_owned();
    let phone = created["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .find(|c| c["kind"] == "phone")
        .expect("phone")
        .clone();
    assert_eq!(phone["verified"], false);
    let (_, sms) = simulated(&app, "+32470123456").await.expect("sms");
    assert!(sms.contains("bevestigingscode"), "in Dutch: {sms}");

    let auth = format!("Bearer {token}");
    let wrong = app
        .client
        .post(app.url("/api/registrations/me/verify"))
        .header("authorization", &auth)
        .json(&serde_json::json!({"contact_id": phone["id"], "code": "000000"}))
        .send()
        .await
        .expect("sent");
    let wrong: serde_json::Value = wrong.json().await.expect("json");
    assert_eq!(wrong["verified"], false);
    assert_eq!(wrong["attempts_left"], 4);
    let ok: serde_json::Value = app
        .client
        .post(app.url("/api/registrations/me/verify"))
        .header("authorization", &auth)
        .json(&serde_json::json!({"contact_id": phone["id"], "code": six_digits(&sms)}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(ok["verified"], true);

    let me: serde_json::Value = app
        .client
        .get(app.url("/api/registrations/me"))
        .header("authorization", &auth)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(me["language"], "nl");
    assert_eq!(me["addresses"][0]["municipality"], "62063");
    let r = app
        .client
        .get(app.url("/api/registrations/me"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no token, no data");

    // Back in later with an access code.
    let r = app
        .client
        .post(app.url("/api/access"))
        .json(&serde_json::json!({"contact": "+32 470 12 34 56"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (_, sms) = simulated(&app, "+32470123456").await.expect("access sms");
    let r: serde_json::Value = app
        .client
        .post(app.url("/api/access/verify"))
        .json(&serde_json::json!({"contact": "0470 12 34 56", "code": six_digits(&sms)}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let second = format!("Bearer {}", r["token"].as_str().expect("a new token"));

    let r = app
        .client
        .delete(app.url("/api/registrations/me"))
        .header("authorization", &second)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .client
        .get(app.url("/api/registrations/me"))
        .header("authorization", &auth)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "erased: the old token manages nothing"
    );
    assert_eq!(citizen_count(&app).await, 0);

    let doc: serde_json::Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("openapi");
    for path in [
        "/api/registrations",
        "/api/registrations/me",
        "/api/registrations/me/verify",
        "/api/access",
        "/api/access/verify",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_json_api_lists_every_problem_in_the_callers_language() {
    let app = app().await;
    let six: Vec<serde_json::Value> = (0..6)
        .map(|_| serde_json::json!({"street": "Rue de Fer", "house_number": "10", "postcode": "5000"}))
        .collect();
    let body = serde_json::json!({
        "language": "nl",
        "phones": [{"number": "0900 12 345"}],
        "emails": ["not-an-address"],
        "addresses": six,
        "consent": false
    });
    let r = app
        .client
        .post(app.url("/api/registrations"))
        .header("accept-language", "nl-BE")
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: serde_json::Value = r.json().await.expect("json");
    let problems = err["problems"].as_array().expect("problems");
    let find = |code: &str| {
        problems
            .iter()
            .find(|p| p["error"] == code)
            .unwrap_or_else(|| panic!("{code} in {err}"))
            .clone()
    };
    assert_eq!(find("citizen.phone_premium")["field"], "phones.0.number");
    assert!(
        find("citizen.phone_premium")["message"]
            .as_str()
            .expect("text")
            .contains("Betaalnummers")
    );
    find("citizen.email_invalid");
    find("citizen.too_many_addresses");
    find("citizen.consent_required");
    let r = app
        .client
        .post(app.url("/api/registrations"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert!(r.status().is_client_error());
    assert_eq!(citizen_count(&app).await, 0);
    app.stop().await;
}
