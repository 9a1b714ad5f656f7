//! What a claimed delivery becomes on the wire.

use crieur_channels::Outbound;
use crieur_store::ClaimedDelivery;

/// The message a claimed delivery becomes; `None` for an unknown channel.
pub fn message(d: &ClaimedDelivery) -> Option<Outbound> {
    Some(match d.channel.as_str() {
        "sms" => Outbound::Sms {
            to: d.address.clone(),
            text: d.body.clone(),
        },
        "voice" => Outbound::Voice {
            to: d.address.clone(),
            language: d.language.clone(),
            script: d.body.clone(),
        },
        "email" => Outbound::Email {
            to: d.address.clone(),
            subject: d.subject.clone(),
            html: Some(html_of(&d.subject, &d.body, &d.language)),
            body: d.body.clone(),
            unsubscribe: None,
        },
        "operator" => Outbound::Operator {
            to: d.address.clone(),
            cap: d.body.clone(),
        },
        _ => return None,
    })
}

/// The HTML part of an e-mail: the same words as the text part, in the
/// recipient's language, readable by screen readers and on a phone.
pub fn html_of(subject: &str, text: &str, language: &str) -> String {
    let mut html = String::with_capacity(text.len() * 2 + 300);
    html.push_str("<!DOCTYPE html>\n<html lang=\"");
    push_escaped(&mut html, language);
    html.push_str(
        "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>",
    );
    push_escaped(&mut html, subject);
    html.push_str(
        "</title></head><body style=\"font-family:sans-serif;font-size:17px;line-height:1.5;\
         color:#1a1a1a;background:#fff;max-width:40em;margin:0 auto;padding:1em\">\n<h1 \
         style=\"font-size:1.3em;color:#8a1010\">",
    );
    push_escaped(&mut html, subject);
    html.push_str("</h1>\n");
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        html.push_str("<p>");
        for (i, line) in paragraph.lines().enumerate() {
            if i > 0 {
                html.push_str("<br>");
            }
            push_escaped(&mut html, line);
        }
        html.push_str("</p>\n");
    }
    html.push_str("</body></html>\n");
    html
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_keeps_the_words_escaped_in_paragraphs() {
        let html = html_of(
            "Alerte <incendie>",
            "Fermez portes & fenêtres.\nRestez à l'intérieur.\n\nInfos: 1771",
            "fr",
        );
        assert!(html.contains("<html lang=\"fr\">"));
        assert!(html.contains("<title>Alerte &lt;incendie&gt;</title>"));
        assert!(html.contains(
            "<p>Fermez portes &amp; fenêtres.<br>Restez à l&#39;intérieur.</p>\n<p>Infos: 1771</p>"
        ));
        assert!(!html.contains("<incendie>"));
    }
}
