//! The test SMSC: smpp34's own `SmppServer` with a listener that records every
//! submit_sm, injects faults per destination and sends delivery receipts; and a
//! TCP relay that stands in for a cable the test can cut.

use smpp34::server::ESME;
use smpp34::{
    SmppConnectionInformation, SmppError, SmppServer, SmppServerListener, Tlv, TlvTag,
    bind_transceiver, bind_transceiver_resp, submit_sm, submit_sm_resp,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::AbortHandle;

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Throttle,
    QueueFull,
    InvalidDestination,
    SystemError,
    /// Never answers.
    Silent,
    /// The segment with this UDH sequence number is throttled.
    FailSegment(u8),
}

#[derive(Debug, Clone)]
pub struct Submitted {
    pub session: String,
    pub source: (u8, u8, String),
    pub destination: (u8, u8, String),
    pub esm_class: u8,
    pub data_coding: u8,
    pub registered_delivery: u8,
    pub bytes: Vec<u8>,
    /// The message id, when accepted.
    pub id: Option<String>,
}

#[derive(Default)]
struct State {
    password: String,
    bind_attempts: AtomicUsize,
    next_id: AtomicU64,
    esmes: Mutex<HashMap<String, Arc<ESME>>>,
    submits: Mutex<Vec<Submitted>>,
    faults: Mutex<HashMap<String, Fault>>,
    send_receipts: AtomicBool,
    /// Per destination: message_state of its receipt and whether TLVs carry it.
    receipt_kind: Mutex<HashMap<String, (u8, bool)>>,
    /// (message id, command_status of each deliver_sm_resp the ESME gave).
    answers: Mutex<Vec<(String, u32)>>,
}

struct Listener(Arc<State>);

#[async_trait::async_trait]
impl SmppServerListener for Listener {
    async fn on_bind_transceiver(
        &self,
        bind: bind_transceiver,
        _: &SmppConnectionInformation,
        _: &String,
    ) -> bind_transceiver_resp {
        self.0.bind_attempts.fetch_add(1, Ordering::SeqCst);
        if bind.password == self.0.password {
            bind.accept("TESTSMSC".into(), Some(0x34))
        } else {
            bind.reject(SmppError::ESME_RINVPASWD)
        }
    }

    async fn on_esme_bound(&self, esme: ESME, session_id: &String) {
        lock(&self.0.esmes).insert(session_id.clone(), Arc::new(esme));
    }

    async fn on_esme_unbound(&self, session_id: &String) {
        lock(&self.0.esmes).remove(session_id);
    }

    async fn on_submit_sm(
        &self,
        sm: submit_sm,
        _: &SmppConnectionInformation,
        session_id: &String,
    ) -> submit_sm_resp {
        let state = &self.0;
        let fault = lock(&state.faults).get(&sm.destination_addr).copied();
        let sequence = (sm.esm_class & 0x40 != 0)
            .then(|| sm.short_message.get(5).copied())
            .flatten();
        let refusal = match fault {
            Some(Fault::Throttle) => Some(SmppError::ESME_RTHROTTLED),
            Some(Fault::QueueFull) => Some(SmppError::ESME_RMSGQFUL),
            Some(Fault::InvalidDestination) => Some(SmppError::ESME_RINVDSTADR),
            Some(Fault::SystemError) => Some(SmppError::ESME_RSYSERR),
            Some(Fault::FailSegment(n)) if sequence == Some(n) => Some(SmppError::ESME_RTHROTTLED),
            _ => None,
        };
        let silent = matches!(fault, Some(Fault::Silent));
        let id = (refusal.is_none() && !silent)
            .then(|| format!("M{:06}", state.next_id.fetch_add(1, Ordering::SeqCst)));
        let submitted = Submitted {
            session: session_id.clone(),
            source: (
                sm.source_addr_ton,
                sm.source_addr_npi,
                sm.source_addr.clone(),
            ),
            destination: (
                sm.dest_addr_ton,
                sm.dest_addr_npi,
                sm.destination_addr.clone(),
            ),
            esm_class: sm.esm_class,
            data_coding: sm.data_coding,
            registered_delivery: sm.registered_delivery,
            bytes: sm.short_message.clone(),
            id: id.clone(),
        };
        lock(&state.submits).push(submitted.clone());
        if silent {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        match (refusal, id) {
            (Some(error), _) => sm.reject(error),
            (None, Some(id)) => {
                if state.send_receipts.load(Ordering::SeqCst) && sm.registered_delivery & 1 == 1 {
                    tokio::spawn(deliver_receipt(state.clone(), submitted, id.clone()));
                }
                sm.accept(id)
            }
            (None, None) => unreachable!("an accepted submit has an id"),
        }
    }
}

/// Sends the receipt of an accepted submit on the session it came from, again
/// (like an SMSC) while the ESME answers with an error.
async fn deliver_receipt(state: Arc<State>, submitted: Submitted, id: String) {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let Some(esme) = lock(&state.esmes).get(&submitted.session).cloned() else {
        return;
    };
    let (dest_ton, dest_npi, dest) = submitted.destination.clone();
    let (src_ton, src_npi, src) = submitted.source.clone();
    let (message_state, with_tlvs) = lock(&state.receipt_kind)
        .get(&dest)
        .copied()
        .unwrap_or((2, true));
    let stat = match message_state {
        2 => "DELIVRD",
        3 => "EXPIRED",
        5 => "UNDELIV",
        8 => "REJECTD",
        _ => "UNKNOWN",
    };
    let err = if message_state == 2 { "000" } else { "001" };
    let text = format!(
        "id:{id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011200 stat:{stat} err:{err} text:"
    );
    for _ in 0..5 {
        let mut pdu = esme
            .deliver_sm()
            .source_addr_ton(dest_ton)
            .source_addr_npi(dest_npi)
            .source_addr(dest.clone())
            .dest_addr_ton(src_ton)
            .dest_addr_npi(src_npi)
            .destination_addr(src.clone())
            .esm_class(0x04)
            .short_message(text.clone().into_bytes());
        if with_tlvs {
            pdu = pdu.tlvs([
                Tlv::from_c_string(TlvTag::ReceiptedMessageId, &id),
                Tlv::from_u8(TlvTag::MessageStateTlv, message_state),
            ]);
        }
        let status = match pdu.send().await {
            Ok(resp) => resp.command_status(),
            Err(error) => error as u32,
        };
        lock(&state.answers).push((id.clone(), status));
        if status == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().expect("test lock")
}

/// smpp34's SMSC on a free loopback port.
pub struct Smsc {
    state: Arc<State>,
    pub port: u16,
    _server: SmppServer,
}

impl Smsc {
    pub async fn start(password: &str) -> Smsc {
        let state = Arc::new(State {
            password: password.into(),
            ..State::default()
        });
        // smpp34's server cannot report the port it bound, so port 0 is useless:
        // take a free one and retry if someone else took it meanwhile.
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut server = SmppServer::new(
                IpAddr::from([127, 0, 0, 1]),
                port,
                Arc::new(Listener(state.clone())),
            );
            server.start().await;
            if server.is_alive() {
                return Smsc {
                    state,
                    port,
                    _server: server,
                };
            }
        }
        panic!("no free port for the test SMSC");
    }

    /// Sends a receipt for every accepted submit that asks for one.
    pub fn send_receipts(&self) {
        self.state.send_receipts.store(true, Ordering::SeqCst);
    }

    pub fn submits(&self) -> Vec<Submitted> {
        lock(&self.state.submits).clone()
    }

    pub fn fault(&self, destination: &str, fault: Fault) {
        lock(&self.state.faults).insert(destination.into(), fault);
    }

    pub fn receipt_kind(&self, destination: &str, message_state: u8, with_tlvs: bool) {
        lock(&self.state.receipt_kind).insert(destination.into(), (message_state, with_tlvs));
    }

    pub fn submits_to(&self, destination: &str) -> Vec<Submitted> {
        lock(&self.state.submits)
            .iter()
            .filter(|s| s.destination.2 == destination)
            .cloned()
            .collect()
    }

    pub fn submit_count(&self) -> usize {
        lock(&self.state.submits).len()
    }

    pub fn answers_for(&self, id: &str) -> Vec<u32> {
        lock(&self.state.answers)
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, s)| *s)
            .collect()
    }

    pub fn bind_attempts(&self) -> usize {
        self.state.bind_attempts.load(Ordering::SeqCst)
    }

    pub fn bound_sessions(&self) -> usize {
        lock(&self.state.esmes).len()
    }

    pub fn esmes(&self) -> Vec<Arc<ESME>> {
        lock(&self.state.esmes).values().cloned().collect()
    }

    /// A citizen's reply (a mobile-originated deliver_sm); the ESME's answer.
    pub async fn deliver_reply(&self, from: &str) -> u32 {
        let esme = self.esmes().pop().expect("a bound ESME");
        match esme
            .deliver_sm()
            .source_addr_ton(1)
            .source_addr_npi(1)
            .source_addr(from)
            .destination_addr("BE-Alert")
            .short_message(b"OK thanks".to_vec())
            .send()
            .await
        {
            Ok(resp) => resp.command_status(),
            Err(error) => error as u32,
        }
    }
}

/// A cable between the provider and the SMSC that the test can cut.
pub struct Relay {
    pub port: u16,
    links: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Relay {
    pub async fn start(target: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("relay listens");
        let port = listener.local_addr().expect("relay address").port();
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let kept = links.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                else {
                    continue;
                };
                let link = tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                lock(&kept).push(link.abort_handle());
            }
        })
        .abort_handle();
        Relay {
            port,
            links,
            accept,
        }
    }

    /// Closes every connection at once, whatever is in flight.
    pub fn cut_all(&self) {
        for link in lock(&self.links).drain(..) {
            link.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}
