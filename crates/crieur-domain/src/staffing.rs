//! Hotline staffing: how many operators must be on the phones for a call load to
//! meet a service target ("80 % answered within 20 s"), by Erlang C (callers wait as
//! long as it takes) or Erlang A (callers hang up after some patience).
//!
//! Pure arithmetic: no I/O, no clock. A plan is never rounded down: it is the
//! smallest whole number of operators that meets the target and the occupancy cap.

mod erlang;

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// More operators than this is a mistake in the figures, not a hotline.
pub const MAX_AGENTS: u32 = 100_000;

/// A service level a small tolerance below the target still meets it: the models
/// are exact, their floating-point evaluation is not.
const TOLERANCE: f64 = 1e-9;

/// Why a staffing question cannot be answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StaffingError {
    #[error("the call volume must be a positive number of calls (got {0})")]
    Calls(f64),
    #[error("the interval must be a positive number of seconds (got {0})")]
    Interval(f64),
    #[error("the handling time must be a positive number of seconds (got {0})")]
    HandleTime(f64),
    #[error("the target share must lie strictly between 0 and 1, i.e. 0 % and 100 % (got {0})")]
    TargetFraction(f64),
    #[error("the target time must be zero or a positive number of seconds (got {0})")]
    TargetSeconds(f64),
    #[error("cannot read the target {0:?}: write percent/seconds, e.g. 80/20")]
    TargetSyntax(String),
    #[error("shrinkage must be at least 0 and below 1, e.g. 0.3 for 30 % (got {0})")]
    Shrinkage(f64),
    #[error("the maximum occupancy must be above 0 and at most 1, e.g. 0.85 (got {0})")]
    MaxOccupancy(f64),
    #[error("the mean patience must be a positive number of seconds (got {0})")]
    Patience(f64),
    #[error("the share of recipients who call must lie between 0 and 1 (got {0})")]
    CallRate(f64),
    #[error("the share of calls in the first hour must be above 0 and at most 1 (got {0})")]
    FirstHourShare(f64),
    #[error(
        "{erlangs:.0} erlangs of traffic would need more than {MAX_AGENTS} operators: \
         check the call volume and handling time"
    )]
    TooLarge { erlangs: f64 },
}

/// "80 % of calls answered within 20 seconds".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ServiceTarget {
    /// Share of offered calls, strictly between 0 and 1.
    pub fraction: f64,
    pub within_seconds: f64,
}

impl Default for ServiceTarget {
    /// The usual contact-centre target, 80/20.
    fn default() -> Self {
        ServiceTarget {
            fraction: 0.8,
            within_seconds: 20.0,
        }
    }
}

impl FromStr for ServiceTarget {
    type Err = StaffingError;

    /// `percent/seconds`, e.g. `80/20` or `90/15.5`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || StaffingError::TargetSyntax(s.to_owned());
        let (percent, seconds) = s.split_once('/').ok_or_else(syntax)?;
        let percent: f64 = percent
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .map_err(|_| syntax())?;
        let seconds: f64 = seconds
            .trim()
            .trim_end_matches('s')
            .trim()
            .parse()
            .map_err(|_| syntax())?;
        let target = ServiceTarget {
            fraction: percent / 100.0,
            within_seconds: seconds,
        };
        target.validate()?;
        Ok(target)
    }
}

impl fmt::Display for ServiceTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.percent(), self.within_seconds)
    }
}

impl ServiceTarget {
    /// The fraction as a percentage, without floating-point noise (57, not
    /// 56.99999999999999).
    pub fn percent(&self) -> f64 {
        (self.fraction * 100.0 * 1e9).round() / 1e9
    }

    fn validate(&self) -> Result<(), StaffingError> {
        if !(self.fraction > 0.0 && self.fraction < 1.0) {
            return Err(StaffingError::TargetFraction(self.fraction));
        }
        if !(self.within_seconds >= 0.0 && self.within_seconds.is_finite()) {
            return Err(StaffingError::TargetSeconds(self.within_seconds));
        }
        Ok(())
    }
}

/// What a supervisor asks of the staffing besides the call load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StaffingPolicy {
    pub target: ServiceTarget,
    /// Share of scheduled operators not on the phones (breaks, training, sickness),
    /// in `[0, 1)`.
    pub shrinkage: f64,
    /// The busiest operators may be on average, in `(0, 1]`; 1 means no cap.
    pub max_occupancy: f64,
    /// Mean time callers wait before hanging up. `Some` uses Erlang A, `None`
    /// Erlang C (nobody hangs up, which overstates the staff needed).
    pub patience_seconds: Option<f64>,
}

impl Default for StaffingPolicy {
    fn default() -> Self {
        StaffingPolicy {
            target: ServiceTarget::default(),
            shrinkage: 0.0,
            max_occupancy: 1.0,
            patience_seconds: None,
        }
    }
}

/// A call load and the policy to staff it with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StaffingRequest {
    pub calls_per_hour: f64,
    /// Mean handling time: talk, hold and wrap-up.
    pub handle_seconds: f64,
    pub policy: StaffingPolicy,
}

impl StaffingRequest {
    /// `calls_per_hour` calls of `handle_seconds` each, default policy (80/20, no
    /// shrinkage, no occupancy cap, Erlang C).
    pub fn per_hour(calls_per_hour: f64, handle_seconds: f64) -> StaffingRequest {
        StaffingRequest {
            calls_per_hour,
            handle_seconds,
            policy: StaffingPolicy::default(),
        }
    }

    /// `calls` arriving over `interval_seconds` (e.g. 100 calls per half hour).
    pub fn per_interval(
        calls: f64,
        interval_seconds: f64,
        handle_seconds: f64,
    ) -> Result<StaffingRequest, StaffingError> {
        if !(interval_seconds > 0.0 && interval_seconds.is_finite()) {
            return Err(StaffingError::Interval(interval_seconds));
        }
        Ok(StaffingRequest::per_hour(
            calls * 3600.0 / interval_seconds,
            handle_seconds,
        ))
    }

    pub fn with_policy(self, policy: StaffingPolicy) -> StaffingRequest {
        StaffingRequest { policy, ..self }
    }

    /// Checks every figure and gives the queue to evaluate.
    pub fn queue(&self) -> Result<Queue, StaffingError> {
        let StaffingPolicy {
            target,
            shrinkage,
            max_occupancy,
            patience_seconds,
        } = self.policy;
        if !(self.calls_per_hour > 0.0 && self.calls_per_hour.is_finite()) {
            return Err(StaffingError::Calls(self.calls_per_hour));
        }
        if !(self.handle_seconds > 0.0 && self.handle_seconds.is_finite()) {
            return Err(StaffingError::HandleTime(self.handle_seconds));
        }
        target.validate()?;
        if !((0.0..1.0).contains(&shrinkage)) {
            return Err(StaffingError::Shrinkage(shrinkage));
        }
        if !(max_occupancy > 0.0 && max_occupancy <= 1.0) {
            return Err(StaffingError::MaxOccupancy(max_occupancy));
        }
        if let Some(p) = patience_seconds
            && !(p > 0.0 && p.is_finite())
        {
            return Err(StaffingError::Patience(p));
        }
        // Multiplying first keeps whole figures whole: 400 × 180 / 3600 is exactly 20.
        let erlangs = self.calls_per_hour * self.handle_seconds / 3600.0;
        if erlangs.is_nan() || erlangs > f64::from(MAX_AGENTS) {
            return Err(StaffingError::TooLarge { erlangs });
        }
        Ok(Queue {
            request: *self,
            erlangs,
        })
    }

    /// The smallest staffing that meets the policy.
    pub fn plan(&self) -> Result<StaffingPlan, StaffingError> {
        self.queue()?.plan()
    }
}

/// How a number of operators would fare: one row of what a supervisor compares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Performance {
    /// Operators on the phones.
    pub agents: u32,
    /// Share of offered calls answered within the target time; with Erlang A, calls
    /// that hang up count as not answered.
    pub service_level: f64,
    pub probability_wait: f64,
    /// Average speed of answer: mean wait of answered calls, those answered at once
    /// included.
    pub asa_seconds: f64,
    /// Share of the operators' time spent handling calls.
    pub occupancy: f64,
    /// Share of callers who hang up before an answer (Erlang A only).
    pub abandon_rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    ErlangC,
    ErlangA,
}

/// A validated request: its figures are known to make sense.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Queue {
    request: StaffingRequest,
    erlangs: f64,
}

impl Queue {
    /// Offered traffic: calls per second × handling time.
    pub fn traffic_erlangs(&self) -> f64 {
        self.erlangs
    }

    pub fn model(&self) -> Model {
        match self.request.policy.patience_seconds {
            Some(_) => Model::ErlangA,
            None => Model::ErlangC,
        }
    }

    /// `None` when `agents` cannot keep up: the queue grows without end.
    pub fn performance(&self, agents: u32) -> Option<Performance> {
        let StaffingRequest {
            calls_per_hour,
            handle_seconds,
            policy,
        } = self.request;
        let t = policy.target.within_seconds;
        match policy.patience_seconds {
            None => erlang::erlang_c(self.erlangs, handle_seconds, agents, t),
            Some(patience) => {
                erlang::erlang_a(calls_per_hour / 3600.0, handle_seconds, patience, agents, t)
            }
        }
    }

    /// Whether this performance meets the target and the occupancy cap.
    pub fn meets(&self, p: &Performance) -> bool {
        let policy = &self.request.policy;
        p.service_level >= policy.target.fraction - TOLERANCE
            && p.occupancy <= policy.max_occupancy + TOLERANCE
    }

    /// Operators to schedule so that `agents` are on the phones despite shrinkage.
    pub fn scheduled(&self, agents: u32) -> u32 {
        let exact = f64::from(agents) / (1.0 - self.request.policy.shrinkage);
        // 21 / 0.7 is 30.000000000000004 in floating point: that is 30 operators.
        (exact - TOLERANCE).ceil() as u32
    }

    /// The smallest number of operators on the phones that meets the target and
    /// the occupancy cap.
    pub fn plan(&self) -> Result<StaffingPlan, StaffingError> {
        let meets = |n| self.performance(n).is_some_and(|p| self.meets(&p));
        // Fewer operators than erlangs never keep an Erlang C queue finite, and the
        // cap needs A / N ≤ max. Erlang A can need fewer operators than erlangs, but
        // N operators answer at most N / A of the calls.
        let lowest = match self.model() {
            Model::ErlangC => {
                let by_cap = (self.erlangs / self.request.policy.max_occupancy - TOLERANCE).ceil();
                (self.erlangs.floor() + 1.0).max(by_cap)
            }
            Model::ErlangA => {
                (self.erlangs * self.request.policy.target.fraction - TOLERANCE).ceil()
            }
        };
        let lowest = lowest.min(f64::from(MAX_AGENTS) + 1.0) as u32;
        let agents = smallest(lowest, meets).ok_or(StaffingError::TooLarge {
            erlangs: self.erlangs,
        })?;
        let p = self.performance(agents).ok_or(StaffingError::TooLarge {
            erlangs: self.erlangs,
        })?;
        let StaffingRequest {
            calls_per_hour,
            handle_seconds,
            policy,
        } = self.request;
        Ok(StaffingPlan {
            model: self.model(),
            calls_per_hour,
            handle_seconds,
            target: policy.target,
            shrinkage: policy.shrinkage,
            max_occupancy: policy.max_occupancy,
            patience_seconds: policy.patience_seconds,
            traffic_erlangs: self.erlangs,
            agents,
            scheduled: self.scheduled(agents),
            service_level: p.service_level,
            occupancy: p.occupancy,
            asa_seconds: p.asa_seconds,
            probability_wait: p.probability_wait,
            abandon_rate: p.abandon_rate,
        })
    }
}

/// The smallest `n` in `lowest..=MAX_AGENTS` for which `meets` holds, assuming it
/// keeps holding for every larger `n` (more operators never serve worse): gallop
/// up by doubling steps, then bisect the last step.
fn smallest(lowest: u32, meets: impl Fn(u32) -> bool) -> Option<u32> {
    let lowest = lowest.max(1);
    if lowest > MAX_AGENTS {
        return None;
    }
    let (mut fails, mut holds, mut step) = (lowest - 1, lowest, 1);
    while !meets(holds) {
        if holds == MAX_AGENTS {
            return None;
        }
        fails = holds;
        holds = holds.saturating_add(step).min(MAX_AGENTS);
        step = step.saturating_mul(2);
    }
    while holds - fails > 1 {
        let mid = fails + (holds - fails) / 2;
        if meets(mid) {
            holds = mid;
        } else {
            fails = mid;
        }
    }
    Some(holds)
}

/// The answer: operators on the phones and to schedule, and how they will fare.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StaffingPlan {
    pub model: Model,
    pub calls_per_hour: f64,
    pub handle_seconds: f64,
    pub target: ServiceTarget,
    pub shrinkage: f64,
    pub max_occupancy: f64,
    pub patience_seconds: Option<f64>,
    pub traffic_erlangs: f64,
    /// Operators on the phones.
    pub agents: u32,
    /// Operators to schedule: `agents / (1 − shrinkage)`, rounded up.
    pub scheduled: u32,
    pub service_level: f64,
    pub occupancy: f64,
    pub asa_seconds: f64,
    pub probability_wait: f64,
    /// Erlang A only.
    pub abandon_rate: Option<f64>,
}

/// Calls expected in the hour after an alert, from how many people it reached.
///
/// A rule of thumb, not a model: a share of the recipients calls (`call_rate`),
/// and a share of those calls comes in the first hour (`first_hour_share`), the
/// rest later. Both are settings to calibrate on past alerts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AlertForecast {
    /// Share of recipients who call the hotline at all; 0.5 % by default.
    pub call_rate: f64,
    /// Share of those calls in the first hour after the alert; 60 % by default.
    pub first_hour_share: f64,
}

impl Default for AlertForecast {
    fn default() -> Self {
        AlertForecast {
            call_rate: 0.005,
            first_hour_share: 0.6,
        }
    }
}

impl AlertForecast {
    /// `recipients × call_rate × first_hour_share`.
    pub fn calls_in_first_hour(&self, recipients: u64) -> Result<f64, StaffingError> {
        if !((0.0..=1.0).contains(&self.call_rate)) {
            return Err(StaffingError::CallRate(self.call_rate));
        }
        if !(self.first_hour_share > 0.0 && self.first_hour_share <= 1.0) {
            return Err(StaffingError::FirstHourShare(self.first_hour_share));
        }
        Ok(recipients as f64 * self.call_rate * self.first_hour_share)
    }
}

/// Operators for the first hour after an alert reaching `recipients` people.
/// No expected call (no recipient, or a call rate of 0) is [`StaffingError::Calls`].
pub fn plan_after_alert(
    recipients: u64,
    forecast: &AlertForecast,
    handle_seconds: f64,
    policy: &StaffingPolicy,
) -> Result<StaffingPlan, StaffingError> {
    let calls = forecast.calls_in_first_hour(recipients)?;
    StaffingRequest::per_hour(calls, handle_seconds)
        .with_policy(*policy)
        .plan()
}

/// Operators for the next hour if calls keep coming as observed: `calls` answered
/// or offered over the last `window_seconds`, handled in `mean_handle_seconds`.
pub fn plan_from_observed(
    calls: u64,
    window_seconds: f64,
    mean_handle_seconds: f64,
    policy: &StaffingPolicy,
) -> Result<StaffingPlan, StaffingError> {
    StaffingRequest::per_interval(calls as f64, window_seconds, mean_handle_seconds)?
        .with_policy(*policy)
        .plan()
}

#[cfg(test)]
mod tests;
