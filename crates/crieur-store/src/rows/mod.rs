//! Row mapping shared by the backends: their SQL differs, the rows they return
//! do not. Each mapper is written once, over [`Cols`], and stored text that no
//! longer parses is reported as corrupt, never skipped or read as "missing".

pub(crate) mod hotline;
pub(crate) mod relatives;

use crate::{
    Account, DeliveryCounts, DeliveryLine, Incident, RegistrySource, Session, Stage, StoreError,
    StoredAddress, StoredAlert, StoredBoundary, StoredContact, state_name,
};
use crieur_domain::NisCode;
use crieur_domain::address::RegistryAddress;
use crieur_domain::audit::AuditEntry;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

/// A Rust type both backends decode from a column.
pub(crate) trait Col: Sized {
    fn sqlite(r: &SqliteRow, column: &str) -> Result<Self, sqlx::Error>;
    fn pg(r: &PgRow, column: &str) -> Result<Self, sqlx::Error>;
}

macro_rules! col {
    ($($t:ty),+) => {
        $(impl Col for $t {
            fn sqlite(r: &SqliteRow, column: &str) -> Result<Self, sqlx::Error> {
                r.try_get(column)
            }
            fn pg(r: &PgRow, column: &str) -> Result<Self, sqlx::Error> {
                r.try_get(column)
            }
        })+
    };
}

col!(i64, Option<i64>, String, Option<String>, f64, bool);

/// A row of either backend, read by column name.
pub(crate) trait Cols {
    fn col<T: Col>(&self, column: &str) -> Result<T, StoreError>;
}

impl Cols for SqliteRow {
    fn col<T: Col>(&self, column: &str) -> Result<T, StoreError> {
        Ok(T::sqlite(self, column)?)
    }
}

impl Cols for PgRow {
    fn col<T: Col>(&self, column: &str) -> Result<T, StoreError> {
        Ok(T::pg(self, column)?)
    }
}

pub(crate) fn nis(s: String, what: &str) -> Result<NisCode, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// An update that had to change one row: none means the row is missing.
pub(crate) fn one_row(changed: u64) -> Result<(), StoreError> {
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// An alert transition that changed no row: the alert is missing or not in
/// the state the transition leaves.
pub(crate) fn moved(changed: u64) -> Result<(), StoreError> {
    if changed == 0 {
        Err(StoreError::Conflict(
            "the alert is not in a state that allows this".into(),
        ))
    } else {
        Ok(())
    }
}

pub(crate) const ACCOUNT: &str = "id, username, display_name, role, territory, password_hash, \
     totp_secret, totp_pending, totp_last_step, disabled, failed_attempts, locked_until, created_at";

pub(crate) fn account(r: &impl Cols) -> Result<Account, StoreError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("accounts.{what}: {e}"))
    };
    let role: String = r.col("role")?;
    let territory: String = r.col("territory")?;
    Ok(Account {
        id: r.col("id")?,
        username: r.col("username")?,
        display_name: r.col("display_name")?,
        role: role.parse().map_err(|e| corrupt("role", &e))?,
        territory: territory.parse().map_err(|e| corrupt("territory", &e))?,
        password_hash: r.col("password_hash")?,
        totp_secret: r.col("totp_secret")?,
        totp_pending: r.col("totp_pending")?,
        totp_last_step: r.col::<Option<i64>>("totp_last_step")?.map(|s| s as u64),
        disabled: r.col("disabled")?,
        failed_attempts: r.col::<i64>("failed_attempts")? as u32,
        locked_until: r.col("locked_until")?,
        created_at: r.col("created_at")?,
    })
}

pub(crate) const SESSION: &str =
    "token_digest, account_id, citizen_id, stage, csrf_token, created_at, last_seen_at, address";

pub(crate) fn session(r: &impl Cols) -> Result<Session, StoreError> {
    let stage: String = r.col("stage")?;
    Ok(Session {
        token_digest: r.col("token_digest")?,
        account_id: r.col("account_id")?,
        citizen_id: r.col("citizen_id")?,
        stage: Stage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("sessions.stage: {stage:?}")))?,
        csrf_token: r.col("csrf_token")?,
        created_at: r.col("created_at")?,
        last_seen_at: r.col("last_seen_at")?,
        address: r.col("address")?,
    })
}

pub(crate) const AUDIT: &str =
    "seq, at, actor, action, outcome, territory, target, detail, address, prev_hash, hash";

pub(crate) fn audit_entry(r: &impl Cols) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: r.col("seq")?,
        at: r.col("at")?,
        actor: r.col("actor")?,
        action: r.col("action")?,
        outcome: r.col("outcome")?,
        territory: r.col("territory")?,
        target: r.col("target")?,
        detail: r.col("detail")?,
        address: r.col("address")?,
        prev_hash: r.col("prev_hash")?,
        hash: r.col("hash")?,
    })
}

pub(crate) fn boundary(r: &impl Cols) -> Result<StoredBoundary, StoreError> {
    Ok(StoredBoundary {
        nis: nis(r.col("nis")?, "territory_boundaries")?,
        geometry_geojson: r.col("geometry")?,
        source: r.col("source")?,
    })
}

pub(crate) const REGISTRY_ADDRESS: &str = "street_nl, street_fr, street_de, house_number, \
     box_number, postcode, municipality, lon, lat";

pub(crate) fn registry_address(r: &impl Cols) -> Result<RegistryAddress, StoreError> {
    let box_number: String = r.col("box_number")?;
    Ok(RegistryAddress {
        street_nl: r.col("street_nl")?,
        street_fr: r.col("street_fr")?,
        street_de: r.col("street_de")?,
        house_number: r.col("house_number")?,
        box_number: Some(box_number).filter(|b| !b.is_empty()),
        postcode: r.col("postcode")?,
        municipality: nis(r.col("municipality")?, "registry_addresses")?,
        lon: r.col("lon")?,
        lat: r.col("lat")?,
    })
}

pub(crate) fn registry_source(r: &impl Cols) -> Result<RegistrySource, StoreError> {
    Ok(RegistrySource {
        name: r.col("name")?,
        synthetic: r.col("synthetic")?,
        rows: r.col::<i64>("rows")? as u64,
        imported_at: r.col("imported_at")?,
    })
}

/// The folded street name used as a registry look-up key; `None` when empty.
pub(crate) fn folded(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(crieur_domain::text::fold)
        .filter(|k| !k.is_empty())
}

pub(crate) const CITIZEN: &str =
    "id, language, general_interest, consent_version, consent_at, source, created_at";
pub(crate) const CONTACT: &str = "id, kind, value, line, sms, voice, verified_at, verified_by";
pub(crate) const ADDRESS: &str =
    "label, street, house_number, postcode, municipality, lon, lat, placed";

pub(crate) fn contact(k: &impl Cols) -> Result<StoredContact, StoreError> {
    Ok(StoredContact {
        id: k.col("id")?,
        kind: k.col("kind")?,
        value: k.col("value")?,
        line: k.col("line")?,
        sms: k.col("sms")?,
        voice: k.col("voice")?,
        verified_at: k.col("verified_at")?,
        verified_by: k.col("verified_by")?,
    })
}

pub(crate) fn address(a: &impl Cols) -> Result<StoredAddress, StoreError> {
    Ok(StoredAddress {
        label: a.col("label")?,
        street: a.col("street")?,
        house_number: a.col("house_number")?,
        postcode: a.col("postcode")?,
        municipality: nis(a.col("municipality")?, "citizen_addresses")?,
        lon: a.col("lon")?,
        lat: a.col("lat")?,
        placed: a.col("placed")?,
    })
}

/// A citizen without contacts and addresses, which come from their own tables.
pub(crate) fn citizen(r: &impl Cols) -> Result<crate::Citizen, StoreError> {
    Ok(crate::Citizen {
        id: r.col("id")?,
        language: r.col("language")?,
        general_interest: r.col("general_interest")?,
        consent_version: r.col("consent_version")?,
        consent_at: r.col("consent_at")?,
        source: r.col("source")?,
        created_at: r.col("created_at")?,
        contacts: Vec::new(),
        addresses: Vec::new(),
    })
}

pub(crate) fn registration_count(r: &impl Cols) -> Result<(NisCode, u64, u64), StoreError> {
    Ok((
        nis(r.col("municipality")?, "registration_counts")?,
        r.col::<i64>("registered")? as u64,
        r.col::<i64>("deleted")? as u64,
    ))
}

pub(crate) const INCIDENT: &str = "id, title, territory, opened_by, opened_at, closed_at";
pub(crate) const ALERT: &str = "id, incident_id, identifier, territory, status, msg_type, \
     references_id, test_group, state, composition, area, fingerprint, author_id, created_at, \
     submitted_at, decided_by, decided_at, decision_comment, released_by, released_at, sent, \
     recipients";

pub(crate) fn incident(r: &impl Cols) -> Result<Incident, StoreError> {
    Ok(Incident {
        id: r.col("id")?,
        title: r.col("title")?,
        territory: nis(r.col("territory")?, "incidents.territory")?,
        opened_by: r.col("opened_by")?,
        opened_at: r.col("opened_at")?,
        closed_at: r.col("closed_at")?,
    })
}

pub(crate) fn alert(r: &impl Cols) -> Result<StoredAlert, StoreError> {
    let state: String = r.col("state")?;
    Ok(StoredAlert {
        id: r.col("id")?,
        incident_id: r.col("incident_id")?,
        identifier: r.col("identifier")?,
        territory: nis(r.col("territory")?, "alerts.territory")?,
        status: r.col("status")?,
        msg_type: r.col("msg_type")?,
        references_id: r.col("references_id")?,
        test_group: r.col("test_group")?,
        state: crate::AlertState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("alerts.state: {state:?}")))?,
        composition: r.col("composition")?,
        area: r.col("area")?,
        fingerprint: r.col("fingerprint")?,
        author_id: r.col("author_id")?,
        created_at: r.col("created_at")?,
        submitted_at: r.col("submitted_at")?,
        decided_by: r.col("decided_by")?,
        decided_at: r.col("decided_at")?,
        decision_comment: r.col("decision_comment")?,
        released_by: r.col("released_by")?,
        released_at: r.col("released_at")?,
        sent: r.col("sent")?,
        recipients: r.col("recipients")?,
    })
}

pub(crate) const DELIVERY_LINE: &str =
    "channel, language, address, state, attempts, provider, reach, possible_dup, error";

pub(crate) fn delivery_line(r: &impl Cols) -> Result<DeliveryLine, StoreError> {
    let state: i64 = r.col("state")?;
    Ok(DeliveryLine {
        channel: r.col("channel")?,
        language: r.col("language")?,
        address: r.col("address")?,
        state: state_name(state)
            .ok_or_else(|| StoreError::Corrupt(format!("deliveries.state: {state}")))?,
        attempts: r.col::<i64>("attempts")? as u32,
        provider: r.col("provider")?,
        reach: r.col::<Option<i64>>("reach")?.map(|n| n as u64),
        possible_duplicate: r.col::<i64>("possible_dup")? != 0,
        error: r.col("error")?,
    })
}

/// Folds rows of (channel, provider, state, n, dups, reach), ordered by
/// channel then provider, into one count per channel and provider.
pub(crate) fn delivery_counts<R: Cols>(
    rows: impl IntoIterator<Item = R>,
) -> Result<Vec<DeliveryCounts>, StoreError> {
    rows.into_iter()
        .try_fold(Vec::<DeliveryCounts>::new(), |mut all, r| {
            let channel: String = r.col("channel")?;
            let provider: Option<String> = r.col("provider")?;
            let state: i64 = r.col("state")?;
            let n = r.col::<i64>("n")? as u64;
            let at = match all
                .iter()
                .position(|c| c.channel == channel && c.provider == provider)
            {
                Some(at) => at,
                None => {
                    all.push(DeliveryCounts {
                        channel,
                        provider,
                        ..DeliveryCounts::default()
                    });
                    all.len() - 1
                }
            };
            let c = &mut all[at];
            c.possible_duplicates += r.col::<i64>("dups")? as u64;
            c.reach += r.col::<i64>("reach")? as u64;
            *match state {
                0 => &mut c.queued,
                1 => &mut c.sending,
                2 => &mut c.sent,
                3 => &mut c.delivered,
                4 => &mut c.failed,
                5 => &mut c.retrying,
                6 => &mut c.cancelled,
                7 => &mut c.confirmed,
                other => return Err(StoreError::Corrupt(format!("deliveries.state: {other}"))),
            } += n;
            Ok(all)
        })
}
