//! The relatives line end to end in headless Chromium, at a phone's width: a
//! relatives-line operator signs in to the desk with the simulator's headset,
//! the simulator's phone calls the hotline and presses 2 (a real SIP call on
//! loopback), the operator records an inquiry about a missing woman on the call,
//! uploads a hospital's admission list, and confirms the candidate the inquiry
//! page ranks first, which creates a callback task. axe-core finds no WCAG 2.1
//! AA violation on the pages. Skips when a peer is missing (fails instead under
//! CRIEUR_REQUIRE_PEERS=1).

mod common;

use crieur_domain::Language;
use crieur_domain::access::Role;
use crieur_domain::hotline::HotlineConfig;
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

async fn wait_for(c: &Client, what: &str, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{what} ({css}): {e}"))
}

async fn type_into(c: &Client, css: &str, text: &str) {
    wait_for(c, css, css)
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

async fn choose(c: &Client, select: &str, value: &str) {
    wait_for(c, select, &format!("{select} option[value='{value}']"))
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("choose {value} in {select}: {e}"));
}

async fn click(c: &Client, css: &str) {
    wait_for(c, css, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn accessible(c: &Client, axe: Option<&String>, what: &str) {
    if let Some(axe) = axe {
        let v = crieur_testkit::wcag_violations(c, axe).await;
        assert!(v.is_empty(), "{what}: {v:#?}");
    }
    let fits: bool = serde_json::from_value(
        c.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .expect("width"),
    )
    .expect("a boolean");
    assert!(fits, "{what}: the page is wider than the phone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_records_an_inquiry_uploads_a_hospital_list_and_confirms_a_match() {
    if crieur_testkit::peer("espeak-ng", &["espeak-ng"], "apt-get install -y espeak-ng").is_none() {
        return;
    }
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

    common::account(&app.store, "mayor.l", Role::Mayor, "62063", true).await;
    let secret = common::account(
        &app.store,
        "rel.liege",
        Role::RelativesOperator,
        "62063",
        true,
    )
    .await
    .expect("a second factor");
    let mayor = app
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
        .open_incident("Explosion à la gare", "62063".parse().unwrap(), mayor)
        .await
        .unwrap()
        .id;
    let mut hotline_config = HotlineConfig {
        languages: vec![Language::Fr],
        holding_until: 0,
        ..HotlineConfig::default()
    };
    hotline_config
        .greeting
        .insert(Language::Fr, "Bonjour.".into());
    let hotline = app
        .state
        .hotlines
        .activate(incident, "1771", hotline_config, mayor)
        .await
        .expect("activated")
        .id;

    // The operator signs in, then to the desk with the simulator's headset
    // (offered on the sign-in form in the demo).
    let c = browser.client(400, 900).await;
    common::browser_sign_in(
        &c,
        &app,
        "rel.liege",
        Some(secret.code_at(common::unix_now())),
    )
    .await;
    wait_for(&c, "the console", "#sign-out").await;
    c.goto(&app.url(&format!("/console/hotlines/{hotline}/desk")))
        .await
        .expect("desk");
    wait_for(&c, "the sign-in form", "#sign-in:not([hidden]) #extension").await;
    click(&c, "#sign-in-button").await;
    wait_for(
        &c,
        "available on the desk",
        "#presence[data-presence='available']",
    )
    .await;

    // The simulator's phone calls and presses 2: the relatives line.
    let dialled: serde_json::Value = app
        .client
        .post(app.url("/api/simulator/hotline-calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let call = dialled["id"].as_u64().expect("a simulated call");
    let mut audio = app
        .client
        .get(app.url(&format!("/simulator/hotline-calls/{call}/audio")))
        .send()
        .await
        .unwrap();
    let _listening = tokio::spawn(async move { while let Ok(Some(_)) = audio.chunk().await {} });
    let pressed = app
        .client
        .post(app.url(&format!("/api/simulator/hotline-calls/{call}/keys")))
        .json(&serde_json::json!({"key": "2"}))
        .send()
        .await
        .unwrap();
    assert!(pressed.status().is_success(), "{}", pressed.status());
    let deadline = Instant::now() + WAIT;
    loop {
        let s: serde_json::Value = app
            .client
            .get(app.url(&format!("/api/simulator/hotline-calls/{call}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["line"] == "relatives" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the call never reached the line: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for(&c, "on the call", "#presence[data-presence='on_call']").await;
    wait_for(
        &c,
        "the inquiry form",
        "#inquiry-panel:not([hidden]) #q-family",
    )
    .await;
    accessible(&c, axe.as_ref(), "desk with the inquiry form").await;

    // The inquiry, as the caller gives it.
    type_into(&c, "#q-given", "Marie").await;
    type_into(&c, "#q-family", "Dupont").await;
    type_into(&c, "#q-birth", "1962").await;
    choose(&c, "#q-sex", "female").await;
    type_into(&c, "#q-last-place", "Gare des Guillemins").await;
    type_into(&c, "#q-last-seen", "hier vers 18 h, sur le quai 3").await;
    type_into(&c, "#q-why", "prend le train de 18 h chaque jour").await;
    choose(&c, "#q-involvement", "likely").await;
    type_into(&c, "#q-caller", "Paul Dupont").await;
    choose(&c, "#q-relationship", "child").await;
    type_into(&c, "#q-callback", "0470 22 22 22").await;
    click(&c, "#save-inquiry").await;
    let link = wait_for(&c, "the recorded inquiry", "#inquiry-link").await;
    let href = link.attr("href").await.unwrap().expect("a link");
    let inquiry: i64 = href
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .expect("an inquiry id");
    let stored = app
        .store
        .relatives()
        .inquiry(inquiry)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.sought.family_names, "Dupont");
    assert_eq!(
        stored.caller.callback_numbers,
        vec!["+32470222222".to_owned()]
    );
    assert_eq!(stored.caller.language, Language::Fr);
    assert_eq!(stored.hotline_id, Some(hotline));
    assert!(stored.call_id.is_some(), "taken on the call");

    // The hospital's admission list, uploaded from the relatives page.
    let list = tempfile::Builder::new()
        .suffix(".csv")
        .tempfile()
        .expect("a file");
    std::fs::write(
        list.path(),
        "Nom;Prénom;Date de naissance;Sexe;Hôpital;Service\n\
         Peeters;Jan;1980;M;CHR Citadelle;Brûlés\n\
         Dupont;Marie;14/05/1962;F;CHR Citadelle;Urgences\n\
         Dupond;Maria;02/03/1990;F;CHU Sart-Tilman;\n",
    )
    .expect("written");
    c.goto(&app.url(&format!("/console/incidents/{incident}/relatives")))
        .await
        .expect("relatives page");
    wait_for(
        &c,
        "the inquiry listed",
        &format!("tr[data-inquiry='{inquiry}']"),
    )
    .await;
    choose(&c, "#upload-kind", "hospital_admission").await;
    type_into(&c, "#upload-source", "CHR Citadelle").await;
    type_into(&c, "#upload-file", &list.path().display().to_string()).await;
    click(&c, "#upload-button").await;
    wait_for(&c, "the list stored", "#relatives-message").await;
    wait_for(&c, "the list in the table", "#lists tbody tr").await;
    accessible(&c, axe.as_ref(), "relatives page").await;
    let lists = app.store.relatives().lists(incident).await.unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].entries, 3);

    // The inquiry page ranks Marie Dupont first; the operator confirms.
    c.goto(&app.url(&format!("/console/inquiries/{inquiry}")))
        .await
        .expect("inquiry page");
    let first = wait_for(&c, "the candidates", "#candidates tbody tr").await;
    let entry: i64 = first
        .attr("data-entry")
        .await
        .unwrap()
        .expect("an entry")
        .parse()
        .unwrap();
    let (_, listed) = app.store.relatives().entry(entry).await.unwrap().unwrap();
    assert_eq!(
        listed.person.family_names, "Dupont",
        "the best candidate first"
    );
    accessible(&c, axe.as_ref(), "inquiry with candidates").await;
    type_into(&c, &format!("#note-{entry}"), "date de naissance confirmée").await;
    click(&c, &format!("#confirm-{entry}")).await;
    let created = wait_for(&c, "the callback task", ".callback-created").await;
    assert!(created.text().await.unwrap().contains("+32470222222"));
    accessible(&c, axe.as_ref(), "inquiry after the confirmation").await;

    let callbacks = app.store.hotline().callbacks(hotline, true).await.unwrap();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].reason, "inquiry_match");
    assert_eq!(callbacks[0].number, "+32470222222");
    assert!(
        callbacks[0].note.contains("CHR Citadelle"),
        "{}",
        callbacks[0].note
    );

    // The callback waits on the desk of the relatives line.
    c.goto(&app.url(&format!("/console/hotlines/{hotline}/desk")))
        .await
        .expect("desk");
    wait_for(&c, "the callback on the desk", "#callbacks li").await;
    let _ = app
        .client
        .delete(app.url(&format!("/api/simulator/hotline-calls/{call}")))
        .send()
        .await;
    c.close().await.expect("browser closed");
    app.stop().await;
}
