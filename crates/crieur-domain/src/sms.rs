//! Text encoding for SMS and cell broadcast: which alphabet a text needs, how many
//! segments or pages it takes, and the bytes an SMPP client submits.
//!
//! Counting and splitting share one packing routine, so the count an operator sees
//! while composing is the count that is sent. Nothing here talks to an SMSC.

use std::fmt;

/// The GSM 03.38 default alphabet, indexed by septet. Slot 0x1B is the escape to
/// the extension table, not a character; [`basic_septet`] never matches it.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

const ESC: u8 = 0x1B;

/// The extension table's characters and their septet after ESC; each costs two.
const EXTENSION: [(char, u8); 10] = [
    ('\u{0C}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

/// Septets per SMS, alone and in a concatenated message (the 6-byte UDH takes
/// 7 septets once the SMSC aligns it).
const GSM7_SINGLE: usize = 160;
const GSM7_CONCATENATED: usize = 153;
/// UTF-16 code units per SMS, alone and concatenated (140 and 134 octets).
const UCS2_SINGLE: usize = 70;
const UCS2_CONCATENATED: usize = 67;
/// The sequence number is one octet.
pub const MAX_SEGMENTS: usize = 255;

/// Cell-broadcast pages carry 82 octets: 93 septets or 41 UTF-16 units.
const CBS_GSM7_PAGE: usize = 93;
const CBS_UCS2_PAGE: usize = 41;
/// The most pages one cell-broadcast message may have.
pub const CBS_MAX_PAGES: usize = 15;

/// The two alphabets an alert can be sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmsEncoding {
    /// The GSM 7-bit default alphabet with its extension table.
    Gsm7,
    /// UTF-16 big-endian, which handsets accept under the UCS-2 label.
    Ucs2,
}

impl SmsEncoding {
    /// The cheapest encoding that can carry `text`.
    pub fn for_text(text: &str) -> SmsEncoding {
        if is_gsm7(text) {
            SmsEncoding::Gsm7
        } else {
            SmsEncoding::Ucs2
        }
    }

    /// The SMPP `data_coding` value: 0x00 (SMSC default alphabet) or 0x08.
    pub fn data_coding(self) -> u8 {
        match self {
            SmsEncoding::Gsm7 => 0x00,
            SmsEncoding::Ucs2 => 0x08,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SmsEncoding::Gsm7 => "GSM-7",
            SmsEncoding::Ucs2 => "UCS-2",
        }
    }

    /// Units (septets or UTF-16 units) one message holds alone.
    pub fn single_capacity(self) -> usize {
        match self {
            SmsEncoding::Gsm7 => GSM7_SINGLE,
            SmsEncoding::Ucs2 => UCS2_SINGLE,
        }
    }

    /// Units each part of a concatenated message holds.
    pub fn concatenated_capacity(self) -> usize {
        match self {
            SmsEncoding::Gsm7 => GSM7_CONCATENATED,
            SmsEncoding::Ucs2 => UCS2_CONCATENATED,
        }
    }

    fn page_capacity(self) -> usize {
        match self {
            SmsEncoding::Gsm7 => CBS_GSM7_PAGE,
            SmsEncoding::Ucs2 => CBS_UCS2_PAGE,
        }
    }

    /// What one character costs; for GSM-7 the caller has checked it is encodable.
    fn units(self, c: char) -> usize {
        match self {
            SmsEncoding::Gsm7 => match gsm7(c) {
                Some(Septets::Escaped(_)) => 2,
                _ => 1,
            },
            SmsEncoding::Ucs2 => c.len_utf16(),
        }
    }

    /// Encodes a text this encoding was chosen for by [`SmsEncoding::for_text`].
    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            SmsEncoding::Gsm7 => text
                .chars()
                .filter_map(gsm7)
                .flat_map(Septets::bytes)
                .collect(),
            SmsEncoding::Ucs2 => encode_ucs2(text),
        }
    }
}

impl fmt::Display for SmsEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Septets {
    Basic(u8),
    Escaped(u8),
}

impl Septets {
    fn bytes(self) -> impl Iterator<Item = u8> {
        let (first, second) = match self {
            Septets::Basic(s) => (s, None),
            Septets::Escaped(s) => (ESC, Some(s)),
        };
        std::iter::once(first).chain(second)
    }
}

fn basic_septet(c: char) -> Option<u8> {
    if c == '\u{1B}' {
        return None;
    }
    BASIC
        .iter()
        .position(|&b| b == c)
        .and_then(|i| u8::try_from(i).ok())
}

fn gsm7(c: char) -> Option<Septets> {
    basic_septet(c).map(Septets::Basic).or_else(|| {
        EXTENSION
            .iter()
            .find(|(e, _)| *e == c)
            .map(|&(_, s)| Septets::Escaped(s))
    })
}

/// Whether every character of `text` is in the GSM 7-bit alphabet. Strict about
/// 0x09: the table shows `Ç`, so `ç` is not taken for it, as some handsets would
/// display the capital.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm7(c).is_some())
}

/// What an SMS text costs, for the composer's counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsAnalysis {
    pub encoding: SmsEncoding,
    /// Septets for GSM-7 (extension characters count two), UTF-16 units for UCS-2.
    pub units: usize,
    /// Messages sent; an empty text is still one (empty) message.
    pub segments: usize,
    /// Units left in the last segment before another one is needed.
    pub remaining: usize,
    /// The characters outside GSM-7, each once, in order of appearance: empty
    /// for GSM-7, otherwise what the operator could replace to halve the cost.
    pub forcing_ucs2: Vec<char>,
}

/// Counts `text` the way [`encode_segments`] will send it.
pub fn analyse(text: &str) -> SmsAnalysis {
    let mut forcing_ucs2: Vec<char> = Vec::new();
    for c in text.chars() {
        if gsm7(c).is_none() && !forcing_ucs2.contains(&c) {
            forcing_ucs2.push(c);
        }
    }
    let encoding = if forcing_ucs2.is_empty() {
        SmsEncoding::Gsm7
    } else {
        SmsEncoding::Ucs2
    };
    let units = text.chars().map(|c| encoding.units(c)).sum();
    let parts = split(text, encoding);
    let capacity = if parts.len() == 1 {
        encoding.single_capacity()
    } else {
        encoding.concatenated_capacity()
    };
    let last = parts.last().map_or(0, |p| units_of(p, encoding));
    SmsAnalysis {
        encoding,
        units,
        segments: parts.len(),
        remaining: capacity - last,
        forcing_ucs2,
    }
}

fn units_of(text: &str, encoding: SmsEncoding) -> usize {
    text.chars().map(|c| encoding.units(c)).sum()
}

/// Splits `text` into the parts of an SMS: one part if it fits a single message,
/// otherwise parts of the concatenated capacity.
fn split(text: &str, encoding: SmsEncoding) -> Vec<&str> {
    if units_of(text, encoding) <= encoding.single_capacity() {
        vec![text]
    } else {
        pack(text, encoding, encoding.concatenated_capacity())
    }
}

/// Fills parts of `capacity` units greedily, moving a character that does not fit
/// whole to the next part: a handset cannot rebuild an escape sequence or a
/// surrogate pair cut in two. Always returns at least one part.
fn pack(text: &str, encoding: SmsEncoding, capacity: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, c) in text.char_indices() {
        let n = encoding.units(c);
        if used + n > capacity {
            parts.push(&text[start..i]);
            (start, used) = (i, 0);
        }
        used += n;
    }
    parts.push(&text[start..]);
    parts
}

/// A character the GSM 7-bit alphabet lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the character {0:?} is not in the GSM 7-bit alphabet")]
pub struct NotGsm7(pub char);

/// Encodes `text` as unpacked septets, one per byte, the form SMSCs take with
/// `data_coding` 0x00 over SMPP; extension characters become ESC and a septet.
pub fn encode_gsm7(text: &str) -> Result<Vec<u8>, NotGsm7> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        out.extend(gsm7(c).ok_or(NotGsm7(c))?.bytes());
    }
    Ok(out)
}

/// Why unpacked septets do not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Gsm7DecodeError {
    #[error("byte {value:#04x} at {position} is not a septet")]
    NotASeptet { position: usize, value: u8 },
    #[error("the text ends with an escape and no character after it")]
    DanglingEscape,
}

/// Decodes unpacked septets. As 3GPP TS 23.038 asks of receivers, an escaped
/// septet missing from the extension table reads as its basic character, and
/// ESC ESC (reserved for a further table) reads as a space.
pub fn decode_gsm7(septets: &[u8]) -> Result<String, Gsm7DecodeError> {
    let mut out = String::with_capacity(septets.len());
    let mut bytes = septets.iter().copied().enumerate();
    while let Some((position, value)) = bytes.next() {
        if value > 0x7F {
            return Err(Gsm7DecodeError::NotASeptet { position, value });
        }
        if value != ESC {
            out.push(BASIC[usize::from(value)]);
            continue;
        }
        let (position, value) = bytes.next().ok_or(Gsm7DecodeError::DanglingEscape)?;
        if value > 0x7F {
            return Err(Gsm7DecodeError::NotASeptet { position, value });
        }
        let c = match EXTENSION.iter().find(|&&(_, s)| s == value) {
            Some(&(c, _)) => c,
            None if value == ESC => ' ',
            None => BASIC[usize::from(value)],
        };
        out.push(c);
    }
    Ok(out)
}

/// Encodes `text` as UTF-16 big-endian (`data_coding` 0x08). Characters outside
/// the Basic Multilingual Plane become surrogate pairs, which handsets display.
pub fn encode_ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Bytes that are not UTF-16 big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not UTF-16 big-endian: odd length or an unpaired surrogate")]
pub struct Ucs2DecodeError;

/// Decodes UTF-16 big-endian bytes, refusing an odd length or a lone surrogate.
pub fn decode_ucs2(bytes: &[u8]) -> Result<String, Ucs2DecodeError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Ucs2DecodeError);
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| Ucs2DecodeError)
}

/// One message as submitted: `short_message` is the UDH, if any, then the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Concatenation header (IEI 0x00, 8-bit reference); `None` for a lone message.
    pub udh: Option<[u8; 6]>,
    /// Unpacked septets or UTF-16BE bytes.
    pub payload: Vec<u8>,
}

impl Segment {
    /// The bytes of SMPP `short_message`; with a UDH, set UDHI (esm_class 0x40).
    pub fn short_message(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + self.payload.len());
        out.extend(self.udh.iter().flatten());
        out.extend(&self.payload);
        out
    }
}

/// A text ready for an SMPP client: one `submit_sm` per segment, all with the
/// encoding's `data_coding`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedSms {
    pub encoding: SmsEncoding,
    pub segments: Vec<Segment>,
}

/// A text longer than concatenation can number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the text needs {segments} SMS segments; concatenation numbers at most {MAX_SEGMENTS}")]
pub struct TooManySegments {
    pub segments: usize,
}

/// Encodes `text` in the cheapest alphabet and splits it into segments. A text
/// that fits one message gets no UDH; otherwise each part carries
/// `05 00 03 reference total sequence`, `reference` being what ties the parts
/// together on the handset (the caller varies it per recipient and message).
pub fn encode_segments(text: &str, reference: u8) -> Result<EncodedSms, TooManySegments> {
    let encoding = SmsEncoding::for_text(text);
    let parts = split(text, encoding);
    let total = u8::try_from(parts.len()).map_err(|_| TooManySegments {
        segments: parts.len(),
    })?;
    let concatenated = parts.len() > 1;
    let segments = (1..=total)
        .zip(parts)
        .map(|(sequence, part)| Segment {
            udh: concatenated.then_some([0x05, 0x00, 0x03, reference, total, sequence]),
            payload: encoding.encode(part),
        })
        .collect();
    Ok(EncodedSms { encoding, segments })
}

/// A text too long for one cell-broadcast message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "too long for cell broadcast: {units} {encoding} characters need {pages} pages; \
     the limit is {max_pages} pages of {page} ({max} {encoding} characters)",
    max_pages = CBS_MAX_PAGES,
    page = .encoding.page_capacity(),
    max = CBS_MAX_PAGES * .encoding.page_capacity()
)]
pub struct CellBroadcastTooLong {
    pub encoding: SmsEncoding,
    pub units: usize,
    pub pages: usize,
}

/// The cell-broadcast pages `text` fills (93 GSM-7 septets or 41 UTF-16 units
/// each, no character cut between pages), or why it cannot be sent.
pub fn cell_broadcast_pages(text: &str) -> Result<usize, CellBroadcastTooLong> {
    let encoding = SmsEncoding::for_text(text);
    let pages = pack(text, encoding, encoding.page_capacity()).len();
    if pages > CBS_MAX_PAGES {
        return Err(CellBroadcastTooLong {
            encoding,
            units: units_of(text, encoding),
            pages,
        });
    }
    Ok(pages)
}

#[cfg(test)]
mod tests;
