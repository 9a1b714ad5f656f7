//! Starting the endpoint, and what the application asks of it.

use super::dispatch::dispatch;
use super::guard::GuardedUdp;
use super::incoming::IncomingCalls;
use super::limit::{LogLimiter, PerSourceRate};
use super::outgoing::{CallRequest, OutgoingCall, parse_target, place};
use super::registrar::{Registrar, Registration, SipTransport};
use super::stats::{Counters, SipStats};
use super::{CallError, SipConfig, SipError};
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::platform::CancellationToken;
use rsipstack::sip::{Method, Param, Transport, Uri};
use rsipstack::transaction::CallIdFormat;
use rsipstack::transaction::endpoint::{EndpointInnerRef, EndpointOption};
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use std::fmt;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Everything the endpoint's tasks share.
pub(crate) struct Shared {
    pub(crate) config: SipConfig,
    pub(crate) endpoint: EndpointInnerRef,
    pub(crate) layer: Arc<DialogLayer>,
    pub(crate) registrar: Registrar,
    pub(crate) counters: Arc<Counters>,
    pub(crate) invite_rate: PerSourceRate,
    pub(crate) flood_log: LogLimiter,
    pub(crate) cancel: CancellationToken,
    udp_addr: Option<SocketAddr>,
    tcp_addr: Option<SocketAddr>,
}

impl Shared {
    /// Our Contact URI for `user`, on the TCP listener when `tcp`.
    pub(crate) fn contact_uri(&self, user: &str, tcp: bool) -> Result<Uri, CallError> {
        let wanted = if tcp { Transport::Tcp } else { Transport::Udp };
        let listens = self.endpoint.transport_layer.get_listen_addrs();
        let addr = listens
            .iter()
            .find(|a| a.r#type == Some(wanted))
            .or_else(|| listens.first())
            .ok_or(CallError::InvalidState)?;
        let mut params = Vec::new();
        if addr.r#type == Some(Transport::Tcp) {
            params.push(Param::Transport(Transport::Tcp));
        }
        Ok(Uri {
            scheme: Some(rsipstack::sip::Scheme::Sip),
            auth: (!user.is_empty()).then(|| rsipstack::sip::Auth {
                user: user.to_owned(),
                password: None,
            }),
            host_with_port: addr.addr.clone(),
            params,
            headers: Vec::new(),
        })
    }
}

/// Cancels the stack when the last [`SipEndpoint`] handle goes.
struct StopOnDrop(CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A SIP user agent and registrar on one address (UDP and TCP). Cloning shares
/// it; dropping the last clone (or [`SipEndpoint::shutdown`]) stops it.
#[derive(Clone)]
pub struct SipEndpoint {
    shared: Arc<Shared>,
    _stop: Arc<StopOnDrop>,
}

impl fmt::Debug for SipEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipEndpoint")
            .field("udp", &self.shared.udp_addr)
            .field("tcp", &self.shared.tcp_addr)
            .field("dialogs", &self.active_dialogs())
            .finish()
    }
}

impl SipEndpoint {
    /// Binds, starts the stack, and returns the endpoint with its incoming calls.
    pub async fn start(config: SipConfig) -> Result<(Self, IncomingCalls), SipError> {
        if !config.udp && !config.tcp {
            return Err(SipError::NoTransport);
        }
        let cancel = CancellationToken::new();
        let counters = Arc::new(Counters::default());
        let (udp, port) = bind(&config)?;
        let ip = config.bind.ip();
        let transport_layer = TransportLayer::new(cancel.child_token());
        let mut udp_addr = None;
        if let Some(socket) = udp {
            let socket =
                tokio::net::UdpSocket::from_std(socket).map_err(|source| SipError::Bind {
                    addr: config.bind,
                    source,
                })?;
            udp_addr = socket.local_addr().ok();
            let guarded = GuardedUdp::new(socket, config.user_agent.clone(), counters.clone());
            let connection = UdpConnection::from_socket(
                Arc::new(guarded),
                config.external,
                Some(cancel.child_token()),
            )
            .await
            .map_err(|e| SipError::Stack(e.to_string()))?;
            transport_layer.add_transport(connection.into());
        }
        let mut tcp_addr = None;
        if config.tcp {
            let local = SocketAddr::new(ip, port);
            let listener = TcpListenerConnection::new(local, config.external)
                .await
                .map_err(|e| SipError::Stack(e.to_string()))?;
            transport_layer.add_transport(listener.into());
            tcp_addr = Some(local);
        }

        let option = EndpointOption {
            t1: config.t1,
            t1x64: config.t1 * 64,
            callid_suffix: config.call_id_suffix.clone(),
            callid_format: if config.call_id_suffix.is_some() {
                CallIdFormat::UuidWithSuffix
            } else {
                CallIdFormat::Uuid
            },
            ..EndpointOption::default()
        };
        let endpoint = EndpointBuilder::new()
            .with_user_agent(&config.user_agent)
            .with_transport_layer(transport_layer)
            .with_cancel_token(cancel.clone())
            .with_option(option)
            .with_allows(vec![
                Method::Invite,
                Method::Ack,
                Method::Bye,
                Method::Cancel,
                Method::Options,
                Method::Register,
                Method::Info,
                Method::Update,
            ])
            .build();
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|e| SipError::Stack(e.to_string()))?;
        let inner = endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(e) = inner.serve().await {
                warn!(error = %e, "SIP endpoint stopped");
            }
        });

        let shared = Arc::new(Shared {
            registrar: Registrar::new(
                config.realm.clone(),
                &config.users,
                config.register_expires,
                config.nonce_ttl,
                counters.clone(),
            ),
            invite_rate: PerSourceRate::new(config.invite_rate_per_source),
            flood_log: LogLimiter::new(Duration::from_secs(1)),
            layer: Arc::new(DialogLayer::new(endpoint.inner.clone())),
            endpoint: endpoint.inner.clone(),
            counters,
            cancel: cancel.clone(),
            udp_addr,
            tcp_addr,
            config,
        });
        let (calls_tx, calls_rx) = mpsc::channel(shared.config.incoming_queue.max(1));
        tokio::spawn(dispatch(shared.clone(), incoming, calls_tx));
        info!(udp = ?udp_addr, tcp = ?tcp_addr, "SIP endpoint started");
        Ok((
            Self {
                shared,
                _stop: Arc::new(StopOnDrop(cancel)),
            },
            IncomingCalls { rx: calls_rx },
        ))
    }

    /// The UDP address (the one to give peers), when UDP is enabled.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.shared.udp_addr
    }

    /// The TCP address, when TCP is enabled.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.shared.tcp_addr
    }

    /// Places a call and waits for its outcome (at most the ring timeout plus
    /// the CANCEL's round trip).
    pub async fn call(&self, req: CallRequest) -> Result<OutgoingCall, CallError> {
        let callee = parse_target(&req.to)?;
        place(self.shared.clone(), req, callee, None).await
    }

    /// Calls the phone registered as `user` (`req.to` is not used): the INVITE
    /// goes to its Contact URI, sent to the address its REGISTER came from.
    pub async fn call_registered(
        &self,
        user: &str,
        req: CallRequest,
    ) -> Result<OutgoingCall, CallError> {
        let binding = self
            .shared
            .registrar
            .lookup(user)
            .ok_or_else(|| CallError::NotRegistered(user.to_owned()))?;
        let callee = parse_target(&binding.contact)?;
        let destination = SipAddr {
            r#type: Some(match binding.transport {
                SipTransport::Udp => Transport::Udp,
                SipTransport::Tcp => Transport::Tcp,
            }),
            addr: binding.source.into(),
        };
        place(self.shared.clone(), req, callee, Some(destination)).await
    }

    /// Where the phone registered as `user` is reached, if it is registered.
    pub fn registered(&self, user: &str) -> Option<SocketAddr> {
        self.shared.registrar.lookup(user).map(|b| b.source)
    }

    /// The latest live registration of `user`.
    pub fn registration(&self, user: &str) -> Option<Registration> {
        self.shared.registrar.lookup(user)
    }

    /// Dialogs the stack holds: calls being set up or established.
    pub fn active_dialogs(&self) -> usize {
        self.shared.layer.len()
    }

    pub fn stats(&self) -> SipStats {
        self.shared.counters.snapshot()
    }

    /// Stops listening and ends the incoming-call stream. Calls in progress are
    /// not hung up first.
    pub fn shutdown(&self) {
        self.shared.cancel.cancel();
    }
}

/// The UDP socket (when enabled) and the port both transports use. With port 0,
/// a port free for UDP and TCP alike is searched for.
fn bind(config: &SipConfig) -> Result<(Option<UdpSocket>, u16), SipError> {
    let ip = config.bind.ip();
    let err = |source| SipError::Bind {
        addr: config.bind,
        source,
    };
    let mut last_error = None;
    for _ in 0..20 {
        if !config.udp {
            let port = if config.bind.port() == 0 {
                TcpListener::bind((ip, 0))
                    .and_then(|l| l.local_addr())
                    .map_err(err)?
                    .port()
            } else {
                config.bind.port()
            };
            return Ok((None, port));
        }
        let socket = UdpSocket::bind(config.bind).map_err(err)?;
        socket.set_nonblocking(true).map_err(err)?;
        enlarge_buffers(&socket);
        let port = socket.local_addr().map_err(err)?.port();
        if !config.tcp || config.bind.port() != 0 {
            return Ok((Some(socket), port));
        }
        // rsipstack binds the TCP listener itself, later; check the port is free.
        match TcpListener::bind((ip, port)) {
            Ok(_) => return Ok((Some(socket), port)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(err(
        last_error.unwrap_or_else(|| std::io::Error::other("no free port"))
    ))
}

/// Socket buffers asked of the kernel (which caps them at `net.core.rmem_max`
/// and `wmem_max`). With the default ~200 KiB, a burst of a few hundred
/// responses (100 calls answered at once) overflows and the calls stall until
/// retransmissions.
const UDP_BUFFER: usize = 4 << 20;

fn enlarge_buffers(socket: &UdpSocket) {
    let socket = socket2::SockRef::from(socket);
    if let Err(e) = socket.set_recv_buffer_size(UDP_BUFFER) {
        warn!(error = %e, "cannot enlarge the SIP socket's receive buffer");
    }
    if let Err(e) = socket.set_send_buffer_size(UDP_BUFFER) {
        warn!(error = %e, "cannot enlarge the SIP socket's send buffer");
    }
}
