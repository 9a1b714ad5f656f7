//! The two queueing models behind [`super::Queue::performance`]: Erlang C (M/M/N,
//! callers wait as long as it takes) and Erlang A (M/M/N+M, callers hang up after
//! an exponentially distributed patience). Both stay in ratios and logarithms, never
//! in `A^N / N!`, so thousands of erlangs neither overflow nor lose precision.

use super::Performance;

/// Beyond this many callers waiting, the queue is treated as unbounded: an Erlang A
/// queue that long with non-negligible probability (very patient callers, fewer
/// operators than erlangs) is no staffing answer, and refusing it keeps memory bounded.
const MAX_QUEUE: usize = 200_000;

/// e^-40 ≈ 4e-18: queue states lighter than this, relative to the heaviest state,
/// are dropped.
const NEGLIGIBLE_LN: f64 = -40.0;

/// Erlang B's blocking probability B(N, A), by the recursion
/// B(k) = A·B(k-1) / (k + A·B(k-1)): every step stays within (0, 1], where the
/// textbook `A^N / N!` overflows past N ≈ 170.
pub(super) fn erlang_b(agents: u32, erlangs: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=agents {
        let ab = erlangs * b;
        b = ab / (f64::from(k) + ab);
    }
    b
}

/// Erlang C for `agents` operators and `erlangs` of traffic; `None` when they cannot
/// keep up (N ≤ A: the queue grows without end).
pub(super) fn erlang_c(
    erlangs: f64,
    handle_seconds: f64,
    agents: u32,
    within_seconds: f64,
) -> Option<Performance> {
    let n = f64::from(agents);
    if n <= erlangs {
        return None;
    }
    let b = erlang_b(agents, erlangs);
    // C from B (Cooper): avoids summing the Poisson terms a second time.
    let wait = n * b / (n - erlangs * (1.0 - b));
    let spare = n - erlangs;
    Some(Performance {
        agents,
        service_level: (1.0 - wait * (-spare * within_seconds / handle_seconds).exp())
            .clamp(0.0, 1.0),
        probability_wait: wait,
        asa_seconds: wait * handle_seconds / spare,
        occupancy: erlangs / n,
        abandon_rate: None,
    })
}

/// Erlang A (Palm's M/M/N+M, as Garnett, Mandelbaum & Reiman 2002 use it) for
/// `agents` operators, `arrivals` calls per second, mean handling and patience in
/// seconds. `None` when no operator answers or the queue is unbounded in practice.
///
/// The number in the system is a birth-death chain: arrivals at λ, departures at kμ
/// up to N, then Nμ + jθ with j callers waiting (θ = 1/patience). Below N the
/// stationary weights are Erlang B's (they sum to 1/B − 1 relative to state N); above
/// N they follow the ratios λ/(Nμ + jθ), kept as logarithms and cut where they
/// become negligible, so the normalisation never overflows. Callers see the
/// stationary state on arrival (Poisson arrivals). A caller finding q waiting moves
/// up through q + 1 exponential stages of rates Nμ + θ, …, Nμ + (q+1)θ (own
/// patience included), is answered with probability Nμ / (Nμ + (q+1)θ), and the
/// wait Y of an answered caller has e^{-θY} ~ Beta(Nμ/θ + 1, q + 1): its CDF at an integer second
/// parameter is a negative-binomial sum of positive terms, accumulated over q in log
/// space. With θ → 0 every figure tends to Erlang C's.
pub(super) fn erlang_a(
    arrivals: f64,
    handle_seconds: f64,
    patience_seconds: f64,
    agents: u32,
    within_seconds: f64,
) -> Option<Performance> {
    if agents == 0 {
        return None;
    }
    let erlangs = arrivals * handle_seconds;
    let n = f64::from(agents);
    let service = n / handle_seconds;
    let theta = 1.0 / patience_seconds;
    let b = erlang_b(agents, erlangs);
    if b < f64::MIN_POSITIVE {
        // So many operators that nobody ever waits (B underflowed).
        return Some(Performance {
            agents,
            service_level: 1.0,
            probability_wait: 0.0,
            asa_seconds: 0.0,
            occupancy: erlangs / n,
            abandon_rate: Some(0.0),
        });
    }
    // The weights above N rise until Nμ + jθ reaches λ: a queue whose likeliest
    // length is beyond MAX_QUEUE is unbounded in practice.
    if (arrivals - service) / theta > MAX_QUEUE as f64 {
        return None;
    }
    let ln_below = (-b).ln_1p() - b.ln();
    let ln_arrivals = arrivals.ln();

    // ln of π(N+q) / π(N), q = 0, 1, …
    let mut ln_queue = vec![0.0_f64];
    let mut ln_max = ln_below.max(0.0);
    loop {
        let q = ln_queue.len();
        let exit = service + q as f64 * theta;
        let last = ln_queue[q - 1];
        if arrivals < exit {
            // From here on the ratios only shrink: what is left is at most a
            // geometric tail, last · ρ / (1 − ρ).
            let rho = arrivals / exit;
            let tail = last + rho.ln() - ((exit - arrivals) / exit).ln();
            if tail < ln_max + NEGLIGIBLE_LN {
                break;
            }
        }
        if q > MAX_QUEUE {
            return None;
        }
        let next = last + ln_arrivals - exit.ln();
        ln_max = ln_max.max(next);
        ln_queue.push(next);
    }
    let total =
        (ln_below - ln_max).exp() + ln_queue.iter().map(|l| (l - ln_max).exp()).sum::<f64>();

    let alpha = service / theta + 1.0;
    let ln_escape = (-(-theta * within_seconds).exp_m1()).ln(); // ln(1 − e^{-θt})
    let mut ln_term = -(service + theta) * within_seconds;
    let mut late = 0.0; // P(Y > t) for a caller finding q waiting: Σ terms up to q
    let mut stages_mean = 0.0; // Σ 1/(Nμ + (i+1)θ), i ≤ q
    let (mut wait, mut abandon, mut answered_wait, mut answered_late) = (0.0, 0.0, 0.0, 0.0);
    for (q, ln) in ln_queue.iter().enumerate() {
        let p = (ln - ln_max).exp() / total;
        let exit = service + (q + 1) as f64 * theta;
        let answered = service / exit;
        if q > 0 {
            ln_term += (alpha + q as f64 - 1.0).ln() + ln_escape - (q as f64).ln();
        }
        late += ln_term.exp();
        stages_mean += 1.0 / exit;
        wait += p;
        abandon += p * ((q + 1) as f64 * theta / exit);
        answered_wait += p * answered * stages_mean;
        // Answered, but after the target time: P(answered) · P(Y > t).
        answered_late += p * answered * late.min(1.0);
    }
    let answered_in_queue = wait - abandon;
    Some(Performance {
        agents,
        service_level: (1.0 - wait + (answered_in_queue - answered_late)).clamp(0.0, 1.0),
        probability_wait: wait,
        asa_seconds: answered_wait / (1.0 - abandon),
        occupancy: erlangs * (1.0 - abandon) / n,
        abandon_rate: Some(abandon),
    })
}
