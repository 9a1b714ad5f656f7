//! SDP (RFC 4566) for audio calls: reading a peer's session description, writing
//! ours, and the offer/answer negotiation of RFC 3264 ([`LocalMedia`]).
//!
//! Only what a G.711 call needs is understood (o=, c=, m=, rtpmap, fmtp, ptime and
//! the direction attributes); other attributes are kept as text, other lines are
//! skipped. Parsing never panics and refuses bodies over 16 KiB or 64 media lines.

mod negotiate;

pub use negotiate::{LocalMedia, Negotiated, NegotiationError};

use std::fmt;
use std::net::IpAddr;

/// The largest SDP body Crieur reads.
pub const MAX_LEN: usize = 16 * 1024;
/// The most media descriptions (m= lines) Crieur reads.
pub const MAX_MEDIA: usize = 64;
/// The most formats on one m= line, and attributes in one section.
pub const MAX_FORMATS: usize = 64;
pub const MAX_ATTRIBUTES: usize = 128;

/// Why a body is not an SDP Crieur can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP larger than {MAX_LEN} bytes")]
    TooLarge,
    #[error("SDP is not UTF-8")]
    NotUtf8,
    #[error("SDP does not start with v=0")]
    BadVersion,
    #[error("SDP line {line}: {reason}")]
    BadLine { line: usize, reason: &'static str },
    #[error("SDP has no o= line")]
    NoOrigin,
    #[error(
        "SDP has more than {MAX_MEDIA} media, {MAX_FORMATS} formats or {MAX_ATTRIBUTES} attributes in a section"
    )]
    TooMany,
}

/// The stream direction attributes (RFC 4566 §6, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn parse(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction seen from the other end (sendonly ↔ recvonly).
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// Sends only if both allow it, receives only if both allow it.
    pub fn intersect(self, other: Direction) -> Direction {
        match (
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        ) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// `o=<username> <sess-id> <sess-version> IN <IP4|IP6> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: String,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

/// One attribute, the ones Crieur uses already read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    RtpMap(RtpMap),
    Fmtp { payload_type: u8, params: String },
    Ptime(u32),
    Direction(Direction),
    Other { name: String, value: Option<String> },
}

/// One m= section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// "audio", "video", ...
    pub media: String,
    /// 0 means the stream is refused or disabled.
    pub port: u16,
    /// "RTP/AVP", "RTP/SAVP", ...
    pub proto: String,
    /// RTP payload types (as text: other protocols have other formats).
    pub formats: Vec<String>,
    /// c= of this section, which overrides the session's.
    pub connection: Option<IpAddr>,
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    pub fn rtpmaps(&self) -> impl Iterator<Item = &RtpMap> {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::RtpMap(map) => Some(map),
            _ => None,
        })
    }

    pub fn rtpmap(&self, payload_type: u8) -> Option<&RtpMap> {
        self.rtpmaps().find(|m| m.payload_type == payload_type)
    }

    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp {
                payload_type: pt,
                params,
            } if *pt == payload_type => Some(params.as_str()),
            _ => None,
        })
    }

    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(ms) => Some(*ms),
            _ => None,
        })
    }

    /// The direction attribute of this section, if it has one.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// The formats that are RTP payload types (0..=127), in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok().filter(|pt| *pt < 128))
    }
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    /// Session-level c=, the default of every section.
    pub connection: Option<IpAddr>,
    /// Session-level attributes (a direction here is every section's default).
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// Reads an SDP body as received in a SIP message.
    pub fn parse_bytes(body: &[u8]) -> Result<SessionDescription, SdpError> {
        if body.len() > MAX_LEN {
            return Err(SdpError::TooLarge);
        }
        let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
        SessionDescription::parse(text)
    }

    /// Reads an SDP text; lines may end in CRLF or LF.
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        if text.len() > MAX_LEN {
            return Err(SdpError::TooLarge);
        }
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, "v=0")) => {}
            _ => return Err(SdpError::BadVersion),
        }

        let mut origin = None;
        let mut session_name = String::from("-");
        let mut connection = None;
        let mut attributes = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();
        for (line, text) in lines {
            let bad = |reason| SdpError::BadLine { line, reason };
            let (kind, value) = match text.as_bytes() {
                [kind @ b'a'..=b'z', b'=', ..] => (*kind, &text[2..]),
                _ => return Err(bad("not <letter>=<value>")),
            };
            match (kind, media.last_mut()) {
                (b'o', None) => origin = Some(parse_origin(value).ok_or(bad("bad o= line"))?),
                (b's', None) => session_name = value.to_owned(),
                (b'c', None) => {
                    connection = Some(parse_connection(value).ok_or(bad("bad c= line"))?)
                }
                (b'c', Some(section)) => {
                    section.connection = Some(parse_connection(value).ok_or(bad("bad c= line"))?)
                }
                (b'a', None) => push_attribute(&mut attributes, value).map_err(bad)?,
                (b'a', Some(section)) => {
                    push_attribute(&mut section.attributes, value).map_err(bad)?
                }
                (b'm', _) => {
                    if media.len() == MAX_MEDIA {
                        return Err(SdpError::TooMany);
                    }
                    media.push(parse_media(value).map_err(bad)?);
                }
                // t=, b=, i=, u=, e=, p=, z=, k=, r= and unknown letters: not needed.
                _ => {}
            }
        }
        Ok(SessionDescription {
            origin: origin.ok_or(SdpError::NoOrigin)?,
            session_name,
            connection,
            attributes,
            media,
        })
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// The direction of a section: its own, else the session's, else sendrecv.
    pub fn media_direction(&self, media: &MediaDescription) -> Direction {
        media.direction().or(self.direction()).unwrap_or_default()
    }

    /// The address a section's media goes to: its own c=, else the session's.
    pub fn media_address(&self, media: &MediaDescription) -> Option<IpAddr> {
        media.connection.or(self.connection)
    }
}

fn parse_origin(value: &str) -> Option<Origin> {
    let mut fields = value.split_ascii_whitespace().map(str::to_owned);
    let origin = Origin {
        username: fields.next()?,
        session_id: fields.next()?,
        session_version: fields.next()?,
        net_type: fields.next()?,
        addr_type: fields.next()?,
        address: fields.next()?,
    };
    fields.next().is_none().then_some(origin)
}

/// `IN IP4 <address>[/ttl[/count]]`; host names are not resolved and refused.
fn parse_connection(value: &str) -> Option<IpAddr> {
    let mut fields = value.split_ascii_whitespace();
    let (net, kind, address) = (fields.next()?, fields.next()?, fields.next()?);
    if net != "IN" || fields.next().is_some() {
        return None;
    }
    let address: IpAddr = address.split('/').next()?.parse().ok()?;
    match (kind, address) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Some(address),
        _ => None,
    }
}

/// `<media> <port>[/<count>] <proto> <fmt> ...`
fn parse_media(value: &str) -> Result<MediaDescription, &'static str> {
    let mut fields = value.split_ascii_whitespace();
    let media = fields.next().ok_or("m= without media")?.to_owned();
    let port = fields.next().ok_or("m= without port")?;
    let port = port.split('/').next().unwrap_or(port);
    let port: u16 = port.parse().map_err(|_| "bad m= port")?;
    let proto = fields.next().ok_or("m= without protocol")?.to_owned();
    let mut formats = Vec::new();
    for format in fields {
        if formats.len() == MAX_FORMATS {
            return Err("too many formats on an m= line");
        }
        formats.push(format.to_owned());
    }
    if formats.is_empty() {
        return Err("m= without formats");
    }
    Ok(MediaDescription {
        media,
        port,
        proto,
        formats,
        connection: None,
        attributes: Vec::new(),
    })
}

fn push_attribute(attributes: &mut Vec<Attribute>, value: &str) -> Result<(), &'static str> {
    if attributes.len() == MAX_ATTRIBUTES {
        return Err("too many attributes");
    }
    attributes.push(parse_attribute(value)?);
    Ok(())
}

fn parse_attribute(value: &str) -> Result<Attribute, &'static str> {
    let (name, rest) = match value.split_once(':') {
        Some((name, rest)) => (name, Some(rest)),
        None => (value, None),
    };
    if name.is_empty() {
        return Err("attribute without a name");
    }
    let attribute = match (name, rest) {
        ("rtpmap", Some(rest)) => Attribute::RtpMap(parse_rtpmap(rest).ok_or("bad a=rtpmap")?),
        ("fmtp", Some(rest)) => {
            let (pt, params) = rest.split_once(' ').ok_or("bad a=fmtp")?;
            Attribute::Fmtp {
                payload_type: parse_payload_type(pt).ok_or("bad a=fmtp payload type")?,
                params: params.trim().to_owned(),
            }
        }
        ("ptime", Some(rest)) => {
            let ms: u32 = rest.trim().parse().map_err(|_| "bad a=ptime")?;
            if ms == 0 || ms > 1000 {
                return Err("a=ptime out of range");
            }
            Attribute::Ptime(ms)
        }
        ("rtpmap" | "fmtp" | "ptime", None) => return Err("attribute without its value"),
        (name, None) => match Direction::parse(name) {
            Some(direction) => Attribute::Direction(direction),
            None => Attribute::Other {
                name: name.to_owned(),
                value: None,
            },
        },
        (name, Some(rest)) => Attribute::Other {
            name: name.to_owned(),
            value: Some(rest.to_owned()),
        },
    };
    Ok(attribute)
}

fn parse_payload_type(text: &str) -> Option<u8> {
    text.trim().parse::<u8>().ok().filter(|pt| *pt < 128)
}

fn parse_rtpmap(value: &str) -> Option<RtpMap> {
    let (pt, rest) = value.split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?.to_owned();
    let clock_rate = parts.next()?.parse().ok().filter(|rate| *rate > 0)?;
    let channels = match parts.next() {
        Some(channels) => Some(channels.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(RtpMap {
        payload_type: parse_payload_type(pt)?,
        encoding,
        clock_rate,
        channels,
    })
}

fn write_connection(f: &mut fmt::Formatter<'_>, address: IpAddr) -> fmt::Result {
    let kind = if address.is_ipv4() { "IP4" } else { "IP6" };
    write!(f, "c=IN {kind} {address}\r\n")
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::RtpMap(map) => {
                write!(
                    f,
                    "rtpmap:{} {}/{}",
                    map.payload_type, map.encoding, map.clock_rate
                )?;
                match map.channels {
                    Some(channels) => write!(f, "/{channels}"),
                    None => Ok(()),
                }
            }
            Attribute::Fmtp {
                payload_type,
                params,
            } => write!(f, "fmtp:{payload_type} {params}"),
            Attribute::Ptime(ms) => write!(f, "ptime:{ms}"),
            Attribute::Direction(direction) => f.write_str(direction.as_str()),
            Attribute::Other { name, value: None } => f.write_str(name),
            Attribute::Other {
                name,
                value: Some(value),
            } => write!(f, "{name}:{value}"),
        }
    }
}

/// Writes the SDP body, CRLF line ends, as RFC 4566 orders the lines.
impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        if let Some(address) = self.connection {
            write_connection(f, address)?;
        }
        write!(f, "t=0 0\r\n")?;
        for attribute in &self.attributes {
            write!(f, "a={attribute}\r\n")?;
        }
        for media in &self.media {
            write!(f, "m={} {} {}", media.media, media.port, media.proto)?;
            for format in &media.formats {
                write!(f, " {format}")?;
            }
            write!(f, "\r\n")?;
            if let Some(address) = media.connection {
                write_connection(f, address)?;
            }
            for attribute in &media.attributes {
                write!(f, "a={attribute}\r\n")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offer of /work/shared/recipes/telephony/sipp/uac_rtp_dtmf.xml, filled in.
    pub(crate) const SIPP_OFFER: &str = "v=0\r\n\
        o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        c=IN IP4 127.0.0.1\r\n\
        t=0 0\r\n\
        m=audio 6100 RTP/AVP 0 101\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-16\r\n\
        a=ptime:20\r\n";

    #[test]
    fn reads_the_sipp_offer() {
        let sdp = SessionDescription::parse(SIPP_OFFER).unwrap();
        assert_eq!(sdp.origin.username, "user1");
        assert_eq!(sdp.origin.session_version, "2353687637");
        assert_eq!(sdp.connection, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(sdp.media.len(), 1);
        let audio = &sdp.media[0];
        assert_eq!(
            (audio.media.as_str(), audio.port, audio.proto.as_str()),
            ("audio", 6100, "RTP/AVP")
        );
        assert_eq!(audio.payload_types().collect::<Vec<_>>(), [0, 101]);
        assert_eq!(audio.rtpmap(101).unwrap().encoding, "telephone-event");
        assert_eq!(audio.fmtp(101), Some("0-16"));
        assert_eq!(audio.ptime(), Some(20));
        assert_eq!(sdp.media_direction(audio), Direction::SendRecv);
        // What we write reads back the same.
        let written = sdp.to_string();
        assert_eq!(SessionDescription::parse(&written).unwrap(), sdp);
        assert_eq!(written, SIPP_OFFER);
    }

    #[test]
    fn reads_lf_lines_media_connection_and_directions() {
        let text = "v=0\no=- 1 2 IN IP6 ::1\ns=call\nt=0 0\na=sendonly\n\
            m=audio 4000/2 RTP/AVP 8 0\nc=IN IP6 2001:db8::1\na=recvonly\na=x-custom:1 2\na=flag\n\
            m=video 0 RTP/AVP 96\n";
        let sdp = SessionDescription::parse(text).unwrap();
        assert_eq!(sdp.connection, None);
        assert_eq!(sdp.media[0].port, 4000);
        assert_eq!(
            sdp.media_address(&sdp.media[0]),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(sdp.media_direction(&sdp.media[0]), Direction::RecvOnly);
        assert_eq!(sdp.media_direction(&sdp.media[1]), Direction::SendOnly);
        assert_eq!(sdp.media_address(&sdp.media[1]), None);
        assert!(sdp.media[0].attributes.contains(&Attribute::Other {
            name: "x-custom".into(),
            value: Some("1 2".into())
        }));
        assert_eq!(SessionDescription::parse(&sdp.to_string()).unwrap(), sdp);
    }

    #[test]
    fn refuses_malformed_lines() {
        let base = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
        let bad_tails = [
            "m=audio\r\n",
            "m=audio 70000 RTP/AVP 0\r\n",
            "m=audio 4000 RTP/AVP\r\n",
            "m=audio x RTP/AVP 0\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=rtpmap:200 PCMU/8000\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/0\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000/1/2\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=rtpmap\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=fmtp:101\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=ptime:abc\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=ptime:0\r\n",
            "m=audio 4000 RTP/AVP 0\r\na=:x\r\n",
            "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 host.example\r\n",
            "m=audio 4000 RTP/AVP 0\r\nc=IN IP6 10.0.0.1\r\n",
            "m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n",
            "garbage\r\n",
            "M=audio 4000 RTP/AVP 0\r\n",
            "=x\r\n",
        ];
        for tail in bad_tails {
            let text = format!("{base}{tail}");
            assert!(
                matches!(
                    SessionDescription::parse(&text),
                    Err(SdpError::BadLine { .. })
                ),
                "{tail:?} should be refused"
            );
        }
        assert_eq!(SessionDescription::parse(""), Err(SdpError::BadVersion));
        assert_eq!(
            SessionDescription::parse("v=1\r\n"),
            Err(SdpError::BadVersion)
        );
        assert_eq!(
            SessionDescription::parse("v=0\r\ns=-\r\n"),
            Err(SdpError::NoOrigin)
        );
        assert!(matches!(
            SessionDescription::parse("v=0\r\no=- 1\r\n"),
            Err(SdpError::BadLine { line: 2, .. })
        ));
        assert_eq!(
            SessionDescription::parse_bytes(b"v=0\r\n\xff\r\n"),
            Err(SdpError::NotUtf8)
        );
    }

    #[test]
    fn refuses_oversized_bodies() {
        let huge = format!(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\na={}\r\n",
            "x".repeat(MAX_LEN)
        );
        assert_eq!(SessionDescription::parse(&huge), Err(SdpError::TooLarge));
        assert_eq!(
            SessionDescription::parse_bytes(huge.as_bytes()),
            Err(SdpError::TooLarge)
        );
        let mut many = String::from("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n");
        for _ in 0..=MAX_MEDIA {
            many.push_str("m=audio 0 RTP/AVP 0\r\n");
        }
        assert_eq!(SessionDescription::parse(&many), Err(SdpError::TooMany));
        let mut attributes = String::from("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n");
        for _ in 0..=MAX_ATTRIBUTES {
            attributes.push_str("a=x\r\n");
        }
        assert!(SessionDescription::parse(&attributes).is_err());
        let formats = format!(
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP{}\r\n",
            " 0".repeat(65)
        );
        assert!(SessionDescription::parse(&formats).is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = fastrand::Rng::with_seed(0x5EED_0002);
        let pieces: &[&str] = &[
            "v=0\r\n",
            "o=- 1 1 IN IP4 1.2.3.4\r\n",
            "c=IN IP4 1.2.3.4\r\n",
            "c=IN IP6 ::1/3\r\n",
            "m=audio 4000 RTP/AVP 0 8 101\r\n",
            "m=",
            "a=rtpmap:",
            "a=fmtp:101 0-16\r\n",
            "a=ptime:",
            "a=sendonly\r\n",
            " ",
            "/",
            ":",
            "\r\n",
            "\n",
            "0",
            "101",
            "é",
            "\0",
        ];
        let ours = LocalMedia::new("127.0.0.1".parse().unwrap(), 7000);
        let mut parsed = 0;
        for _ in 0..10_000 {
            let mut bytes = Vec::new();
            for _ in 0..rng.usize(0..24) {
                if rng.bool() {
                    bytes.extend_from_slice(pieces[rng.usize(..pieces.len())].as_bytes());
                } else {
                    bytes.push(rng.u8(..));
                }
            }
            if rng.u8(..4) == 0 {
                bytes.splice(0..0, b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n".iter().copied());
            }
            if let Ok(sdp) = SessionDescription::parse_bytes(&bytes) {
                parsed += 1;
                // Whatever we read, we write so that it reads the same.
                let again = SessionDescription::parse(&sdp.to_string());
                assert_eq!(
                    again.as_ref(),
                    Ok(&sdp),
                    "{:?}",
                    String::from_utf8_lossy(&bytes)
                );
                let _ = ours.answer(&sdp);
                let _ = ours.accept_answer(&sdp);
            }
        }
        assert!(parsed > 100, "the generator should reach valid bodies too");
    }
}
