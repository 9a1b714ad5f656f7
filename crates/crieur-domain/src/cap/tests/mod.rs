//! The CAP model's tests: writing here, reading untrusted input in `reading`, the
//! rules and simple values in `rules`. Fixtures are shared from this file.

mod reading;
mod rules;

use super::*;
use crate::Language;

pub(super) fn dt(s: &str) -> DateTime {
    s.parse().expect("valid CAP date-time")
}

pub(super) fn square(lat: f64, lon: f64) -> Polygon {
    let d = 0.25;
    Polygon::from_lat_lon(&[
        (lat, lon),
        (lat + d, lon),
        (lat + d, lon + d),
        (lat, lon + d),
        (lat, lon),
    ])
    .expect("valid square")
}

/// An update that uses every element CAP 1.2 has, in two languages.
pub(super) fn full_alert() -> Alert {
    let mut alert = Alert::new(
        "BE-CRIEUR-2026-0042",
        "crisiscenter@crieur.example",
        dt("2026-11-29T10:15:00+01:00"),
        Status::Actual,
        MsgType::Update,
        Scope::Private,
    );
    alert.source = Some("NCCN duty officer".into());
    alert.addresses = vec!["mayor@liege.example".into(), "Cellule de crise".into()];
    alert.codes = vec!["BE-ALERT".into(), "profile:CAP-BE:1.0".into()];
    alert.note = Some("Extends the area & the duration".into());
    alert.references = vec![Reference {
        sender: "crisiscenter@crieur.example".into(),
        identifier: "BE-CRIEUR-2026-0041".into(),
        sent: dt("2026-11-29T09:00:00+01:00"),
    }];
    alert.incidents = vec!["fire-2026-11-29".into(), "zone nord".into()];

    let mut fr = Info::new(
        Category::Fire,
        "Incendie industriel",
        Urgency::Immediate,
        Severity::Severe,
        Certainty::Observed,
    );
    fr.language = Some(Language::Fr.into());
    fr.categories.push(Category::Cbrne);
    fr.response_types = vec![ResponseType::Shelter, ResponseType::Monitor];
    fr.audience = Some("Habitants d'Herstal".into());
    fr.event_codes = vec![ValueName::new("SAME", "FRW")];
    fr.effective = Some(dt("2026-11-29T10:15:00+01:00"));
    fr.onset = Some(dt("2026-11-29T10:00:00+01:00"));
    fr.expires = Some(dt("2026-11-29T18:00:00+01:00"));
    fr.sender_name = Some("Centre de crise national".into());
    fr.headline = Some("Fumées toxiques: restez à l'intérieur".into());
    fr.description =
        Some("Un incendie <majeur> & \"toxique\".\r\nDeuxième ligne\tavec tab.".into());
    fr.instruction = Some("Fermez portes et fenêtres.".into());
    fr.web = Some("https://crieur.example/alerts/42?lang=fr&x=1".into());
    fr.contact = Some("1771".into());
    fr.parameters = vec![ValueName::new(
        "layer:BE-ALERT:channels",
        "sms cell-broadcast",
    )];
    fr.resources = vec![Resource {
        resource_desc: "Carte".into(),
        mime_type: "image/png".into(),
        size: Some(12_345),
        uri: Some("https://crieur.example/alerts/42/map.png".into()),
        deref_uri: None,
        digest: Some("2fd4e1c67a2d28fced849ee1bb76e7391b93eb12".into()),
    }];
    let mut area = Area::new("Herstal, zone industrielle");
    area.polygons = vec![square(50.5, 5.5), square(50.75, 5.25)];
    area.circles = vec![Circle::new(geo::Point::new(5.6316, 50.6639), 2.5).expect("valid circle")];
    area.geocodes = vec![ValueName::new("NIS", "62051")];
    area.altitude = Some(0.0);
    area.ceiling = Some(1500.5);
    fr.areas = vec![area, Area::new("Liège")];

    let mut nl = fr.clone();
    nl.language = Some(LanguageTag::parse("nl-BE").expect("tag"));
    nl.event = "Industriële brand".into();
    nl.headline = Some("Giftige rook: blijf binnen".into());
    nl.description = None;
    nl.resources.clear();

    alert.infos = vec![fr, nl];
    alert
}

pub(super) fn problems(xml: &str) -> Vec<CapProblem> {
    match Alert::from_xml(xml.as_bytes()) {
        Err(CapError::Invalid(p)) => p,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

pub(super) fn has(problems: &[CapProblem], path: &str, words: &str) -> bool {
    problems
        .iter()
        .any(|p| p.path == path && p.message.contains(words))
}

pub(super) const MINIMAL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KMI-2026-17</identifier>
  <sender>warnings@kmi.example</sender>
  <sent>2026-11-29T06:00:00-00:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Storm</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
  </info>
</alert>
"#;

#[test]
fn round_trip_keeps_every_field() {
    let alert = full_alert();
    assert_eq!(validate(&alert), vec![]);
    let xml = alert.to_xml();
    let back = Alert::from_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(back, alert);
    assert_eq!(back.to_xml(), xml, "writing is deterministic");
}

#[test]
fn writes_declaration_namespace_and_escapes() {
    let xml = full_alert().to_xml();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">"));
    assert!(xml.contains("Un incendie &lt;majeur&gt; &amp; \"toxique\".&#13;\nDeuxième"));
    assert!(xml.contains("<web>https://crieur.example/alerts/42?lang=fr&amp;x=1</web>"));
    assert!(xml.contains("<addresses>mayor@liege.example \"Cellule de crise\"</addresses>"));
    assert!(xml.contains("<references>crisiscenter@crieur.example,BE-CRIEUR-2026-0041,2026-11-29T09:00:00+01:00</references>"));
    assert!(xml.contains("<circle>50.6639,5.6316 2.5</circle>"));
    assert!(xml.contains("<polygon>50.5,5.5 50.75,5.5 50.75,5.75 50.5,5.75 50.5,5.5</polygon>"));
    assert!(xml.contains("<altitude>0</altitude>") && xml.contains("<ceiling>1500.5</ceiling>"));
}

#[test]
fn elements_follow_the_xsd_sequence() {
    let xml = full_alert().to_xml();
    let in_order = |names: &[&str], within: &str| {
        let positions: Vec<usize> = names
            .iter()
            .map(|n| {
                within
                    .find(&format!("<{n}>"))
                    .unwrap_or_else(|| panic!("<{n}> not written"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "{names:?} at {positions:?}"
        );
    };
    let alert_part = &xml[..xml.find("<info>").expect("an info")];
    in_order(
        &[
            "identifier",
            "sender",
            "sent",
            "status",
            "msgType",
            "source",
            "scope",
            "addresses",
            "code",
            "note",
            "references",
            "incidents",
        ],
        alert_part,
    );
    let first_info = &xml[xml.find("<info>").expect("info")..xml.find("</info>").expect("end")];
    in_order(
        &[
            "language",
            "category",
            "event",
            "responseType",
            "urgency",
            "severity",
            "certainty",
            "audience",
            "eventCode",
            "effective",
            "onset",
            "expires",
            "senderName",
            "headline",
            "description",
            "instruction",
            "web",
            "contact",
            "parameter",
            "resource",
            "area",
        ],
        first_info,
    );
    in_order(
        &["resourceDesc", "mimeType", "size", "uri", "digest"],
        first_info,
    );
    in_order(
        &[
            "areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling",
        ],
        first_info,
    );
    in_order(&["valueName", "value"], first_info);
}
