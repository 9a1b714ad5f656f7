//! Offer/answer (RFC 3264) for one G.711 audio stream with RFC 4733 events.
//!
//! Answering takes the first of the offer's formats that we support (the offerer's
//! preference), keeps the offerer's telephone-event payload type, and refuses every
//! other stream with port 0. Nothing in common is an error the SIP layer answers
//! with 488 Not Acceptable Here.

use super::{Attribute, Direction, MediaDescription, Origin, RtpMap, SessionDescription};
use crate::dtmf;
use crate::g711::{Codec, SAMPLE_RATE};
use std::net::{IpAddr, SocketAddr};

const TELEPHONE_EVENT: &str = "telephone-event";
/// The events Crieur announces: the 16 keys and flash, as SIPp and most phones do.
const EVENTS: &str = "0-16";
const AVP: &str = "RTP/AVP";

/// Why no media session can come out of an offer or answer. The SIP layer answers
/// an INVITE failing this way with [`NegotiationError::SIP_STATUS`] (488).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error("no RTP/AVP audio stream")]
    NoAudio,
    #[error("no audio format in common (we take PCMU and PCMA)")]
    NoCommonCodec,
    #[error("the audio stream has no connection address")]
    NoAddress,
}

impl NegotiationError {
    /// 488 Not Acceptable Here (RFC 3261 §21.4.26).
    pub const SIP_STATUS: u16 = 488;
}

/// What both ends agreed on: everything a media session needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Where our RTP goes, and the only address RTP is accepted from.
    pub remote: SocketAddr,
    pub codec: Codec,
    /// The payload type the audio travels with (the codec's static one unless the
    /// peer mapped it to a dynamic one).
    pub payload_type: u8,
    /// The payload type of RFC 4733 events, if both ends support them.
    pub telephone_event: Option<u8>,
    /// The peer's preferred packet duration in ms (Crieur always sends 20 ms).
    pub ptime: Option<u32>,
    /// Our direction: whether we may send and whether we expect to receive.
    pub direction: Direction,
}

/// Our side of the media: where we listen and what we accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    pub username: String,
    pub session_id: u64,
    /// Increment it for each new description of the same session (re-INVITE).
    pub session_version: u64,
    /// The address written in o= and c= (what the peer sends RTP to).
    pub address: IpAddr,
    /// Our RTP port (the media socket's).
    pub port: u16,
    /// Codecs we accept, in our order of preference for offers.
    pub codecs: Vec<Codec>,
    /// The payload type we offer for telephone events; `None` to refuse them.
    pub telephone_event: Option<u8>,
    pub ptime: u32,
    pub direction: Direction,
}

impl LocalMedia {
    /// PCMU, PCMA, telephone-event at 101, 20 ms, sendrecv, a random session id.
    pub fn new(address: IpAddr, port: u16) -> LocalMedia {
        LocalMedia {
            username: "crieur".to_owned(),
            session_id: fastrand::u64(1..1 << 62),
            session_version: 1,
            address,
            port,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: Some(dtmf::DEFAULT_PAYLOAD_TYPE),
            ptime: 20,
            direction: Direction::SendRecv,
        }
    }

    /// The offer of an outgoing call.
    pub fn offer(&self) -> SessionDescription {
        let audio = self.audio_section(
            self.codecs.iter().map(|c| (*c, c.payload_type())).collect(),
            self.telephone_event,
            self.direction,
        );
        self.description(vec![audio])
    }

    /// Answers a peer's offer: the answer to send back and what was agreed.
    pub fn answer(
        &self,
        offer: &SessionDescription,
    ) -> Result<(SessionDescription, Negotiated), NegotiationError> {
        let mut chosen = None;
        let mut error = NegotiationError::NoAudio;
        for (index, media) in offer.media.iter().enumerate() {
            if chosen.is_some() || !is_usable_audio(media) {
                continue;
            }
            match self.agree(offer, media) {
                Ok(agreed) => chosen = Some((index, agreed)),
                Err(e) => error = e,
            }
        }
        let (chosen_index, negotiated) = chosen.ok_or(error)?;

        let sections = offer
            .media
            .iter()
            .enumerate()
            .map(|(index, media)| {
                if index == chosen_index {
                    self.audio_section(
                        vec![(negotiated.codec, negotiated.payload_type)],
                        negotiated.telephone_event,
                        negotiated.direction,
                    )
                } else {
                    refused(media)
                }
            })
            .collect();
        Ok((self.description(sections), negotiated))
    }

    /// Reads the peer's answer to our [`LocalMedia::offer`].
    pub fn accept_answer(
        &self,
        answer: &SessionDescription,
    ) -> Result<Negotiated, NegotiationError> {
        let mut error = NegotiationError::NoAudio;
        for media in answer.media.iter().filter(|m| is_usable_audio(m)) {
            match self.agree(answer, media) {
                Ok(agreed) => return Ok(agreed),
                Err(e) => error = e,
            }
        }
        Err(error)
    }

    /// The first of `media`'s formats we support, its events, address and direction.
    fn agree(
        &self,
        sdp: &SessionDescription,
        media: &MediaDescription,
    ) -> Result<Negotiated, NegotiationError> {
        let (codec, payload_type) = media
            .payload_types()
            .find_map(|pt| {
                codec_of(media, pt)
                    .filter(|codec| self.codecs.contains(codec))
                    .map(|codec| (codec, pt))
            })
            .ok_or(NegotiationError::NoCommonCodec)?;
        let telephone_event = self.telephone_event.and(
            media
                .payload_types()
                .find(|pt| is_telephone_event(media, *pt)),
        );
        let address = sdp
            .media_address(media)
            .ok_or(NegotiationError::NoAddress)?;
        let mut direction = sdp
            .media_direction(media)
            .reversed()
            .intersect(self.direction);
        if address.is_unspecified() {
            // c=0.0.0.0 is the old way of putting a call on hold: send nothing.
            direction = direction.intersect(Direction::RecvOnly);
        }
        Ok(Negotiated {
            remote: SocketAddr::new(address, media.port),
            codec,
            payload_type,
            telephone_event,
            ptime: media.ptime(),
            direction,
        })
    }

    fn audio_section(
        &self,
        codecs: Vec<(Codec, u8)>,
        telephone_event: Option<u8>,
        direction: Direction,
    ) -> MediaDescription {
        let mut formats: Vec<String> = codecs.iter().map(|(_, pt)| pt.to_string()).collect();
        let mut attributes: Vec<Attribute> = codecs
            .iter()
            .map(|(codec, pt)| {
                Attribute::RtpMap(RtpMap {
                    payload_type: *pt,
                    encoding: codec.name().to_owned(),
                    clock_rate: SAMPLE_RATE,
                    channels: None,
                })
            })
            .collect();
        if let Some(pt) = telephone_event {
            formats.push(pt.to_string());
            attributes.push(Attribute::RtpMap(RtpMap {
                payload_type: pt,
                encoding: TELEPHONE_EVENT.to_owned(),
                clock_rate: SAMPLE_RATE,
                channels: None,
            }));
            attributes.push(Attribute::Fmtp {
                payload_type: pt,
                params: EVENTS.to_owned(),
            });
        }
        attributes.push(Attribute::Ptime(self.ptime));
        attributes.push(Attribute::Direction(direction));
        MediaDescription {
            media: "audio".to_owned(),
            port: self.port,
            proto: AVP.to_owned(),
            formats,
            connection: None,
            attributes,
        }
    }

    fn description(&self, media: Vec<MediaDescription>) -> SessionDescription {
        let addr_type = if self.address.is_ipv4() { "IP4" } else { "IP6" };
        SessionDescription {
            origin: Origin {
                username: self.username.clone(),
                session_id: self.session_id.to_string(),
                session_version: self.session_version.to_string(),
                net_type: "IN".to_owned(),
                addr_type: addr_type.to_owned(),
                address: self.address.to_string(),
            },
            session_name: "-".to_owned(),
            connection: Some(self.address),
            attributes: Vec::new(),
            media,
        }
    }
}

fn is_usable_audio(media: &MediaDescription) -> bool {
    media.media.eq_ignore_ascii_case("audio")
        && media.port != 0
        && media.proto.eq_ignore_ascii_case(AVP)
}

/// The G.711 codec a payload type stands for: by its rtpmap, else by the static table.
fn codec_of(media: &MediaDescription, pt: u8) -> Option<Codec> {
    match media.rtpmap(pt) {
        Some(map) => {
            let mono = map.channels.is_none_or(|c| c == 1);
            Codec::from_name(&map.encoding).filter(|_| map.clock_rate == SAMPLE_RATE && mono)
        }
        None => Codec::from_payload_type(pt),
    }
}

fn is_telephone_event(media: &MediaDescription, pt: u8) -> bool {
    media.rtpmap(pt).is_some_and(|map| {
        map.encoding.eq_ignore_ascii_case(TELEPHONE_EVENT) && map.clock_rate == SAMPLE_RATE
    })
}

/// A refused stream in an answer: same media and protocol, port 0 (RFC 3264 §6).
fn refused(media: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media: media.media.clone(),
        port: 0,
        proto: media.proto.clone(),
        formats: media.formats.clone(),
        connection: None,
        attributes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::SIPP_OFFER;
    use super::*;

    fn local() -> LocalMedia {
        LocalMedia {
            session_id: 42,
            ..LocalMedia::new("127.0.0.1".parse().unwrap(), 7000)
        }
    }

    fn offer(body: &str) -> SessionDescription {
        SessionDescription::parse(body).unwrap()
    }

    #[test]
    fn answers_sipp_with_pcmu_and_its_event_type() {
        let (answer, agreed) = local().answer(&offer(SIPP_OFFER)).unwrap();
        assert_eq!(
            agreed,
            Negotiated {
                remote: "127.0.0.1:6100".parse().unwrap(),
                codec: Codec::Pcmu,
                payload_type: 0,
                telephone_event: Some(101),
                ptime: Some(20),
                direction: Direction::SendRecv,
            }
        );
        assert_eq!(
            answer.to_string(),
            "v=0\r\no=crieur 42 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio 7000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
        );
    }

    #[test]
    fn takes_the_offerers_first_supported_format() {
        let body = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
            m=audio 5004 RTP/AVP 18 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=sendonly\r\n";
        let (answer, agreed) = local().answer(&offer(body)).unwrap();
        assert_eq!(agreed.codec, Codec::Pcma);
        assert_eq!(
            agreed.telephone_event,
            Some(96),
            "the offerer's event type is kept"
        );
        assert_eq!(agreed.direction, Direction::RecvOnly, "they only send");
        assert_eq!(answer.media[0].formats, ["8", "96"]);
        assert_eq!(answer.media[0].direction(), Some(Direction::RecvOnly));
        let mut pcmu_only = local();
        pcmu_only.codecs = vec![Codec::Pcmu];
        assert_eq!(pcmu_only.answer(&offer(body)).unwrap().1.codec, Codec::Pcmu);
    }

    #[test]
    fn a_dynamic_mapping_of_pcmu_is_followed() {
        let body = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nt=0 0\r\n\
            m=audio 5004 RTP/AVP 97 0\r\nc=IN IP4 10.0.0.3\r\na=rtpmap:97 pcmu/8000\r\n";
        let (answer, agreed) = local().answer(&offer(body)).unwrap();
        assert_eq!((agreed.codec, agreed.payload_type), (Codec::Pcmu, 97));
        assert_eq!(agreed.remote, "10.0.0.3:5004".parse().unwrap());
        assert_eq!(agreed.telephone_event, None);
        assert_eq!(answer.media[0].formats, ["97"]);
    }

    #[test]
    fn g729_only_is_not_acceptable() {
        let body = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
            m=audio 5004 RTP/AVP 18 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
        let error = local().answer(&offer(body)).unwrap_err();
        assert_eq!(error, NegotiationError::NoCommonCodec);
        assert_eq!(NegotiationError::SIP_STATUS, 488);
        // PCMU at another clock rate is not PCMU.
        let wideband = body
            .replace("18 101", "0")
            .replace("18 G729/8000", "0 PCMU/16000");
        assert_eq!(
            local().answer(&offer(&wideband)),
            Err(NegotiationError::NoCommonCodec)
        );
    }

    #[test]
    fn other_streams_are_refused_with_port_zero() {
        let body = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
            m=video 5006 RTP/AVP 96\r\nm=audio 5008 RTP/SAVP 0\r\nm=audio 5004 RTP/AVP 0\r\n\
            m=audio 5010 RTP/AVP 8\r\n";
        let (answer, agreed) = local().answer(&offer(body)).unwrap();
        assert_eq!(agreed.remote.port(), 5004);
        let ports: Vec<u16> = answer.media.iter().map(|m| m.port).collect();
        assert_eq!(ports, [0, 0, 7000, 0], "one answer line per offer line");
        assert_eq!(answer.media[0].media, "video");
        assert_eq!(answer.media[1].proto, "RTP/SAVP");
    }

    #[test]
    fn no_audio_or_no_address_is_an_error() {
        let video = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=video 5006 RTP/AVP 96\r\n";
        assert_eq!(
            local().answer(&offer(video)),
            Err(NegotiationError::NoAudio)
        );
        let disabled = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
        assert_eq!(
            local().answer(&offer(disabled)),
            Err(NegotiationError::NoAudio)
        );
        let no_c = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n";
        assert_eq!(
            local().answer(&offer(no_c)),
            Err(NegotiationError::NoAddress)
        );
    }

    #[test]
    fn hold_with_a_zero_address_means_do_not_send() {
        let body = "v=0\r\no=- 1 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n";
        let (_, agreed) = local().answer(&offer(body)).unwrap();
        assert_eq!(agreed.direction, Direction::RecvOnly);
        let inactive = body.replace("0.0.0.0", "10.0.0.2") + "a=inactive\r\n";
        assert_eq!(
            local().answer(&offer(&inactive)).unwrap().1.direction,
            Direction::Inactive
        );
    }

    #[test]
    fn offer_then_answer_round_trip() {
        let ours = local();
        let offer = ours.offer();
        assert_eq!(
            offer.to_string(),
            "v=0\r\no=crieur 42 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio 7000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
        );
        // The peer (another Crieur preferring PCMA) answers; we read its answer.
        let peer = LocalMedia {
            codecs: vec![Codec::Pcma],
            ..LocalMedia::new("127.0.0.2".parse().unwrap(), 9000)
        };
        let received = SessionDescription::parse(&offer.to_string()).unwrap();
        let (answer, theirs) = peer.answer(&received).unwrap();
        assert_eq!(theirs.remote, "127.0.0.1:7000".parse().unwrap());
        let agreed = ours
            .accept_answer(&SessionDescription::parse(&answer.to_string()).unwrap())
            .unwrap();
        assert_eq!(agreed.remote, "127.0.0.2:9000".parse().unwrap());
        assert_eq!(
            (agreed.codec, agreed.telephone_event),
            (Codec::Pcma, Some(101))
        );
        // An answer refusing the stream.
        let mut refused_answer = answer.clone();
        refused_answer.media[0].port = 0;
        assert_eq!(
            ours.accept_answer(&refused_answer),
            Err(NegotiationError::NoAudio)
        );
    }
}
