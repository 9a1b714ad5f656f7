//! SMPP addresses: the digits or name with the type of number (TON) and numbering
//! plan (NPI) an SMSC routes by.

use crate::ChannelError;

/// An SMPP source or destination address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmppAddress {
    pub ton: u8,
    pub npi: u8,
    pub address: String,
}

const TON_INTERNATIONAL: u8 = 1;
const TON_NETWORK_SPECIFIC: u8 = 3;
const TON_ALPHANUMERIC: u8 = 5;
const NPI_UNKNOWN: u8 = 0;
const NPI_E164: u8 = 1;

/// A configured sender: an alphanumeric name (TON 5, NPI 0), a short code of at
/// most 8 digits (TON 3, NPI 0), or else an international number (TON 1, NPI 1,
/// without its `+`).
pub fn sender_address(sender: &str) -> SmppAddress {
    let digits = sender.strip_prefix('+').unwrap_or(sender);
    let numeric = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if !numeric {
        SmppAddress {
            ton: TON_ALPHANUMERIC,
            npi: NPI_UNKNOWN,
            address: sender.to_owned(),
        }
    } else if digits.len() <= 8 && !sender.starts_with('+') {
        SmppAddress {
            ton: TON_NETWORK_SPECIFIC,
            npi: NPI_UNKNOWN,
            address: digits.to_owned(),
        }
    } else {
        SmppAddress {
            ton: TON_INTERNATIONAL,
            npi: NPI_E164,
            address: digits.to_owned(),
        }
    }
}

/// A recipient in E.164 (`+32470123456`) as an international destination
/// (`32470123456`, TON 1, NPI 1). Anything else can never be sent.
pub fn destination_address(e164: &str) -> Result<SmppAddress, ChannelError> {
    let digits = e164
        .strip_prefix('+')
        .filter(|d| (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ChannelError::Permanent(format!("{e164:?} is not an E.164 number")))?;
    Ok(SmppAddress {
        ton: TON_INTERNATIONAL,
        npi: NPI_E164,
        address: digits.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_get_their_ton_and_npi() {
        let alpha = sender_address("BE-Alert");
        assert_eq!(
            (alpha.ton, alpha.npi, alpha.address.as_str()),
            (5, 0, "BE-Alert")
        );
        let short = sender_address("1771");
        assert_eq!(
            (short.ton, short.npi, short.address.as_str()),
            (3, 0, "1771")
        );
        let long = sender_address("+3225551234");
        assert_eq!(
            (long.ton, long.npi, long.address.as_str()),
            (1, 1, "3225551234")
        );
        let bare = sender_address("3225551234");
        assert_eq!((bare.ton, bare.npi), (1, 1));
    }

    #[test]
    fn destinations_are_e164_without_the_plus() {
        let d = destination_address("+32470123456").expect("valid");
        assert_eq!((d.ton, d.npi, d.address.as_str()), (1, 1, "32470123456"));
        for bad in ["32470123456", "+32 470", "+", "+1234567890123456", "+3247a"] {
            assert!(
                matches!(destination_address(bad), Err(ChannelError::Permanent(_))),
                "{bad}"
            );
        }
    }
}
