//! The rules between fields, and the simple values: references, date-times,
//! codes, language tags and shapes.

use super::{MINIMAL, dt, full_alert, has, problems, square};
use crate::Language;
use crate::cap::*;

#[test]
fn validate_applies_the_rules_between_fields() {
    let mut a = Alert::new(
        "id 1",
        "me,you",
        dt("2026-01-01T00:00:00+01:00"),
        Status::Actual,
        MsgType::Cancel,
        Scope::Restricted,
    );
    let mut info = Info::new(
        Category::Met,
        "",
        Urgency::Past,
        Severity::Minor,
        Certainty::Unknown,
    );
    info.categories.clear();
    info.web = Some("/relative".into());
    let mut area = Area::new("zone");
    area.ceiling = Some(10.0);
    info.areas.push(area);
    a.infos.push(info);
    let p = validate(&a);
    assert!(has(&p, "alert/identifier", "' '"), "{p:?}");
    assert!(has(&p, "alert/sender", "','"));
    assert!(has(
        &p,
        "alert/references",
        "required when msgType is Cancel"
    ));
    assert!(has(
        &p,
        "alert/restriction",
        "required when scope is Restricted"
    ));
    assert!(has(&p, "alert/info[1]/category", "at least one"));
    assert!(has(&p, "alert/info[1]/event", "is empty"));
    assert!(has(&p, "alert/info[1]/web", "absolute URI"));
    assert!(has(
        &p,
        "alert/info[1]/area[1]/ceiling",
        "only allowed with altitude"
    ));

    let mut private = Alert::new(
        "a",
        "b",
        dt("2026-01-01T00:00:00+01:00"),
        Status::Test,
        MsgType::Alert,
        Scope::Private,
    );
    assert!(has(
        &validate(&private),
        "alert/addresses",
        "required when scope is Private"
    ));
    private.addresses = vec!["x".into()];
    private.note = Some("bell \u{7}".into());
    assert!(has(&validate(&private), "alert/note", "U+0007"));
    // The reader applies the same rules.
    let update = MINIMAL.replace(">Alert<", ">Update<");
    assert!(has(
        &problems(&update),
        "alert/references",
        "required when msgType is Update"
    ));
    let bad_ref = MINIMAL.replace(
        "<scope>Public</scope>",
        "<scope>Public</scope><references>a,b</references>",
    );
    assert!(has(&problems(&bad_ref), "alert/references", "\"a,b\""));
}

#[test]
fn references_read_and_write() {
    let r: Reference = "a@b.example,ID-1,2026-11-29T10:15:00+01:00"
        .parse()
        .expect("valid");
    assert_eq!(r.identifier, "ID-1");
    assert_eq!(r.to_string(), "a@b.example,ID-1,2026-11-29T10:15:00+01:00");
    for bad in [
        "a,b",
        "a,b,c",
        "a,b,c,2026-11-29T10:15:00+01:00",
        ",b,2026-11-29T10:15:00+01:00",
    ] {
        assert!(bad.parse::<Reference>().is_err(), "{bad}");
    }
    let original = full_alert();
    assert_eq!(Reference::to(&original).identifier, original.identifier);
}

#[test]
fn date_times_follow_cap() {
    for ok in [
        "2026-11-29T10:15:00+01:00",
        "2024-02-29T23:59:59-00:00",
        "2026-06-01T00:00:00+14:00",
    ] {
        assert_eq!(dt(ok).as_str(), ok);
    }
    for (bad, why) in [
        ("2026-11-29T10:15:00Z", "Z"),
        ("2026-11-29T10:15:00.5+01:00", "fractional"),
        ("2026-11-29 10:15:00+01:00", "shape"),
        ("2026-11-29T10:15+01:00", "shape"),
        ("2025-02-29T10:15:00+01:00", "date"),
        ("2026-13-01T10:15:00+01:00", "date"),
        ("2026-11-29T24:00:00+01:00", "time"),
        ("2026-11-29T10:15:00+14:30", "offset"),
        ("2026-11-29T10:15:00+0100", "shape"),
        ("２026-11-29T10:15:00+01:00", "shape"),
    ] {
        let err = bad.parse::<DateTime>().expect_err(bad);
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
    assert_eq!(dt("1970-01-01T01:00:00+01:00").unix_seconds(), 0);
    assert_eq!(
        dt("2026-11-29T10:15:00+01:00").unix_seconds(),
        dt("2026-11-29T09:15:00-00:00").unix_seconds()
    );
    assert_eq!(dt("2000-03-01T00:00:00-00:00").unix_seconds(), 951_868_800);
}

#[test]
fn codes_and_language_tags() {
    for s in Status::ALL {
        assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
    }
    for c in Category::ALL {
        assert_eq!(c.as_str().parse::<Category>(), Ok(*c));
    }
    assert_eq!(Category::Cbrne.as_str(), "CBRNE");
    assert_eq!(ResponseType::AllClear.to_string(), "AllClear");
    assert_eq!(LanguageTag::from(Language::Nl).as_str(), "nl");
    assert_eq!(
        LanguageTag::parse("de-BE").expect("tag").language(),
        Some(Language::De)
    );
    assert_eq!(LanguageTag::parse("es").expect("tag").language(), None);
    for bad in ["", "fr_BE", "toolonglang", "fr-", "1fr"] {
        assert!(LanguageTag::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn shapes_convert_to_and_from_geo() {
    let p = square(50.0, 4.0);
    let g: geo::Polygon<f64> = p.clone().into();
    assert_eq!(g.exterior().0[1], geo::coord! { x: 4.0, y: 50.25 });
    assert_eq!(Polygon::try_from(&g), Ok(p.clone()));
    assert_eq!(p.as_geo(), &g);
    // geo closes rings itself.
    let open = geo::Polygon::new(
        geo::LineString::from(vec![(4.0, 50.0), (4.1, 50.0), (4.1, 50.1)]),
        vec![],
    );
    assert_eq!(
        Polygon::try_from(&open)
            .expect("closed by geo")
            .lat_lon()
            .count(),
        4
    );
    let holed = geo::Polygon::new(g.exterior().clone(), vec![g.exterior().clone()]);
    assert_eq!(Polygon::try_from(&holed), Err(GeometryError::Holes));
    let c = Circle::new(geo::Point::new(4.35, 50.85), 10.0).expect("Brussels");
    assert_eq!(c.to_string(), "50.85,4.35 10");
    assert_eq!("50.85,4.35 10".parse::<Circle>(), Ok(c));
    assert_eq!(c.center().x(), 4.35);
    assert_eq!(c.radius_km(), 10.0);
    assert_eq!(
        Circle::new(geo::Point::new(200.0, 50.0), 1.0),
        Err(GeometryError::Longitude(200.0))
    );
    assert!(Circle::new(geo::Point::new(4.0, 50.0), f64::NAN).is_err());
    assert!("NaN,4 1".parse::<Circle>().is_err() && "50,inf 1".parse::<Circle>().is_err());
}
