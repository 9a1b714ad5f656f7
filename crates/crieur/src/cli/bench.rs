//! `crieur bench targeting`: recipient resolution over a synthetic population
//! (1,000,000 subscribers by default, about 1.3 million addresses): index build
//! time and memory, whole-country, province-polygon, municipality and circle
//! resolution times, cross-checked against brute force. Goals on a 2-core
//! machine: country at most 1 s, a province polygon at most 300 ms, at most 150
//! bytes per address. Run it from a release build.

use crieur_domain::population::{self, Subscriber};
use crieur_domain::targeting::{
    AddressIndex, AddressPoint, Area, Circle, PersonId, Resolution, Target, Zone, haversine_m,
};
use crieur_domain::{NisCode, Territories};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` several times; prints the median and the fastest run.
fn timed(name: &str, mut f: impl FnMut() -> Resolution) -> Resolution {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = Resolution::default();
    for _ in 0..RUNS {
        let start = Instant::now();
        last = f();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{name:<44} {:>9} persons   median {:>8.2} ms   best {:>8.2} ms",
        last.len(),
        ms(times[RUNS / 2]),
        ms(times[0])
    );
    last
}

fn points(s: &Subscriber) -> Vec<AddressPoint> {
    s.addresses
        .iter()
        .map(|a| AddressPoint {
            lon: a.lon,
            lat: a.lat,
            municipality: a.municipality,
        })
        .collect()
}

pub(super) fn targeting(count: usize) -> anyhow::Result<()> {
    let territories = Territories::embedded()?;
    let nis = |s: &str| s.parse::<NisCode>();

    let start = Instant::now();
    let people = population::generate(&territories, 2025, count);
    let addresses: usize = people.iter().map(|p| p.addresses.len()).sum();
    println!(
        "generated {count} subscribers, {addresses} addresses ({:.3} each) in {:.2} s",
        addresses as f64 / count as f64,
        start.elapsed().as_secs_f64()
    );

    let rss_before = vm_rss_kib();
    let start = Instant::now();
    let mut index = AddressIndex::from_people(people.iter().map(|p| (p.id, points(p))))?;
    let build = start.elapsed();
    let rss_after = vm_rss_kib();
    let memory = index.memory();
    println!("built the index in {:.0} ms", ms(build));
    println!(
        "index memory from capacities: {:.1} MiB = {:.1} bytes/address \
         (grid {:.1}, persons {:.1}, look-ups {:.1} MiB)",
        memory.total_bytes() as f64 / 1048576.0,
        memory.bytes_per_address(),
        memory.grid_bytes as f64 / 1048576.0,
        memory.person_bytes as f64 / 1048576.0,
        memory.lookup_bytes as f64 / 1048576.0,
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        let delta = after.saturating_sub(before) * 1024;
        println!(
            "process VmRSS {:.1} → {:.1} MiB: +{:.1} MiB = {:.1} bytes/address",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            delta as f64 / 1048576.0,
            delta as f64 / addresses as f64
        );
    }
    println!();

    let country = Target::country();
    timed("whole country (code 01000)", || {
        index.resolve(&country, &territories)
    });

    let antwerp = territories
        .get(nis("10000")?)
        .ok_or_else(|| anyhow::anyhow!("no province of Antwerp"))?;
    let start = Instant::now();
    let zone = Zone::new(antwerp.geometry.clone())?;
    println!(
        "validated the province of Antwerp's shape ({} polygons) in {:.1} ms",
        antwerp.geometry.0.len(),
        ms(start.elapsed())
    );
    let polygon = Target::new(vec![Area::Zone(zone)], &territories)?;
    let by_polygon = timed("province of Antwerp, polygon", || {
        index.resolve(&polygon, &territories)
    });
    let by_code = Target::new(vec![Area::Territory(antwerp.nis)], &territories)?;
    let by_code = timed("province of Antwerp, code 10000", || {
        index.resolve(&by_code, &territories)
    });
    let liege = Target::new(vec![Area::Territory(nis("62063")?)], &territories)?;
    timed("municipality of Liège, code 62063", || {
        index.resolve(&liege, &territories)
    });
    let (lon, lat) = (4.3525, 50.8467);
    let circle = Circle::new(lon, lat, 5_000.0)?;
    let around = Target::new(vec![Area::Circle(circle)], &territories)?;
    let by_circle = timed("5 km around the Grand-Place, Brussels", || {
        index.resolve(&around, &territories)
    });

    // Cross-checks: the circle against brute force, the polygon against the code.
    let expected = people
        .iter()
        .filter(|p| {
            p.addresses.iter().any(|a| {
                let (x, y) = ((a.lon * 1e6).round() / 1e6, (a.lat * 1e6).round() / 1e6);
                haversine_m(lon, lat, x, y) <= 5_000.0
            })
        })
        .count();
    println!(
        "circle check: {} by brute force, {} by the index",
        expected,
        by_circle.len()
    );
    let both = by_polygon
        .recipients()
        .iter()
        .filter(|r| by_code.get(r.person).is_some())
        .count();
    println!(
        "polygon vs code: {} persons in both, {} by polygon only, {} by code only",
        both,
        by_polygon.len() - both,
        by_code.len() - both
    );

    let start = Instant::now();
    let within = polygon.is_within(antwerp.nis, &territories)?;
    println!(
        "jurisdiction: the polygon within province 10000? {within} ({:.1} ms)",
        ms(start.elapsed())
    );

    // Registration changes: move 100,000 people to another subscriber's address.
    let changes = 100_000.min(people.len());
    let start = Instant::now();
    for i in 0..changes {
        let person = &people[i];
        let other = &people[(i * 7919 + 13) % people.len()];
        index.replace(person.id as PersonId, &points(other))?;
    }
    let elapsed = start.elapsed();
    println!(
        "\n{changes} address replacements in {:.0} ms ({:.2} µs each)",
        ms(elapsed),
        elapsed.as_secs_f64() * 1e6 / changes as f64
    );
    let start = Instant::now();
    for p in people.iter().take(changes) {
        index.remove(p.id);
    }
    for p in people.iter().take(changes) {
        index.insert(p.id, &points(p))?;
    }
    println!(
        "{changes} removals and re-insertions in {:.0} ms",
        ms(start.elapsed())
    );
    let memory = index.memory();
    println!(
        "after the changes: {:.1} bytes/address",
        memory.bytes_per_address()
    );
    timed("whole country after the changes", || {
        index.resolve(&country, &territories)
    });
    timed("province of Antwerp polygon after changes", || {
        index.resolve(&polygon, &territories)
    });
    Ok(())
}
