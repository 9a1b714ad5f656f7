use super::*;
use crate::territory::{BoundaryError, parse_boundaries};
use std::sync::OnceLock;

fn belgium() -> &'static Territories {
    static T: OnceLock<Territories> = OnceLock::new();
    T.get_or_init(|| Territories::embedded().expect("embedded data parses"))
}

fn nis(s: &str) -> NisCode {
    s.parse().expect("valid NIS code")
}

#[test]
fn counts_match_the_belgian_state_structure() {
    let t = belgium();
    assert_eq!(t.at_level(Level::Country).count(), 1);
    assert_eq!(t.at_level(Level::Region).count(), 3);
    assert_eq!(
        t.at_level(Level::Province).count(),
        11,
        "10 provinces + Brussels-Capital"
    );
    assert_eq!(
        t.at_level(Level::Municipality).count(),
        565,
        "since the 2025 mergers"
    );
    assert_eq!(t.cantons().len(), 162);
    for m in t.at_level(Level::Municipality) {
        assert!(!m.geometry.0.is_empty(), "{} has no geometry", m.nis);
        assert!(
            !m.names.de.is_empty() && !m.names.en.is_empty(),
            "{} lacks names",
            m.nis
        );
        assert!(
            !m.languages.is_empty(),
            "{} has no official language",
            m.nis
        );
        let chain = t.ancestry(m.nis);
        assert_eq!(
            chain.len(),
            4,
            "{}: municipality › province › region › country",
            m.nis
        );
        assert_eq!(chain[3].nis, NisCode::BELGIUM);
    }
}

#[test]
fn names_and_languages_are_right_for_known_units() {
    let t = belgium();
    let liege = t.get(nis("62063")).expect("Liège");
    assert_eq!(liege.names.fr, "Liège");
    assert_eq!(liege.names.nl, "Luik");
    assert_eq!(liege.names.de, "Lüttich");
    assert_eq!(liege.languages, vec![Language::Fr]);
    let eupen = t.get(nis("63023")).expect("Eupen");
    assert_eq!(eupen.languages, vec![Language::De]);
    let brussels = t.get(nis("21004")).expect("Brussels");
    assert_eq!(brussels.parent, Some(nis("21000")));
    assert!(
        brussels.languages.contains(&Language::Fr) && brussels.languages.contains(&Language::Nl)
    );
    let antwerp = t.get(nis("10000")).expect("province of Antwerp");
    assert_eq!(antwerp.name(Language::En), "Province of Antwerp");
}

#[test]
fn postal_code_4000_is_liege() {
    let t = belgium();
    assert_eq!(t.municipalities_for_postal_code("4000"), &[nis("62063")]);
    assert!(t.municipalities_for_postal_code("0000").is_empty());
    assert!(t.postal_codes_of(nis("62063")).contains(&"4000"));
}

#[test]
fn points_fall_in_the_right_units() {
    let t = belgium();
    let bastogne = t.locate(5.7158, 50.0036).expect("Bastogne is in Belgium");
    assert_eq!(
        bastogne.province,
        nis("80000"),
        "Bastogne is in Luxembourg province"
    );
    assert_eq!(
        bastogne.municipality,
        nis("82039"),
        "Bastogne's code since the 2025 merger"
    );
    assert_eq!(bastogne.region, nis("03000"));
    let liege = t.locate(5.5736, 50.6326).expect("Liège");
    assert_eq!(liege.municipality, nis("62063"));
    let brussels = t.locate(4.3525, 50.8467).expect("Brussels");
    assert_eq!(brussels.municipality, nis("21004"));
    assert_eq!(brussels.province, nis("21000"));
    let ghent = t.locate(3.7250, 51.0543).expect("Ghent");
    assert_eq!(ghent.province, nis("40000"));
    assert!(
        t.locate(2.3522, 48.8566).is_none(),
        "Paris is not in Belgium"
    );
    assert!(
        t.locate(2.9, 51.5).is_none(),
        "the North Sea is not in Belgium"
    );
}

#[test]
fn exact_municipalities_are_not_marked_approximate() {
    let t = belgium();
    let municipalities: Vec<_> = t.at_level(Level::Municipality).collect();
    let exact = municipalities.iter().filter(|m| !m.approximate).count();
    assert!(
        exact >= 10,
        "only {exact} municipalities have an exact shape"
    );
    assert!(
        exact < municipalities.len(),
        "most municipalities are approximations"
    );
}

#[test]
fn containment_follows_the_hierarchy() {
    let t = belgium();
    assert!(t.contains(nis("60000"), nis("62063")));
    assert!(t.contains(NisCode::BELGIUM, nis("62063")));
    assert!(
        !t.contains(nis("90000"), nis("62063")),
        "Liège is not in Namur province"
    );
    assert!(t.contains(nis("62063"), nis("62063")));
}

#[test]
fn search_ignores_case_and_accents() {
    let t = belgium();
    let hits = t.search("liege");
    assert_eq!(hits.first().map(|u| u.nis), Some(nis("62063")));
    assert!(t.search("Luik").iter().any(|u| u.nis == nis("62063")));
    assert!(t.search("").is_empty());
}

fn square(lon: f64, lat: f64, d: f64) -> String {
    format!(
        "[[[{a},{b}],[{c},{b}],[{c},{e}],[{a},{e}],[{a},{b}]]]",
        a = lon,
        b = lat,
        c = lon + d,
        e = lat + d
    )
}

fn collection(features: &[String]) -> String {
    format!(
        "{{\"type\":\"FeatureCollection\",\"features\":[{}]}}",
        features.join(",")
    )
}

fn feature(props: &str, geometry_type: &str, coordinates: &str) -> String {
    format!(
        "{{\"type\":\"Feature\",\"properties\":{props},\"geometry\":{{\"type\":\"{geometry_type}\",\"coordinates\":{coordinates}}}}}"
    )
}

#[test]
fn boundaries_import_accepts_official_shapes() {
    let t = belgium();
    let text = collection(&[feature(
        r#"{"CD_MUNTY_REFNIS": 62063, "name": "Liège"}"#,
        "Polygon",
        &square(5.55, 50.6, 0.05),
    )]);
    let b = parse_boundaries(&text, None, t).expect("valid import");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].nis, nis("62063"));

    let mut copy = t.clone();
    copy.apply_boundaries(b);
    assert!(!copy.get(nis("62063")).expect("Liège").approximate);
    assert_eq!(
        copy.locate(5.56, 50.61).map(|l| l.municipality),
        Some(nis("62063"))
    );
}

#[test]
fn boundaries_import_refuses_bad_files_and_names_the_fault() {
    let t = belgium();
    let err = parse_boundaries(
        "{\"type\": \"FeatureCollection\",\n \"features\": [",
        None,
        t,
    )
    .expect_err("truncated JSON");
    assert!(matches!(err, BoundaryError::Json { line: 2, .. }), "{err}");

    let err = parse_boundaries(r#"{"type":"Feature"}"#, None, t).expect_err("not a collection");
    assert!(err.to_string().contains("FeatureCollection"), "{err}");

    let cases = [
        (
            feature(r#"{"nis":"99999"}"#, "Polygon", &square(5.5, 50.6, 0.1)),
            "unknown NIS code",
        ),
        (
            feature(r#"{"name":"x"}"#, "Polygon", &square(5.5, 50.6, 0.1)),
            "no NIS-code property",
        ),
        (
            feature(r#"{"nis":"62063"}"#, "Point", "[5.5, 50.6]"),
            "Polygon or MultiPolygon",
        ),
        (
            feature(
                r#"{"nis":"62063"}"#,
                "Polygon",
                &square(235000.0, 148000.0, 500.0),
            ),
            "projected",
        ),
        (
            feature(r#"{"nis":"62063"}"#, "Polygon", &square(50.6, 5.5, 0.1)),
            "outside Belgium",
        ),
        (
            feature(
                r#"{"nis":"62063"}"#,
                "Polygon",
                "[[[5.5,50.6],[5.6,50.7],[5.6,50.6],[5.5,50.7],[5.5,50.6]]]",
            ),
            "invalid polygon",
        ),
        (
            feature(r#"{"nis":"62063"}"#, "Polygon", &square(3.0, 51.0, 0.05)),
            "nowhere near",
        ),
    ];
    for (f, expected) in cases {
        let err =
            parse_boundaries(&collection(std::slice::from_ref(&f)), None, t).expect_err(expected);
        assert!(
            err.to_string().contains(expected),
            "expected {expected:?} in: {err}"
        );
    }

    let twice = collection(&[
        feature(r#"{"nis":"62063"}"#, "Polygon", &square(5.55, 50.6, 0.05)),
        feature(r#"{"nis":"62063"}"#, "Polygon", &square(5.55, 50.6, 0.05)),
    ]);
    let err = parse_boundaries(&twice, None, t).expect_err("duplicate");
    assert!(err.to_string().contains("feature 2"), "{err}");
}
