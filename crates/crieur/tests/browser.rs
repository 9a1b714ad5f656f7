//! The offline map in headless Chromium.

mod common;

use fantoccini::Locator;
use std::time::Duration;

#[tokio::test]
async fn the_map_draws_provinces_and_names_a_clicked_one() {
    let Some(browser) = crieur_testkit::Browser::start() else {
        return;
    };
    let app = common::spawn().await;
    let c = browser.client(1024, 768).await;
    c.goto(&app.url("/map?lang=fr"))
        .await
        .expect("open the map");
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#map svg path[data-level='province']"))
        .await
        .expect("provinces drawn");
    let provinces = c
        .find_all(Locator::Css("#map svg path[data-level='province']"))
        .await
        .expect("paths");
    assert_eq!(provinces.len(), 11, "10 provinces and Brussels-Capital");

    // Every province has a real outline, not an empty path.
    let sizes: Vec<f64> = serde_json::from_value(
        c.execute(
            "return [...document.querySelectorAll('#map path[data-level=province]')].map(p => { const b = p.getBBox(); return b.width * b.height; });",
            vec![],
        )
        .await
        .expect("bbox script"),
    )
    .expect("numbers");
    assert!(sizes.iter().all(|s| *s > 0.0), "{sizes:?}");

    // Keyboard: focus the province of Liège and press Enter.
    let liege = c
        .find(Locator::Css("#map path[data-nis='60000']"))
        .await
        .expect("Liège province");
    liege.send_keys("\u{E007}").await.expect("Enter");
    let info = c
        .find(Locator::Id("map-info-body"))
        .await
        .expect("info panel");
    let text = info.text().await.expect("text");
    assert!(
        text.contains("Province de Liège") && text.contains("60000"),
        "{text}"
    );

    // Click on Namur province's area.
    let namur = c
        .find(Locator::Css("#map path[data-nis='90000']"))
        .await
        .expect("Namur");
    namur.click().await.expect("click");
    let text = c
        .find(Locator::Id("map-info-body"))
        .await
        .expect("info")
        .text()
        .await
        .expect("text");
    assert!(text.contains("90000"), "{text}");

    // Municipalities load on demand, and search finds one.
    c.find(Locator::Id("map-q"))
        .await
        .expect("search")
        .send_keys("Bastogne")
        .await
        .expect("type");
    c.find(Locator::Css("#map-search button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("search");
    let hit = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ul[@id='map-results']//button[contains(., 'Bastogne')]",
        ))
        .await
        .expect("Bastogne found");
    hit.click().await.expect("select Bastogne");
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(
            "//p[@id='map-info-body'][contains(., 'Bastogne')]",
        ))
        .await
        .expect("Bastogne selected");
    let count: u64 = serde_json::from_value(
        c.execute(
            "return document.querySelectorAll('#map path[data-level=municipality]').length;",
            vec![],
        )
        .await
        .expect("count"),
    )
    .expect("number");
    assert_eq!(count, 565);

    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(format!("{}/map.png", env!("CARGO_TARGET_TMPDIR")), png)
        .expect("save screenshot");
    c.close().await.expect("close");
    app.stop().await;
}

#[tokio::test]
async fn public_pages_meet_wcag_aa_on_desktop_and_phone() {
    let Some(browser) = crieur_testkit::Browser::start() else {
        return;
    };
    let Some(axe) = crieur_testkit::axe_script() else {
        return;
    };
    let app = common::spawn().await;
    for (width, height) in [(1280, 900), (375, 740)] {
        let c = browser.client(width, height).await;
        for lang in ["fr", "nl", "de", "en"] {
            for path in ["/", "/map", "/login", "/no-such-page"] {
                c.goto(&app.url(&format!("{path}?lang={lang}")))
                    .await
                    .expect("open");
                if path == "/map" {
                    c.wait()
                        .at_most(Duration::from_secs(20))
                        .for_element(Locator::Css("#map svg path[data-level='province']"))
                        .await
                        .expect("map drawn");
                }
                let violations = crieur_testkit::wcag_violations(&c, &axe).await;
                assert!(
                    violations.is_empty(),
                    "{path} in {lang} at {width}px: {violations:#?}"
                );
                // Nothing wider than the screen: no sideways scrolling on a phone.
                let overflow: bool = serde_json::from_value(
                    c.execute(
                        "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                        vec![],
                    )
                    .await
                    .expect("measure"),
                )
                .expect("bool");
                assert!(!overflow, "{path} in {lang} scrolls sideways at {width}px");
            }
        }
        if width < 500 {
            c.goto(&app.url("/map?lang=nl")).await.expect("open");
            let png = c.screenshot().await.expect("screenshot");
            std::fs::write(
                format!("{}/map-phone.png", env!("CARGO_TARGET_TMPDIR")),
                png,
            )
            .expect("save screenshot");
        }
        c.close().await.expect("close");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_authority_signs_in_with_a_totp_code_and_signs_out() {
    let Some(browser) = crieur_testkit::Browser::start() else {
        return;
    };
    let axe = crieur_testkit::axe_script();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::config_in(dir.path());
    let app = common::spawn_in(dir, config, crieur::app::Mode { demo: true }).await;
    common::account(
        &app.store,
        "mayor.liege",
        crieur_domain::access::Role::Mayor,
        "62063",
        true,
    )
    .await;
    let c = browser.client(1024, 768).await;
    c.goto(&app.url("/login?lang=en"))
        .await
        .expect("open sign-in");
    // The demo lists its accounts with their current code, clearly marked.
    let demo = c
        .find(Locator::Id("demo-accounts-title"))
        .await
        .expect("demo section")
        .text()
        .await
        .expect("text");
    assert!(demo.contains("Demo accounts"), "{demo}");
    // Take the current code the way a demo visitor would: from the sign-in page.
    let shown = c
        .find(Locator::Css("code[data-demo-code='mayor.liege']"))
        .await
        .expect("the account's code is shown")
        .text()
        .await
        .expect("text");
    assert!(
        shown.len() == 6 && shown.bytes().all(|b| b.is_ascii_digit()),
        "{shown}"
    );
    c.find(Locator::Id("username"))
        .await
        .expect("field")
        .send_keys("mayor.liege")
        .await
        .expect("type");
    c.find(Locator::Id("password"))
        .await
        .expect("field")
        .send_keys(common::PASSWORD)
        .await
        .expect("type");
    c.find(Locator::Css("form[action='/login'] button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    let code_field = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("code"))
        .await
        .expect("the code step");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "code page: {v:#?}");
    }
    code_field.send_keys(&shown).await.expect("type code");
    c.find(Locator::Css("form[action='/login/code'] button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("verify");
    let who = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("whoami"))
        .await
        .expect("the console")
        .text()
        .await
        .expect("text");
    assert!(
        who.contains("mayor.liege") && who.contains("62063"),
        "{who}"
    );
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "console: {v:#?}");
    }
    c.find(Locator::Id("sign-out"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("sign out");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("username"))
        .await
        .expect("back on the sign-in page");
    c.goto(&app.url("/console")).await.expect("open console");
    let url = c.current_url().await.expect("url");
    assert!(url.path().starts_with("/login"), "signed out: {url}");
    c.close().await.expect("close");
    app.stop().await;
}

#[tokio::test]
async fn a_citizen_registers_in_french_confirms_downloads_and_deletes() {
    let Some(browser) = crieur_testkit::Browser::start() else {
        return;
    };
    let axe = crieur_testkit::axe_script();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    let app = common::spawn_in(dir, config, Default::default()).await;
    common::small_registry(&app.store).await;
    let c = browser.client(412, 900).await;
    c.goto(&app.url("/register?lang=fr"))
        .await
        .expect("open registration");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "register: {v:#?}");
    }
    let fill = |id: &'static str, text: &'static str| {
        let c = c.clone();
        async move {
            c.find(Locator::Id(id))
                .await
                .expect(id)
                .send_keys(text)
                .await
                .expect("type");
        }
    };
    fill("phone_0", "0470 12 34 56").await;
    fill("email_0", "marie@example.be").await;
    fill("address_0_street", "Place Saint-Lambert").await;
    fill("address_0_number", "1").await;
    fill("address_0_postcode", "4000").await;
    // The second address sits in a folded section.
    c.find(Locator::XPath(
        "//summary[normalize-space(.)='Ajouter une adresse']",
    ))
    .await
    .expect("add address")
    .click()
    .await
    .expect("unfold");
    // Not in the registry: placed with a pin on the map of its postcode.
    fill("address_1_street", "Chemin des Pins").await;
    fill("address_1_number", "7").await;
    fill("address_1_postcode", "5000").await;
    c.find(Locator::Css("#address_1 details.pin summary"))
        .await
        .expect("pin section")
        .click()
        .await
        .expect("unfold the pin map");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#address_1 .pin-map[data-loaded] svg"))
        .await
        .expect("the pin map, zoomed on the postcode")
        .click()
        .await
        .expect("place the pin");
    let lat: f64 = c
        .find(Locator::Id("address_1_lat"))
        .await
        .expect("latitude")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
        .parse()
        .expect("the map filled in a latitude");
    assert!((50.3..50.6).contains(&lat), "a pin in Namur, not at {lat}");
    c.find(Locator::Css("#address_1_label option[value='work']"))
        .await
        .expect("label")
        .click()
        .await
        .expect("choose");
    c.find(Locator::Id("consent"))
        .await
        .expect("consent")
        .click()
        .await
        .expect("agree");
    c.find(Locator::Id("register-submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("register");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//h1[contains(., 'Confirmez vos contacts')]",
        ))
        .await
        .expect("the confirmation page, in the language chosen");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "confirm: {v:#?}");
    }

    // Read the SMS in the device simulator.
    app.settle().await;
    c.goto(&app.url("/simulator")).await.expect("simulator");
    let warning = c
        .find(Locator::Css("p.demo-note"))
        .await
        .expect("label")
        .text()
        .await
        .expect("text");
    assert!(warning.contains("SIMULATION"), "{warning}");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "simulator: {v:#?}");
    }
    let sms = c
        .find(Locator::Css(
            "tr[data-to='+32470123456'][data-channel='sms'] td.wrap",
        ))
        .await
        .expect("the SMS")
        .text()
        .await
        .expect("text");
    let code: String = sms
        .split(|ch: char| !ch.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code")
        .to_owned();
    c.back().await.expect("back to confirmation");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("input[name='code']"))
        .await
        .expect("code field")
        .send_keys(&code)
        .await
        .expect("type code");
    c.find(Locator::Css("form[action='/confirm/phone'] button"))
        .await
        .expect("verify")
        .click()
        .await
        .expect("verify");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("[data-verified='+32470123456']"))
        .await
        .expect("the phone is confirmed");

    c.goto(&app.url("/profile")).await.expect("profile");
    let addresses = c
        .find(Locator::Id("profile-addresses"))
        .await
        .expect("addresses")
        .text()
        .await
        .expect("text");
    assert!(
        addresses.contains("Liège") && addresses.contains("Namur"),
        "{addresses}"
    );
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "profile: {v:#?}");
    }
    // What the download link gives, fetched from the page with its session.
    let exported = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.getElementById('export').href).then(r => r.json()).then(done, e => done(String(e)));",
            vec![],
        )
        .await
        .expect("export");
    assert_eq!(
        exported["addresses"].as_array().map(Vec::len),
        Some(2),
        "{exported}"
    );
    assert_eq!(exported["language"], "fr");
    assert_eq!(exported["addresses"][1]["placed"], "pin", "{exported}");

    c.find(Locator::Id("delete-account"))
        .await
        .expect("delete")
        .click()
        .await
        .expect("delete");
    let message = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("message"))
        .await
        .expect("confirmation of erasure")
        .text()
        .await
        .expect("text");
    assert!(message.contains("effacées"), "{message}");
    c.close().await.expect("close");
    app.stop().await;
}
