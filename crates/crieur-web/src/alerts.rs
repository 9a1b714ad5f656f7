//! Alerts as a service for the console and the API: composing within one's
//! jurisdiction, counting recipients, the second-person approval, the safety
//! limiter, release, and the follow-ups (update, cancel, all-clear).
//!
//! Release stores the delivery plan with the alert; crieur-dispatch sends it.

use crate::AppState;
use crate::audience::{channels_of, count};
use crate::auth::{Staff, audit, now};
use crate::error::ApiError;
use crieur_domain::Language;
use crieur_domain::access::{Action, authorize};
use crieur_domain::alert::{self, AreaSpec, Channel, Composition, Envelope};
use crieur_domain::audit::Outcome;
use crieur_domain::cap::{self, MsgType, Status};
use crieur_domain::credentials::{new_token, token_digest};
use crieur_domain::targeting::Target;
use crieur_store::{
    AlertState, NewAlert, PlannedDelivery, PlannedText, Priority, Release, StoredAlert,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The policy and limits around releasing alerts.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Territory levels whose alerts need a second person's approval.
    pub approval_levels: Vec<crieur_domain::Level>,
    /// Releases one account may make per minute.
    pub releases_per_minute: u32,
    /// Sending the same texts to the same area again within this many minutes
    /// needs an explicit confirmation.
    pub repeat_window_minutes: u32,
    /// Unit prices in euro cents, per channel.
    pub unit_cents: BTreeMap<Channel, f64>,
    /// CAP `sender`.
    pub sender: String,
    /// Verified contacts (E.164 numbers, e-mail addresses) an Exercise or Test
    /// may be restricted to.
    pub test_group: Vec<String>,
    /// The mobile operators that broadcast Actual alerts to every phone in the
    /// area (location-based SMS, cell broadcast), by configured name.
    pub operators: Vec<String>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            approval_levels: vec![crieur_domain::Level::Country],
            releases_per_minute: 3,
            repeat_window_minutes: 10,
            unit_cents: [
                (Channel::Sms, 4.0),
                (Channel::Voice, 6.0),
                (Channel::Email, 0.01),
            ]
            .into(),
            sender: "crieur@localhost".into(),
            test_group: Vec::new(),
            operators: Vec::new(),
        }
    }
}

/// What the author sends: the status, the composition and the area.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Draft {
    pub status: String,
    pub composition: Composition,
    pub area: Vec<AreaSpec>,
    /// Clip the area to the author's jurisdiction instead of refusing it.
    #[serde(default)]
    pub clip: bool,
    /// An Exercise or Test for the test group only.
    #[serde(default)]
    pub test_group: bool,
}

/// Recipients and cost before release.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Reckoning {
    pub persons: u64,
    /// Messages per channel and language.
    pub messages: BTreeMap<Channel, BTreeMap<Language, u64>>,
    pub cost_cents: f64,
    /// Per language: SMS encoding and segments, cell-broadcast pages.
    pub texts: BTreeMap<Language, TextFigures>,
    /// True when the area was clipped to the author's jurisdiction.
    pub clipped: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TextFigures {
    pub sms_encoding: String,
    pub sms_characters: usize,
    pub sms_segments: usize,
    pub cell_broadcast_pages: Option<usize>,
}

/// A transition refused by the state the alert is in answers 409 with `key`;
/// any other storage failure stays what it is.
pub(crate) fn conflict(key: &'static str) -> impl Fn(crieur_store::StoreError) -> ApiError {
    move |e| match e {
        crieur_store::StoreError::Conflict(_) | crieur_store::StoreError::NotFound => {
            ApiError::Conflict(key)
        }
        other => ApiError::Store(other),
    }
}

fn problems(list: Vec<alert::Problem>) -> ApiError {
    ApiError::Problems(
        list.into_iter()
            .map(|p| (p.field, p.key, p.detail))
            .collect(),
    )
}

fn status_of(s: &str) -> Result<Status, ApiError> {
    match s.parse::<Status>() {
        Ok(st @ (Status::Actual | Status::Exercise | Status::Test)) => Ok(st),
        _ => Err(ApiError::Problems(vec![(
            "status".into(),
            "alert.bad_status",
            s.to_owned(),
        )])),
    }
}

/// Applies the access rule for `action` on `territory`; a refusal is audited.
pub(crate) async fn allowed(
    state: &AppState,
    staff: &Staff,
    action: Action,
    territory: crieur_domain::NisCode,
) -> Result<(), ApiError> {
    if let Err(denied) = authorize(&staff.principal, action, territory, &state.territories) {
        tracing::warn!(user = %staff.principal.username, %denied, "refused");
        audit(
            state,
            staff
                .record(action.as_str(), Outcome::Denied)
                .territory(territory)
                .detail(denied.to_string()),
        )
        .await?;
        return Err(ApiError::Forbidden("error.forbidden"));
    }
    Ok(())
}

/// Checks a draft and its area against the author's jurisdiction. An area
/// reaching outside is refused and the attempt audited, unless the author asked
/// for it to be clipped.
async fn checked(
    state: &AppState,
    staff: &Staff,
    draft: &Draft,
) -> Result<(Status, Target, bool), ApiError> {
    let status = status_of(&draft.status)?;
    let mut found = draft.composition.check(status);
    if draft.test_group && status == Status::Actual {
        found.push(alert::Problem {
            field: "test_group".into(),
            key: "alert.test_group_actual",
            detail: String::new(),
        });
    }
    let target = match alert::target(&draft.area, &state.territories) {
        Ok(t) => Some(t),
        Err(p) => {
            found.extend(p);
            None
        }
    };
    if !found.is_empty() {
        return Err(problems(found));
    }
    let target = target.ok_or_else(|| problems(vec![]))?;
    let own = staff.principal.territory;
    let outside = target
        .outside(own, &state.territories)
        .map_err(|e| ApiError::Problems(vec![("area".into(), "alert.bad_area", e.to_string())]))?;
    if outside.is_empty() {
        return Ok((status, target, false));
    }
    if draft.clip {
        return match target.clip(own, &state.territories) {
            Ok(Some(clipped)) => Ok((status, clipped, true)),
            _ => Err(ApiError::Problems(vec![(
                "area".into(),
                "alert.nothing_within",
                String::new(),
            )])),
        };
    }
    tracing::warn!(user = %staff.principal.username, "alert area outside the jurisdiction");
    audit(
        state,
        staff
            .record("alert.outside_jurisdiction", Outcome::Denied)
            .territory(own)
            .detail(format!("{} area(s) outside", outside.len())),
    )
    .await?;
    Err(ApiError::Forbidden("alert.outside_jurisdiction"))
}

/// Counts who the alert reaches, per channel and language, and what it costs.
pub(crate) async fn reckon(
    state: &AppState,
    composition: &Composition,
    status: Status,
    target: &Target,
    clipped: bool,
    test_group: bool,
) -> Result<Reckoning, ApiError> {
    let resolution = state.audience.resolve(target, &state.territories);
    let read_in = |own: Language, municipality| {
        let official = state
            .territories
            .get(municipality)
            .map(|u| u.languages.clone())
            .unwrap_or_default();
        composition.language_for(own, &official)
    };
    let (persons, messages) = if test_group {
        let mut persons = std::collections::BTreeSet::new();
        let mut messages: BTreeMap<Channel, BTreeMap<Language, u64>> = BTreeMap::new();
        for (citizen, r) in test_group_members(state, &resolution).await? {
            let own = citizen.language.parse().unwrap_or(Language::Fr);
            let Some(lang) = read_in(own, r.municipality) else {
                continue;
            };
            persons.insert(citizen.id);
            for k in citizen
                .contacts
                .iter()
                .filter(|k| in_test_group(state, &k.value))
            {
                for channel in channels_of(k) {
                    *messages
                        .entry(channel)
                        .or_default()
                        .entry(lang)
                        .or_default() += 1;
                }
            }
        }
        (persons.len() as u64, messages)
    } else {
        (
            resolution.len() as u64,
            count(&state.audience, &resolution, read_in),
        )
    };
    let totals: BTreeMap<Channel, u64> = messages
        .iter()
        .map(|(c, by_lang)| (*c, by_lang.values().sum()))
        .collect();
    let texts = composition
        .languages()
        .into_iter()
        .map(|lang| {
            let out = composition.texts[lang.code()].outgoing(status, lang);
            let sms = crieur_domain::sms::analyse(&out.sms);
            (
                lang,
                TextFigures {
                    sms_encoding: sms.encoding.as_str().to_owned(),
                    sms_characters: out.sms.chars().count(),
                    sms_segments: sms.segments,
                    cell_broadcast_pages: crieur_domain::sms::cell_broadcast_pages(
                        &out.cell_broadcast,
                    )
                    .ok(),
                },
            )
        })
        .collect();
    Ok(Reckoning {
        persons,
        cost_cents: alert::cost_cents(&totals, &state.settings.alerts.unit_cents),
        messages,
        texts,
        clipped,
    })
}

fn in_test_group(state: &AppState, contact: &str) -> bool {
    state
        .settings
        .alerts
        .test_group
        .iter()
        .any(|c| c == contact)
}

/// The test group's citizens among those an alert reaches.
async fn test_group_members(
    state: &AppState,
    resolution: &crieur_domain::targeting::Resolution,
) -> Result<Vec<(crieur_store::Citizen, crieur_domain::targeting::Recipient)>, ApiError> {
    let citizens = state.store.citizens();
    let mut members = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for contact in &state.settings.alerts.test_group {
        let kind = if contact.starts_with('+') {
            "phone"
        } else {
            "email"
        };
        let Some(id) = citizens.citizen_by_verified_contact(kind, contact).await? else {
            continue;
        };
        let Some(r) = resolution.get(id) else {
            continue;
        };
        if seen.insert(id)
            && let Some(c) = citizens.citizen(id).await?
        {
            members.push((c, *r));
        }
    }
    Ok(members)
}

pub(crate) async fn preview(
    state: &AppState,
    staff: &Staff,
    draft: &Draft,
) -> Result<Reckoning, ApiError> {
    allowed(state, staff, Action::DraftAlert, staff.principal.territory).await?;
    let (status, target, clipped) = checked(state, staff, draft).await?;
    reckon(
        state,
        &draft.composition,
        status,
        &target,
        clipped,
        draft.test_group,
    )
    .await
}

fn fingerprint(draft: &Draft, target: &Target) -> String {
    let texts = serde_json::to_string(&draft.composition.texts).unwrap_or_default();
    let area = serde_json::to_string(&alert::specs_of(target)).unwrap_or_default();
    token_digest(&format!("{texts}\n{area}"))
}

/// Stores a new draft in an open incident of the author's jurisdiction.
pub(crate) async fn create(
    state: &AppState,
    staff: &Staff,
    incident_id: i64,
    draft: &Draft,
    follow_up: Option<(&StoredAlert, MsgType)>,
) -> Result<i64, ApiError> {
    let incident = state
        .store
        .alerts()
        .incident(incident_id)
        .await?
        .ok_or_else(|| ApiError::not_found("error.not_found", &[]))?;
    allowed(state, staff, Action::DraftAlert, incident.territory).await?;
    if incident.closed_at.is_some() {
        return Err(ApiError::Conflict("alert.incident_closed"));
    }
    let (_, target, _) = checked(state, staff, draft).await?;
    if let Some((original, _)) = follow_up {
        // A follow-up says something new: resending the original's texts as an
        // update or a cancellation would repeat the warning to everyone.
        let same = serde_json::from_str::<Composition>(&original.composition)
            .is_ok_and(|o| o.texts == draft.composition.texts);
        if same {
            return Err(ApiError::Problems(vec![(
                "composition.texts".into(),
                "alert.follow_up_same_text",
                String::new(),
            )]));
        }
    }
    let host = &state.settings.alerts.sender;
    let new = NewAlert {
        incident_id,
        identifier: format!("{}-{}", host.replace('@', "."), &new_token()[..20]),
        territory: staff.principal.territory,
        status: draft.status.clone(),
        msg_type: follow_up
            .map_or(MsgType::Alert, |(_, t)| t)
            .as_str()
            .to_owned(),
        references_id: follow_up.map(|(a, _)| a.id),
        // A follow-up to a test-group exercise stays within the test group.
        test_group: draft.test_group || follow_up.is_some_and(|(o, _)| o.test_group),
        composition: serde_json::to_string(&draft.composition).unwrap_or_default(),
        area: serde_json::to_string(&alert::specs_of(&target)).unwrap_or_default(),
        fingerprint: fingerprint(draft, &target),
        author_id: staff.principal.account_id,
    };
    let id = state.store.alerts().create_alert(&new).await?;
    audit(
        state,
        staff
            .record("alert.draft", Outcome::Success)
            .territory(incident.territory)
            .target(format!("alert:{id}")),
    )
    .await?;
    Ok(id)
}

pub(crate) async fn edit(
    state: &AppState,
    staff: &Staff,
    alert: &StoredAlert,
    draft: &Draft,
) -> Result<(), ApiError> {
    allowed(state, staff, Action::DraftAlert, alert.territory).await?;
    // Only the author edits a draft: whoever approves must not have written it,
    // and the area is checked against the author's jurisdiction.
    if alert.author_id != staff.principal.account_id {
        return Err(ApiError::Forbidden("alert.author_only"));
    }
    let (_, target, _) = checked(state, staff, draft).await?;
    state
        .store
        .alerts()
        .edit_alert(
            alert.id,
            &serde_json::to_string(&draft.composition).unwrap_or_default(),
            &serde_json::to_string(&alert::specs_of(&target)).unwrap_or_default(),
            &fingerprint(draft, &target),
            &draft.status,
            draft.test_group,
        )
        .await
        .map_err(conflict("alert.not_editable"))
}

/// The stored alert read back into its parts.
pub(crate) struct Parsed {
    pub test_group: bool,
    pub status: Status,
    pub msg_type: MsgType,
    pub composition: Composition,
    pub target: Target,
}

pub(crate) fn parse(state: &AppState, a: &StoredAlert) -> Result<Parsed, ApiError> {
    let corrupt = |what: &str| {
        ApiError::Store(crieur_store::StoreError::Corrupt(format!(
            "alert {}: {what}",
            a.id
        )))
    };
    let composition: Composition =
        serde_json::from_str(&a.composition).map_err(|_| corrupt("composition"))?;
    let specs: Vec<AreaSpec> = serde_json::from_str(&a.area).map_err(|_| corrupt("area"))?;
    let target = alert::target(&specs, &state.territories).map_err(|_| corrupt("area"))?;
    Ok(Parsed {
        test_group: a.test_group,
        status: a.status.parse().map_err(|_| corrupt("status"))?,
        msg_type: a.msg_type.parse().map_err(|_| corrupt("msg_type"))?,
        composition,
        target,
    })
}

fn needs_approval(state: &AppState, a: &StoredAlert) -> bool {
    state
        .territories
        .get(a.territory)
        .is_some_and(|u| state.settings.alerts.approval_levels.contains(&u.level))
}

pub(crate) async fn submit(
    state: &AppState,
    staff: &Staff,
    a: &StoredAlert,
) -> Result<(), ApiError> {
    allowed(state, staff, Action::DraftAlert, a.territory).await?;
    state
        .store
        .alerts()
        .submit_alert(a.id)
        .await
        .map_err(conflict("alert.not_draft"))?;
    audit(
        state,
        staff
            .record("alert.submit", Outcome::Success)
            .territory(a.territory)
            .target(format!("alert:{}", a.id)),
    )
    .await?;
    Ok(())
}

pub(crate) async fn reject(
    state: &AppState,
    staff: &Staff,
    a: &StoredAlert,
    comment: &str,
) -> Result<(), ApiError> {
    allowed(state, staff, Action::ApproveAlert, a.territory).await?;
    if a.author_id == staff.principal.account_id {
        return Err(ApiError::Forbidden("alert.second_person"));
    }
    state
        .store
        .alerts()
        .reject_alert(a.id, staff.principal.account_id, comment)
        .await
        .map_err(conflict("alert.not_pending"))?;
    audit(
        state,
        staff
            .record("alert.reject", Outcome::Success)
            .territory(a.territory)
            .target(format!("alert:{}", a.id))
            .detail(comment.to_owned()),
    )
    .await?;
    Ok(())
}

/// Releases a draft (when no approval is needed) or approves and releases a
/// pending alert (by someone other than its author).
pub(crate) async fn release(
    state: &AppState,
    staff: &Staff,
    a: &StoredAlert,
    comment: Option<&str>,
    confirm_repeat: bool,
) -> Result<Reckoning, ApiError> {
    let approving = a.state == AlertState::Pending;
    let action = if approving {
        Action::ApproveAlert
    } else {
        Action::ReleaseAlert
    };
    allowed(state, staff, action, a.territory).await?;
    match a.state {
        AlertState::Pending if a.author_id == staff.principal.account_id => {
            return Err(ApiError::Forbidden("alert.second_person"));
        }
        AlertState::Draft if needs_approval(state, a) => {
            return Err(ApiError::Conflict("alert.needs_approval"));
        }
        AlertState::Pending | AlertState::Draft => {}
        _ => return Err(ApiError::Conflict("alert.not_releasable")),
    }
    let now = now();
    let alerts = state.store.alerts();
    let limits = &state.settings.alerts;
    if alerts
        .releases_since(staff.principal.account_id, now - 60)
        .await?
        >= limits.releases_per_minute
    {
        audit(
            state,
            staff
                .record("alert.release_limited", Outcome::Denied)
                .territory(a.territory)
                .target(format!("alert:{}", a.id)),
        )
        .await?;
        return Err(ApiError::TooManyRequests("alert.too_many_releases"));
    }
    let since = now - i64::from(limits.repeat_window_minutes) * 60;
    if !confirm_repeat
        && let Some(previous) = alerts
            .released_with_fingerprint(&a.fingerprint, since)
            .await?
        && previous != a.id
    {
        return Err(ApiError::Conflict("alert.repeat_needs_confirmation"));
    }
    let parsed = parse(state, a)?;
    let reckoning = reckon(
        state,
        &parsed.composition,
        parsed.status,
        &parsed.target,
        false,
        parsed.test_group,
    )
    .await?;
    let sent = cap_time(now);
    let (mut texts, mut deliveries) = plan(state, &parsed).await?;
    // Every phone in the area, through the mobile operators: Actual alerts
    // only (never exercises, tests or a test group), with their follow-ups.
    let operators = &state.settings.alerts.operators;
    if parsed.status == Status::Actual && !parsed.test_group && !operators.is_empty() {
        texts.push(PlannedText {
            channel: "operator".into(),
            language: "cap".into(),
            subject: String::new(),
            body: operator_cap(state, a, &parsed, &sent).await?,
        });
        deliveries.extend(operators.iter().map(|name| PlannedDelivery {
            channel: "operator".into(),
            language: "cap".into(),
            address: name.clone(),
        }));
    }
    let release = Release {
        fingerprint: a.fingerprint.clone(),
        from: a.state,
        approver: approving.then(|| {
            (
                staff.principal.account_id,
                comment.unwrap_or_default().to_owned(),
            )
        }),
        by: staff.principal.account_id,
        now,
        sent,
        recipients: serde_json::to_string(&reckoning).unwrap_or_default(),
        texts,
        deliveries,
        priority: if parsed.status == Status::Actual {
            Priority::Actual
        } else {
            Priority::Practice
        },
    };
    alerts
        .release_alert(a.id, &release)
        .await
        .map_err(conflict("alert.not_releasable"))?;
    audit(
        state,
        staff
            .record(
                if approving {
                    "alert.approve_release"
                } else {
                    "alert.release"
                },
                Outcome::Success,
            )
            .territory(a.territory)
            .target(format!("alert:{}", a.id))
            .detail(format!(
                "{} {} to {} person(s)",
                parsed.status.as_str(),
                parsed.msg_type.as_str(),
                reckoning.persons
            )),
    )
    .await?;
    if parsed.msg_type == MsgType::Cancel
        && let Some(original) = a.references_id
    {
        // A cancelled alert stops sending what it has not sent yet.
        let stopped = state
            .store
            .deliveries()
            .cancel_deliveries(original, now)
            .await?;
        tracing::info!(
            alert = original,
            stopped,
            "cancelled alert: pending deliveries stopped"
        );
    }
    state.dispatch.notify_waiters();
    Ok(reckoning)
}

/// What "stop sending" and "retry the failed ones" may touch: a released
/// alert, by someone who may release alerts there. Both are audited.
async fn steer(state: &AppState, staff: &Staff, a: &StoredAlert) -> Result<(), ApiError> {
    allowed(state, staff, Action::ReleaseAlert, a.territory).await?;
    if a.state != AlertState::Released {
        return Err(ApiError::Conflict("alert.not_released"));
    }
    Ok(())
}

/// Stops what an alert has not sent yet (what is in flight finishes).
pub(crate) async fn stop_delivery(
    state: &AppState,
    staff: &Staff,
    a: &StoredAlert,
) -> Result<u64, ApiError> {
    steer(state, staff, a).await?;
    let stopped = state
        .store
        .deliveries()
        .cancel_deliveries(a.id, now())
        .await?;
    audit(
        state,
        staff
            .record("alert.stop_delivery", Outcome::Success)
            .territory(a.territory)
            .target(format!("alert:{}", a.id))
            .detail(format!("{stopped} pending message(s) cancelled")),
    )
    .await?;
    Ok(stopped)
}

/// Sends the alert's failed messages again.
pub(crate) async fn retry_failed(
    state: &AppState,
    staff: &Staff,
    a: &StoredAlert,
) -> Result<u64, ApiError> {
    steer(state, staff, a).await?;
    let queued = state.store.deliveries().retry_failed(a.id, now()).await?;
    audit(
        state,
        staff
            .record("alert.retry_failed", Outcome::Success)
            .territory(a.territory)
            .target(format!("alert:{}", a.id))
            .detail(format!("{queued} failed message(s) queued again")),
    )
    .await?;
    state.dispatch.notify_waiters();
    Ok(queued)
}

/// CAP's dateTime for a Unix time, in UTC with an explicit offset.
pub(crate) fn cap_time(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default()
}

/// The delivery plan of an alert: its texts per channel and language, and one
/// delivery per verified contact of each person reached, in the language they
/// read. Stored with the release, before anything is sent.
async fn plan(
    state: &AppState,
    parsed: &Parsed,
) -> Result<(Vec<PlannedText>, Vec<PlannedDelivery>), ApiError> {
    let resolution = state.audience.resolve(&parsed.target, &state.territories);
    let recipients = resolution.recipients();
    let ids: Vec<i64> = recipients.iter().map(|r| r.person).collect();
    let contacts = state.store.citizens().verified_contacts(&ids).await?;
    let mut deliveries = Vec::with_capacity(contacts.len() * 2);
    let mut languages = std::collections::BTreeSet::new();
    // Both lists are sorted by person: walk them together.
    let mut at = 0;
    for r in recipients {
        while at < contacts.len() && contacts[at].0 < r.person {
            at += 1;
        }
        let own_contacts = contacts[at..]
            .iter()
            .take_while(|(owner, _, _)| *owner == r.person);
        let mut lang = None;
        for (_, language, k) in own_contacts {
            let lang = match lang {
                Some(l) => l,
                None => {
                    let own: Language = language.parse().unwrap_or(Language::Fr);
                    let official = state
                        .territories
                        .get(r.municipality)
                        .map(|u| u.languages.clone())
                        .unwrap_or_default();
                    let Some(l) = parsed.composition.language_for(own, &official) else {
                        break;
                    };
                    *lang.insert(l)
                }
            };
            if parsed.test_group && !in_test_group(state, &k.value) {
                continue;
            }
            for channel in channels_of(k) {
                languages.insert(lang);
                deliveries.push(PlannedDelivery {
                    channel: channel.as_str().to_owned(),
                    language: lang.code().to_owned(),
                    address: k.value.clone(),
                });
            }
        }
    }
    let mut texts = Vec::new();
    for lang in languages {
        let out = parsed.composition.texts[lang.code()].outgoing(parsed.status, lang);
        for (channel, subject, body) in [
            (Channel::Sms, String::new(), out.sms),
            (Channel::Voice, lang.code().to_owned(), out.voice),
            (Channel::Email, out.email_subject, out.email_body),
        ] {
            texts.push(PlannedText {
                channel: channel.as_str().to_owned(),
                language: lang.code().to_owned(),
                subject,
                body,
            });
        }
    }
    Ok((texts, deliveries))
}

/// The alert as mobile operators receive it: its CAP message as released,
/// each `info` carrying the cell-broadcast text of its language as the
/// parameter `cell_broadcast` (within the 15 pages checked when composed).
async fn operator_cap(
    state: &AppState,
    a: &StoredAlert,
    parsed: &Parsed,
    sent: &str,
) -> Result<String, ApiError> {
    let mut released = a.clone();
    released.sent = Some(sent.to_owned());
    let mut message = to_cap(state, &released).await?;
    for (info, lang) in message.infos.iter_mut().zip(parsed.composition.languages()) {
        let out = parsed.composition.texts[lang.code()].outgoing(parsed.status, lang);
        info.parameters
            .push(cap::ValueName::new("cell_broadcast", out.cell_broadcast));
    }
    Ok(message.to_xml())
}

/// The alert's CAP 1.2 message.
pub(crate) async fn to_cap(state: &AppState, a: &StoredAlert) -> Result<cap::Alert, ApiError> {
    let parsed = parse(state, a)?;
    let alerts = state.store.alerts();
    let mut references = Vec::new();
    if let Some(original) = a.references_id
        && let Some(o) = alerts.alert(original).await?
        && let Some(sent) = &o.sent
    {
        references.push(cap::Reference {
            sender: state.settings.alerts.sender.clone(),
            identifier: o.identifier.clone(),
            sent: cap::DateTime::parse(sent)
                .map_err(|e| ApiError::Store(crieur_store::StoreError::Corrupt(e.to_string())))?,
        });
    }
    let sender_name = state
        .territories
        .get(a.territory)
        .map(|u| u.name(Language::Fr).to_owned())
        .unwrap_or_default();
    let sent = a.sent.clone().unwrap_or_else(|| cap_time(now()));
    let envelope = Envelope {
        identifier: &a.identifier,
        sender: &state.settings.alerts.sender,
        sender_name: &sender_name,
        sent: &sent,
        status: parsed.status,
        msg_type: parsed.msg_type,
        references,
        incident: Some(format!("incident-{}", a.incident_id)),
    };
    alert::to_cap(
        &envelope,
        &parsed.composition,
        &parsed.target,
        &state.territories,
    )
    .map_err(|e| ApiError::Store(crieur_store::StoreError::Corrupt(e)))
}

/// An alert's CAP XML by id, for the command line; `None` when there is none.
pub async fn cap_xml(state: &AppState, id: i64) -> Result<Option<String>, ApiError> {
    let Some(a) = state.store.alerts().alert(id).await? else {
        return Ok(None);
    };
    Ok(Some(to_cap(state, &a).await?.to_xml()))
}

/// A CAP message from another system (a weather service's warning) turned
/// into a draft of the caller's: every info block in a language Crieur speaks
/// becomes that language's texts, the areas become the target. The author then
/// reviews it like any draft; nothing is released automatically.
pub(crate) async fn import_cap(
    state: &AppState,
    staff: &Staff,
    incident_id: i64,
    xml: &[u8],
    clip: bool,
) -> Result<i64, ApiError> {
    let message = match cap::Alert::from_xml(xml) {
        Ok(m) => m,
        Err(cap::CapError::Invalid(found)) => {
            return Err(ApiError::Problems(
                found
                    .into_iter()
                    .map(|p| (p.path, "alert.cap_invalid", p.message))
                    .collect(),
            ));
        }
        Err(e) => {
            tracing::info!(error = %e, "a CAP import was refused");
            return Err(ApiError::Problems(vec![(
                "cap".into(),
                "alert.cap_invalid",
                e.to_string(),
            )]));
        }
    };
    let status = match message.status {
        s @ (Status::Actual | Status::Exercise | Status::Test) => s,
        other => {
            return Err(ApiError::Problems(vec![(
                "alert/status".into(),
                "alert.bad_status",
                other.as_str().to_owned(),
            )]));
        }
    };
    let infos: Vec<(Language, &cap::Info)> = message
        .infos
        .iter()
        .filter_map(|i| {
            let lang = i
                .language
                .as_ref()
                .map_or(Some(Language::En), |t| t.language())?;
            Some((lang, i))
        })
        .collect();
    let Some((_, first)) = infos.first() else {
        return Err(ApiError::Problems(vec![(
            "alert/info".into(),
            "alert.no_language",
            String::new(),
        )]));
    };
    let mut texts = BTreeMap::new();
    for (lang, info) in &infos {
        let headline = info.headline.clone().unwrap_or_else(|| info.event.clone());
        let instruction = info
            .instruction
            .clone()
            .or_else(|| info.description.clone())
            .unwrap_or_else(|| headline.clone());
        texts
            .entry(lang.code().to_owned())
            .or_insert_with(|| alert::Texts {
                event: info.event.clone(),
                sms: headline.clone(),
                headline,
                instruction,
                description: info.description.clone().unwrap_or_default(),
                ..alert::Texts::default()
            });
    }
    let mut area = Vec::new();
    for a in &first.areas {
        for p in &a.polygons {
            let ring: Vec<[f64; 2]> = p.lat_lon().map(|(lat, lon)| [lon, lat]).collect();
            area.push(AreaSpec::Polygon {
                geojson: serde_json::json!({"type": "Polygon", "coordinates": [ring]}),
            });
        }
        for c in &a.circles {
            area.push(AreaSpec::Circle {
                lon: c.center().x(),
                lat: c.center().y(),
                radius_m: c.radius_km() * 1000.0,
            });
        }
        for g in a.geocodes.iter().filter(|g| g.value_name == "NIS") {
            area.push(AreaSpec::Territory {
                nis: g.value.clone(),
            });
        }
    }
    let draft = Draft {
        status: status.as_str().to_owned(),
        composition: Composition {
            template: None,
            category: first
                .categories
                .first()
                .map_or("Other", |c| c.as_str())
                .to_owned(),
            urgency: first.urgency.as_str().to_owned(),
            severity: first.severity.as_str().to_owned(),
            certainty: first.certainty.as_str().to_owned(),
            onset: first.onset.as_ref().map(|t| t.as_str().to_owned()),
            expires: first.expires.as_ref().map(|t| t.as_str().to_owned()),
            web: first.web.clone(),
            contact: first.contact.clone(),
            texts,
        },
        area,
        clip,
        test_group: false,
    };
    let id = create(state, staff, incident_id, &draft, None).await?;
    audit(
        state,
        staff
            .record("alert.cap_import", Outcome::Success)
            .target(format!("alert:{id}"))
            .detail(format!("from {} ({})", message.sender, message.identifier)),
    )
    .await?;
    Ok(id)
}
