use super::*;
use crate::sms::{self, SmsEncoding};

/// Ordinary values on the long side, as an operator would type them.
fn typical_values() -> PlaceholderValues {
    PlaceholderValues::new()
        .with(Placeholder::Place, "Saint-Josse-ten-Noode, quartier Nord")
        .with(Placeholder::Time, "14:30")
        .with(Placeholder::Radius, "10 km")
        .with(
            Placeholder::Authority,
            "Burgemeester van Sint-Pieters-Leeuw",
        )
        .with(Placeholder::Web, "www.crisis-sint-pieters-leeuw.be")
        .with(Placeholder::Phone, "0800 12 345")
}

fn filled(template: &Template, language: Language) -> TemplateTexts {
    template
        .texts(language)
        .fill(&typical_values())
        .unwrap_or_else(|e| panic!("{} {language}: {e}", template.id()))
}

#[test]
fn the_builtin_library_lists_every_risk() {
    let library = TemplateLibrary::builtin();
    let ids: Vec<&str> = library.iter().map(Template::id).collect();
    assert_eq!(
        ids,
        [
            "fire-smoke",
            "flood",
            "chemical",
            "nuclear",
            "storm",
            "drinking-water",
            "power-cut",
            "evacuation",
            "stay-indoors",
            "all-clear",
        ]
    );
    let nuclear = library.get("nuclear").expect("listed");
    assert_eq!(
        (
            nuclear.category(),
            nuclear.urgency(),
            nuclear.severity(),
            nuclear.certainty()
        ),
        ("CBRNE", "Immediate", "Extreme", "Likely")
    );
    assert_eq!(library.get("flood").map(Template::category), Some("Met"));
    assert!(library.get("volcano").is_none());
}

#[test]
fn every_template_speaks_all_four_languages_in_every_field() {
    let library = TemplateLibrary::builtin();
    for template in library.iter() {
        for language in Language::ALL {
            for (field, text) in template.texts(language).fields() {
                assert!(
                    !text.trim().is_empty(),
                    "{} {language} {field} is empty",
                    template.id()
                );
                assert_eq!(text.trim(), text.trim_end_matches('\n'), "{field}");
            }
        }
        // The same words must not appear in two languages by mistake.
        let fr = &template.texts(Language::Fr).sms;
        for language in [Language::Nl, Language::De, Language::En] {
            assert_ne!(fr, &template.texts(language).sms, "{}", template.id());
        }
    }
}

#[test]
fn each_field_uses_the_same_placeholders_in_every_language() {
    for template in TemplateLibrary::builtin().iter() {
        let english = template.texts(Language::En).fields();
        for language in [Language::Fr, Language::Nl, Language::De] {
            for ((field, en), (_, other)) in english.iter().zip(template.texts(language).fields()) {
                assert_eq!(
                    placeholders(en),
                    placeholders(other),
                    "{} {field}: {language} differs from en",
                    template.id()
                );
            }
        }
    }
}

#[test]
fn placeholders_per_template_match_the_module_documentation() {
    use Placeholder::*;
    let expected: [(&str, &[Placeholder]); 10] = [
        ("fire-smoke", &[Place, Authority, Web]),
        ("flood", &[Place, Authority, Web]),
        ("chemical", &[Place, Radius, Authority, Web]),
        ("nuclear", &[Place, Radius, Authority, Web]),
        ("storm", &[Place, Time, Authority, Web]),
        ("drinking-water", &[Place, Authority, Web, Phone]),
        ("power-cut", &[Place, Time, Authority, Web]),
        ("evacuation", &[Place, Time, Authority, Web, Phone]),
        ("stay-indoors", &[Place, Authority, Web]),
        ("all-clear", &[Place, Authority, Web]),
    ];
    let library = TemplateLibrary::builtin();
    for (id, used) in expected {
        let template = library.get(id).expect("listed");
        assert_eq!(
            template.placeholders(),
            used.iter().copied().collect::<BTreeSet<_>>(),
            "{id}"
        );
    }
}

#[test]
fn sms_texts_fit_two_gsm7_segments_once_filled() {
    let library = TemplateLibrary::builtin();
    for template in library.iter() {
        for language in Language::ALL {
            let sms = filled(template, language).sms;
            let analysis = sms::analyse(&sms);
            assert_eq!(
                analysis.forcing_ucs2,
                Vec::<char>::new(),
                "{} {language}: {sms}",
                template.id()
            );
            assert!(
                analysis.segments <= 2,
                "{} {language}: {} septets",
                template.id(),
                analysis.units
            );
            assert!(!sms.contains('\n'), "{} {language}", template.id());
        }
    }
}

#[test]
fn belgian_place_names_keep_sms_in_gsm7() {
    let values = typical_values()
        .with(Placeholder::Place, "Liège, Outremeuse")
        .with(Placeholder::Authority, "Gouverneur de la province de Liège")
        .with(Placeholder::Web, "www.crisis-liege.be");
    let template = TemplateLibrary::builtin()
        .get("fire-smoke")
        .cloned()
        .expect("listed");
    let sms = fill(&template.texts(Language::Fr).sms, &values).expect("all values");
    assert_eq!(sms::analyse(&sms).encoding, SmsEncoding::Gsm7);
    let sms = fill(
        &template.texts(Language::Fr).sms,
        &values.with(Placeholder::Place, "Mons, Hôtel de ville"),
    )
    .expect("all values");
    assert_eq!(
        sms::analyse(&sms).forcing_ucs2,
        ['ô'],
        "a value, not the template, is what forces UCS-2 here"
    );
}

#[test]
fn cell_broadcast_texts_fit_15_gsm7_pages_once_filled() {
    for template in TemplateLibrary::builtin().iter() {
        for language in Language::ALL {
            let text = filled(template, language).cell_broadcast;
            assert!(
                sms::is_gsm7(&text),
                "{} {language}: {:?}",
                template.id(),
                sms::analyse(&text).forcing_ucs2
            );
            let pages = sms::cell_broadcast_pages(&text)
                .unwrap_or_else(|e| panic!("{} {language}: {e}", template.id()));
            assert!(pages <= 15);
        }
    }
}

#[test]
fn headlines_fit_a_notification_title() {
    for template in TemplateLibrary::builtin().iter() {
        for language in Language::ALL {
            let headline = filled(template, language).headline;
            assert!(
                headline.chars().count() <= 160,
                "{} {language}",
                template.id()
            );
        }
    }
}

#[test]
fn fill_replaces_every_placeholder() {
    let values = PlaceholderValues::new()
        .with(Placeholder::Place, "Namur")
        .with(Placeholder::Web, "crisis.example.be");
    assert_eq!(
        fill("Inondation à {place}. Infos : {web} ({place})", &values).as_deref(),
        Ok("Inondation à Namur. Infos : crisis.example.be (Namur)")
    );
    assert_eq!(fill("", &values).as_deref(), Ok(""));
    assert_eq!(
        fill("no gaps } here", &values).as_deref(),
        Ok("no gaps } here")
    );
}

#[test]
fn fill_never_reads_placeholders_inside_values() {
    let values = PlaceholderValues::new().with(Placeholder::Place, "{web}");
    assert_eq!(fill("at {place}", &values).as_deref(), Ok("at {web}"));
}

#[test]
fn fill_names_the_placeholder_at_fault() {
    let values = PlaceholderValues::new().with(Placeholder::Place, "Namur");
    let missing = fill("{place}: see {web}", &values);
    assert_eq!(missing, Err(MissingPlaceholder::NoValue(Placeholder::Web)));
    assert_eq!(
        missing.map_err(|e| e.to_string()),
        Err("no value given for {web}".to_owned())
    );
    let unknown = fill("{place} at {hour}", &values);
    assert_eq!(unknown, Err(MissingPlaceholder::Unknown("hour".into())));
    assert_eq!(
        unknown.map_err(|e| e.to_string()),
        Err("unknown placeholder {hour}".to_owned())
    );
    assert_eq!(
        fill("{Place}", &values),
        Err(MissingPlaceholder::Unknown("Place".into()))
    );
    assert_eq!(
        fill("at {place", &values),
        Err(MissingPlaceholder::Unclosed(3))
    );
}

#[test]
fn texts_fill_as_a_whole() {
    let template = TemplateLibrary::builtin()
        .get("evacuation")
        .cloned()
        .expect("listed");
    let texts = template.texts(Language::En);
    let done = texts.fill(&typical_values()).expect("all values");
    for (field, text) in done.fields() {
        assert!(!text.contains('{'), "{field} still has a gap: {text}");
    }
    assert!(done.headline.contains("Saint-Josse-ten-Noode"));
    let without_phone = PlaceholderValues::new()
        .with(Placeholder::Place, "Wavre")
        .with(Placeholder::Time, "18:00")
        .with(Placeholder::Authority, "Mayor of Wavre")
        .with(Placeholder::Web, "crisis.example.be");
    assert_eq!(
        texts.fill(&without_phone),
        Err(MissingPlaceholder::NoValue(Placeholder::Phone))
    );
}

const ONE: &str = r#"
[[template]]
id = "gas-leak"
category = "Safety"
urgency = "Immediate"
severity = "Severe"
certainty = "Observed"
"#;

fn texts_file(id: &str, sms: &str) -> String {
    let mut out = format!("[{id}]\n");
    for field in [
        "event",
        "headline",
        "voice",
        "email_subject",
        "email_body",
        "cell_broadcast",
        "instruction",
    ] {
        out.push_str(&format!("{field} = \"x\"\n"));
    }
    out.push_str(&format!("sms = \"{sms}\"\n"));
    out
}

fn four(file: &str) -> Vec<(Language, String)> {
    Language::ALL
        .iter()
        .map(|&l| (l, file.to_owned()))
        .collect()
}

fn parse(catalogue: &str, texts: &[(Language, String)]) -> Result<TemplateLibrary, LibraryError> {
    let borrowed: Vec<(Language, &str)> = texts.iter().map(|(l, t)| (*l, t.as_str())).collect();
    TemplateLibrary::parse(catalogue, &borrowed)
}

#[test]
fn a_custom_library_loads_when_complete() {
    let library = parse(ONE, &four(&texts_file("gas-leak", "Gas at {place}"))).expect("complete");
    let template = library.get("gas-leak").expect("listed");
    assert_eq!(
        template.placeholders(),
        BTreeSet::from([Placeholder::Place])
    );
}

#[test]
fn incomplete_or_wrong_libraries_are_refused() {
    let good = texts_file("gas-leak", "ok");

    let mut three = four(&good);
    three.pop();
    assert_eq!(
        parse(ONE, &three),
        Err(LibraryError::MissingLanguage {
            language: Language::En
        })
    );

    let mut missing = four(&good);
    missing[1].1 = texts_file("other", "ok");
    assert_eq!(
        parse(ONE, &missing),
        Err(LibraryError::MissingTexts {
            id: "gas-leak".into(),
            language: Language::Nl
        })
    );

    let mut extra = four(&good);
    extra[2].1.push_str(&texts_file("other", "ok"));
    assert_eq!(
        parse(ONE, &extra),
        Err(LibraryError::UnlistedTexts {
            id: "other".into(),
            language: Language::De
        })
    );

    assert_eq!(
        parse(ONE, &four(&texts_file("gas-leak", "at {town}"))),
        Err(LibraryError::Placeholder {
            id: "gas-leak".into(),
            language: Language::Fr,
            field: "sms",
            problem: MissingPlaceholder::Unknown("town".into())
        })
    );

    let not_cap = ONE.replace("\"Severe\"", "\"Serious\"");
    assert_eq!(
        parse(&not_cap, &four(&good)),
        Err(LibraryError::NotCap {
            id: "gas-leak".into(),
            field: "severity",
            value: "Serious".into()
        })
    );

    let bad_id = ONE.replace("gas-leak", "Gas_Leak");
    assert_eq!(
        parse(&bad_id, &four(&good)),
        Err(LibraryError::BadId("Gas_Leak".into()))
    );

    let twice = format!("{ONE}{ONE}");
    assert_eq!(
        parse(&twice, &four(&good)),
        Err(LibraryError::DuplicateId("gas-leak".into()))
    );

    let unknown_field = four(&format!("{good}colour = \"red\"\n"));
    assert!(matches!(
        parse(ONE, &unknown_field),
        Err(LibraryError::Toml { file, .. }) if file == "fr"
    ));
}

#[test]
fn ids_are_kebab_case() {
    for id in ["flood", "fire-smoke", "seveso-2"] {
        assert!(is_kebab_case(id), "{id}");
    }
    for id in [
        "",
        "Fire",
        "fire_smoke",
        "-fire",
        "fire-",
        "fire--smoke",
        "feu-forêt",
    ] {
        assert!(!is_kebab_case(id), "{id}");
    }
}
