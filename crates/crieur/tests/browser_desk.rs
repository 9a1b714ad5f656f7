//! An operator works the hotline desk in headless Chromium, at a phone's
//! width, with a real call: their phone is SIPp answering at a `sip:` address,
//! a SIPp caller goes through the IVR (French, information line) and reaches
//! them. The desk shows the call card live, the approved answers are searched
//! and refreshed when one is published, the call form is saved (and read back
//! from the store), the call is transferred to the relatives line, and axe-core
//! finds no WCAG 2.1 AA violation. Skips when a peer is missing (fails instead
//! under CRIEUR_REQUIRE_PEERS=1).

mod common;

#[path = "../../crieur-telephony/tests/sip/peers.rs"]
#[allow(dead_code)]
mod peers;

use crieur_domain::Language;
use crieur_domain::access::Role;
use crieur_domain::hotline::HotlineConfig;
use crieur_store::{CallRecord, NewAnswerVersion};
use crieur_telephony::g711::Codec;
use fantoccini::{Client, Locator};
use peers::{Peer, free_ports};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A SIPp caller dialling 1771 that presses `key1` then `key2` and hangs up
/// after `hold_ms` (the scenario of crieur-hotline's own test).
fn caller(sipp: &Path, hotline: SocketAddr, key1: char, key2: char, hold_ms: u32) -> Peer {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let tone = dir.path().join("tone.ulaw");
    let samples: Vec<i16> = (0..16_000)
        .map(|i| ((f64::from(i) / 8000.0 * 300.0 * std::f64::consts::TAU).sin() * 6000.0) as i16)
        .collect();
    let mut ulaw = Vec::new();
    Codec::Pcmu.encode_into(&samples, &mut ulaw);
    std::fs::write(&tone, ulaw).expect("tone");
    let scenario = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crieur-hotline/tests/sipp/uac_hotline.xml"
    ))
    .expect("scenario")
    .replace("@TONE@", &tone.display().to_string())
    .replace("@KEY1@", &key1.to_string())
    .replace("@KEY2@", &key2.to_string())
    .replace("@HOLD_MS@", &hold_ms.to_string());
    let file = dir.path().join("caller.xml");
    std::fs::write(&file, scenario).expect("scenario file");
    let port = free_ports(6);
    let peer = Peer::sipp(
        sipp,
        port,
        port + 2,
        &[
            &hotline.to_string(),
            "-s",
            "1771",
            "-sf",
            &file.display().to_string(),
            "-m",
            "1",
        ],
    );
    // The scenario and tone must outlive the process: keep the folder.
    std::mem::forget(dir);
    peer
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

async fn wait_for(c: &Client, what: &str, css: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{what} ({css}): {e}"));
}

async fn wait_for_xpath(c: &Client, what: &str, xpath: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{what} ({xpath}): {e}"));
}

async fn accessible(c: &Client, axe: Option<&String>, what: &str) {
    if let Some(axe) = axe {
        let v = crieur_testkit::wcag_violations(c, axe).await;
        assert!(v.is_empty(), "{what}: {v:#?}");
    }
    // Nothing wider than the phone's screen.
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

async fn answer(app: &common::TestApp, incident: i64, author: i64, title: &str, topic: &str) {
    app.store
        .hotline()
        .publish_answer(&NewAnswerVersion {
            incident_id: incident,
            answer_key: None,
            language: Language::Fr,
            title: title.into(),
            body: format!("{title}: réponse approuvée par la cellule de crise."),
            topics: vec![topic.into()],
            author,
            at: common::unix_now() as i64,
        })
        .await
        .expect("answer published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_answers_a_call_files_it_and_transfers_it_from_the_desk() {
    let Some(sipp) = peers::sipp() else { return };
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
    let t0 = Instant::now();
    let sip = loop {
        if let Some(a) = app.state.hotlines.sip_address() {
            break a;
        }
        assert!(t0.elapsed() < WAIT, "the SIP endpoint did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    common::account(&app.store, "mayor.l", Role::Mayor, "62063", true).await;
    common::account(
        &app.store,
        "op.liege",
        Role::HotlineOperator,
        "62063",
        false,
    )
    .await;
    let id_of = |name: &'static str| {
        let store = app.store.clone();
        async move {
            store
                .accounts()
                .account_by_username(name)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let mayor = id_of("mayor.l").await;
    let operator = id_of("op.liege").await;
    let incident = app
        .store
        .alerts()
        .open_incident("Incendie au port", "62063".parse().unwrap(), mayor)
        .await
        .unwrap()
        .id;
    let mut hotline_config = HotlineConfig {
        languages: vec![Language::Fr, Language::Nl],
        holding_until: 0,
        ..HotlineConfig::default()
    };
    hotline_config
        .greeting
        .insert(Language::Fr, "Bonjour.".into());
    hotline_config
        .greeting
        .insert(Language::Nl, "Goeiedag.".into());
    hotline_config.acd.keep_place_ms = 0;
    hotline_config.acd.wrap_up_ms = 2_000;
    let hotline = app
        .state
        .hotlines
        .activate(incident, "1771", hotline_config, mayor)
        .await
        .expect("activated")
        .id;
    answer(&app, incident, mayor, "Faut-il évacuer ?", "evacuation").await;
    answer(&app, incident, mayor, "Eau du robinet", "water_food").await;
    // An earlier call from the same number (SIPp calls as `sipp`).
    app.store
        .hotline()
        .upsert_call(&CallRecord {
            hotline_id: hotline,
            call_id: "earlier-call".into(),
            caller: "sipp".into(),
            line: Some(crieur_domain::acd::Line::Information),
            language: Some(Language::Fr),
            ivr_path: "lang:1 > menu:1".into(),
            entered_at: common::unix_now() as i64 - 3600,
            answered_at: None,
            ended_at: Some(common::unix_now() as i64 - 3500),
            operator_id: None,
            ending: Some("abandoned".into()),
        })
        .await
        .unwrap();

    // The operator signs in to Crieur, then to the desk with their phone.
    let c = browser.client(400, 900).await;
    common::browser_sign_in(&c, &app, "op.liege", None).await;
    wait_for(&c, "the console", "#sign-out").await;
    // In French, as the language switch remembers it (the API calls too).
    c.goto(&app.url(&format!("/lang/fr?next=/console/hotlines/{hotline}/desk")))
        .await
        .expect("desk page");
    wait_for(&c, "the sign-in form", "#sign-in:not([hidden]) #extension").await;
    accessible(&c, axe.as_ref(), "desk sign-in").await;
    let phone_port = free_ports(6);
    let phone = Peer::sipp(
        &sipp,
        phone_port,
        phone_port + 2,
        &["-sn", "uas", "-rtp_echo", "-m", "1"],
    );
    type_into(
        &c,
        "#extension",
        &format!("sip:1001@127.0.0.1:{phone_port}"),
    )
    .await;
    click(&c, "#sign-in-button").await;
    wait_for(
        &c,
        "available on the desk",
        "#presence[data-presence='available']",
    )
    .await;
    assert_eq!(
        app.state.hotlines.signed_in_to(operator),
        Some(hotline),
        "signed in"
    );
    wait_for_xpath(
        &c,
        "the approved answers",
        "//ul[@id='answers']/li[h3='Eau du robinet']",
    )
    .await;
    accessible(&c, axe.as_ref(), "desk, no call").await;

    // Break and back.
    click(&c, "#break").await;
    wait_for(&c, "on break", "#presence[data-presence='break']").await;
    click(&c, "#ready").await;
    wait_for(&c, "ready again", "#presence[data-presence='available']").await;

    // A caller: French (1), information (1).
    let call = caller(&sipp, sip, '1', '1', 25_000);
    wait_for(&c, "on the call", "#presence[data-presence='on_call']").await;
    wait_for(
        &c,
        "the call card",
        "#call:not([hidden]) #call-line[data-line='information']",
    )
    .await;
    assert_eq!(text_of(&c, "#call-line").await, "Information");
    assert_eq!(text_of(&c, "#call-language").await, "Français");
    assert_eq!(text_of(&c, "#call-ivr").await, "lang:1 > menu:1");
    assert_eq!(text_of(&c, "#call-caller").await, "sipp");
    let announced = text_of(&c, "#call-announce").await;
    assert!(
        announced.contains("En ligne"),
        "the live region says the call is connected: {announced}"
    );
    assert!(text_of(&c, "#call-wait").await.ends_with(" s"));
    assert_eq!(
        c.find_all(Locator::Css("#earlier li")).await.unwrap().len(),
        1,
        "the earlier call from this number"
    );
    accessible(&c, axe.as_ref(), "desk with a call").await;

    // The answers: searched, then one more published while the desk is open.
    type_into(&c, "#answer-search", "robinet").await;
    wait_for(&c, "the search result", "#answers-count").await;
    let shown = c.find_all(Locator::Css("#answers li")).await.unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(text_of(&c, "#answers li h3").await, "Eau du robinet");
    c.find(Locator::Id("answer-search"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#answer-search", "écoles").await;
    answer(
        &app,
        incident,
        mayor,
        "Les écoles restent fermées",
        "schools",
    )
    .await;
    app.state.hotlines.answers_changed(incident);
    wait_for_xpath(
        &c,
        "the newly published answer",
        "//ul[@id='answers']/li[h3='Les écoles restent fermées']",
    )
    .await;

    // The call form.
    wait_for(&c, "the form opened", "#form-fields:not([disabled])").await;
    click(&c, "#topic-evacuation").await;
    click(&c, "#topic-schools").await;
    type_into(&c, "#tags", "école, gaz").await;
    type_into(&c, "#question", "Faut-il aller chercher les enfants ?").await;
    type_into(&c, "#municipality", "62063").await;
    click(&c, "#worry-4").await;
    type_into(&c, "#notes", "Appelante rassurée.").await;
    click(&c, "#outcome option[value='informed']").await;
    click(&c, "#save-form").await;
    wait_for_xpath(
        &c,
        "the form saved",
        "//p[@id='form-status'][string-length(.) > 0]",
    )
    .await;
    let call_id = app
        .state
        .hotlines
        .desk(hotline, operator)
        .expect("the desk")
        .call
        .expect("the call")
        .call_id;
    let filed = app
        .store
        .hotline()
        .call(hotline, &call_id)
        .await
        .unwrap()
        .expect("the call record")
        .form
        .expect("the form saved");
    assert_eq!(filed.by, operator);
    assert_eq!(filed.form.topics, ["evacuation", "schools"]);
    assert_eq!(filed.form.tags, ["école", "gaz"]);
    assert_eq!(filed.form.worry.map(|w| w.level()), Some(4));
    assert_eq!(filed.form.outcome, "informed");
    assert_eq!(
        filed.form.municipality.map(|m| m.to_string()).as_deref(),
        Some("62063")
    );

    // A bad municipality is refused with the reason, and nothing changes.
    c.find(Locator::Id("municipality"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#municipality", "99999").await;
    click(&c, "#save-form").await;
    wait_for(&c, "the refusal", "#desk-error:not([hidden])").await;
    assert!(
        text_of(&c, "#desk-error")
            .await
            .contains("Commune inconnue")
    );

    // Blind transfer to the relatives line: the operator is free again.
    click(&c, "#transfer-to option[value='relatives']").await;
    click(&c, "#transfer-button").await;
    wait_for_xpath(
        &c,
        "the call gone from the desk",
        "//p[@id='no-call'][not(@hidden)]",
    )
    .await;
    let (code, out) = phone.exit_code(Duration::from_secs(20)).await;
    assert_eq!(code, 0, "the operator's phone was hung up:\n{out}");
    let transfers = common::audit_entries(&app.store, "hotline.transfer").await;
    assert_eq!(transfers.len(), 1);
    assert_eq!(
        app.state
            .hotlines
            .queue_of(hotline, &call_id)
            .map(|q| q.line),
        Some(crieur_domain::acd::Line::Relatives)
    );
    let (code, out) = call.exit_code(Duration::from_secs(60)).await;
    assert_eq!(code, 0, "the caller:\n{out}");

    click(&c, "#sign-out").await;
    wait_for(&c, "signed out", "#sign-in:not([hidden])").await;
    assert_eq!(app.state.hotlines.signed_in_to(operator), None);
    c.close().await.expect("browser closed");
    app.state
        .hotlines
        .deactivate(hotline, mayor, "Fermé.")
        .await
        .unwrap();
    app.stop().await;
}
