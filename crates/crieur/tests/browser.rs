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
