//! `crieur staffing`: how many operators the hotline needs for a call load, with
//! the counts around the answer so a supervisor can weigh one more or one fewer.
//! Arithmetic only (crieur_domain::staffing): it reads no configuration or database.

use crieur_domain::staffing::{
    Model, Performance, Queue, ServiceTarget, StaffingPlan, StaffingPolicy, StaffingRequest,
};
use std::fmt::Write;

#[derive(Debug, clap::Args)]
pub(super) struct StaffingArgs {
    /// Calls expected per hour.
    #[arg(long, required_unless_present = "calls", conflicts_with = "calls")]
    calls_per_hour: Option<f64>,
    /// Calls expected per interval (see --interval-minutes), instead of per hour.
    #[arg(long)]
    calls: Option<f64>,
    /// The interval --calls counts over [default: 60].
    #[arg(long, conflicts_with = "calls_per_hour")]
    interval_minutes: Option<f64>,
    /// Mean handling time per call (talk, hold and wrap-up), in seconds.
    #[arg(long)]
    handle_seconds: f64,
    /// Service target as percent/seconds: 80/20 is 80 % answered within 20 s.
    #[arg(long, default_value = "80/20")]
    target: ServiceTarget,
    /// Share of scheduled operators off the phones (breaks, training), e.g. 0.3.
    #[arg(long, default_value_t = 0.0)]
    shrinkage: f64,
    /// Highest acceptable average occupancy, e.g. 0.85 (1 = no cap).
    #[arg(long, default_value_t = 1.0)]
    max_occupancy: f64,
    /// Mean time callers wait before hanging up: switches from Erlang C to Erlang A.
    #[arg(long)]
    patience_seconds: Option<f64>,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: &StaffingArgs) -> anyhow::Result<()> {
    let request = request(args)?;
    let out = if args.json {
        serde_json::to_string_pretty(&request.plan()?)? + "\n"
    } else {
        render(&request)?
    };
    print!("{out}");
    Ok(())
}

fn request(args: &StaffingArgs) -> anyhow::Result<StaffingRequest> {
    let mut request = match (args.calls_per_hour, args.calls) {
        (Some(per_hour), _) => StaffingRequest::per_hour(per_hour, args.handle_seconds),
        (None, Some(calls)) => StaffingRequest::per_interval(
            calls,
            args.interval_minutes.unwrap_or(60.0) * 60.0,
            args.handle_seconds,
        )?,
        (None, None) => anyhow::bail!("give --calls-per-hour or --calls"),
    };
    request.policy = StaffingPolicy {
        target: args.target,
        shrinkage: args.shrinkage,
        max_occupancy: args.max_occupancy,
        patience_seconds: args.patience_seconds,
    };
    Ok(request)
}

/// The plan and the operator counts around it, as the command prints them.
pub(crate) fn render(request: &StaffingRequest) -> anyhow::Result<String> {
    let queue = request.queue()?;
    let plan = queue.plan()?;
    let mut out = String::new();
    let t = plan.target.within_seconds;
    let model = match (plan.model, plan.patience_seconds) {
        (Model::ErlangA, Some(p)) => format!("Erlang A, callers hang up after {p} s on average"),
        _ => "Erlang C, callers wait as long as it takes".to_owned(),
    };
    writeln!(
        out,
        "{} calls/hour, {} s handling: {:.1} erlangs ({model})",
        plan.calls_per_hour, plan.handle_seconds, plan.traffic_erlangs
    )?;
    writeln!(
        out,
        "Target: {} % of calls answered within {t} s{}",
        plan.target.percent(),
        if plan.max_occupancy < 1.0 {
            format!(", occupancy at most {}", percent(plan.max_occupancy))
        } else {
            String::new()
        }
    )?;
    writeln!(out)?;
    let rows = [
        ("Operators on the phones", plan.agents.to_string()),
        (
            "Scheduled",
            format!("{} (shrinkage {})", plan.scheduled, percent(plan.shrinkage)),
        ),
        (
            "Service level",
            format!("{} answered within {t} s", percent(plan.service_level)),
        ),
        ("Average speed of answer", seconds(plan.asa_seconds)),
        ("Occupancy", percent(plan.occupancy)),
        ("Probability of waiting", percent(plan.probability_wait)),
    ];
    for (label, value) in rows {
        writeln!(out, "  {label:<25} {value}")?;
    }
    if let Some(abandon) = plan.abandon_rate {
        writeln!(out, "  {:<25} {}", "Callers hanging up", percent(abandon))?;
    }
    if let Some(note) = binding_constraint(&queue, &plan) {
        writeln!(out, "\n{note}")?;
    }
    writeln!(out)?;
    out.push_str(&neighbours(&queue, &plan)?);
    Ok(out)
}

/// Says when the occupancy cap, not the service target, set the answer.
fn binding_constraint(queue: &Queue, plan: &StaffingPlan) -> Option<String> {
    let fewer = queue.performance(plan.agents.checked_sub(1)?)?;
    (fewer.service_level >= plan.target.fraction).then(|| {
        format!(
            "The occupancy cap sets this: {} operators would meet the service target \
             at {} occupancy.",
            fewer.agents,
            percent(fewer.occupancy)
        )
    })
}

fn neighbours(queue: &Queue, plan: &StaffingPlan) -> anyhow::Result<String> {
    let mut out = String::new();
    let abandon = plan.abandon_rate.is_some();
    write!(
        out,
        "  operators  service level       ASA  occupancy  waiting"
    )?;
    writeln!(out, "{}", if abandon { "  hang up" } else { "" })?;
    let first = plan.agents.saturating_sub(2).max(1);
    for n in first..=plan.agents + 3 {
        let mark = if n == plan.agents { ">" } else { " " };
        match queue.performance(n) {
            Some(p) => writeln!(out, "{mark} {}", row(&p, abandon))?,
            None => writeln!(out, "{mark} {n:>9}  too few: the queue grows without end")?,
        }
    }
    Ok(out)
}

fn row(p: &Performance, abandon: bool) -> String {
    let mut row = format!(
        "{:>9}  {:>13}  {:>8}  {:>9}  {:>7}",
        p.agents,
        percent(p.service_level),
        seconds(p.asa_seconds),
        percent(p.occupancy),
        percent(p.probability_wait)
    );
    if let (true, Some(a)) = (abandon, p.abandon_rate) {
        row.push_str(&format!("  {:>7}", percent(a)));
    }
    row
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

fn seconds(s: f64) -> String {
    format!("{s:.1} s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        args: StaffingArgs,
    }

    fn parse(line: &str) -> Result<StaffingArgs, clap::Error> {
        Command::try_parse_from(std::iter::once("staffing").chain(line.split_whitespace()))
            .map(|c| c.args)
    }

    fn rendered(line: &str) -> String {
        render(&request(&parse(line).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn the_published_case_renders_24_operators_and_the_counts_around_them() {
        let out = rendered("--calls-per-hour 400 --handle-seconds 180 --target 80/20");
        assert!(out.contains("Operators on the phones   24\n"), "{out}");
        assert!(out.contains("80.9 % answered within 20 s"), "{out}");
        assert!(out.contains("83.3 %"), "{out}");
        // 22 to 27, the answer marked.
        let rows: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.contains("operators  service level"))
            .skip(1)
            .collect();
        let counts: Vec<&str> = rows
            .iter()
            .map(|r| r[1..].split_whitespace().next().unwrap())
            .collect();
        assert_eq!(counts, ["22", "23", "24", "25", "26", "27"], "{out}");
        assert!(
            rows[2].starts_with("> ") && rows[1].starts_with("  "),
            "{out}"
        );
    }

    #[test]
    fn calls_per_interval_shrinkage_and_patience_reach_the_plan() {
        let out = rendered("--calls 100 --interval-minutes 30 --handle-seconds 180");
        assert!(out.contains("Operators on the phones   14\n"), "{out}");
        assert!(out.contains("88.8 %") && out.contains("71.4 %"), "{out}");

        let out = rendered("--calls-per-hour 400 --handle-seconds 180 --shrinkage 0.3");
        assert!(out.contains("35 (shrinkage 30.0 %)"), "{out}");

        let out = rendered("--calls-per-hour 400 --handle-seconds 180 --patience-seconds 120");
        assert!(
            out.contains("Erlang A") && out.contains("Callers hanging up"),
            "{out}"
        );
        assert!(out.contains("hang up\n"), "{out}");

        let out = rendered("--calls-per-hour 400 --handle-seconds 180 --max-occupancy 0.8");
        assert!(out.contains("Operators on the phones   25\n"), "{out}");
        assert!(
            out.contains("occupancy cap sets this: 24 operators"),
            "{out}"
        );
    }

    #[test]
    fn too_few_operators_show_as_an_unbounded_queue() {
        // 2 erlangs meet 80/20 with 4 operators; 2 cannot keep up.
        let out = rendered("--calls-per-hour 40 --handle-seconds 180");
        assert!(out.contains("Operators on the phones   4\n"), "{out}");
        assert!(out.contains("2  too few"), "{out}");
    }

    #[test]
    fn bad_targets_and_missing_volumes_are_refused() {
        let err = parse("--calls-per-hour 400 --handle-seconds 180 --target 80").unwrap_err();
        assert!(err.to_string().contains("write percent/seconds"), "{err}");
        assert!(parse("--handle-seconds 180").is_err());
        assert!(parse("--calls-per-hour 400 --calls 10 --handle-seconds 180").is_err());
        assert!(parse("--calls-per-hour 400 --interval-minutes 30 --handle-seconds 180").is_err());
        let args = parse("--calls-per-hour 400 --handle-seconds 180 --shrinkage 1").unwrap();
        let err = render(&request(&args).unwrap()).unwrap_err();
        assert!(err.to_string().contains("shrinkage"), "{err}");
    }

    #[test]
    fn json_carries_the_plan() {
        let plan = request(&parse("--calls-per-hour 400 --handle-seconds 180 --json").unwrap())
            .unwrap()
            .plan()
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&serde_json::to_string_pretty(&plan).unwrap()).unwrap();
        assert_eq!(json["agents"], 24);
        assert_eq!(json["scheduled"], 24);
    }
}
