//! The UDP socket handed to rsipstack, with a check in front of it.
//!
//! rsipstack silently drops a datagram it cannot parse (an unknown method among
//! them) and one whose Call-ID, CSeq or Via is missing. Every datagram is looked
//! at here first: a broken request that still names where to answer (a Via and a
//! CSeq) gets 400, or 501 for an unknown method, straight from this socket; the
//! rest is dropped and counted. Only well-formed messages reach the stack. It
//! never panics on input and answers at most [`REPLIES_PER_SECOND`] times a second.

use super::limit::LogLimiter;
use super::stats::{Counters, bump};
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Method, Request, SipMessage};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::warn;

/// Replies this socket sends itself at most each second (it must not become a
/// reflector for spoofed floods).
pub(crate) const REPLIES_PER_SECOND: u32 = 500;
/// An echoed header line longer than this makes the request unanswerable.
const MAX_ECHOED_LINE: usize = 1024;

pub(crate) const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE";

/// What to do with one datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Reply { bytes: Vec<u8>, why: String },
    Drop { why: String },
}

#[derive(Debug)]
pub(crate) struct GuardedUdp {
    socket: tokio::net::UdpSocket,
    server: String,
    counters: Arc<Counters>,
    log: LogLimiter,
    replies: Mutex<(Instant, u32)>,
}

impl GuardedUdp {
    pub(crate) fn new(
        socket: tokio::net::UdpSocket,
        server: String,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            socket,
            server,
            counters,
            log: LogLimiter::new(Duration::from_secs(1)),
            replies: Mutex::new((Instant::now(), 0)),
        }
    }

    fn may_reply(&self) -> bool {
        let now = Instant::now();
        let mut window = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 <= REPLIES_PER_SECOND
    }

    fn note(&self, src: SocketAddr, action: &str, why: &str) {
        if let Some(held_back) = self.log.allow() {
            warn!(%src, action, why, held_back, "malformed SIP datagram");
        }
    }
}

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for GuardedUdp {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (len, src) = self.socket.recv_from(buf).await?;
            match inspect(&buf[..len], &self.server) {
                Verdict::Pass => return Ok((len, src)),
                Verdict::Drop { why } => {
                    bump(&self.counters.malformed_dropped);
                    self.note(src, "dropped", &why);
                }
                Verdict::Reply { bytes, why } => {
                    bump(&self.counters.malformed_answered);
                    self.note(src, "answered", &why);
                    if self.may_reply() {
                        // A failed send to a bogus source is nothing to act on.
                        let _ = self.socket.send_to(&bytes, src).await;
                    }
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.socket.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}

/// Decides what happens to one datagram; `server` goes in our own replies.
/// Public only for the fuzz target.
pub fn inspect(packet: &[u8], server: &str) -> Verdict {
    // Keep-alives (CRLF) are rsipstack's to answer.
    if packet.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Pass;
    }
    match SipMessage::try_from(packet) {
        Ok(SipMessage::Request(req)) => match check_request(&req, packet) {
            None => Verdict::Pass,
            Some(why) => reply_or_drop(packet, 400, "Bad Request", why, server),
        },
        Ok(SipMessage::Response(resp)) => {
            let whole = resp.via_header().is_ok()
                && resp.cseq_header().is_ok_and(|c| c.seq().is_ok())
                && resp.call_id_header().is_ok()
                && resp.from_header().is_ok()
                && resp.to_header().is_ok();
            if whole {
                Verdict::Pass
            } else {
                Verdict::Drop {
                    why: "response without Via, CSeq, Call-ID, From or To".to_owned(),
                }
            }
        }
        Err(e) => match request_line(packet) {
            Some((method, _)) if method.parse::<Method>().is_err() => reply_or_drop(
                packet,
                501,
                "Not Implemented",
                format!("unknown method {:?}", truncate(method)),
                server,
            ),
            Some(_) => reply_or_drop(packet, 400, "Bad Request", e.to_string(), server),
            None => Verdict::Drop {
                why: format!("not a SIP request: {}", truncate(&e.to_string())),
            },
        },
    }
}

/// What makes a parsed request unusable, if anything.
fn check_request(req: &Request, packet: &[u8]) -> Option<String> {
    if req.via_header().and_then(|v| v.typed()).is_err() {
        return Some("missing or broken Via".to_owned());
    }
    match req.cseq_header().and_then(|c| Ok((c.seq()?, c.method()?))) {
        Ok((_, method)) if method == req.method => {}
        Ok(_) => return Some("CSeq method differs from the request's".to_owned()),
        Err(_) => return Some("missing or broken CSeq".to_owned()),
    }
    match req.call_id_header() {
        Ok(id) if !id.value().trim().is_empty() => {}
        _ => return Some("missing Call-ID".to_owned()),
    }
    let from = match req.from_header().and_then(|f| f.typed()) {
        Ok(from) => from,
        Err(_) => return Some("missing or broken From".to_owned()),
    };
    if req.to_header().and_then(|t| t.typed()).is_err() {
        return Some("missing or broken To".to_owned());
    }
    if req.method == Method::Invite && from.tag().is_none() {
        return Some("INVITE without a From tag".to_owned());
    }
    content_length_problem(packet)
}

/// RFC 3261 §18.3: on UDP a Content-Length past the datagram's end is an error.
fn content_length_problem(packet: &[u8]) -> Option<String> {
    let (head, body_len) = split_head(packet);
    let value = header_lines(head).find_map(|(name, value)| {
        (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
            .then_some(value)
    })?;
    match value.trim().parse::<usize>() {
        Ok(n) if n <= body_len => None,
        Ok(n) => Some(format!(
            "Content-Length {n} exceeds the {body_len} bytes received"
        )),
        Err(_) => Some("unreadable Content-Length".to_owned()),
    }
}

fn reply_or_drop(packet: &[u8], code: u16, reason: &str, why: String, server: &str) -> Verdict {
    match raw_reply(packet, code, reason, server) {
        Some(bytes) => Verdict::Reply { bytes, why },
        None => Verdict::Drop { why },
    }
}

/// A response built from the request's raw header lines (Via, From, To, Call-ID,
/// CSeq), for requests the SIP parser refused. None when the request names no
/// way back (no Via or CSeq), is an ACK, or is too odd to echo.
fn raw_reply(packet: &[u8], code: u16, reason: &str, server: &str) -> Option<Vec<u8>> {
    let (method, _) = request_line(packet)?;
    if method.eq_ignore_ascii_case("ACK") {
        return None;
    }
    let (head, _) = split_head(packet);
    let mut vias = Vec::new();
    let (mut from, mut to, mut call_id, mut cseq) = (None, None, None, None);
    for (name, value) in header_lines(head).skip(1) {
        if value.len() > MAX_ECHOED_LINE || value.bytes().any(|b| b.is_ascii_control()) {
            return None;
        }
        let is = |long: &str, short: &str| {
            name.eq_ignore_ascii_case(long) || name.eq_ignore_ascii_case(short)
        };
        if is("via", "v") {
            vias.push(value);
        } else if is("from", "f") {
            from.get_or_insert(value);
        } else if is("to", "t") {
            to.get_or_insert(value);
        } else if is("call-id", "i") {
            call_id.get_or_insert(value);
        } else if name.eq_ignore_ascii_case("cseq") {
            cseq.get_or_insert(value);
        }
    }
    let cseq = cseq?;
    if vias.is_empty() || vias.len() > 16 {
        return None;
    }
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for via in vias {
        out.push_str(&format!("Via: {via}\r\n"));
    }
    if let Some(from) = from {
        out.push_str(&format!("From: {from}\r\n"));
    }
    if let Some(to) = to {
        let tag = if to.to_ascii_lowercase().contains(";tag=") {
            String::new()
        } else {
            format!(";tag={}", rsipstack::transaction::random_text(8))
        };
        out.push_str(&format!("To: {to}{tag}\r\n"));
    }
    if let Some(call_id) = call_id {
        out.push_str(&format!("Call-ID: {call_id}\r\n"));
    }
    out.push_str(&format!("CSeq: {cseq}\r\n"));
    if code == 501 || code == 405 {
        out.push_str(&format!("Allow: {ALLOW}\r\n"));
    }
    out.push_str(&format!("Server: {server}\r\nContent-Length: 0\r\n\r\n"));
    Some(out.into_bytes())
}

/// `(method, uri)` when the first line reads like a SIP request line.
fn request_line(packet: &[u8]) -> Option<(&str, &str)> {
    let end = packet
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(packet.len());
    let line = std::str::from_utf8(&packet[..end])
        .ok()?
        .trim_end_matches('\r');
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let (method, uri, version) = (parts.next()?, parts.next()?, parts.next()?);
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
    };
    (parts.next().is_none() && version.eq_ignore_ascii_case("SIP/2.0") && token(method))
        .then_some((method, uri))
}

/// The header section and the number of body bytes after it.
fn split_head(packet: &[u8]) -> (&[u8], usize) {
    match packet.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (&packet[..at], packet.len() - at - 4),
        None => (packet, 0),
    }
}

/// `(name, value)` of each readable `Name: value` line (continuations skipped).
fn header_lines(head: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    head.split(|&b| b == b'\n').filter_map(|line| {
        let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            return None;
        }
        let (name, value) = line.split_once(':')?;
        Some((name.trim(), value.trim()))
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-1\r\n\
        From: <sip:a@192.0.2.9>;tag=f1\r\nTo: <sip:b@192.0.2.1>\r\n\
        Call-ID: c1@192.0.2.9\r\nMax-Forwards: 70\r\n";

    fn status(verdict: &Verdict) -> Option<String> {
        match verdict {
            Verdict::Reply { bytes, .. } => Some(
                String::from_utf8_lossy(bytes)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            _ => None,
        }
    }

    #[test]
    fn a_well_formed_request_passes() {
        let msg = format!(
            "OPTIONS sip:b@192.0.2.1 SIP/2.0\r\n{HEAD}CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(inspect(msg.as_bytes(), "t"), Verdict::Pass);
        assert_eq!(inspect(b"\r\n\r\n", "t"), Verdict::Pass);
    }

    #[test]
    fn garbage_is_dropped() {
        for junk in [
            &b"\x00\xff\xfehello"[..],
            b"GET / HTTP/1.1\r\n\r\n",
            b"SIP/2.0",
        ] {
            assert!(
                matches!(inspect(junk, "t"), Verdict::Drop { .. }),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn an_unknown_method_gets_501_with_allow() {
        let msg = format!("FROBNICATE sip:b@192.0.2.1 SIP/2.0\r\n{HEAD}CSeq: 1 FROBNICATE\r\n\r\n");
        let verdict = inspect(msg.as_bytes(), "t");
        assert_eq!(
            status(&verdict).as_deref(),
            Some("SIP/2.0 501 Not Implemented")
        );
        let Verdict::Reply { bytes, .. } = verdict else {
            unreachable!()
        };
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("Allow: INVITE"));
        assert!(text.contains("Call-ID: c1@192.0.2.9\r\n"));
        assert!(text.contains("To: <sip:b@192.0.2.1>;tag="));
    }

    #[test]
    fn broken_requests_get_400() {
        let no_call_id = "OPTIONS sip:b@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-2\r\n\
            From: <sip:a@192.0.2.9>;tag=f\r\nTo: <sip:b@192.0.2.1>\r\nCSeq: 2 OPTIONS\r\n\r\n";
        let huge_length = format!(
            "INVITE sip:b@192.0.2.1 SIP/2.0\r\n{HEAD}CSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.9>\r\n\
             Content-Length: 99999999999999999999999\r\n\r\nv=0\r\n"
        );
        let long_body = format!(
            "INVITE sip:b@192.0.2.1 SIP/2.0\r\n{HEAD}CSeq: 1 INVITE\r\nContent-Length: 5000\r\n\r\nv=0\r\n"
        );
        let bad_uri = format!("INVITE sip: SIP/2.0\r\n{HEAD}CSeq: 1 INVITE\r\n\r\n");
        for msg in [no_call_id.to_owned(), huge_length, long_body, bad_uri] {
            assert_eq!(
                status(&inspect(msg.as_bytes(), "t")).as_deref(),
                Some("SIP/2.0 400 Bad Request"),
                "{msg}"
            );
        }
    }

    #[test]
    fn a_request_naming_no_way_back_or_an_ack_is_dropped() {
        let no_via = "OPTIONS sip:b@192.0.2.1 SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let ack = format!("ACK sip: SIP/2.0\r\n{HEAD}CSeq: 1 ACK\r\n\r\n");
        for msg in [no_via.to_owned(), ack] {
            assert!(
                matches!(inspect(msg.as_bytes(), "t"), Verdict::Drop { .. }),
                "{msg}"
            );
        }
    }

    /// What every reply must be, whatever came in: one of our two status lines,
    /// CRLF-separated header lines with no stray CR or LF, and not much longer
    /// than the request (the socket must not amplify a spoofed flood).
    fn assert_sane_reply(packet: &[u8], bytes: &[u8], server: &str) {
        let text = String::from_utf8(bytes.to_vec()).expect("replies are UTF-8");
        assert!(
            text.starts_with("SIP/2.0 400 Bad Request\r\n")
                || text.starts_with("SIP/2.0 501 Not Implemented\r\n"),
            "{text}"
        );
        let head = text
            .strip_suffix("\r\n\r\n")
            .expect("ends the header section");
        assert!(
            head.split("\r\n").all(|l| !l.contains(['\r', '\n'])),
            "{text:?}"
        );
        assert!(
            bytes.len() <= packet.len() + 256 + server.len(),
            "{} bytes answered to {}",
            bytes.len(),
            packet.len()
        );
    }

    #[test]
    fn random_datagrams_never_panic_and_replies_stay_sane() {
        let mut rng = fastrand::Rng::with_seed(0x5EED_0005);
        let pieces: &[&str] = &[
            "INVITE sip:b@192.0.2.1 SIP/2.0\r\n",
            "OPTIONS sip:b@192.0.2.1 SIP/2.0\r\n",
            "ACK sip:b@192.0.2.1 SIP/2.0\r\n",
            "FROBNICATE sip:b@192.0.2.1 SIP/2.0\r\n",
            "SIP/2.0 200 OK\r\n",
            "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-1\r\n",
            "v: SIP/2.0/UDP 192.0.2.9;rport\r\n",
            "From: <sip:a@192.0.2.9>;tag=f1\r\n",
            "f: <sip:a@192.0.2.9>\r\n",
            "To: <sip:b@192.0.2.1>\r\n",
            "t: b <sip:b@192.0.2.1>;tag=9\r\n",
            "Call-ID: c1@192.0.2.9\r\n",
            "i: x\r\n",
            "CSeq: 1 INVITE\r\n",
            "CSeq: 1 OPTIONS\r\n",
            "CSeq: x\r\n",
            "Content-Length: 4\r\n",
            "l: 99999999999999999999\r\n",
            "Content-Type: application/sdp\r\n",
            "Max-Forwards: 70\r\n",
            "\r\n",
            "\n",
            " ",
            ":",
            ";",
            "<",
            ">",
            "@",
            "sip:",
            "é",
            "\0",
            "v=0\r\n",
        ];
        let server = "Crieur";
        let (mut passed, mut answered, mut dropped) = (0, 0, 0);
        let mut bytes = Vec::new();
        for _ in 0..10_000 {
            bytes.clear();
            for _ in 0..rng.usize(0..16) {
                match rng.u8(..8) {
                    0 => bytes.push(rng.u8(..)),
                    _ => bytes.extend_from_slice(pieces[rng.usize(..pieces.len())].as_bytes()),
                }
            }
            // A whole request now and then, so the checks past parsing are reached.
            if rng.u8(..3) == 0 {
                let method = ["OPTIONS", "INVITE", "BYE", "FOO"][rng.usize(..4)];
                let whole =
                    format!("{method} sip:b@192.0.2.1 SIP/2.0\r\n{HEAD}CSeq: 1 {method}\r\n");
                bytes.splice(0..0, whole.bytes());
            }
            // And a byte changed or the datagram cut short.
            if !bytes.is_empty() && rng.bool() {
                let at = rng.usize(..bytes.len());
                match rng.u8(..3) {
                    0 => bytes[at] = rng.u8(..),
                    1 => bytes.truncate(at),
                    _ => bytes.insert(at, rng.u8(..)),
                }
            }
            match inspect(&bytes, server) {
                Verdict::Pass => passed += 1,
                Verdict::Drop { .. } => dropped += 1,
                Verdict::Reply { bytes: reply, .. } => {
                    answered += 1;
                    assert_sane_reply(&bytes, &reply, server);
                }
            }
        }
        assert!(
            passed > 100 && answered > 100 && dropped > 100,
            "the generator should reach every verdict: \
             {passed} passed, {answered} answered, {dropped} dropped"
        );
    }
}
