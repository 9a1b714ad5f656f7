//! Delivery receipts: a `deliver_sm` with esm_class 0x04 tells the final state of
//! a message the SMSC accepted. It is acknowledged only once the engine says the
//! receipt is stored; otherwise the SMSC is asked to deliver it again.

use crate::{Receipt, ReceiptSink};
use smpp34::{CommandHeader, SmppError, TlvList, deliver_sm, deliver_sm_resp};
use std::time::Duration;
use tokio::sync::oneshot;

/// esm_class bits 2–5 give the message type; 0b0001 is an SMSC delivery receipt.
const MESSAGE_TYPE_MASK: u8 = 0x3C;
const DELIVERY_RECEIPT: u8 = 0x04;

/// What a receipt says about the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Delivered,
    /// Failed for good, with the state and error the SMSC gave.
    Failed(String),
    /// Not a final state Crieur can act on (en route, accepted, unknown).
    Pending(String),
}

/// A receipt read from a `deliver_sm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Report {
    pub id: String,
    pub outcome: Outcome,
}

/// Hands receipts to the engine and answers the SMSC.
pub(super) struct ReceiptHandler {
    pub provider: String,
    pub sink: ReceiptSink,
    /// How long the engine may take to store a receipt before the SMSC is asked
    /// to redeliver it.
    pub answer_timeout: Duration,
}

impl ReceiptHandler {
    pub async fn on_deliver_sm(&self, pdu: deliver_sm) -> deliver_sm_resp {
        if pdu.esm_class & MESSAGE_TYPE_MASK != DELIVERY_RECEIPT {
            // A citizen's reply to the sender: Crieur does not take replies.
            tracing::debug!(provider = %self.provider, "SMPP mobile-originated message accepted and ignored");
            return pdu.accept();
        }
        let Some(report) = parse(&pdu) else {
            // No id to match: a redelivery would not carry one either.
            tracing::warn!(provider = %self.provider, "SMPP delivery receipt without a message id ignored");
            return pdu.accept();
        };
        let failure = match report.outcome {
            Outcome::Delivered => None,
            Outcome::Failed(reason) => Some(reason),
            Outcome::Pending(state) => {
                tracing::debug!(provider = %self.provider, reference = %report.id, %state, "SMPP intermediate receipt ignored");
                return pdu.accept();
            }
        };
        let receipt = Receipt {
            provider: self.provider.clone(),
            reference: report.id,
            failure,
        };
        let (answer, stored) = oneshot::channel();
        let handed = async {
            self.sink.send((receipt, answer)).await.ok()?;
            stored.await.ok()
        };
        match tokio::time::timeout(self.answer_timeout, handed).await {
            Ok(Some(true)) => pdu.accept(),
            _ => {
                tracing::debug!(provider = %self.provider, "SMPP delivery receipt not stored; the SMSC will redeliver it");
                reject(pdu, SmppError::ESME_RX_T_APPN)
            }
        }
    }
}

/// A deliver_sm_resp with an error status. smpp34 1.5.1's `deliver_sm::reject`
/// declares 16 octets but writes 17 (the NULL message_id), which breaks the
/// SMSC's framing and drops the session; this one declares the 17 it writes.
fn reject(pdu: deliver_sm, error: SmppError) -> deliver_sm_resp {
    let flawed = pdu.reject(error);
    let wire = flawed.clone().encode();
    let fixed = wire
        .get(..16)
        .ok_or(SmppError::ESME_RINVCMDLEN)
        .and_then(CommandHeader::decode)
        .and_then(|mut header| {
            header.command_length = u32::try_from(wire.len()).unwrap_or(u32::MAX);
            deliver_sm_resp::decode(header, &wire)
        });
    fixed.unwrap_or(flawed)
}

/// Reads a receipt: the receipted_message_id and message_state TLVs when present,
/// else the `id:… stat:… err:…` text of SMPP 3.4 appendix B.
pub(super) fn parse(pdu: &deliver_sm) -> Option<Report> {
    let text = String::from_utf8_lossy(&pdu.short_message);
    let text = text_fields(&text);
    let id = pdu
        .tlvs
        .receipted_message_id()
        .filter(|id| !id.is_empty())
        .or_else(|| text.id.clone())?;
    let state = match pdu.tlvs.message_state() {
        Some(state) => State::from_tlv(state),
        None => text.stat.as_deref().map(State::from_text)?,
    };
    let error = text.err.or_else(|| {
        pdu.tlvs
            .network_error_code()
            .map(|(kind, code)| format!("network {kind}/{code}"))
    });
    let outcome = match state {
        State::Delivered => Outcome::Delivered,
        State::Failed(name) => Outcome::Failed(match error {
            Some(error) => format!("{name} (err:{error})"),
            None => name,
        }),
        State::Pending(name) => Outcome::Pending(name),
    };
    Some(Report { id, outcome })
}

enum State {
    Delivered,
    Failed(String),
    Pending(String),
}

impl State {
    fn from_tlv(state: u8) -> State {
        match state {
            2 => State::Delivered,
            3 => State::Failed("EXPIRED".into()),
            4 => State::Failed("DELETED".into()),
            5 => State::Failed("UNDELIVERABLE".into()),
            8 => State::Failed("REJECTED".into()),
            1 => State::Pending("ENROUTE".into()),
            6 => State::Pending("ACCEPTED".into()),
            7 => State::Pending("UNKNOWN".into()),
            other => State::Pending(format!("message_state {other}")),
        }
    }

    fn from_text(stat: &str) -> State {
        match stat.to_ascii_uppercase().as_str() {
            "DELIVRD" => State::Delivered,
            "EXPIRED" => State::Failed("EXPIRED".into()),
            "DELETED" => State::Failed("DELETED".into()),
            "UNDELIV" => State::Failed("UNDELIVERABLE".into()),
            "REJECTD" => State::Failed("REJECTED".into()),
            other => State::Pending(other.to_owned()),
        }
    }
}

#[derive(Default)]
struct TextFields {
    id: Option<String>,
    stat: Option<String>,
    err: Option<String>,
}

/// The `id:`, `stat:` and `err:` fields of a receipt text, before its `text:`
/// (which quotes the message and may contain anything).
fn text_fields(text: &str) -> TextFields {
    let lower = text.to_ascii_lowercase();
    let end = find_key(&lower, "text:").unwrap_or(lower.len());
    let value = |key: &str| {
        let at = find_key(&lower[..end], key)? + key.len();
        let value = text[at..end].split_whitespace().next()?;
        Some(value.to_owned())
    };
    TextFields {
        id: value("id:"),
        stat: value("stat:"),
        err: value("err:"),
    }
}

/// Where `key` starts as a word of its own (not `sub:` inside another key).
fn find_key(text: &str, key: &str) -> Option<usize> {
    text.match_indices(key)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || text.as_bytes()[at - 1].is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use smpp34::{Tlv, TlvTag};

    fn pdu(esm_class: u8, text: &str, tlvs: Vec<Tlv>) -> deliver_sm {
        deliver_sm::new(
            7,
            String::new(),
            1,
            1,
            "32470123456".into(),
            5,
            0,
            "BE-Alert".into(),
            esm_class,
            0,
            0,
            String::new(),
            String::new(),
            0,
            0,
            0,
            0,
            text.as_bytes().to_vec(),
        )
        .with_tlvs(tlvs)
    }

    #[test]
    fn a_rejection_declares_the_length_it_writes() {
        let wire = reject(pdu(0x04, "", vec![]), SmppError::ESME_RX_T_APPN).encode();
        let header = CommandHeader::decode(&wire).expect("a consistent PDU");
        assert_eq!(header.command_status, 0x64);
        assert_eq!(header.sequence_number, 7);
        assert_eq!(header.command_id, 0x8000_0005);
    }

    #[test]
    fn tlvs_win_over_the_text() {
        let report = parse(&pdu(
            0x04,
            "id:OTHER stat:UNDELIV err:001",
            vec![
                Tlv::from_c_string(TlvTag::ReceiptedMessageId, "abc123"),
                Tlv::from_u8(TlvTag::MessageStateTlv, 2),
            ],
        ))
        .expect("a receipt");
        assert_eq!(report.id, "abc123");
        assert_eq!(report.outcome, Outcome::Delivered);
    }

    #[test]
    fn the_text_alone_is_enough() {
        let report = parse(&pdu(
            0x04,
            "id:7f3A sub:001 dlvrd:000 submit date:2601011200 done date:2601011201 stat:UNDELIV err:034 text:stat:DELIVRD",
            vec![],
        ))
        .expect("a receipt");
        assert_eq!(report.id, "7f3A");
        assert_eq!(
            report.outcome,
            Outcome::Failed("UNDELIVERABLE (err:034)".into())
        );
    }

    #[test]
    fn intermediate_and_unreadable_receipts() {
        let enroute = parse(&pdu(0x04, "id:1 stat:ENROUTE err:000", vec![])).expect("parsed");
        assert!(matches!(enroute.outcome, Outcome::Pending(_)));
        assert_eq!(parse(&pdu(0x04, "garbage", vec![])), None);
        let expired = parse(&pdu(
            0x04,
            "",
            vec![
                Tlv::from_c_string(TlvTag::ReceiptedMessageId, "9"),
                Tlv::from_u8(TlvTag::MessageStateTlv, 3),
            ],
        ))
        .expect("parsed");
        assert_eq!(expired.outcome, Outcome::Failed("EXPIRED".into()));
    }
}
