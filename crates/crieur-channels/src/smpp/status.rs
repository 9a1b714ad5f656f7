//! What an SMSC's command_status means for a message: slow down, try again later,
//! or never.

use crate::ChannelError;
use smpp34::SmppError;

/// Classifies a non-zero command_status of a `submit_sm_resp` or `generic_nack`.
pub fn classify(status: u32) -> ChannelError {
    let reason = describe(status);
    match status {
        // ESME_RTHROTTLED, ESME_RMSGQFUL
        0x58 | 0x14 => ChannelError::Throttled(reason),
        // ESME_RSYSERR, ESME_RSUBMITFAIL, ESME_RX_T_APPN; ESME_RINVBNDSTS says
        // the session is wrong on the SMSC's side, not that the message is.
        0x08 | 0x45 | 0x64 | 0x04 => ChannelError::Temporary(reason),
        _ => ChannelError::Permanent(reason),
    }
}

/// `smpp 0x0000000B ESME_RINVDSTADR`; a reserved or vendor status keeps only
/// its number.
fn describe(status: u32) -> String {
    let known = SmppError::from_command_status(status);
    if known as u32 == status {
        format!("smpp 0x{status:08X} {known:?}")
    } else {
        format!("smpp 0x{status:08X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_outcomes() {
        assert!(matches!(classify(0x58), ChannelError::Throttled(_)));
        assert!(matches!(classify(0x14), ChannelError::Throttled(_)));
        for temporary in [0x08, 0x45, 0x64] {
            assert!(matches!(classify(temporary), ChannelError::Temporary(_)));
        }
        assert_eq!(
            classify(0x0B),
            ChannelError::Permanent("smpp 0x0000000B ESME_RINVDSTADR".into())
        );
        assert!(matches!(classify(0x0A), ChannelError::Permanent(_)));
        assert!(matches!(classify(0x01), ChannelError::Permanent(_)));
        assert_eq!(
            classify(0x0400),
            ChannelError::Permanent("smpp 0x00000400".into())
        );
    }
}
