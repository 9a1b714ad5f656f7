//! `crieur bench matching`: the relatives line's matching engine over synthetic
//! lists with known truth (see `crieur_domain::matching::synthetic`): index build
//! time, recall of the top 3, precision of the top 1 above a threshold, recall per
//! kind of distortion, and time per query. Run it from a release build.

use crieur_domain::matching::Index;
use crieur_domain::matching::synthetic::{Config, Distortion, generate};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub(super) struct MatchingBench {
    pub inquiries: usize,
    pub entries: usize,
    pub listed_share: f64,
    pub threshold: f64,
    pub seed: u64,
    /// How many misses and false alarms to print, with their reasons.
    pub examples: usize,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

#[derive(Default)]
struct Tally {
    asked: usize,
    top1: usize,
    top3: usize,
}

pub(super) fn matching(b: &MatchingBench) -> anyhow::Result<()> {
    let start = Instant::now();
    let data = generate(&Config {
        entries: b.entries,
        inquiries: b.inquiries,
        listed_share: b.listed_share,
        seed: b.seed,
    });
    println!(
        "generated {} entries and {} inquiries ({:.0}% about a listed person) in {:.0} ms",
        data.entries.len(),
        data.inquiries.len(),
        b.listed_share * 100.0,
        ms(start.elapsed())
    );
    let start = Instant::now();
    let index = Index::new(&data.entries);
    println!(
        "index build: {:.0} ms for {} entries",
        ms(start.elapsed()),
        index.len()
    );

    let thresholds = [0.5, 0.8, 0.9, 0.95, 0.99];
    // Per threshold: top-1 above it, of which right; listed inquiries right above it.
    let mut at = [(0usize, 0usize); 5];
    let (mut shown_misses, mut shown_alarms) = (0, 0);
    let entry = |id: crieur_domain::matching::EntryId| &data.entries[id.0 as usize - 1];
    let mut times = Vec::with_capacity(data.inquiries.len());
    let mut listed = Tally::default();
    let mut by_kind: BTreeMap<Distortion, Tally> = BTreeMap::new();
    let (mut above, mut above_right, mut unlisted, mut unlisted_above, mut listed_above) =
        (0, 0, 0, 0, 0);
    for inquiry in &data.inquiries {
        let t = Instant::now();
        let ranked = index.candidates(&inquiry.sought, 3);
        times.push(t.elapsed());
        let top1 = ranked.first();
        let is_above = top1.is_some_and(|c| c.1.score >= b.threshold);
        for (k, t) in thresholds.iter().enumerate() {
            if let Some(c) = top1.filter(|c| c.1.score >= *t) {
                at[k].0 += 1;
                at[k].1 += usize::from(Some(c.0) == inquiry.truth);
            }
        }
        if let Some(c) = top1.filter(|c| is_above && Some(c.0) != inquiry.truth)
            && shown_alarms < b.examples
        {
            shown_alarms += 1;
            println!(
                "wrong top-1 ({:.3}) for {:?}\n  truth {:?}\n  got   {:?}\n  {:?}",
                c.1.score,
                inquiry.sought,
                inquiry.truth.map(entry),
                entry(c.0),
                c.1.reasons
            );
        }
        if let Some(truth) = inquiry.truth
            && !ranked.iter().any(|c| c.0 == truth)
            && shown_misses < b.examples
        {
            shown_misses += 1;
            println!(
                "missed {:?} ({:?})\n  truth {:?}\n  top {:?}",
                inquiry.sought,
                inquiry.distortion,
                entry(truth),
                top1.map(|c| (entry(c.0), c.1.score))
            );
        }
        if is_above {
            above += 1;
            if top1.map(|c| c.0) == inquiry.truth {
                above_right += 1;
            }
        }
        match (inquiry.truth, inquiry.distortion) {
            (Some(truth), Some(kind)) => {
                let in1 = top1.is_some_and(|c| c.0 == truth);
                let in3 = ranked.iter().any(|c| c.0 == truth);
                for tally in [&mut listed, by_kind.entry(kind).or_default()] {
                    tally.asked += 1;
                    tally.top1 += usize::from(in1);
                    tally.top3 += usize::from(in3);
                }
                if is_above && in1 {
                    listed_above += 1;
                }
            }
            _ => {
                unlisted += 1;
                unlisted_above += usize::from(is_above);
            }
        }
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
    println!();
    println!(
        "recall@3  (inquiries about a listed person whose entry is among the top 3): {:.1}% ({} of {})",
        pct(listed.top3, listed.asked),
        listed.top3,
        listed.asked
    );
    println!(
        "recall@1  (... whose entry is ranked first):                               {:.1}%",
        pct(listed.top1, listed.asked)
    );
    println!(
        "precision@1 at score >= {:.2} (of all inquiries whose best candidate scores at least that, the share where it is the right person): {:.1}% ({} of {})",
        b.threshold,
        pct(above_right, above),
        above_right,
        above
    );
    println!(
        "  listed inquiries answered right above the threshold: {:.1}%; unlisted inquiries with a candidate above it (false alarms): {:.1}% ({} of {})",
        pct(listed_above, listed.asked),
        pct(unlisted_above, unlisted),
        unlisted_above,
        unlisted
    );
    println!("precision@1 by threshold:");
    for (k, t) in thresholds.iter().enumerate() {
        println!(
            "  score >= {t:.2}: {:>6} inquiries with a top-1 candidate, {:.1}% right",
            at[k].0,
            pct(at[k].1, at[k].0)
        );
    }
    println!();
    println!(
        "{:<20} {:>8} {:>10} {:>10}",
        "distortion", "asked", "recall@1", "recall@3"
    );
    for (kind, t) in &by_kind {
        println!(
            "{:<20} {:>8} {:>9.1}% {:>9.1}%",
            format!("{kind:?}"),
            t.asked,
            pct(t.top1, t.asked),
            pct(t.top3, t.asked)
        );
    }
    println!();
    println!(
        "time per match: mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(total) / times.len().max(1) as f64,
        ms(times[times.len() / 2]),
        ms(p99),
        ms(times[times.len() - 1])
    );
    Ok(())
}
