//! A hotline supervisor in headless Chromium: the live queues and the figures
//! from the queue log, an approved answer published through the page's form,
//! a trend's "draft an answer", and no serious accessibility violation.

mod common;

use common::{Agent, unix_now};
use crieur_domain::access::Role;
use crieur_store::{CallForm, CallRecord, HotlineLine, NewQueueLogEntry};
use fantoccini::{Client, Locator};
use std::time::Duration;

async fn sign_in(c: &Client, app: &common::TestApp, username: &str, code: String) {
    common::browser_sign_in(c, app, username, Some(code)).await;
}

#[tokio::test]
async fn a_supervisor_watches_publishes_an_answer_and_drafts_from_a_trend() {
    let Some(browser) = crieur_testkit::Browser::start() else {
        return;
    };
    let axe = crieur_testkit::axe_script();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    config.hotline.numbers = vec!["1771".into()];
    config.telephony.sip_listen = "127.0.0.1:0".parse().unwrap();
    let app = common::spawn_in(dir, config, Default::default()).await;

    // The mayor of Liège activates 1771 (over HTTP, as the console does).
    let secret = common::account(&app.store, "mayor.l", Role::Mayor, "62063", true).await;
    let mut mayor = Agent::new(&app);
    mayor
        .sign_in("mayor.l", secret.map(|s| s.code_at(unix_now())))
        .await;
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
        .open_incident("Fuite de chlore", "62063".parse().unwrap(), mayor_id)
        .await
        .unwrap()
        .id;
    let path = format!("/console/incidents/{incident}/hotline");
    mayor.get(&path).await;
    let csrf = mayor.csrf();
    let done = mayor
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
            ],
        )
        .await;
    assert_eq!(done.status, reqwest::StatusCode::SEE_OTHER, "{}", done.body);
    let hotline = app
        .store
        .hotline()
        .hotline_of_incident(incident)
        .await
        .unwrap()
        .unwrap()
        .id;

    // Two callers answered, one within 20 s, in the last hour; four calls
    // about evacuation now.
    let start = jiff::Timestamp::now().as_millisecond() - 10 * 60_000;
    let entry = |at: i64, call: &str, event: &str, data: [&str; 3]| NewQueueLogEntry {
        hotline_id: hotline,
        at,
        call_id: call.into(),
        queue: "information-fr".into(),
        agent: "NONE".into(),
        event: event.into(),
        data1: data[0].into(),
        data2: data[1].into(),
        data3: data[2].into(),
    };
    app.store
        .hotline()
        .append_queue_log(vec![
            entry(start, "a", "ENTERQUEUE", ["+3247", "0", ""]),
            entry(start + 1, "a", "CONNECT", ["10", "1", "1"]),
            entry(start + 2, "b", "ENTERQUEUE", ["+3247", "0", ""]),
            entry(start + 3, "b", "CONNECT", ["40", "1", "1"]),
        ])
        .await
        .unwrap();
    let secret = common::account(
        &app.store,
        "sup.liege",
        Role::HotlineSupervisor,
        "62063",
        true,
    )
    .await
    .expect("secret");
    let sup_id = app
        .store
        .accounts()
        .account_by_username("sup.liege")
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = unix_now() as i64;
    for i in 0..4 {
        let call_id = format!("t{i}");
        app.store
            .hotline()
            .upsert_call(&CallRecord {
                hotline_id: hotline,
                call_id: call_id.clone(),
                caller: "+32470000000".into(),
                line: Some(HotlineLine::Information),
                language: Some(crieur_domain::Language::Fr),
                ivr_path: String::new(),
                entered_at: now - now.rem_euclid(1800),
                answered_at: None,
                ended_at: None,
                operator_id: Some(sup_id),
                ending: None,
            })
            .await
            .unwrap();
        app.store
            .hotline()
            .save_call_form(
                hotline,
                &call_id,
                &CallForm {
                    topics: vec!["evacuation".into()],
                    municipality: Some("62063".parse().unwrap()),
                    ..CallForm::default()
                },
                sup_id,
                now,
            )
            .await
            .unwrap();
    }

    let c = browser.client(390, 900).await;
    sign_in(&c, &app, "sup.liege", secret.code_at(unix_now())).await;
    // In French, through the language switch (remembered in a cookie).
    c.goto(&app.url(&format!(
        "/lang/fr?next=/console/hotlines/{hotline}/supervisor"
    )))
    .await
    .expect("supervisor page");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#live-queues tr[data-queue='information-fr']"))
        .await
        .expect("the live queue");
    let figures = c
        .find(Locator::Id("figures"))
        .await
        .expect("figures")
        .text()
        .await
        .expect("text");
    assert!(figures.contains("50 %"), "{figures}");
    assert!(figures.contains("25 s"), "{figures}");
    c.find(Locator::Id("queue-log"))
        .await
        .expect("the queue log");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "supervisor page: {v:#?}");
    }

    // Publish an approved answer through the form.
    c.find(Locator::Id("answer-title"))
        .await
        .expect("title")
        .send_keys("Faut-il évacuer ?")
        .await
        .expect("type");
    c.find(Locator::Id("answer-body"))
        .await
        .expect("body")
        .send_keys("Non : restez à l'intérieur, portes et fenêtres fermées.")
        .await
        .expect("type");
    c.find(Locator::Css("label[for='answer-topic-evacuation']"))
        .await
        .expect("topic")
        .click()
        .await
        .expect("check the topic");
    c.find(Locator::Id("answer-publish"))
        .await
        .expect("publish")
        .click()
        .await
        .expect("publish");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("answers-flash"))
        .await
        .expect("published");
    let answer = c
        .find(Locator::Css("article.answer"))
        .await
        .expect("the answer listed")
        .text()
        .await
        .expect("text");
    assert!(answer.contains("Faut-il évacuer ?"), "{answer}");
    assert!(answer.contains("Évacuation"), "{answer}");

    // The public asks about evacuation: draft an answer from the trend.
    c.find(Locator::Css(
        "#trends-top tr[data-topic='evacuation'] a.draft-answer",
    ))
    .await
    .expect("the trend's link")
    .click()
    .await
    .expect("draft an answer");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#answer-topic-evacuation:checked"))
        .await
        .expect("the topic chosen");
    let title: String = serde_json::from_value(
        c.execute(
            "return document.getElementById('answer-title').value;",
            vec![],
        )
        .await
        .expect("script"),
    )
    .expect("string");
    assert_eq!(title, "Évacuation");
    let alert_link = c
        .find(Locator::Css("#trends-top a.draft-alert"))
        .await
        .expect("alert link")
        .attr("href")
        .await
        .expect("href")
        .expect("an href");
    assert!(
        alert_link.starts_with(&format!("/console/alerts?incident={incident}&")),
        "{alert_link}"
    );
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "supervisor page with a draft: {v:#?}");
    }
    c.close().await.expect("close");
    app.stop().await;
}
