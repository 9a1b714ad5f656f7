//! A loopback SMSC for integration tests and `crieur bench dispatch`: smpp34's
//! own SMSC engine on 127.0.0.1, accepting every transceiver bind with the
//! expected password, counting submits per destination and, when asked,
//! answering with delivery receipts like a real SMSC. Never a provider: it is
//! the far end that Crieur's SMPP client talks to.

use smpp34::server::ESME;
use smpp34::{
    SmppConnectionInformation, SmppError, SmppServer, SmppServerListener, Tlv, TlvTag,
    bind_transceiver, bind_transceiver_resp, submit_sm, submit_sm_resp,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

#[derive(Default)]
struct State {
    password: String,
    next_id: AtomicU64,
    submits: AtomicU64,
    receipts_sent: AtomicU64,
    /// Every nth submit is throttled (0: never).
    throttle_every: AtomicU64,
    count_destinations: AtomicBool,
    send_receipts: AtomicBool,
    per_destination: Mutex<HashMap<String, u32>>,
    esmes: Mutex<HashMap<String, Arc<ESME>>>,
}

struct Listener(Arc<State>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait::async_trait]
impl SmppServerListener for Listener {
    async fn on_bind_transceiver(
        &self,
        bind: bind_transceiver,
        _: &SmppConnectionInformation,
        _: &String,
    ) -> bind_transceiver_resp {
        if bind.password == self.0.password {
            bind.accept("LOOPBACK".into(), Some(0x34))
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
        let n = state.submits.fetch_add(1, Ordering::Relaxed) + 1;
        let every = state.throttle_every.load(Ordering::Relaxed);
        if every > 0 && n.is_multiple_of(every) {
            return sm.reject(SmppError::ESME_RTHROTTLED);
        }
        if state.count_destinations.load(Ordering::Relaxed) {
            *lock(&state.per_destination)
                .entry(sm.destination_addr.clone())
                .or_default() += 1;
        }
        let id = format!("{:x}", state.next_id.fetch_add(1, Ordering::Relaxed));
        if state.send_receipts.load(Ordering::Relaxed) && sm.registered_delivery & 1 == 1 {
            let esme = lock(&state.esmes).get(session_id).cloned();
            if let Some(esme) = esme {
                tokio::spawn(receipt(
                    state.clone(),
                    esme,
                    sm.destination_addr.clone(),
                    sm.source_addr.clone(),
                    id.clone(),
                ));
            }
        }
        sm.accept(id)
    }
}

async fn receipt(state: Arc<State>, esme: Arc<ESME>, from: String, to: String, id: String) {
    let text = format!(
        "id:{id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011200 stat:DELIVRD err:000 text:"
    );
    for _ in 0..5 {
        let sent = esme
            .deliver_sm()
            .source_addr_ton(1)
            .source_addr_npi(1)
            .source_addr(from.clone())
            .destination_addr(to.clone())
            .esm_class(0x04)
            .short_message(text.clone().into_bytes())
            .tlvs([
                Tlv::from_c_string(TlvTag::ReceiptedMessageId, &id),
                Tlv::from_u8(TlvTag::MessageStateTlv, 2),
            ])
            .send()
            .await;
        if matches!(&sent, Ok(r) if r.command_status() == 0) {
            state.receipts_sent.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Refused (not stored yet) or no answer: like an SMSC, try again later.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// smpp34's SMSC on a free loopback port.
pub struct LoopbackSmsc {
    state: Arc<State>,
    pub port: u16,
    server: SmppServer,
}

impl std::fmt::Debug for LoopbackSmsc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoopbackSmsc(127.0.0.1:{})", self.port)
    }
}

impl LoopbackSmsc {
    /// Starts on a free port of 127.0.0.1, accepting binds with `password`.
    pub async fn start(password: &str) -> std::io::Result<LoopbackSmsc> {
        let state = Arc::new(State {
            password: password.into(),
            ..State::default()
        });
        // smpp34's server cannot report the port it bound, so port 0 is
        // useless: take a free one and retry if another process took it.
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut server = SmppServer::new(
                IpAddr::from([127, 0, 0, 1]),
                port,
                Arc::new(Listener(state.clone())),
            );
            server.start().await;
            if server.is_alive() {
                return Ok(LoopbackSmsc {
                    state,
                    port,
                    server,
                });
            }
        }
        Err(std::io::Error::other("no free port for the loopback SMSC"))
    }

    /// Counts submits per destination (for exactly-once checks).
    pub fn count_destinations(&self, on: bool) {
        self.state.count_destinations.store(on, Ordering::SeqCst);
    }

    /// Answers accepted submits that ask for one with a delivery receipt.
    pub fn send_receipts(&self, on: bool) {
        self.state.send_receipts.store(on, Ordering::SeqCst);
    }

    /// Throttles every `n`th submit (0: none).
    pub fn throttle_every(&self, n: u64) {
        self.state.throttle_every.store(n, Ordering::SeqCst);
    }

    /// Submits received, accepted or not.
    pub fn submits(&self) -> u64 {
        self.state.submits.load(Ordering::Relaxed)
    }

    /// Receipts the client acknowledged.
    pub fn receipts_acknowledged(&self) -> u64 {
        self.state.receipts_sent.load(Ordering::Relaxed)
    }

    /// Accepted submits per destination address (when counting).
    pub fn per_destination(&self) -> HashMap<String, u32> {
        lock(&self.state.per_destination).clone()
    }

    /// Sessions bound now.
    pub fn bound(&self) -> usize {
        lock(&self.state.esmes).len()
    }

    pub async fn stop(&mut self) {
        self.server.stop().await;
    }
}
