//! A citizen's registration: what they give, the limits on it, and the reasons a
//! form is refused, each a translation key so the citizen reads it in their
//! language.

use crate::Language;
use crate::contact::{EmailAddress, LineKind, PhoneNumber};

pub const MAX_PHONES: usize = 5;
pub const MAX_EMAILS: usize = 5;
pub const MAX_ADDRESSES: usize = 5;
/// Street names, house numbers and labels longer than this are refused.
pub const MAX_FIELD_CHARS: usize = 120;
/// The version of the privacy notice a citizen consents to; stored with the
/// consent so it can be shown later what was agreed.
pub const CONSENT_VERSION: &str = "2026-11-privacy-v1";

/// What an address is to the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressLabel {
    Home,
    Work,
    School,
    Family,
    Other,
}

impl AddressLabel {
    pub const ALL: [AddressLabel; 5] = [
        AddressLabel::Home,
        AddressLabel::Work,
        AddressLabel::School,
        AddressLabel::Family,
        AddressLabel::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AddressLabel::Home => "home",
            AddressLabel::Work => "work",
            AddressLabel::School => "school",
            AddressLabel::Family => "family",
            AddressLabel::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<AddressLabel> {
        AddressLabel::ALL
            .into_iter()
            .find(|l| l.as_str() == s.trim())
    }
}

/// A phone as entered, before parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneInput {
    pub number: String,
    /// Wants SMS (mobiles only).
    pub sms: bool,
    /// Wants voice calls.
    pub voice: bool,
}

/// An address as entered, before geocoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressInput {
    pub label: String,
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    /// A point placed on the map when the registry does not know the address.
    pub pin: Option<(f64, f64)>,
}

/// A registration form as received (web form or JSON API).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistrationInput {
    pub language: String,
    pub phones: Vec<PhoneInput>,
    pub emails: Vec<String>,
    pub addresses: Vec<AddressInput>,
    pub general_interest: bool,
    pub consent: bool,
}

/// A phone that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneChoice {
    pub number: PhoneNumber,
    pub sms: bool,
    pub voice: bool,
}

/// An address that passed validation (not yet geocoded).
#[derive(Debug, Clone, PartialEq)]
pub struct AddressChoice {
    pub label: AddressLabel,
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub pin: Option<(f64, f64)>,
}

/// A valid registration.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub language: Language,
    pub phones: Vec<PhoneChoice>,
    pub emails: Vec<EmailAddress>,
    pub addresses: Vec<AddressChoice>,
    pub general_interest: bool,
}

/// One refused field: `field` names it as the form does (`phones.1.number`),
/// `key` is the message's translation key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub key: &'static str,
}

fn problem(field: impl Into<String>, key: &'static str) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        key,
    }
}

fn too_long(s: &str) -> bool {
    s.chars().count() > MAX_FIELD_CHARS
}

/// Checks a registration. Empty rows (a blank phone or address line in a form)
/// are ignored; everything else must be right, or every problem is reported.
pub fn validate(input: &RegistrationInput) -> Result<Registration, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let language = input.language.parse::<Language>().map_err(|_| ());
    if language.is_err() {
        problems.push(problem("language", "citizen.language_required"));
    }
    if !input.consent {
        problems.push(problem("consent", "citizen.consent_required"));
    }

    let phones_in: Vec<(usize, &PhoneInput)> = input
        .phones
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.number.trim().is_empty())
        .collect();
    if phones_in.len() > MAX_PHONES {
        problems.push(problem("phones", "citizen.too_many_phones"));
    }
    let mut phones: Vec<PhoneChoice> = Vec::new();
    for (i, p) in phones_in.into_iter().take(MAX_PHONES) {
        match PhoneNumber::parse(&p.number) {
            Ok(number) => {
                // A landline gets voice calls only; a mobile gets SMS unless
                // only voice was chosen.
                let (sms, voice) = match number.kind() {
                    LineKind::Landline => (false, true),
                    LineKind::Mobile => (p.sms || !p.voice, p.voice),
                };
                if phones.iter().any(|q| q.number == number) {
                    problems.push(problem(
                        format!("phones.{i}.number"),
                        "citizen.duplicate_phone",
                    ));
                } else {
                    phones.push(PhoneChoice { number, sms, voice });
                }
            }
            Err(e) => problems.push(problem(format!("phones.{i}.number"), e.key())),
        }
    }

    let emails_in: Vec<(usize, &String)> = input
        .emails
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.trim().is_empty())
        .collect();
    if emails_in.len() > MAX_EMAILS {
        problems.push(problem("emails", "citizen.too_many_emails"));
    }
    let mut emails: Vec<EmailAddress> = Vec::new();
    for (i, e) in emails_in.into_iter().take(MAX_EMAILS) {
        match EmailAddress::parse(e) {
            Ok(email)
                if emails
                    .iter()
                    .any(|x| x.as_str().eq_ignore_ascii_case(email.as_str())) =>
            {
                problems.push(problem(format!("emails.{i}"), "citizen.duplicate_email"));
            }
            Ok(email) => emails.push(email),
            Err(_) => problems.push(problem(format!("emails.{i}"), "citizen.email_invalid")),
        }
    }
    if phones.is_empty()
        && emails.is_empty()
        && !problems
            .iter()
            .any(|p| p.field.starts_with("phones") || p.field.starts_with("emails"))
    {
        problems.push(problem("phones", "citizen.contact_required"));
    }

    let addresses_in: Vec<(usize, &AddressInput)> = input
        .addresses
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            !(a.street.trim().is_empty()
                && a.house_number.trim().is_empty()
                && a.postcode.trim().is_empty())
        })
        .collect();
    if addresses_in.len() > MAX_ADDRESSES {
        problems.push(problem("addresses", "citizen.too_many_addresses"));
    }
    if addresses_in.is_empty() {
        problems.push(problem("addresses", "citizen.address_required"));
    }
    let mut addresses = Vec::new();
    for (i, a) in addresses_in.into_iter().take(MAX_ADDRESSES) {
        let field = |f: &str| format!("addresses.{i}.{f}");
        let label = AddressLabel::parse(&a.label).unwrap_or(AddressLabel::Other);
        let street = a.street.trim();
        let number = a.house_number.trim();
        let postcode = a.postcode.trim();
        let mut ok = true;
        for (name, value) in [
            ("street", street),
            ("house_number", number),
            ("postcode", postcode),
        ] {
            if value.is_empty() {
                problems.push(problem(field(name), "citizen.field_required"));
                ok = false;
            } else if too_long(value) {
                problems.push(problem(field(name), "citizen.field_too_long"));
                ok = false;
            }
        }
        if ok && (postcode.len() != 4 || !postcode.bytes().all(|b| b.is_ascii_digit())) {
            problems.push(problem(field("postcode"), "citizen.postcode_invalid"));
            ok = false;
        }
        if let Some((lon, lat)) = a.pin
            && !((2.3..=6.6).contains(&lon) && (49.3..=51.7).contains(&lat))
        {
            problems.push(problem(field("pin"), "citizen.pin_outside"));
            ok = false;
        }
        if ok {
            addresses.push(AddressChoice {
                label,
                street: street.to_owned(),
                house_number: number.to_owned(),
                postcode: postcode.to_owned(),
                pin: a.pin,
            });
        }
    }

    match (problems.is_empty(), language) {
        (true, Ok(language)) => Ok(Registration {
            language,
            phones,
            emails,
            addresses,
            general_interest: input.general_interest,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(street: &str) -> AddressInput {
        AddressInput {
            label: "home".into(),
            street: street.into(),
            house_number: "1".into(),
            postcode: "4000".into(),
            pin: None,
        }
    }

    fn form() -> RegistrationInput {
        RegistrationInput {
            language: "fr".into(),
            phones: vec![PhoneInput {
                number: "0470 12 34 56".into(),
                sms: true,
                voice: false,
            }],
            emails: vec!["marie@example.be".into()],
            addresses: vec![address("Rue Léopold")],
            general_interest: false,
            consent: true,
        }
    }

    fn keys(r: Result<Registration, Vec<FieldProblem>>) -> Vec<(String, &'static str)> {
        r.expect_err("refused")
            .into_iter()
            .map(|p| (p.field, p.key))
            .collect()
    }

    #[test]
    fn a_complete_form_passes() {
        let r = validate(&form()).expect("valid");
        assert_eq!(r.language, Language::Fr);
        assert_eq!(r.phones[0].number.e164(), "+32470123456");
        assert!(r.phones[0].sms && !r.phones[0].voice);
    }

    #[test]
    fn landlines_get_voice_and_never_sms() {
        let mut f = form();
        f.phones = vec![PhoneInput {
            number: "04 222 33 44".into(),
            sms: true,
            voice: false,
        }];
        let r = validate(&f).expect("valid");
        assert!(!r.phones[0].sms && r.phones[0].voice);
    }

    #[test]
    fn each_rule_names_its_field() {
        let mut f = form();
        f.phones.push(PhoneInput {
            number: "0900 12 345".into(),
            ..Default::default()
        });
        f.phones.push(PhoneInput {
            number: "+32 470 12 34 56".into(),
            ..Default::default()
        });
        f.emails.push("not-an-email".into());
        f.addresses.push(AddressInput {
            postcode: "40000".into(),
            ..address("Rue X")
        });
        f.addresses.push(address(&"x".repeat(200)));
        f.consent = false;
        f.language = "es".into();
        let k = keys(validate(&f));
        for expected in [
            ("language".to_string(), "citizen.language_required"),
            ("consent".to_string(), "citizen.consent_required"),
            ("phones.1.number".to_string(), "citizen.phone_premium"),
            ("phones.2.number".to_string(), "citizen.duplicate_phone"),
            ("emails.1".to_string(), "citizen.email_invalid"),
            (
                "addresses.1.postcode".to_string(),
                "citizen.postcode_invalid",
            ),
            ("addresses.2.street".to_string(), "citizen.field_too_long"),
        ] {
            assert!(k.contains(&expected), "missing {expected:?} in {k:?}");
        }
    }

    #[test]
    fn limits_of_five() {
        let mut f = form();
        f.addresses = (0..6).map(|i| address(&format!("Rue {i}"))).collect();
        assert!(keys(validate(&f)).contains(&("addresses".into(), "citizen.too_many_addresses")));
        let mut f = form();
        f.addresses = (0..5).map(|i| address(&format!("Rue {i}"))).collect();
        assert_eq!(validate(&f).expect("five is fine").addresses.len(), 5);
        let mut f = form();
        f.phones = (0..6)
            .map(|i| PhoneInput {
                number: format!("0470 12 34 5{i}"),
                ..Default::default()
            })
            .collect();
        assert!(keys(validate(&f)).contains(&("phones".into(), "citizen.too_many_phones")));
    }

    #[test]
    fn blank_rows_are_ignored_but_someone_must_be_reachable() {
        let mut f = form();
        f.phones = vec![PhoneInput::default(), PhoneInput::default()];
        f.emails = vec![String::new()];
        assert!(keys(validate(&f)).contains(&("phones".into(), "citizen.contact_required")));
        let mut f = form();
        f.addresses = vec![AddressInput::default()];
        assert!(keys(validate(&f)).contains(&("addresses".into(), "citizen.address_required")));
    }
}
