use super::*;
use crate::{Level, NisCode, Territories};
use geo::{Contains, Coord, Intersects, LineString, MultiPolygon, Point, Polygon};
use std::sync::OnceLock;

fn belgium() -> &'static Territories {
    static T: OnceLock<Territories> = OnceLock::new();
    T.get_or_init(|| Territories::embedded().expect("embedded data parses"))
}

fn nis(s: &str) -> NisCode {
    s.parse().expect("valid NIS code")
}

const LIEGE: &str = "62063";
const SERAING: &str = "62096";
const NAMUR: &str = "92094";

fn at(lon: f64, lat: f64, municipality: &str) -> AddressPoint {
    AddressPoint {
        lon,
        lat,
        municipality: nis(municipality),
    }
}

fn ring(points: &[(f64, f64)]) -> LineString<f64> {
    LineString(points.iter().map(|&(x, y)| Coord { x, y }).collect())
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> LineString<f64> {
    ring(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
}

fn zone(polygon: Polygon<f64>) -> Area {
    Area::Zone(Zone::from_polygon(polygon).expect("a valid polygon"))
}

fn target(areas: Vec<Area>) -> Target {
    Target::new(areas, belgium()).expect("a valid target")
}

fn persons(r: &Resolution) -> Vec<PersonId> {
    r.recipients().iter().map(|r| r.person).collect()
}

/// Metres to degrees of latitude on the index's sphere.
fn north(metres: f64) -> f64 {
    (metres / 6_371_008.8_f64).to_degrees()
}

#[test]
fn a_person_is_listed_once_with_the_municipality_of_their_first_address_inside() {
    let mut index = AddressIndex::new();
    let inside = [
        at(4.01, 50.01, LIEGE),
        at(4.02, 50.02, SERAING),
        at(4.03, 50.03, NAMUR),
    ];
    index.insert(1, &inside).expect("indexed");
    index
        .insert(2, &[at(5.0, 51.0, LIEGE), at(4.05, 50.05, NAMUR)])
        .expect("indexed");
    index.insert(3, &[at(5.0, 51.0, LIEGE)]).expect("indexed");
    let r = index.resolve(
        &target(vec![zone(Polygon::new(
            square(4.0, 50.0, 4.1, 50.1),
            vec![],
        ))]),
        belgium(),
    );
    assert_eq!(persons(&r), vec![1, 2]);
    assert_eq!(r.get(1).map(|r| r.municipality), Some(nis(LIEGE)));
    assert_eq!(r.get(2).map(|r| r.municipality), Some(nis(NAMUR)));
    assert!(r.get(3).is_none());

    // Overlapping areas of one target still list each person once.
    let twice = target(vec![
        zone(Polygon::new(square(4.0, 50.0, 4.1, 50.1), vec![])),
        Area::Circle(Circle::new(4.02, 50.02, 5_000.0).expect("circle")),
        Area::Territory(nis(NAMUR)),
    ]);
    let r = index.resolve(&twice, belgium());
    assert_eq!(persons(&r), vec![1, 2]);
    assert_eq!(r.get(2).map(|r| r.municipality), Some(nis(NAMUR)));
}

#[test]
fn a_circle_includes_its_edge_and_nothing_beyond() {
    let (lon, lat): (f64, f64) = (4.35, 50.85);
    let mut index = AddressIndex::new();
    let east = |metres: f64| lon + north(metres) / lat.to_radians().cos();
    index
        .insert(1, &[at(lon, lat + north(999.0), LIEGE)])
        .unwrap();
    index
        .insert(2, &[at(lon, lat + north(1_001.0), LIEGE)])
        .unwrap();
    index.insert(3, &[at(east(999.0), lat, LIEGE)]).unwrap();
    index.insert(4, &[at(east(1_001.0), lat, LIEGE)]).unwrap();
    index
        .insert(5, &[at(lon, lat - north(999.0), LIEGE)])
        .unwrap();
    index.insert(6, &[at(lon, lat, LIEGE)]).unwrap();
    let circle = Circle::new(lon, lat, 1_000.0).expect("circle");
    let r = index.resolve(&target(vec![Area::Circle(circle)]), belgium());
    assert_eq!(persons(&r), vec![1, 3, 5, 6]);
    assert!((haversine_m(lon, lat, lon, lat + north(1_000.0)) - 1_000.0).abs() < 1e-6);
}

#[test]
fn a_polygon_hole_is_not_part_of_the_zone() {
    let mut index = AddressIndex::new();
    index.insert(1, &[at(4.01, 50.01, LIEGE)]).unwrap(); // in the ring
    index.insert(2, &[at(4.05, 50.05, LIEGE)]).unwrap(); // in the hole
    index.insert(3, &[at(4.2, 50.05, LIEGE)]).unwrap(); // outside
    index.insert(4, &[at(4.099, 50.099, LIEGE)]).unwrap(); // near a corner
    let holed = Polygon::new(
        square(4.0, 50.0, 4.1, 50.1),
        vec![square(4.04, 50.04, 4.06, 50.06)],
    );
    let r = index.resolve(&target(vec![zone(holed)]), belgium());
    assert_eq!(persons(&r), vec![1, 4]);
}

#[test]
fn territory_codes_go_by_municipality_not_by_coordinates() {
    let mut index = AddressIndex::new();
    // Coordinates deliberately far from the municipalities named.
    index.insert(1, &[at(3.0, 51.0, LIEGE)]).unwrap();
    index.insert(2, &[at(3.1, 51.0, SERAING)]).unwrap();
    index.insert(3, &[at(3.2, 51.0, NAMUR)]).unwrap();
    index
        .insert(4, &[at(3.3, 51.0, NAMUR), at(3.4, 51.0, SERAING)])
        .unwrap();
    let resolve = |code: &str| {
        let r = index.resolve(&target(vec![Area::Territory(nis(code))]), belgium());
        (persons(&r), r)
    };
    assert_eq!(resolve(LIEGE).0, vec![1]);
    let (province, r) = resolve("60000");
    assert_eq!(province, vec![1, 2, 4]);
    assert_eq!(r.get(4).map(|r| r.municipality), Some(nis(SERAING)));
    assert_eq!(resolve("90000").0, vec![3, 4]);
    assert_eq!(resolve("03000").0, vec![1, 2, 3, 4]);
    assert!(resolve("10000").0.is_empty());
    let (all, r) = resolve("01000");
    assert_eq!(all, vec![1, 2, 3, 4]);
    assert_eq!(r.get(4).map(|r| r.municipality), Some(nis(NAMUR)));
    assert_eq!(
        Target::new(vec![Area::Territory(nis("99999"))], belgium()),
        Err(TargetError::UnknownTerritory(nis("99999")))
    );
    assert_eq!(Target::new(vec![], belgium()), Err(TargetError::Empty));
}

#[test]
fn updates_and_removals_take_effect_at_once() {
    let mut index = AddressIndex::new();
    let zone_a = target(vec![zone(Polygon::new(
        square(4.0, 50.0, 4.1, 50.1),
        vec![],
    ))]);
    let zone_b = target(vec![zone(Polygon::new(
        square(5.0, 50.0, 5.1, 50.1),
        vec![],
    ))]);
    index.insert(7, &[at(4.05, 50.05, LIEGE)]).unwrap();
    index.insert(8, &[at(4.06, 50.06, LIEGE)]).unwrap();
    assert_eq!(persons(&index.resolve(&zone_a, belgium())), vec![7, 8]);

    index.replace(7, &[at(5.05, 50.05, NAMUR)]).unwrap();
    assert_eq!(persons(&index.resolve(&zone_a, belgium())), vec![8]);
    let b = index.resolve(&zone_b, belgium());
    assert_eq!(persons(&b), vec![7]);
    assert_eq!(b.get(7).map(|r| r.municipality), Some(nis(NAMUR)));

    // Adding an address keeps the first ones first.
    index.insert(7, &[at(4.07, 50.07, SERAING)]).unwrap();
    let a = index.resolve(&zone_a, belgium());
    assert_eq!(persons(&a), vec![7, 8]);
    assert_eq!(a.get(7).map(|r| r.municipality), Some(nis(SERAING)));
    assert_eq!((index.persons(), index.addresses()), (2, 3));

    assert!(index.remove(7));
    assert!(!index.remove(7));
    assert!(index.resolve(&zone_b, belgium()).is_empty());
    assert_eq!(
        persons(&index.resolve(&Target::country(), belgium())),
        vec![8]
    );
    assert_eq!((index.persons(), index.addresses()), (1, 1));

    // A freed slot is reused without mixing people up.
    index.insert(9, &[at(5.01, 50.01, NAMUR)]).unwrap();
    assert_eq!(persons(&index.resolve(&zone_b, belgium())), vec![9]);
    index.replace(9, &[]).unwrap();
    assert!(!index.contains_person(9));

    // A refused change changes nothing.
    let bad = index.replace(8, &[at(4.0, 50.0, LIEGE), at(f64::NAN, 50.0, LIEGE)]);
    assert!(matches!(bad, Err(IndexError::NotLonLat { address: 2, .. })));
    assert_eq!(persons(&index.resolve(&zone_a, belgium())), vec![8]);
    let many = vec![at(4.0, 50.0, LIEGE); MAX_ADDRESSES_PER_PERSON + 1];
    assert!(matches!(
        index.insert(8, &many),
        Err(IndexError::TooManyAddresses { .. })
    ));
    assert_eq!(index.addresses(), 1);
}

#[test]
fn bulk_loading_matches_one_by_one_and_keeps_a_repeated_persons_last_list() {
    let people = vec![
        (1, vec![at(4.05, 50.05, LIEGE)]),
        (2, vec![at(4.2, 50.2, NAMUR), at(4.06, 50.06, SERAING)]),
        (1, vec![at(4.5, 50.5, NAMUR)]),
        (3, vec![]),
        (4, vec![at(-20.0, 10.0, NAMUR)]), // outside the grid
    ];
    let index = AddressIndex::from_people(people).expect("indexed");
    let a = target(vec![zone(Polygon::new(
        square(4.0, 50.0, 4.1, 50.1),
        vec![],
    ))]);
    assert_eq!(persons(&index.resolve(&a, belgium())), vec![2]);
    assert_eq!((index.persons(), index.addresses()), (3, 4));
    let far = target(vec![Area::Circle(Circle::new(-20.0, 10.0, 10.0).unwrap())]);
    assert_eq!(persons(&index.resolve(&far, belgium())), vec![4]);
    let m = index.memory();
    assert!(m.total_bytes() > 0 && m.addresses == 4);
}

#[test]
fn invalid_polygons_are_refused_with_the_reason() {
    let refuse = |p: Polygon<f64>| Zone::from_polygon(p).expect_err("refused");
    let bowtie = ring(&[
        (4.0, 50.0),
        (4.1, 50.1),
        (4.1, 50.0),
        (4.0, 50.1),
        (4.0, 50.0),
    ]);
    assert!(matches!(
        refuse(Polygon::new(bowtie, vec![])),
        TargetError::SelfIntersection { .. }
    ));
    let spike = ring(&[
        (4.0, 50.0),
        (4.1, 50.0),
        (4.1, 50.1),
        (4.1, 50.05),
        (4.0, 50.1),
    ]);
    assert!(matches!(
        refuse(Polygon::new(spike, vec![])),
        TargetError::SelfIntersection { .. }
    ));
    assert_eq!(
        refuse(Polygon::new(
            ring(&[(4.0, 50.0), (4.1, 50.0), (4.0, 50.0)]),
            vec![]
        )),
        TargetError::TooFewPoints {
            polygon: 1,
            ring: 1,
            points: 2
        }
    );
    let outside_hole = Polygon::new(
        square(4.0, 50.0, 4.1, 50.1),
        vec![square(4.2, 50.0, 4.3, 50.1)],
    );
    assert_eq!(
        refuse(outside_hole),
        TargetError::HoleOutside {
            polygon: 1,
            hole: 1
        }
    );
    let crossing_hole = Polygon::new(
        square(4.0, 50.0, 4.1, 50.1),
        vec![square(4.05, 50.02, 4.15, 50.08)],
    );
    assert!(matches!(
        refuse(crossing_hole),
        TargetError::SelfIntersection { .. }
    ));
    assert!(matches!(
        refuse(Polygon::new(
            square(150_000.0, 160_000.0, 160_000.0, 170_000.0),
            vec![]
        )),
        TargetError::NotLonLat { .. }
    ));
    assert!(matches!(
        refuse(Polygon::new(square(4.0, 50.0, f64::NAN, 50.1), vec![])),
        TargetError::NotFinite { .. }
    ));
    assert!(matches!(
        refuse(Polygon::new(square(0.0, 45.0, 10.0, 55.0), vec![])),
        TargetError::TooLarge { .. }
    ));
    let many: Vec<(f64, f64)> = (0..=MAX_VERTICES)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / (MAX_VERTICES + 1) as f64;
            (4.0 + 0.1 * a.cos(), 50.0 + 0.1 * a.sin())
        })
        .collect();
    assert!(matches!(
        refuse(Polygon::new(ring(&many), vec![])),
        TargetError::TooManyVertices { vertices, .. } if vertices == MAX_VERTICES + 1
    ));
    let overlapping = MultiPolygon(vec![
        Polygon::new(square(4.0, 50.0, 4.1, 50.1), vec![]),
        Polygon::new(square(4.02, 50.02, 4.05, 50.05), vec![]),
    ]);
    assert_eq!(
        Zone::new(overlapping).expect_err("refused"),
        TargetError::Overlap {
            first: 1,
            second: 2
        }
    );
    assert_eq!(
        Zone::new(MultiPolygon(vec![])).expect_err("refused"),
        TargetError::NoPolygon
    );
    // An island inside a lake is fine; so is a hole touching its ring at a point.
    let lake = MultiPolygon(vec![
        Polygon::new(
            square(4.0, 50.0, 4.1, 50.1),
            vec![square(4.02, 50.02, 4.08, 50.08)],
        ),
        Polygon::new(square(4.04, 50.04, 4.06, 50.06), vec![]),
    ]);
    assert!(Zone::new(lake).is_ok());
    let touching = Polygon::new(
        square(4.0, 50.0, 4.1, 50.1),
        vec![ring(&[
            (4.0, 50.05),
            (4.05, 50.04),
            (4.05, 50.06),
            (4.0, 50.05),
        ])],
    );
    assert!(Zone::from_polygon(touching).is_ok());
    assert!(matches!(
        Circle::new(4.0, 50.0, 0.0),
        Err(TargetError::BadRadius(_))
    ));
    assert!(matches!(
        Circle::new(400.0, 50.0, 10.0),
        Err(TargetError::BadCentre { .. })
    ));
}

/// Points spread over a province's bounding box, with a fixed generator.
fn scattered(n: usize, r: geo::Rect<f64>) -> Vec<(f64, f64)> {
    let mut rng = crate::population::SplitMix64::new(3);
    (0..n)
        .map(|_| {
            let x = r.min().x + rng.next_f64() * r.width();
            let y = r.min().y + rng.next_f64() * r.height();
            ((x * 1e6).round() / 1e6, (y * 1e6).round() / 1e6)
        })
        .collect()
}

#[test]
fn a_real_province_polygon_finds_exactly_the_points_geo_finds() {
    let t = belgium();
    let antwerp = t.get(nis("10000")).expect("province of Antwerp");
    let zone = Zone::new(antwerp.geometry.clone()).expect("a valid province shape");
    let points = scattered(20_000, antwerp.bbox.expect("bbox"));
    let index = AddressIndex::from_people(
        points
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| (i as PersonId, [at(x, y, LIEGE)])),
    )
    .unwrap();
    let found = persons(&index.resolve(&target(vec![Area::Zone(zone)]), t));
    let expected: Vec<PersonId> = points
        .iter()
        .enumerate()
        .filter(|&(_, &(x, y))| antwerp.geometry.intersects(&Point::new(x, y)))
        .map(|(i, _)| i as PersonId)
        .collect();
    assert!(expected.len() > 5_000, "{} inside", expected.len());
    assert_eq!(found, expected);

    let circle = Circle::new(4.4, 51.2, 12_345.0).unwrap();
    let found = persons(&index.resolve(&target(vec![Area::Circle(circle)]), t));
    let expected: Vec<PersonId> = points
        .iter()
        .enumerate()
        .filter(|&(_, &(x, y))| haversine_m(4.4, 51.2, x, y) <= 12_345.0)
        .map(|(i, _)| i as PersonId)
        .collect();
    assert!(expected.len() > 500, "{} inside", expected.len());
    assert_eq!(found, expected);
}

#[test]
fn province_shapes_over_the_vertex_limit_are_refused() {
    let liege = belgium().get(nis("60000")).expect("province of Liège");
    assert!(matches!(
        Zone::new(liege.geometry.clone()),
        Err(TargetError::TooManyVertices { .. })
    ));
}

#[test]
fn jurisdiction_by_territory_code() {
    let t = belgium();
    let city = target(vec![Area::Territory(nis(LIEGE))]);
    assert!(city.is_within(nis("60000"), t).unwrap());
    assert!(city.is_within(nis(LIEGE), t).unwrap());
    assert!(!city.is_within(nis("90000"), t).unwrap());
    assert_eq!(city.clip(nis("90000"), t).unwrap(), None);
    let country = Target::country();
    assert_eq!(country.outside(nis("60000"), t).unwrap().len(), 1);
    assert_eq!(
        country.clip(nis("60000"), t).unwrap(),
        Some(target(vec![Area::Territory(nis("60000"))]))
    );
    assert_eq!(
        city.outside(nis("99999"), t),
        Err(TargetError::UnknownTerritory(nis("99999")))
    );
}

#[test]
fn jurisdiction_by_geometry() {
    let t = belgium();
    let antwerp = t.get(nis("10000")).unwrap();
    let own = target(vec![Area::Zone(
        Zone::new(antwerp.geometry.clone()).unwrap(),
    )]);
    assert!(own.is_within(nis("10000"), t).unwrap());
    assert!(own.is_within(NisCode::BELGIUM, t).unwrap());
    assert!(!own.is_within(nis("20001"), t).unwrap());

    // A rectangle over the whole province and beyond, cut back to the province.
    let rect = antwerp.bbox.unwrap();
    let (min, max) = (rect.min(), rect.max());
    let wide = target(vec![zone(Polygon::new(
        square(min.x - 0.05, min.y - 0.05, max.x + 0.05, max.y + 0.05),
        vec![],
    ))]);
    assert!(!wide.is_within(nis("10000"), t).unwrap());
    let clipped = wide.clip(nis("10000"), t).unwrap().expect("something left");
    assert!(clipped.is_within(nis("10000"), t).unwrap());
    let Area::Zone(cut) = &clipped.areas()[0] else {
        panic!("a zone")
    };
    let province_m2 = Zone::new(antwerp.geometry.clone()).unwrap().area_m2();
    assert!((cut.area_m2() / province_m2 - 1.0).abs() < 1e-3);

    // A circle around the city of Antwerp reaching into the neighbours.
    let city = t.get(nis("11002")).unwrap();
    let circle = Circle::new(4.40026, 51.22047, 6_000.0).unwrap();
    let around = target(vec![Area::Circle(circle)]);
    assert!(!around.is_within(city.nis, t).unwrap());
    assert!(around.is_within(NisCode::BELGIUM, t).unwrap());
    let clipped = around.clip(city.nis, t).unwrap().expect("the city");
    let Area::Zone(cut) = &clipped.areas()[0] else {
        panic!("a zone")
    };
    for (x, y) in scattered(2_000, city.bbox.unwrap()) {
        // The cut follows a polygon drawn around the circle, 2 m beyond it at most.
        if (haversine_m(circle.lon(), circle.lat(), x, y) - circle.radius_m()).abs() < 3.0 {
            continue;
        }
        let in_both = circle.contains(x, y) && city.geometry.contains(&Point::new(x, y));
        let in_cut = cut.geometry().contains(&Point::new(x, y));
        assert_eq!(in_both, in_cut, "({x}, {y})");
    }
    // A small circle well inside stays a circle.
    let small = target(vec![Area::Circle(
        Circle::new(4.40026, 51.22047, 500.0).unwrap(),
    )]);
    assert_eq!(small.clip(city.nis, t).unwrap(), Some(small.clone()));
    assert_eq!(
        t.get(NisCode::BELGIUM).map(|u| u.level),
        Some(Level::Country)
    );
}
