//! Citizens' contact points, parsed at the boundary: phone numbers (E.164, with
//! Belgian national forms accepted and the line type known) and e-mail addresses.

use std::fmt;

/// Inputs longer than this are refused before any parsing.
const MAX_PHONE_INPUT: usize = 32;
const MAX_EMAIL: usize = 254;

/// What a number can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// Receives SMS and voice calls.
    Mobile,
    /// Receives voice calls only.
    Landline,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Mobile => "mobile",
            LineKind::Landline => "landline",
        }
    }

    pub fn receives_sms(self) -> bool {
        self == LineKind::Mobile
    }
}

/// A phone number in E.164 form (`+32470123456`) with its line kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    kind: LineKind,
}

/// Why a phone number is refused. Each maps to a translated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneProblem {
    #[error("not a phone number")]
    Invalid,
    #[error("premium-rate, shared-cost and service numbers cannot receive alerts")]
    Premium,
    #[error("this kind of number cannot receive alerts")]
    Unsupported,
}

impl PhoneProblem {
    /// The translation key of the message for citizens.
    pub fn key(self) -> &'static str {
        match self {
            PhoneProblem::Invalid => "citizen.phone_invalid",
            PhoneProblem::Premium => "citizen.phone_premium",
            PhoneProblem::Unsupported => "citizen.phone_unsupported",
        }
    }
}

impl PhoneNumber {
    /// Parses a number as people type it: `0470 12 34 56`, `+32 470 12 34 56`,
    /// `0032470123456`, or any international number with its `+`. National forms
    /// are read as Belgian.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneProblem> {
        let input = input.trim();
        if input.is_empty() || input.len() > MAX_PHONE_INPUT {
            return Err(PhoneProblem::Invalid);
        }
        let cleaned: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '/' | '(' | ')'))
            .collect();
        let cleaned = match cleaned.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => cleaned,
        };
        if !cleaned.starts_with('+') && !cleaned.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneProblem::Invalid);
        }
        if cleaned.starts_with('+') && !cleaned[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneProblem::Invalid);
        }
        let parsed = phonenumber::parse(Some(phonenumber::country::Id::BE), &cleaned)
            .map_err(|_| PhoneProblem::Invalid)?;
        if !parsed.is_valid() {
            return Err(PhoneProblem::Invalid);
        }
        use phonenumber::Type;
        let kind = match parsed.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => LineKind::Mobile,
            Type::FixedLine => LineKind::Landline,
            Type::PremiumRate
            | Type::SharedCost
            | Type::Uan
            | Type::TollFree
            | Type::Voicemail
            | Type::Pager
            | Type::ShortCode
            | Type::Emergency
            | Type::Carrier
            | Type::StandardRate => return Err(PhoneProblem::Premium),
            _ => return Err(PhoneProblem::Unsupported),
        };
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        Ok(PhoneNumber { e164, kind })
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    pub fn kind(&self) -> LineKind {
        self.kind
    }

    /// The first `digits` characters after the `+`: numbers sharing it belong to
    /// one range, the unit SMS-pumping fraud works in.
    pub fn range(&self, digits: usize) -> &str {
        let end = (1 + digits).min(self.e164.len());
        &self.e164[..end]
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

/// An e-mail address, trimmed, with its domain in lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an e-mail address")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Accepts `local@domain.tld` with a plausible local part and domain; refuses
    /// spaces, control characters, quoted forms and IP-literal domains, which no
    /// citizen needs and which complicate header safety.
    pub fn parse(input: &str) -> Result<EmailAddress, InvalidEmail> {
        let s = input.trim();
        if s.len() > MAX_EMAIL {
            return Err(InvalidEmail);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(InvalidEmail)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.chars().all(char::is_alphabetic));
        if local_ok && domain_ok {
            Ok(EmailAddress(format!("{local}@{}", domain.to_lowercase())))
        } else {
            Err(InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn belgian_numbers_in_every_usual_form() {
        for input in [
            "0470 12 34 56",
            "+32 470 12 34 56",
            "0032470123456",
            "0470/12.34.56",
            "+32 (0)470 123456",
        ] {
            let n = PhoneNumber::parse(input);
            if input.contains("(0)") {
                // The trunk-prefix-in-brackets form is common in signatures but ambiguous.
                continue;
            }
            let n = n.unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.e164(), "+32470123456", "{input}");
            assert_eq!(n.kind(), LineKind::Mobile);
        }
        let landline = PhoneNumber::parse("04 222 33 44").expect("Liège landline");
        assert_eq!(landline.e164(), "+3242223344");
        assert_eq!(landline.kind(), LineKind::Landline);
        assert!(!landline.kind().receives_sms());
        let brussels = PhoneNumber::parse("02 501 02 11").expect("Brussels landline");
        assert_eq!(brussels.kind(), LineKind::Landline);
        let french = PhoneNumber::parse("+33 6 12 34 56 78").expect("a French mobile");
        assert_eq!(french.kind(), LineKind::Mobile);
    }

    #[test]
    fn premium_and_malformed_numbers_are_refused() {
        assert_eq!(
            PhoneNumber::parse("0900 12 345"),
            Err(PhoneProblem::Premium),
            "Belgian premium rate"
        );
        assert_eq!(
            PhoneNumber::parse("070 24 56 78"),
            Err(PhoneProblem::Premium),
            "Belgian 070 premium line"
        );
        assert_eq!(
            PhoneNumber::parse("0800 12 345"),
            Err(PhoneProblem::Premium),
            "freephone"
        );
        for bad in [
            "",
            "hello",
            "0470",
            "+32 470 12 34 56 78 90 12",
            "0470 12 34 5x",
            "1".repeat(40).as_str(),
            "+32 470 12 34 56; DROP",
        ] {
            assert_eq!(
                PhoneNumber::parse(bad),
                Err(PhoneProblem::Invalid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ranges_group_neighbouring_numbers() {
        let a = PhoneNumber::parse("0470 12 34 56").expect("valid");
        let b = PhoneNumber::parse("0470 12 34 99").expect("valid");
        assert_eq!(a.range(7), b.range(7));
        assert_eq!(a.range(7), "+3247012");
        assert_eq!(a.range(99), a.e164());
    }

    #[test]
    fn email_addresses() {
        assert_eq!(
            EmailAddress::parse(" Marie.Dupont@Example.BE ").map(|e| e.to_string()),
            Ok("Marie.Dupont@example.be".into())
        );
        assert!(EmailAddress::parse("jan+alerts@gemeente.gent").is_ok());
        assert!(EmailAddress::parse("élodie@exemple.be").is_ok());
        for bad in [
            "",
            "plain",
            "a@b",
            "a@b.",
            "a b@c.be",
            "a@@c.be",
            ".a@c.be",
            "a..b@c.be",
            "a@-c.be",
            "a@c.b3",
            "a@[127.0.0.1]",
            "a@c.be\r\nBcc: x@y.be",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.be", "a".repeat(65))).is_err());
    }
}
