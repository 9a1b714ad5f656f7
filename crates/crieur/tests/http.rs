//! The HTTP face of the platform, exercised like a client would.

mod common;

use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn health_metrics_and_openapi_are_served() {
    let app = common::spawn().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    let backend = match crieur_testkit::Backend::from_env() {
        crieur_testkit::Backend::Sqlite => "sqlite",
        crieur_testkit::Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], backend);

    let r = app.get("/api/openapi.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    for path in [
        "/api/territories",
        "/api/territories/{nis}",
        "/api/postal-codes/{code}",
        "/api/locate",
        "/api/geocode",
        "/healthz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }

    let r = app.get("/metrics").await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.expect("text");
    assert!(text.contains("crieur_http_requests_total"), "{text}");
    assert!(text.contains("path=\"/healthz\""), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn territories_api_answers_the_reference_questions() {
    let app = common::spawn().await;
    let provinces: Vec<Value> = app
        .get("/api/territories?level=province")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(provinces.len(), 11);

    let r: Value = app
        .get("/api/postal-codes/4000")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(r["municipalities"][0]["nis"], "62063");

    let r: Value = app
        .get("/api/locate?lon=5.7158&lat=50.0036")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        r["province"]["nis"], "80000",
        "Bastogne is in Luxembourg province: {r}"
    );

    let r: Value = app
        .get("/api/territories/62063?lang=nl")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(r["name"], "Luik");
    assert_eq!(
        r["ancestry"],
        serde_json::json!(["62063", "60000", "03000", "01000"])
    );
    assert!(
        r["postal_codes"]
            .as_array()
            .expect("codes")
            .contains(&Value::from("4000"))
    );

    let children: Vec<Value> = app
        .get("/api/territories?parent=21000")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(children.len(), 19, "Brussels-Capital has 19 municipalities");

    let r = app.get("/api/territories.geojson?level=province").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/geo+json");
    let fc: Value = r.json().await.expect("json");
    assert_eq!(fc["features"].as_array().expect("features").len(), 11);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_in_the_callers_language() {
    let app = common::spawn().await;
    let cases = [
        (
            "/api/territories/6206x",
            "nl",
            StatusCode::BAD_REQUEST,
            "geen NIS-code",
        ),
        (
            "/api/territories/99999",
            "fr",
            StatusCode::NOT_FOUND,
            "Aucun territoire",
        ),
        (
            "/api/territories?level=canton",
            "de",
            StatusCode::BAD_REQUEST,
            "Unbekannte Ebene",
        ),
        (
            "/api/postal-codes/9999",
            "en",
            StatusCode::NOT_FOUND,
            "not a Belgian postal code",
        ),
        (
            "/api/locate?lon=abc&lat=50",
            "fr",
            StatusCode::BAD_REQUEST,
            "coordonnée",
        ),
        (
            "/api/locate?lon=2.35&lat=48.85",
            "en",
            StatusCode::NOT_FOUND,
            "not in Belgium",
        ),
        (
            "/api/nothing-here",
            "nl",
            StatusCode::NOT_FOUND,
            "API-adres",
        ),
    ];
    for (path, lang, status, expected) in cases {
        let r = app
            .client
            .get(app.url(path))
            .header("accept-language", format!("{lang},en;q=0.5"))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), status, "{path}");
        let body: Value = r.json().await.expect("json error body");
        let message = body["message"].as_str().expect("message");
        assert!(message.contains(expected), "{path} in {lang}: {message}");
        assert!(body["error"].as_str().expect("code").starts_with("error."));
    }
    app.stop().await;
}

#[tokio::test]
async fn pages_follow_the_chosen_language_and_stay_local() {
    let app = common::spawn().await;
    for (lang, title) in [
        ("fr", "Carte de la Belgique"),
        ("nl", "Kaart van België"),
        ("de", "Karte Belgiens"),
        ("en", "Map of Belgium"),
    ] {
        let r = app.get(&format!("/map?lang={lang}")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        let html = r.text().await.expect("html");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{lang}");
        assert!(html.contains(title), "{lang}: {title}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external resource in {lang}"
        );
    }

    // The switch remembers the choice and returns to the page.
    let r = app.get("/lang/nl?next=/map").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/map");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(cookie.starts_with("crieur_lang=nl"), "{cookie}");
    let html = app
        .client
        .get(app.url("/map"))
        .header("cookie", "crieur_lang=nl")
        .header("accept-language", "fr")
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("<html lang=\"nl\">"),
        "the cookie beats the browser's language"
    );

    // It never sends the visitor elsewhere.
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let r = app.get(&format!("/lang/fr?next={next}")).await;
        assert_eq!(r.headers()["location"], "/", "{next}");
    }

    let r = app.get("/no/such/page?lang=de").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.text()
            .await
            .expect("html")
            .contains("Seite nicht gefunden")
    );

    // Static assets are embedded and cacheable.
    let html = app.get("/map").await.text().await.expect("html");
    let css = html
        .split("href=\"")
        .find(|s| s.starts_with("/static/"))
        .expect("css link");
    let css = &css[..css.find('"').expect("end")];
    let r = app.get(css).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .expect("cc")
            .contains("immutable")
    );
    app.stop().await;
}

#[tokio::test]
async fn geocoding_uses_the_imported_registry() {
    let app = common::spawn().await;
    let csv = app.dir.path().join("registry.csv");
    std::fs::write(
        &csv,
        "streetname_fr,streetname_nl,house_number,postcode,municipality_name_fr,EPSG:4326_lon,EPSG:4326_lat\n\
         Place Saint-Lambert,Sint-Lambertusplein,1,4000,Liège,5.5736,50.6452\n",
    )
    .expect("write csv");
    let out = common::crieur(&[
        "--database-url",
        &app.db_url,
        "addresses",
        "import",
        csv.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));

    let r: Value = app
        .get("/api/geocode?postcode=4000&street=place%20saint%20lambert&number=1")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(r["municipality"]["nis"], "62063", "{r}");
    assert!((r["lon"].as_f64().expect("lon") - 5.5736).abs() < 1e-9);

    let r = app
        .get("/api/geocode?postcode=4000&street=Sint-Lambertusplein&number=2")
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app.get("/api/geocode?postcode=4000&street=&number=1").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn the_demo_seeds_its_synthetic_registry_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::config_in(dir.path());
    let app = crieur::App::build(config.clone(), crieur::app::Mode { demo: true })
        .await
        .expect("builds");
    crieur::demo::seed(&app).await.expect("seeds");
    let store = &app.state().store;
    let count = store.addresses().count_addresses().await.expect("count");
    assert!(count > 1000, "only {count} synthetic addresses");
    let sources = store.addresses().registry_sources().await.expect("sources");
    assert_eq!(sources.len(), 1);
    assert!(
        sources[0].synthetic,
        "the demo registry is labelled synthetic"
    );
    crieur::demo::seed(&app).await.expect("seeds again");
    assert_eq!(
        store
            .addresses()
            .registry_sources()
            .await
            .expect("sources")
            .len(),
        1,
        "seeded once"
    );

    let app = common::spawn_in(dir, config, crieur::app::Mode { demo: true }).await;
    let html = app.get("/?lang=en").await.text().await.expect("html");
    assert!(
        html.contains("Demonstration: fictitious data"),
        "the demo says so on every page"
    );
    app.stop().await;
}
