//! The mayor of Liège composes an alert in headless Chromium: draws a polygon
//! on the offline map, sees the recipient count, releases an Exercise alert
//! that appears in the Atom feed and reaches the device simulator.

mod common;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn the_mayor_of_liege_draws_an_area_and_releases_an_exercise() {
    let Some(browser) = crieur_testkit::Browser::start() else {
        return;
    };
    let axe = crieur_testkit::axe_script();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config_in(dir.path());
    config.channels.simulator = true;
    let app = common::spawn_in(dir, config, Default::default()).await;
    common::small_registry(&app.store).await;
    // One citizen inside the polygon to be drawn, one in Liège outside it.
    common::citizen(
        &app,
        "fr",
        "+32470000011",
        &[json!({"label": "home", "street": "Place Saint-Lambert", "house_number": "1", "postcode": "4000"})],
    )
    .await;
    common::citizen(
        &app,
        "nl",
        "+32470000012",
        &[json!({"label": "home", "street": "Rue lointaine", "house_number": "2", "postcode": "4000",
                 "longitude": 5.6200, "latitude": 50.5900})],
    )
    .await;
    let secret = common::account(
        &app.store,
        "mayor.liege",
        crieur_domain::access::Role::Mayor,
        "62063",
        true,
    )
    .await
    .expect("secret");

    let c = browser.client(1280, 1000).await;
    common::browser_sign_in(
        &c,
        &app,
        "mayor.liege",
        Some(secret.code_at(common::unix_now())),
    )
    .await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("compose-link"))
        .await
        .expect("the console offers to compose")
        .click()
        .await
        .expect("open the composer");

    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#compose-map[data-loaded]"))
        .await
        .expect("the map of Liège");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "composer: {v:#?}");
    }
    c.find(Locator::Id("incident-title"))
        .await
        .expect("title")
        .send_keys("Incendie industriel")
        .await
        .expect("type");
    c.find(Locator::Id("open-incident"))
        .await
        .expect("button")
        .click()
        .await
        .expect("open incident");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//select[@id='incident']/option[contains(., 'Incendie industriel')]",
        ))
        .await
        .expect("the new incident, selected");
    c.find(Locator::Css("#template option[value='fire-smoke']"))
        .await
        .expect("template")
        .click()
        .await
        .expect("choose the fire template");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//textarea[@id='fr-sms'][string-length(.) > 0 or string-length(@value) > 0]",
        ))
        .await
        .ok();
    // The live counter counts the SMS as it will leave, marked as an exercise.
    let typed: String = serde_json::from_value(
        c.execute(
            "const sms = document.getElementById('fr-sms');
             return 'EXERCICE - ' + sms.value;",
            vec![],
        )
        .await
        .expect("sms text"),
    )
    .expect("a string");
    let counter = c
        .find(Locator::Id("fr-sms-count"))
        .await
        .expect("counter")
        .text()
        .await
        .expect("text");
    let expected = crieur_domain::sms::analyse(&typed);
    assert!(
        counter.starts_with(&format!("{} · {} ", expected.units, expected.segments)),
        "{counter} for {typed:?}"
    );
    // Only the drawn polygon: no territory code.
    c.find(Locator::Id("codes"))
        .await
        .expect("codes")
        .clear()
        .await
        .expect("clear");
    c.find(Locator::Id("draw"))
        .await
        .expect("draw")
        .click()
        .await
        .expect("drawing mode");
    // A square of about 1.4 km around Place Saint-Lambert, clicked corner by corner.
    let corners = [
        (5.562, 50.640),
        (5.585, 50.640),
        (5.585, 50.651),
        (5.562, 50.651),
    ];
    for (lon, lat) in corners {
        let at: Vec<f64> = serde_json::from_value(
            c.execute(
                "const svg = document.querySelector('#compose-map svg');
                 svg.scrollIntoView({block: 'center'});
                 const k = Math.cos(50.5 * Math.PI / 180);
                 const p = new DOMPoint(arguments[0] * k, -arguments[1]).matrixTransform(svg.getScreenCTM());
                 return [p.x, p.y];",
                vec![json!(lon), json!(lat)],
            )
            .await
            .expect("corner position"),
        )
        .expect("two numbers");
        let click = MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo {
                duration: None,
                x: at[0].round(),
                y: at[1].round(),
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        c.perform_actions(click).await.expect("click a corner");
    }
    let vertices = c
        .find(Locator::Id("compose-map"))
        .await
        .expect("map")
        .attr("data-vertices")
        .await
        .expect("attr");
    assert_eq!(vertices.as_deref(), Some("4"));

    c.find(Locator::Id("preview"))
        .await
        .expect("count")
        .click()
        .await
        .expect("count recipients");
    let counted = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#compose-result[data-persons]"))
        .await
        .expect("a count");
    assert_eq!(
        counted.attr("data-persons").await.expect("attr").as_deref(),
        Some("1"),
        "only the citizen inside the drawn square: {}",
        counted.text().await.unwrap_or_default()
    );
    c.find(Locator::Id("save"))
        .await
        .expect("save")
        .click()
        .await
        .expect("save the draft");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#release:not([hidden])"))
        .await
        .expect("release offered")
        .click()
        .await
        .expect("release");
    let link = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("released-link"))
        .await
        .expect("released");
    let href = link.attr("href").await.expect("href").expect("a link");
    // Delivery progress follows live until every message is accounted for.
    let progress = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#progress[data-done]"))
        .await
        .expect("delivery done")
        .text()
        .await
        .expect("text");
    assert!(progress.contains("sms: 1/1"), "{progress}");

    // The alert's delivery page: per channel and provider, finished.
    let alert_id = href.rsplit('/').next().expect("an id").to_owned();
    c.goto(&app.url(&format!("/console/alerts/{alert_id}/delivery")))
        .await
        .expect("delivery page");
    let pace = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#pace[data-done]"))
        .await
        .expect("the delivery is shown finished")
        .text()
        .await
        .expect("text");
    assert!(!pace.is_empty());
    let sent = c
        .find(Locator::Css(
            "tr[data-channel='sms'][data-provider='simulator'] td[data-count='sent']",
        ))
        .await
        .expect("the SMS lane of the simulator")
        .text()
        .await
        .expect("text");
    assert_eq!(sent, "1");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "delivery page: {v:#?}");
    }

    let feed = app.get("/alerts.atom").await.text().await.expect("feed");
    assert!(feed.contains(&format!("{href}/cap.xml")), "{feed}");
    let mut sms = Vec::new();
    for _ in 0..50 {
        sms = common::sms_to(&app, "+32470000011").await;
        if sms.iter().any(|t| t.contains("EXERCICE")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sms.iter().any(|t| t.starts_with("EXERCICE - ")), "{sms:?}");
    assert!(
        common::sms_to(&app, "+32470000012")
            .await
            .iter()
            .all(|t| !t.contains("OEFENING")),
        "outside the drawn square"
    );
    // The incidents page shows it released, with its public page.
    c.goto(&app.url("/console/incidents?lang=fr"))
        .await
        .expect("incidents page");
    let row = c
        .find(Locator::Css("tr[data-state='released']"))
        .await
        .expect("the released alert listed")
        .text()
        .await
        .expect("text");
    assert!(row.contains("Diffusée"), "{row}");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "incidents page: {v:#?}");
    }
    // The all-clear: an Update from the template, for the same area, released.
    c.find(Locator::Css(
        "tr[data-state='released'] button[data-action='all-clear']",
    ))
    .await
    .expect("all-clear offered")
    .click()
    .await
    .expect("all-clear");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//tr[@data-state='released'][contains(., 'Update')]",
        ))
        .await
        .expect("the all-clear released as an Update");
    let mut sms = Vec::new();
    for _ in 0..50 {
        sms = common::sms_to(&app, "+32470000011").await;
        if sms.iter().any(|t| t.contains("Le danger est")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sms.iter()
            .any(|t| t.starts_with("EXERCICE - ") && t.contains("Le danger est")),
        "{sms:?}"
    );
    c.goto(&app.url(&href)).await.expect("public page");
    if let Some(axe) = &axe {
        let v = crieur_testkit::wcag_violations(&c, axe).await;
        assert!(v.is_empty(), "public alert page: {v:#?}");
    }
    c.close().await.expect("close");
    app.stop().await;
}
