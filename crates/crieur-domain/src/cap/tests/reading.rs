//! Reading messages from other systems: what is accepted, and each refusal.

use super::{MINIMAL, has, problems};
use crate::cap::*;

#[test]
fn reads_a_foreign_message_with_comments_cdata_and_signature() {
    let xml = MINIMAL.replace(
        "<event>Storm</event>",
        "<!-- from KMI --><event><![CDATA[Storm <gusts> & rain]]></event>",
    )
    .replace(
        "</info>",
        "</info>\n<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo/></Signature>",
    );
    let alert = Alert::from_xml(xml.as_bytes()).expect("valid");
    assert_eq!(alert.infos[0].event, "Storm <gusts> & rain");
    assert_eq!(alert.infos[0].language_tag(), "en-US");
    assert_eq!(alert.sent.as_str(), "2026-11-29T06:00:00-00:00");
    // A prefixed CAP namespace is the same namespace.
    let prefixed = r#"<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <cap:identifier>KMI-2026-17</cap:identifier><cap:sender>warnings@kmi.example</cap:sender>
  <cap:sent>2026-11-29T06:00:00-00:00</cap:sent><cap:status>Actual</cap:status>
  <cap:msgType>Alert</cap:msgType><cap:scope>Public</cap:scope>
  <cap:info><cap:category>Met</cap:category><cap:event>Storm</cap:event>
  <cap:urgency>Expected</cap:urgency><cap:severity>Moderate</cap:severity>
  <cap:certainty>Likely</cap:certainty></cap:info></cap:alert>"#;
    assert_eq!(
        Alert::from_xml(prefixed.as_bytes()),
        Alert::from_xml(MINIMAL.as_bytes())
    );
}

#[test]
fn refuses_oversized_input_before_parsing() {
    let huge = vec![b' '; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        Alert::from_xml(&huge),
        Err(CapError::TooLarge {
            size: MAX_MESSAGE_BYTES + 1,
            limit: MAX_MESSAGE_BYTES
        })
    );
}

#[test]
fn refuses_billion_laughs() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"#;
    let err = Alert::from_xml(xml.as_bytes()).expect_err("refused");
    assert_eq!(err, CapError::Doctype);
    assert!(err.to_string().contains("DOCTYPE"));
}

#[test]
fn refuses_external_entities() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE alert [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><note>&xxe;</note></alert>"#;
    assert_eq!(Alert::from_xml(xml.as_bytes()), Err(CapError::Doctype));
    let plain = MINIMAL.replace("<alert ", "<!DOCTYPE alert>\n<alert ");
    assert_eq!(Alert::from_xml(plain.as_bytes()), Err(CapError::Doctype));
    // Without a DTD an entity reference has nothing to expand to.
    let undeclared = MINIMAL.replace("<event>Storm", "<event>&xxe;Storm");
    match Alert::from_xml(undeclared.as_bytes()) {
        Err(CapError::Malformed {
            line: 11, message, ..
        }) => {
            assert!(message.contains("undefined entity &xxe;"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let chars = MINIMAL.replace("<event>Storm", "<event>&#83;&#x74;&amp;orm");
    let alert = Alert::from_xml(chars.as_bytes()).expect("character references are fine");
    assert_eq!(alert.infos[0].event, "St&orm");
}

#[test]
fn refuses_other_namespaces_and_roots() {
    let v11 = MINIMAL.replace("cap:1.2", "cap:1.1");
    let err = Alert::from_xml(v11.as_bytes()).expect_err("CAP 1.1");
    assert_eq!(
        err,
        CapError::NotCap {
            element: "alert".into(),
            namespace: Some("urn:oasis:names:tc:emergency:cap:1.1".into())
        }
    );
    assert!(
        err.to_string()
            .contains("urn:oasis:names:tc:emergency:cap:1.1")
    );
    let none = MINIMAL.replace(" xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"", "");
    assert!(matches!(
        Alert::from_xml(none.as_bytes()),
        Err(CapError::NotCap {
            namespace: None,
            ..
        })
    ));
    let feed = r#"<feed xmlns="http://www.w3.org/2005/Atom"/>"#;
    assert!(matches!(
        Alert::from_xml(feed.as_bytes()),
        Err(CapError::NotCap { ref element, .. }) if element == "feed"
    ));
    // A CAP child in no namespace.
    let stray = MINIMAL.replace("<note>", "").replace(
        "<scope>Public</scope>",
        "<scope>Public</scope><note xmlns=\"\">hi</note>",
    );
    assert!(has(&problems(&stray), "alert/note", "no namespace"));
}

#[test]
fn names_every_missing_element() {
    let xml = MINIMAL
        .replace("<sender>warnings@kmi.example</sender>", "")
        .replace("<certainty>Likely</certainty>", "")
        .replace("<category>Met</category>", "");
    let p = problems(&xml);
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(has(&p, "alert/sender", "is missing"));
    assert!(has(&p, "alert/info[1]/certainty", "is missing"));
    assert!(has(&p, "alert/info[1]/category", "is missing"));
    let shown = CapError::Invalid(p).to_string();
    assert!(
        shown.contains("alert/info[1]/certainty is missing"),
        "{shown}"
    );
}

#[test]
fn names_invalid_codes_with_their_value() {
    let xml = MINIMAL
        .replace(">Actual<", ">Real<")
        .replace(">Expected<", ">Soon<")
        .replace(">Met<", ">Weather<");
    let p = problems(&xml);
    assert!(
        has(&p, "alert/status", "\"Real\" is not a CAP status value"),
        "{p:?}"
    );
    assert!(has(&p, "alert/info[1]/urgency", "\"Soon\""));
    assert!(has(&p, "alert/info[1]/category[1]", "\"Weather\""));
    let case = MINIMAL.replace(">Public<", ">public<");
    assert!(
        has(&problems(&case), "alert/scope", "\"public\""),
        "codes are case-sensitive"
    );
}

#[test]
fn refuses_bad_shapes() {
    let area = |inner: &str| {
        MINIMAL.replace(
            "</info>",
            &format!("<area><areaDesc>x</areaDesc>{inner}</area></info>"),
        )
    };
    let p = problems(&area("<polygon>50,4 51,4 50,4</polygon>"));
    assert!(
        has(&p, "alert/info[1]/area[1]/polygon[1]", "at least 4 points"),
        "{p:?}"
    );
    let p = problems(&area("<polygon>50,4 51,4 51,5 50,5</polygon>"));
    assert!(has(&p, "alert/info[1]/area[1]/polygon[1]", "not closed"));
    let p = problems(&area(
        "<polygon>95,4 51,4 51,5 95,4</polygon><circle>50,4 -1</circle>",
    ));
    assert!(has(&p, "alert/info[1]/area[1]/polygon[1]", "latitude 95"));
    assert!(has(&p, "alert/info[1]/area[1]/circle[1]", "radius -1"));
    let p = problems(&area(
        "<circle>50;4 1</circle><circle>50,4</circle><altitude>1e3</altitude>",
    ));
    assert!(has(&p, "alert/info[1]/area[1]/circle[1]", "\"50;4\""));
    assert!(has(&p, "alert/info[1]/area[1]/circle[2]", "not a circle"));
    assert!(has(&p, "alert/info[1]/area[1]/altitude", "not a decimal"));
    let ok = area(
        "<polygon>\n 50.1,4.1\n 50.2,4.1\n 50.2,4.2\n 50.1,4.1\n</polygon><circle> 50,4 0 </circle>",
    );
    Alert::from_xml(ok.as_bytes()).expect("whitespace around coordinates is fine");
}

#[test]
fn reports_malformed_xml_with_its_position() {
    let xml = MINIMAL.replace("</sender>", "</sendr>");
    match Alert::from_xml(xml.as_bytes()) {
        Err(e @ CapError::Malformed { line: 4, .. }) => {
            assert!(e.to_string().contains("line 4"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let cut = &MINIMAL[..MINIMAL.len() / 2];
    assert!(matches!(
        Alert::from_xml(cut.as_bytes()),
        Err(CapError::Malformed { .. })
    ));
    let latin1 =
        b"<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><note>\xe9t\xe9</note></alert>";
    match Alert::from_xml(latin1) {
        Err(CapError::Malformed {
            message, column, ..
        }) => {
            assert!(message.contains("UTF-8"));
            assert_eq!(column, 59, "the first byte that is not UTF-8");
        }
        other => panic!("{other:?}"),
    }
    let declared = MINIMAL.replace("UTF-8", "ISO-8859-1");
    assert!(matches!(
        Alert::from_xml(declared.as_bytes()),
        Err(CapError::Malformed { .. })
    ));
    for bad in [
        "",
        "just text",
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"/><alert/>",
    ] {
        assert!(
            matches!(
                Alert::from_xml(bad.as_bytes()),
                Err(CapError::Malformed { .. })
            ),
            "{bad:?}"
        );
    }
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    assert!(
        matches!(Alert::from_xml(deep.as_bytes()), Err(CapError::Malformed { ref message, .. }) if message.contains("deeper"))
    );
    let control = MINIMAL.replace("<event>Storm", "<event>&#1;Storm");
    assert!(matches!(
        Alert::from_xml(control.as_bytes()),
        Err(CapError::Malformed { .. })
    ));
}

#[test]
fn refuses_order_unknown_elements_and_attributes_together() {
    let xml = MINIMAL
        .replace(
            "<status>Actual</status>\n  <msgType>Alert</msgType>",
            "<msgType>Alert</msgType>\n  <status>Actual</status>",
        )
        .replace(
            "<scope>Public</scope>",
            "<scope>Public</scope><priority>1</priority>",
        )
        .replace("<info>", "<info lang=\"fr\">")
        .replace(
            "<event>Storm</event>",
            "<event>Storm</event><event>Again</event>",
        );
    let p = problems(&xml);
    assert!(
        has(
            &p,
            "alert/status",
            "out of order: CAP 1.2 puts it before <msgType>"
        ),
        "{p:?}"
    );
    assert!(has(&p, "alert/priority", "not an element CAP 1.2 allows"));
    assert!(has(&p, "alert/info[1]", "attribute \"lang\""));
    assert!(has(&p, "alert/info[1]/event", "appears 2 times"));
}

#[test]
fn a_flood_of_problems_is_reported_in_brief() {
    let junk = "<junk/>".repeat(500);
    let xml = MINIMAL.replace(
        "<scope>Public</scope>",
        &format!("<scope>Public</scope>{junk}"),
    );
    let p = problems(&xml);
    assert_eq!(p.len(), 51);
    assert!(has(&p, "alert", "has 450 more problems"), "{:?}", p.last());
}
