//! The device simulator's "call the hotline": a real SIP call on loopback from
//! the simulator's phone to the hotline, through the IVR into the queue, with
//! keys sent as RFC 4733 events and the phone's audio streamed to the page, then
//! answered by an operator signed in with the simulator's headset.
//! Needs espeak-ng for the prompts (skips without it; fails under
//! CRIEUR_REQUIRE_PEERS=1).

mod common;

use common::TestApp;
use std::time::{Duration, Instant};

async fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    config.hotline.numbers = vec!["1771".into()];
    config.telephony.sip_listen = "127.0.0.1:0".parse().unwrap();
    common::spawn_in(dir, config, Default::default()).await
}

async fn status(app: &TestApp, id: u64) -> serde_json::Value {
    app.client
        .get(app.url(&format!("/api/simulator/hotline-calls/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_phone_reaches_the_queue_through_the_ivr() {
    if crieur_testkit::peer("espeak-ng", &["espeak-ng"], "apt-get install -y espeak-ng").is_none() {
        return;
    }
    let app = app().await;
    // No hotline yet: the page is told so.
    let none = app
        .client
        .post(app.url("/api/simulator/hotline-calls"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), reqwest::StatusCode::CONFLICT);

    common::account(
        &app.store,
        "mayor.l",
        crieur_domain::access::Role::Mayor,
        "62063",
        false,
    )
    .await;
    let mayor = app
        .store
        .accounts()
        .account_by_username("mayor.l")
        .await
        .unwrap()
        .unwrap();
    let incident = app
        .store
        .alerts()
        .open_incident("Fire", "62063".parse().unwrap(), mayor.id)
        .await
        .unwrap();
    // Activated over HTTP would be the same; the store and runtime are shared.
    let mut agent = common::Agent::new(&app);
    let secret = common::account(
        &app.store,
        "gov",
        crieur_domain::access::Role::Governor,
        "60000",
        true,
    )
    .await;
    agent
        .sign_in("gov", secret.map(|s| s.code_at(common::unix_now())))
        .await;
    let path = format!("/console/incidents/{}/hotline", incident.id);
    agent.get(&path).await;
    let csrf = agent.csrf();
    let activated = agent
        .post(
            &format!("{path}/activate"),
            &[
                ("csrf", csrf.as_str()),
                ("number", "1771"),
                ("language", "fr"),
                ("greeting_fr", "Bonjour."),
                ("holding_fr", "Patientez."),
                ("closing_fr", "Fermé."),
                ("staffing_target", "4"),
                ("strategy", "longest-idle"),
                ("max_wait_minutes", "5"),
                ("wrap_up_seconds", "30"),
                ("line_relatives", "on"),
            ],
        )
        .await;
    assert_eq!(
        activated.status,
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        activated.body
    );

    let dialled: serde_json::Value = app
        .client
        .post(app.url("/api/simulator/hotline-calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = dialled["id"].as_u64().expect("an id");
    assert_eq!(dialled["number"], "1771");
    // The audio stream starts with a WAV header.
    let mut audio = app
        .client
        .get(app.url(&format!("/simulator/hotline-calls/{id}/audio")))
        .send()
        .await
        .unwrap();
    assert_eq!(audio.headers()["content-type"], "audio/wav");
    let first = audio.chunk().await.unwrap().expect("bytes");
    assert_eq!(&first[..4], b"RIFF");
    let more = tokio::time::timeout(Duration::from_secs(10), audio.chunk()).await;
    assert!(
        matches!(more, Ok(Ok(Some(b))) if !b.is_empty()),
        "the phone hears the greeting"
    );
    // The stream is read by a task, as a browser would, until the call ends.
    let listening = tokio::spawn(async move { while let Ok(Some(_)) = audio.chunk().await {} });

    // Press 2: the relatives line.
    let pressed = app
        .client
        .post(app.url(&format!("/api/simulator/hotline-calls/{id}/keys")))
        .json(&serde_json::json!({"key": "2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), reqwest::StatusCode::NO_CONTENT);
    let deadline = Instant::now() + Duration::from_secs(30);
    let queued = loop {
        let s = status(&app, id).await;
        if s["state"] == "queued" {
            break s;
        }
        assert!(Instant::now() < deadline, "not queued: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(queued["line"], "relatives");
    assert_eq!(queued["language"], "fr");
    assert_eq!(queued["position"], 1);

    // An operator signs in with the simulator's headset and is given the call.
    let headset: serde_json::Value = app
        .client
        .get(app.url("/api/simulator/headset"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let extension = headset["extension"]
        .as_str()
        .expect("an extension")
        .to_owned();
    assert!(
        extension.starts_with("sip:headset@127.0.0.1:"),
        "{extension}"
    );
    let hotline = app.store.hotline().active_hotlines().await.unwrap()[0].id;
    app.state
        .hotlines
        .sign_in(
            hotline,
            mayor.id,
            crieur_hotline::Desk {
                name: "Relatives".into(),
                extension,
                skills: crieur_domain::acd::Skills {
                    native: vec![crieur_domain::Language::Fr],
                    relatives: true,
                    ..Default::default()
                },
            },
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = status(&app, id).await;
        if s["state"] == "connected" {
            break;
        }
        assert!(Instant::now() < deadline, "not connected: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let bad = app
        .client
        .post(app.url(&format!("/api/simulator/hotline-calls/{id}/keys")))
        .json(&serde_json::json!({"key": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
    let hung = app
        .client
        .delete(app.url(&format!("/api/simulator/hotline-calls/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(hung.status(), reqwest::StatusCode::NO_CONTENT);
    // The call ends; its record names the operator who answered.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let calls = app.store.hotline().recent_calls(hotline, 10).await.unwrap();
        if calls.len() == 1 && calls[0].record.ending.as_deref() == Some("answered") {
            assert_eq!(calls[0].record.ivr_path, "menu:2");
            assert_eq!(calls[0].record.operator_id, Some(mayor.id));
            break;
        }
        assert!(Instant::now() < deadline, "{calls:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::timeout(Duration::from_secs(5), listening)
        .await
        .expect("the audio stream ends with the call")
        .unwrap();
    app.stop().await;
}
