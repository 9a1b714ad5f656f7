//! One SMTP connection: opening it ourselves (TCP_NODELAY, implicit TLS or
//! STARTTLS, AUTH) and driving a transaction command by command, so that a
//! refusal costs an RSET rather than the connection, and so that what happened
//! to the message is known exactly.

use super::{Security, message::Prepared};
use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Noop, Quit, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use rustls::pki_types::ServerName;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How to secure a connection, prepared once from the configuration.
pub(super) enum Protection {
    Plain,
    StartTls(TlsParameters),
    Implicit(tokio_rustls::TlsConnector, ServerName<'static>),
}

/// Everything needed to open a connection.
pub(super) struct Dialer {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) hello: ClientId,
    pub(super) tls: Protection,
    pub(super) credentials: Option<Credentials>,
    pub(super) timeout: Duration,
}

impl Dialer {
    pub(super) fn new(
        config: &super::SmtpConfig,
        roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) -> Result<Dialer, super::SmtpSetupError> {
        use super::SmtpSetupError::Tls as TlsError;
        let tls = match config.security {
            Security::None => Protection::Plain,
            Security::StartTls => {
                let mut builder = TlsParameters::builder(config.host.clone());
                for der in roots {
                    let cert = lettre::transport::smtp::client::Certificate::from_der(der.to_vec())
                        .map_err(|e| TlsError(e.to_string()))?;
                    builder = builder.add_root_certificate(cert);
                }
                Protection::StartTls(
                    builder
                        .build_rustls()
                        .map_err(|e| TlsError(e.to_string()))?,
                )
            }
            Security::Implicit => {
                // The same trust as lettre's STARTTLS: the system's roots plus ours.
                let tls = crate::tls::client_config(roots).map_err(TlsError)?;
                let name = ServerName::try_from(config.host.clone())
                    .map_err(|e| TlsError(format!("{:?}: {e}", config.host)))?;
                Protection::Implicit(tokio_rustls::TlsConnector::from(Arc::new(tls)), name)
            }
        };
        let credentials = match (&config.username, &config.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            _ => None,
        };
        Ok(Dialer {
            host: config.host.clone(),
            port: config.port,
            hello: ClientId::Domain(config.mail_domain.clone()),
            tls,
            credentials,
            timeout: config.timeout,
        })
    }

    /// Opens, secures and authenticates a connection. Any failure means no
    /// message could have been sent; the error says which step failed.
    pub(super) async fn connect(&self) -> Result<Session, String> {
        let peer = format!("{}:{}", self.host, self.port);
        let connecting = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| format!("cannot connect to {peer}: {e}"))?;
            // lettre writes the body and the final dot separately before reading:
            // with Nagle's algorithm each message would wait for a delayed ACK.
            tcp.set_nodelay(true)
                .map_err(|e| format!("cannot set TCP_NODELAY: {e}"))?;
            let stream: Box<dyn AsyncTokioStream> = match &self.tls {
                Protection::Implicit(connector, name) => Box::new(ImplicitTls(
                    connector
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| format!("TLS handshake with {peer} failed: {e}"))?,
                )),
                Protection::Plain | Protection::StartTls(_) => Box::new(tcp),
            };
            let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
                .await
                .map_err(|e| format!("no SMTP session with {peer}: {}", describe(&e)))?;
            if let Protection::StartTls(parameters) = &self.tls {
                conn.starttls(parameters.clone(), &self.hello)
                    .await
                    .map_err(|e| format!("STARTTLS with {peer} failed: {}", describe(&e)))?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                    .await
                    .map_err(|e| format!("AUTH at {peer} failed: {}", describe(&e)))?;
            }
            Ok(conn)
        };
        match timeout(self.timeout, connecting).await {
            Ok(Ok(conn)) => Ok(Session {
                conn,
                transactions: 0,
                last_used: Instant::now(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!(
                "no SMTP session with {peer} within {:?}",
                self.timeout
            )),
        }
    }
}

/// An open, ready connection.
pub(super) struct Session {
    conn: AsyncSmtpConnection,
    /// Transactions attempted on it, for recycling.
    pub(super) transactions: u64,
    pub(super) last_used: Instant,
}

/// How a transaction ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// 2xx after the body.
    Accepted,
    /// A 4xx or 5xx reply at some step. After `closing` (421) the server
    /// hangs up; otherwise the connection stays in sync for an RSET.
    Refused {
        permanent: bool,
        closing: bool,
        reason: String,
    },
    /// The connection failed, or the server closed it (421), before the body
    /// was sent: the message was not sent.
    LostBeforeBody(String),
    /// The connection failed or timed out once the body was being sent and
    /// before the final reply: the message may have been taken.
    LostAfterBody(String),
}

impl Session {
    /// Runs MAIL, RCPT, DATA and the body.
    pub(super) async fn transact(
        &mut self,
        from: &Address,
        message: &Prepared,
        limit: Duration,
    ) -> Outcome {
        self.transactions += 1;
        self.last_used = Instant::now();
        let mut parameters = vec![];
        if !message.bytes.is_ascii() {
            if !self
                .conn
                .server_info()
                .supports_feature(Extension::EightBitMime)
            {
                return Outcome::Refused {
                    permanent: true,
                    closing: false,
                    reason: "the message is not 7-bit and the server lacks 8BITMIME".into(),
                };
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let before_body = async {
            step(
                limit,
                self.conn.command(Mail::new(Some(from.clone()), parameters)),
            )
            .await?;
            step(
                limit,
                self.conn.command(Rcpt::new(message.to.clone(), vec![])),
            )
            .await?;
            step(limit, self.conn.command(Data)).await
        };
        match before_body.await {
            Ok(()) => {}
            // A 421 here is also how a server ends a connection it let idle.
            Err(Failure::Reply {
                closing: true,
                reason,
                ..
            })
            | Err(Failure::Lost(reason)) => return Outcome::LostBeforeBody(reason),
            Err(Failure::Reply {
                permanent,
                closing: false,
                reason,
            }) => {
                return Outcome::Refused {
                    permanent,
                    closing: false,
                    reason,
                };
            }
        }
        match step(limit, self.conn.message(&message.bytes)).await {
            Ok(()) => Outcome::Accepted,
            Err(Failure::Reply {
                permanent,
                closing,
                reason,
            }) => Outcome::Refused {
                permanent,
                closing,
                reason,
            },
            Err(Failure::Lost(reason)) => Outcome::LostAfterBody(reason),
        }
    }

    /// Clears a refused transaction; false when the connection is no longer usable.
    pub(super) async fn reset(&mut self, limit: Duration) -> bool {
        step(limit, self.conn.command(Rset)).await.is_ok()
    }

    /// NOOP: whether the server still answers.
    pub(super) async fn alive(&mut self, limit: Duration) -> bool {
        step(limit, self.conn.command(Noop)).await.is_ok()
    }

    /// Says goodbye; the connection is closed when `self` drops.
    pub(super) async fn quit(mut self, limit: Duration) {
        let _ = step(limit, self.conn.command(Quit)).await;
    }
}

enum Failure {
    Reply {
        permanent: bool,
        closing: bool,
        reason: String,
    },
    Lost(String),
}

async fn step<T>(
    limit: Duration,
    command: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<(), Failure> {
    match timeout(limit, command).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => match e.status() {
            Some(code) => Err(Failure::Reply {
                permanent: e.is_permanent(),
                closing: code.to_string() == "421",
                reason: format!("smtp {code} {}", server_text(&e)),
            }),
            None => Err(Failure::Lost(describe(&e))),
        },
        Err(_) => Err(Failure::Lost(format!("no reply within {limit:?}"))),
    }
}

/// The server's reply text, without lettre's "permanent error (550): " prefix.
fn server_text(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    e.source().map_or_else(String::new, ToString::to_string)
}

/// A lettre error as a reason: the server's reply when there is one.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("smtp {code} {}", server_text(e)),
        None if e.is_response() && server_text(e) == "incomplete response" => {
            "connection closed by the server".to_owned()
        }
        None => e.to_string(),
    }
}

/// A TLS stream over our own TCP socket, for implicit TLS (port 465): lettre's
/// own implicit TLS would open a socket without TCP_NODELAY.
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}
