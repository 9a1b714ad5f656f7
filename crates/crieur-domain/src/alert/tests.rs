use super::*;

fn texts(sms: &str) -> Texts {
    Texts {
        event: "Incendie".into(),
        headline: "Incendie industriel à Liège".into(),
        instruction: "Fermez portes et fenêtres.".into(),
        sms: sms.into(),
        ..Texts::default()
    }
}

fn composition() -> Composition {
    Composition {
        template: Some("fire-smoke".into()),
        category: "Fire".into(),
        urgency: "Immediate".into(),
        severity: "Severe".into(),
        certainty: "Observed".into(),
        onset: None,
        expires: Some("2026-11-29T18:00:00+01:00".into()),
        web: Some("https://crieur.example/alerts".into()),
        contact: None,
        texts: [
            (
                "fr".to_owned(),
                texts("Incendie: fermez portes et fenetres."),
            ),
            ("nl".to_owned(), texts("Brand: sluit deuren en ramen.")),
        ]
        .into(),
    }
}

#[test]
fn a_sound_composition_has_no_problem() {
    assert_eq!(composition().check(Status::Actual), vec![]);
}

#[test]
fn every_refusal_names_its_field() {
    let mut c = composition();
    c.category = "Fyre".into();
    c.expires = Some("tomorrow".into());
    c.web = Some("javascript:alert(1)".into());
    c.texts.get_mut("fr").unwrap().headline.clear();
    c.texts.insert("xx".into(), texts("x"));
    c.texts.get_mut("nl").unwrap().sms = "a".repeat(4 * 153 + 1);
    c.texts.get_mut("fr").unwrap().instruction = "Rendez-vous avant {time}.".into();
    c.texts.get_mut("nl").unwrap().headline = "Brand\u{000b}".into();
    let fields: Vec<(String, &str)> = c
        .check(Status::Actual)
        .into_iter()
        .map(|p| (p.field, p.key))
        .collect();
    for expected in [
        ("category".to_owned(), "alert.bad_code"),
        ("expires".to_owned(), "alert.bad_time"),
        ("web".to_owned(), "alert.bad_web"),
        ("texts.fr.headline".to_owned(), "alert.required"),
        ("texts".to_owned(), "alert.bad_language"),
        ("texts.nl.sms".to_owned(), "alert.sms_too_long"),
        ("texts.fr.instruction".to_owned(), "alert.placeholder_left"),
        ("texts.nl.headline".to_owned(), "alert.bad_characters"),
    ] {
        assert!(fields.contains(&expected), "{expected:?} in {fields:?}");
    }
}

#[test]
fn the_exercise_mark_counts_towards_the_sms_length() {
    let mut c = composition();
    // Exactly four segments of GSM-7 as an actual alert...
    c.texts.get_mut("fr").unwrap().sms = "a".repeat(4 * 153);
    assert_eq!(c.check(Status::Actual), vec![]);
    // ...five once "EXERCICE - " is in front.
    let problems = c.check(Status::Exercise);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "alert.sms_too_long");
}

#[test]
fn exercises_and_tests_are_marked_in_every_channel_and_language() {
    let t = texts("Fermez tout.");
    let out = t.outgoing(Status::Exercise, Language::Nl);
    for text in [
        &out.headline,
        &out.sms,
        &out.voice,
        &out.email_subject,
        &out.email_body,
        &out.cell_broadcast,
    ] {
        assert!(text.starts_with("OEFENING - "), "{text}");
    }
    assert!(
        t.outgoing(Status::Test, Language::De)
            .sms
            .starts_with("TEST - ")
    );
    let actual = t.outgoing(Status::Actual, Language::Fr);
    assert_eq!(actual.sms, "Fermez tout.");
    assert_eq!(
        actual.voice, "Fermez tout.",
        "voice falls back to the SMS text"
    );
    assert_eq!(actual.email_subject, t.headline);
}

#[test]
fn people_read_their_language_or_their_municipality_s() {
    let c = composition();
    assert_eq!(
        c.language_for(Language::Nl, &[Language::Fr]),
        Some(Language::Nl)
    );
    assert_eq!(
        c.language_for(Language::En, &[Language::Nl]),
        Some(Language::Nl)
    );
    assert_eq!(
        c.language_for(Language::De, &[Language::De]),
        Some(Language::Fr)
    );
}

#[test]
fn areas_are_checked_and_named() {
    let t = Territories::embedded().unwrap();
    assert!(
        target(
            &[AreaSpec::Territory {
                nis: "62063".into()
            }],
            &t
        )
        .is_ok()
    );
    let bowtie = serde_json::json!({"type": "Polygon", "coordinates": [[[5.5, 50.6], [5.6, 50.7], [5.6, 50.6], [5.5, 50.7], [5.5, 50.6]]]});
    let problems = target(
        &[
            AreaSpec::Territory {
                nis: "99999".into(),
            },
            AreaSpec::Polygon { geojson: bowtie },
            AreaSpec::Circle {
                lon: 5.5,
                lat: 50.6,
                radius_m: -3.0,
            },
            AreaSpec::Polygon {
                geojson: serde_json::json!({"type": "Point", "coordinates": [5.5, 50.6]}),
            },
        ],
        &t,
    )
    .unwrap_err();
    let keys: Vec<_> = problems.iter().map(|p| (p.field.as_str(), p.key)).collect();
    assert_eq!(
        keys,
        vec![
            ("area.0", "alert.unknown_territory"),
            ("area.1", "alert.bad_polygon"),
            ("area.2", "alert.bad_circle"),
            ("area.3", "alert.bad_polygon"),
        ]
    );
    assert_eq!(target(&[], &t).unwrap_err()[0].key, "alert.empty_area");
}

#[test]
fn the_cap_form_is_valid_and_reads_back() {
    let t = Territories::embedded().unwrap();
    let square = serde_json::json!({"type": "Polygon", "coordinates": [[[5.5, 50.6], [5.6, 50.6], [5.6, 50.65], [5.5, 50.65], [5.5, 50.6]]]});
    let target = target(
        &[
            AreaSpec::Territory {
                nis: "62063".into(),
            },
            AreaSpec::Polygon { geojson: square },
            AreaSpec::Circle {
                lon: 5.57,
                lat: 50.64,
                radius_m: 2500.0,
            },
        ],
        &t,
    )
    .unwrap();
    let envelope = Envelope {
        identifier: "crieur-42",
        sender: "crieur@liege.example",
        sender_name: "Bourgmestre de Liège",
        sent: "2026-11-29T10:15:00+01:00",
        status: Status::Exercise,
        msg_type: MsgType::Alert,
        references: vec![],
        incident: Some("incident-7".into()),
    };
    let alert = to_cap(&envelope, &composition(), &target, &t).unwrap();
    assert_eq!(cap::validate(&alert), vec![]);
    assert_eq!(alert.infos.len(), 2);
    assert!(
        alert.infos[0]
            .headline
            .as_deref()
            .unwrap()
            .starts_with("EXERCICE - ")
    );
    assert_eq!(alert.infos[0].areas.len(), 3);
    assert_eq!(alert.infos[0].areas[0].geocodes[0].value, "62063");
    assert_eq!(alert.infos[0].areas[2].circles.len(), 1);
    let back = cap::Alert::from_xml(alert.to_xml().as_bytes()).unwrap();
    assert_eq!(back, alert);
}

#[test]
fn cost_follows_unit_prices() {
    let messages = [(Channel::Sms, 1000), (Channel::Email, 500)].into();
    let prices = [(Channel::Sms, 4.5), (Channel::Email, 0.01)].into();
    assert!((cost_cents(&messages, &prices) - 4505.0).abs() < 1e-9);
}
