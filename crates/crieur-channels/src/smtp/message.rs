//! Turns an [`Outbound::Email`](crate::Outbound::Email) into the RFC 5322 bytes
//! sent after DATA. Everything that identifies the message is derived from the
//! delivery id, so a retry of the same delivery is recognisable by receivers.

use lettre::Address;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

/// A message ready for one SMTP transaction.
#[derive(Debug)]
pub(super) struct Prepared {
    pub(super) to: Address,
    pub(super) message_id: String,
    pub(super) bytes: Vec<u8>,
}

/// What the e-mail says, borrowed from the outbound message.
#[derive(Debug, Clone, Copy)]
pub(super) struct Content<'a> {
    pub(super) to: &'a str,
    pub(super) subject: &'a str,
    pub(super) body: &'a str,
    pub(super) html: Option<&'a str>,
    pub(super) unsubscribe: Option<&'a str>,
}

/// The Message-ID of a delivery, angle brackets included. Only the delivery id
/// varies, so every attempt of one delivery, on any provider, carries the same.
pub fn message_id(delivery: i64, mail_domain: &str) -> String {
    format!("<{delivery}.crieur@{mail_domain}>")
}

/// Builds the message; an `Err` is a reason the message can never be sent.
pub(super) fn prepare(
    from: &Mailbox,
    mail_domain: &str,
    delivery: i64,
    content: Content<'_>,
) -> Result<Prepared, String> {
    let to: Mailbox = content
        .to
        .trim()
        .parse()
        .map_err(|e| format!("invalid recipient address {:?}: {e}", content.to))?;
    let message_id = message_id(delivery, mail_domain);
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to.clone())
        // lettre encodes the text (RFC 2047); line breaks in a subject would
        // only be folded away by readers, so they become spaces here.
        .subject(one_line(content.subject))
        .message_id(Some(message_id.clone()))
        .date_now();
    if let Some(url) = content.unsubscribe {
        // The value is written as is: a URL that would need encoding or could
        // break out of its angle brackets is refused rather than mangled.
        if url.is_empty()
            || !url
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
        {
            return Err(format!("invalid unsubscribe URL {url:?}"));
        }
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let text = content.body.to_owned();
    let message = match content.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html.to_owned())),
        None => builder.singlepart(SinglePart::plain(text)),
    }
    .map_err(|e| format!("cannot build the message: {e}"))?;
    Ok(Prepared {
        to: to.email,
        message_id,
        bytes: message.formatted(),
    })
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content<'a>(html: Option<&'a str>, unsubscribe: Option<&'a str>) -> Content<'a> {
        Content {
            to: "citoyen@example.be",
            subject: "Fermez portes et fenêtres",
            body: "Incendie important à Liège.",
            html,
            unsubscribe,
        }
    }

    fn text(p: &Prepared) -> String {
        String::from_utf8(p.bytes.clone()).expect("ascii")
    }

    #[test]
    fn the_message_id_depends_only_on_the_delivery() {
        let from: Mailbox = "BE-Alert <alert@crieur.example>".parse().unwrap();
        let a = prepare(&from, "crieur.example", 42, content(None, None)).unwrap();
        let b = prepare(&from, "crieur.example", 42, content(Some("<p>x</p>"), None)).unwrap();
        assert_eq!(a.message_id, "<42.crieur@crieur.example>");
        assert_eq!(a.message_id, b.message_id);
        assert!(text(&a).contains("Message-ID: <42.crieur@crieur.example>\r\n"));
    }

    #[test]
    fn the_bytes_are_ascii_and_unsubscribe_only_when_asked() {
        let from: Mailbox = "BE-Alert <alert@crieur.example>".parse().unwrap();
        let plain = prepare(&from, "crieur.example", 1, content(None, None)).unwrap();
        assert!(plain.bytes.is_ascii());
        assert!(!text(&plain).contains("List-Unsubscribe"));
        let listed = prepare(
            &from,
            "crieur.example",
            1,
            content(None, Some("https://crieur.example/u/abc")),
        )
        .unwrap();
        assert!(text(&listed).contains("List-Unsubscribe: <https://crieur.example/u/abc>\r\n"));
        assert!(text(&listed).contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    }

    #[test]
    fn bad_addresses_and_urls_are_refused() {
        let from: Mailbox = "alert@crieur.example".parse().unwrap();
        let mut c = content(None, None);
        c.to = "not an address";
        assert!(prepare(&from, "crieur.example", 1, c).is_err());
        for url in ["https://x/a b", "https://x/>\r\nBcc: y", ""] {
            assert!(prepare(&from, "crieur.example", 1, content(None, Some(url))).is_err());
        }
    }

    #[test]
    fn control_characters_cannot_add_headers() {
        let from: Mailbox = "alert@crieur.example".parse().unwrap();
        let mut c = content(None, None);
        c.subject = "Alerte\r\nBcc: everyone@example.be";
        let p = prepare(&from, "crieur.example", 1, c).unwrap();
        assert!(!text(&p).contains("\r\nBcc:"));
    }
}
