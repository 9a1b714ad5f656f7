//! Citizens' registration as a service shared by the public pages and the JSON
//! API: the rules, the geocoding, the rate limits against SMS-pumping fraud, and
//! the sending of verification codes and links.

use crate::AppState;
use crate::auth::now;
use crate::i18n::Tr;
use crieur_channels::Outbound;
use crieur_domain::Language;
use crieur_domain::citizen::{CONSENT_VERSION, FieldProblem, RegistrationInput, validate};
use crieur_domain::contact::{LineKind, PhoneNumber};
use crieur_domain::credentials::{new_token, token_digest};
use crieur_store::{Citizen, NewCitizen, NewContact, StoreError, StoredAddress};

/// Limits on sending codes, against SMS-pumping fraud.
/// Digits after `+` that make a number range (`+3247012…`).
pub(crate) const RANGE_DIGITS: usize = 7;
pub(crate) const CODE_TTL_SECS: i64 = 10 * 60;
pub(crate) const LINK_TTL_SECS: i64 = 24 * 3600;
pub(crate) const MAX_CODE_ATTEMPTS: u32 = 5;

pub(crate) fn sha(contact_id: i64, secret: &str) -> String {
    token_digest(&format!("{contact_id}:{secret}"))
}

pub(crate) fn six_digits() -> String {
    let t = new_token();
    let n = u64::from_str_radix(&t[..12], 16).unwrap_or(0) % 1_000_000;
    format!("{n:06}")
}

/// Why a registration was not taken.
#[derive(Debug)]
pub(crate) enum RegisterError {
    /// The form is wrong; each problem names its field and message key.
    Invalid(Vec<FieldProblem>),
    /// A rate limit was reached; the key names the message.
    RateLimited(&'static str),
    Store(StoreError),
}

impl From<StoreError> for RegisterError {
    fn from(e: StoreError) -> Self {
        RegisterError::Store(e)
    }
}

/// Validates, geocodes and stores a registration, then sends a code or link to
/// each contact. Nothing is stored unless every rule passes. Returns the
/// citizen as stored and their language.
pub(crate) async fn register(
    state: &AppState,
    input: &RegistrationInput,
    source: &str,
    client: Option<&str>,
) -> Result<(Citizen, Language), RegisterError> {
    let (registration, addresses) = prepare(state, input).await?;

    // Rate limits, counted (in one write) before anything is stored or sent.
    let now = now();
    let citizens = state.store.citizens();
    let mut keys: Vec<String> = client
        .map(|addr| format!("register:addr:{addr}"))
        .into_iter()
        .collect();
    for p in &registration.phones {
        keys.extend(code_keys(&p.number));
    }
    let counts = citizens.hit_rates(&keys, now, 3600).await?;
    let limits = &state.settings.limits;
    if let Some(addr) = client
        && counts[0] > limits.registrations_per_address_hour
    {
        tracing::warn!(address = %addr, "registration rate limit reached");
        return Err(RegisterError::RateLimited("citizen.too_many_registrations"));
    }
    let phone_counts = &counts[usize::from(client.is_some())..];
    for (p, c) in registration.phones.iter().zip(phone_counts.chunks(2)) {
        if !codes_within_limits(state, &p.number, c[0], c[1]) {
            return Err(RegisterError::RateLimited("citizen.too_many_codes"));
        }
    }

    let citizen = new_citizen(
        &registration,
        addresses,
        source,
        CONSENT_VERSION,
        &jiff::Timestamp::now().to_string(),
        None,
    );
    let (citizen_id, _) = citizens.register_citizen(&citizen).await?;
    let citizen = citizens
        .citizen(citizen_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    state.audience.set_or_remove(citizen.id, Some(&citizen));
    for c in &citizen.contacts {
        send_secret(state, &citizen, c, now).await;
    }
    Ok((citizen, registration.language))
}

/// What a validated registration becomes in storage.
fn new_citizen(
    registration: &crieur_domain::citizen::Registration,
    addresses: Vec<StoredAddress>,
    source: &str,
    consent_version: &str,
    consent_at: &str,
    verified_by: Option<&str>,
) -> NewCitizen {
    let verified_by = verified_by.map(str::to_owned);
    let contacts = registration
        .phones
        .iter()
        .map(|p| NewContact {
            kind: "phone".into(),
            value: p.number.e164().to_owned(),
            line: Some(p.number.kind().as_str().to_owned()),
            sms: p.sms,
            voice: p.voice,
            verified_by: verified_by.clone(),
        })
        .chain(registration.emails.iter().map(|e| NewContact {
            kind: "email".into(),
            value: e.as_str().to_owned(),
            line: None,
            sms: false,
            voice: false,
            verified_by: verified_by.clone(),
        }))
        .collect();
    NewCitizen {
        language: registration.language.code().to_owned(),
        general_interest: registration.general_interest,
        consent_version: consent_version.to_owned(),
        consent_at: consent_at.to_owned(),
        source: source.to_owned(),
        contacts,
        addresses,
    }
}

/// One line of a municipality's migration file, checked like a registration.
/// `verified_on` is the proof, carried by the file, that the previous system
/// verified the contacts (the date it did); without it they stay unverified.
pub async fn prepare_import(
    state: &AppState,
    input: &RegistrationInput,
    source: &str,
    verified_on: Option<&str>,
) -> Result<NewCitizen, Vec<(String, &'static str)>> {
    match prepare(state, input).await {
        Ok((registration, addresses)) => {
            let proof = verified_on.map(|d| format!("import:{source}:{d}"));
            Ok(new_citizen(
                &registration,
                addresses,
                &format!("import:{source}"),
                &format!("import:{source}"),
                &jiff::Timestamp::now().to_string(),
                proof.as_deref(),
            ))
        }
        Err(RegisterError::Invalid(problems)) => {
            Err(problems.into_iter().map(|p| (p.field, p.key)).collect())
        }
        Err(RegisterError::RateLimited(key)) => Err(vec![("form".into(), key)]),
        Err(RegisterError::Store(e)) => {
            tracing::error!(error = %e, "storage failure while checking an import line");
            Err(vec![("form".into(), "error.internal")])
        }
    }
}

/// Validates, geocodes and checks a registration against existing ones; nothing
/// is stored.
async fn prepare(
    state: &AppState,
    input: &RegistrationInput,
) -> Result<(crieur_domain::citizen::Registration, Vec<StoredAddress>), RegisterError> {
    let registration = match validate(input) {
        Ok(r) => r,
        Err(problems) => return Err(RegisterError::Invalid(problems)),
    };

    // Geocode every address; an unknown one needs a pin.
    let mut addresses = Vec::new();
    let mut problems = Vec::new();
    for (i, a) in registration.addresses.iter().enumerate() {
        let field = |f: &str| format!("addresses.{i}.{f}");
        if state
            .territories
            .municipalities_for_postal_code(&a.postcode)
            .is_empty()
        {
            problems.push(FieldProblem {
                field: field("postcode"),
                key: "citizen.postcode_unknown",
            });
            continue;
        }
        let found = state
            .store
            .addresses()
            .geocode(&a.postcode, &a.street, &a.house_number)
            .await?;
        let placed = match (found, a.pin) {
            (Some(f), _) => Some((f.municipality, f.lon, f.lat, "registry")),
            (None, Some((lon, lat))) => state
                .territories
                .locate(lon, lat)
                .map(|l| (l.municipality, lon, lat, "pin")),
            (None, None) => None,
        };
        match placed {
            Some((municipality, lon, lat, how)) => addresses.push(StoredAddress {
                label: a.label.as_str().to_owned(),
                street: a.street.clone(),
                house_number: a.house_number.clone(),
                postcode: a.postcode.clone(),
                municipality,
                lon,
                lat,
                placed: how.to_owned(),
            }),
            None => problems.push(FieldProblem {
                field: field("street"),
                key: "citizen.address_not_found",
            }),
        }
    }
    // Someone already registered manages their profile instead.
    for p in &registration.phones {
        if state
            .store
            .citizens()
            .citizen_by_verified_contact("phone", p.number.e164())
            .await?
            .is_some()
        {
            problems.push(FieldProblem {
                field: "phones".into(),
                key: "citizen.already_registered",
            });
        }
    }
    for e in &registration.emails {
        if state
            .store
            .citizens()
            .citizen_by_verified_contact("email", e.as_str())
            .await?
            .is_some()
        {
            problems.push(FieldProblem {
                field: "emails".into(),
                key: "citizen.already_registered",
            });
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(RegisterError::Invalid(problems));
    }
    Ok((registration, addresses))
}

/// The rate-limit keys a code to `number` counts under: the number, its range.
fn code_keys(number: &PhoneNumber) -> [String; 2] {
    [
        format!("code:number:{}", number.e164()),
        format!("code:range:{}", number.range(RANGE_DIGITS)),
    ]
}

fn codes_within_limits(
    state: &AppState,
    number: &PhoneNumber,
    per_number: u32,
    per_range: u32,
) -> bool {
    let limits = &state.settings.limits;
    if per_number > limits.codes_per_number_hour || per_range > limits.codes_per_range_hour {
        tracing::warn!(range = %number.range(RANGE_DIGITS), per_number, per_range, "code rate limit reached");
        return false;
    }
    true
}

/// Counts a code towards the number's and its range's limits.
pub(crate) async fn phone_may_receive_code(
    state: &AppState,
    number: &PhoneNumber,
    now: i64,
) -> Result<bool, StoreError> {
    let counts = state
        .store
        .citizens()
        .hit_rates(&code_keys(number), now, 3600)
        .await?;
    Ok(codes_within_limits(state, number, counts[0], counts[1]))
}

/// Sends a fresh code (phones) or link (e-mail) for one unverified contact.
/// Failures are logged; the citizen can ask again.
pub(crate) async fn send_secret(
    state: &AppState,
    citizen: &Citizen,
    contact: &crieur_store::StoredContact,
    now: i64,
) {
    if contact.verified_at.is_some() {
        return;
    }
    let lang: Language = citizen.language.parse().unwrap_or(Language::Fr);
    let tr = Tr::new(lang);
    let (message, digest, ttl) = if contact.kind == "phone" {
        let code = six_digits();
        let text = tr.fmt("citizen.sms_code", &[("code", &code)]);
        let message =
            if contact.line.as_deref() == Some(LineKind::Landline.as_str()) || !contact.sms {
                let spoken: String = code.chars().map(|c| format!("{c} ")).collect();
                Outbound::Voice {
                    to: contact.value.clone(),
                    language: lang.code().to_owned(),
                    script: tr.fmt("citizen.voice_code", &[("code", spoken.trim())]),
                }
            } else {
                Outbound::Sms {
                    to: contact.value.clone(),
                    text,
                }
            };
        (message, sha(contact.id, &code), CODE_TTL_SECS)
    } else {
        let token = new_token();
        let link = format!(
            "{}/confirm/email/{token}",
            state.settings.public_url.trim_end_matches('/')
        );
        let message = Outbound::Email {
            to: contact.value.clone(),
            subject: tr.t("citizen.email_subject").to_owned(),
            body: tr.fmt("citizen.email_body", &[("link", &link)]),
            html: None,
            unsubscribe: None,
        };
        (message, token_digest(&token), LINK_TTL_SECS)
    };
    if let Err(e) = state
        .store
        .citizens()
        .set_verification_secret(contact.id, &digest, now, now + ttl)
        .await
    {
        tracing::error!(error = %e, "storing a verification secret failed");
        return;
    }
    if let Err(e) = state.send_message(message, lang.code()).await {
        tracing::error!(error = %e, channel = %contact.kind, "a verification message could not be stored");
    }
}

#[derive(serde::Serialize)]
pub(crate) struct Export<'a> {
    exported_at: String,
    language: &'a str,
    general_interest: bool,
    consent: ExportConsent<'a>,
    registered_at: &'a str,
    source: &'a str,
    contacts: Vec<ExportContact<'a>>,
    addresses: Vec<ExportAddress<'a>>,
}

#[derive(serde::Serialize)]
pub(crate) struct ExportConsent<'a> {
    given_at: &'a str,
    text_version: &'a str,
}

#[derive(serde::Serialize)]
pub(crate) struct ExportContact<'a> {
    kind: &'a str,
    value: &'a str,
    line: Option<&'a str>,
    sms: bool,
    voice: bool,
    verified_at: Option<&'a str>,
}

#[derive(serde::Serialize)]
pub(crate) struct ExportAddress<'a> {
    label: &'a str,
    street: &'a str,
    house_number: &'a str,
    postcode: &'a str,
    municipality: String,
    longitude: f64,
    latitude: f64,
    placed: &'a str,
}

/// Everything Crieur holds about a citizen, for export (GDPR art. 15 and 20).
pub(crate) fn export(c: &Citizen) -> Export<'_> {
    Export {
        exported_at: jiff::Timestamp::now().to_string(),
        language: &c.language,
        general_interest: c.general_interest,
        consent: ExportConsent {
            given_at: &c.consent_at,
            text_version: &c.consent_version,
        },
        registered_at: &c.created_at,
        source: &c.source,
        contacts: c
            .contacts
            .iter()
            .map(|k| ExportContact {
                kind: &k.kind,
                value: &k.value,
                line: k.line.as_deref(),
                sms: k.sms,
                voice: k.voice,
                verified_at: k.verified_at.as_deref(),
            })
            .collect(),
        addresses: c
            .addresses
            .iter()
            .map(|a| ExportAddress {
                label: &a.label,
                street: &a.street,
                house_number: &a.house_number,
                postcode: &a.postcode,
                municipality: a.municipality.to_string(),
                longitude: a.lon,
                latitude: a.lat,
                placed: &a.placed,
            })
            .collect(),
    }
}

/// The outcome of asking for an access code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccessRequest {
    /// Neither a phone number nor an e-mail address.
    Invalid,
    RateLimited,
    /// Sent if the contact is registered and verified; the answer is the same
    /// otherwise, so nobody can test whether a number is registered. Holds the
    /// normalised contact.
    Accepted(String),
}

/// Sends a code to a verified contact for password-less access.
pub(crate) async fn request_access(
    state: &AppState,
    raw: &str,
) -> Result<AccessRequest, StoreError> {
    let raw = raw.trim();
    let (kind, value, number) = match (
        PhoneNumber::parse(raw),
        crieur_domain::contact::EmailAddress::parse(raw),
    ) {
        (Ok(p), _) => ("phone", p.e164().to_owned(), Some(p)),
        (_, Ok(e)) => ("email", e.as_str().to_owned(), None),
        _ => return Ok(AccessRequest::Invalid),
    };
    let now = now();
    if let Some(n) = &number
        && !phone_may_receive_code(state, n, now).await?
    {
        return Ok(AccessRequest::RateLimited);
    }
    let citizens = state.store.citizens();
    if let Some(citizen_id) = citizens.citizen_by_verified_contact(kind, &value).await?
        && let Some(citizen) = citizens.citizen(citizen_id).await?
        && let Some(contact) = citizen
            .contacts
            .iter()
            .find(|c| c.kind == kind && c.value == value)
    {
        let code = six_digits();
        citizens
            .set_verification_secret(
                contact.id,
                &sha(contact.id, &format!("access:{code}")),
                now,
                now + CODE_TTL_SECS,
            )
            .await?;
        let lang: Language = citizen.language.parse().unwrap_or(Language::Fr);
        let tr = Tr::new(lang);
        let message = if kind == "phone" && contact.sms {
            Outbound::Sms {
                to: value.clone(),
                text: tr.fmt("citizen.sms_access", &[("code", &code)]),
            }
        } else if kind == "phone" {
            Outbound::Voice {
                to: value.clone(),
                language: lang.code().into(),
                script: tr.fmt("citizen.voice_code", &[("code", &code)]),
            }
        } else {
            Outbound::Email {
                to: value.clone(),
                subject: tr.t("citizen.access_subject").to_owned(),
                body: tr.fmt("citizen.sms_access", &[("code", &code)]),
                html: None,
                unsubscribe: None,
            }
        };
        if let Err(e) = state.send_message(message, lang.code()).await {
            tracing::error!(error = %e, "an access code could not be stored");
        }
    }
    Ok(AccessRequest::Accepted(value))
}

/// Checks an access code; the citizen's id when it is right.
pub(crate) async fn check_access(
    state: &AppState,
    contact_value: &str,
    code: &str,
) -> Result<Option<i64>, StoreError> {
    let kind = if contact_value.starts_with('+') {
        "phone"
    } else {
        "email"
    };
    let code: String = code.chars().filter(char::is_ascii_digit).take(6).collect();
    let citizens = state.store.citizens();
    let Some(citizen_id) = citizens
        .citizen_by_verified_contact(kind, contact_value)
        .await?
    else {
        return Ok(None);
    };
    let Some(citizen) = citizens.citizen(citizen_id).await? else {
        return Ok(None);
    };
    let Some(contact) = citizen
        .contacts
        .iter()
        .find(|c| c.kind == kind && c.value == contact_value)
    else {
        return Ok(None);
    };
    // A verified contact stays verified: the check proves the code, counts the
    // attempt and expires it.
    let outcome = citizens
        .check_contact_secret(
            contact.id,
            &sha(contact.id, &format!("access:{code}")),
            now(),
            MAX_CODE_ATTEMPTS,
            contact.verified_by.as_deref().unwrap_or("code"),
        )
        .await?;
    Ok((outcome == crieur_store::SecretCheck::Verified).then_some(citizen_id))
}

/// Checks a phone's confirmation code; a confirmed contact can receive alerts
/// from now on.
pub(crate) async fn confirm_phone(
    state: &AppState,
    citizen: &Citizen,
    contact_id: i64,
    code: &str,
) -> Result<crieur_store::SecretCheck, StoreError> {
    let code: String = code.chars().filter(char::is_ascii_digit).take(6).collect();
    let check = state
        .store
        .citizens()
        .check_contact_secret(
            contact_id,
            &sha(contact_id, &code),
            now(),
            MAX_CODE_ATTEMPTS,
            "code",
        )
        .await?;
    if check == crieur_store::SecretCheck::Verified {
        // The citizen as just read, with this contact now verified: no second
        // read for the targeting index.
        let mut updated = citizen.clone();
        if let Some(c) = updated.contacts.iter_mut().find(|c| c.id == contact_id) {
            c.verified_at = Some(jiff::Timestamp::now().to_string());
        }
        state.audience.set_or_remove(updated.id, Some(&updated));
    }
    Ok(check)
}

/// Confirms an e-mail address from its link; the contact's id when valid.
pub(crate) async fn confirm_email_link(
    state: &AppState,
    token: &str,
) -> Result<Option<i64>, StoreError> {
    let citizens = state.store.citizens();
    let Some(contact) = citizens
        .verify_by_secret(&token_digest(token), now())
        .await?
    else {
        return Ok(None);
    };
    if let Some(owner) = citizens.contact_owner(contact).await? {
        refresh(state, owner).await?;
    }
    Ok(Some(contact))
}

/// Erases a citizen and forgets them for targeting.
pub(crate) async fn delete(state: &AppState, citizen_id: i64) -> Result<(), StoreError> {
    state.store.citizens().delete_citizen(citizen_id).await?;
    state.audience.set_or_remove(citizen_id, None);
    Ok(())
}

/// Brings the targeting index up to date with what is stored for a citizen.
async fn refresh(state: &AppState, citizen_id: i64) -> Result<(), StoreError> {
    let citizen = state.store.citizens().citizen(citizen_id).await?;
    state.audience.set_or_remove(citizen_id, citizen.as_ref());
    Ok(())
}

/// A contact as stored (E.164 or normalised e-mail), from what a person typed.
pub(crate) fn request_access_normalise(raw: &str) -> Option<String> {
    let raw = raw.trim();
    PhoneNumber::parse(raw)
        .map(|p| p.e164().to_owned())
        .ok()
        .or_else(|| {
            crieur_domain::contact::EmailAddress::parse(raw)
                .ok()
                .map(|e| e.as_str().to_owned())
        })
}
