//! Writes an [`Alert`] as CAP 1.2 XML. Each function writes one XSD `sequence` and
//! must keep its order: consumers validate against the schema and reject the rest.

use super::{Alert, Area, Info, NAMESPACE, Resource, ValueName};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;

type W = Writer<Vec<u8>>;

pub(super) fn to_xml(alert: &Alert) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    if let Err(e) = write_alert(&mut w, alert) {
        unreachable!("writing into a Vec<u8> cannot fail: {e}");
    }
    let mut xml = String::from_utf8(w.into_inner())
        .expect("the writer only copies UTF-8 text and ASCII markup");
    xml.push('\n');
    xml
}

fn write_alert(w: &mut W, a: &Alert) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("alert")
        .with_attribute(("xmlns", NAMESPACE))
        .write_inner_content(|w| {
            leaf(w, "identifier", &a.identifier)?;
            leaf(w, "sender", &a.sender)?;
            leaf(w, "sent", a.sent.as_str())?;
            leaf(w, "status", a.status.as_str())?;
            leaf(w, "msgType", a.msg_type.as_str())?;
            opt(w, "source", a.source.as_deref())?;
            leaf(w, "scope", a.scope.as_str())?;
            opt(w, "restriction", a.restriction.as_deref())?;
            if !a.addresses.is_empty() {
                leaf(w, "addresses", &quoted_list(&a.addresses))?;
            }
            for code in &a.codes {
                leaf(w, "code", code)?;
            }
            opt(w, "note", a.note.as_deref())?;
            if !a.references.is_empty() {
                let refs: Vec<String> = a.references.iter().map(ToString::to_string).collect();
                leaf(w, "references", &refs.join(" "))?;
            }
            if !a.incidents.is_empty() {
                leaf(w, "incidents", &quoted_list(&a.incidents))?;
            }
            for info in &a.infos {
                write_info(w, info)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_info(w: &mut W, i: &Info) -> io::Result<()> {
    w.create_element("info").write_inner_content(|w| {
        opt(w, "language", i.language.as_ref().map(|l| l.as_str()))?;
        for c in &i.categories {
            leaf(w, "category", c.as_str())?;
        }
        leaf(w, "event", &i.event)?;
        for r in &i.response_types {
            leaf(w, "responseType", r.as_str())?;
        }
        leaf(w, "urgency", i.urgency.as_str())?;
        leaf(w, "severity", i.severity.as_str())?;
        leaf(w, "certainty", i.certainty.as_str())?;
        opt(w, "audience", i.audience.as_deref())?;
        for code in &i.event_codes {
            value_name(w, "eventCode", code)?;
        }
        opt(w, "effective", i.effective.as_ref().map(|d| d.as_str()))?;
        opt(w, "onset", i.onset.as_ref().map(|d| d.as_str()))?;
        opt(w, "expires", i.expires.as_ref().map(|d| d.as_str()))?;
        opt(w, "senderName", i.sender_name.as_deref())?;
        opt(w, "headline", i.headline.as_deref())?;
        opt(w, "description", i.description.as_deref())?;
        opt(w, "instruction", i.instruction.as_deref())?;
        opt(w, "web", i.web.as_deref())?;
        opt(w, "contact", i.contact.as_deref())?;
        for p in &i.parameters {
            value_name(w, "parameter", p)?;
        }
        for r in &i.resources {
            write_resource(w, r)?;
        }
        for area in &i.areas {
            write_area(w, area)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_resource(w: &mut W, r: &Resource) -> io::Result<()> {
    w.create_element("resource").write_inner_content(|w| {
        leaf(w, "resourceDesc", &r.resource_desc)?;
        leaf(w, "mimeType", &r.mime_type)?;
        opt(w, "size", r.size.map(|s| s.to_string()).as_deref())?;
        opt(w, "uri", r.uri.as_deref())?;
        opt(w, "derefUri", r.deref_uri.as_deref())?;
        opt(w, "digest", r.digest.as_deref())?;
        Ok(())
    })?;
    Ok(())
}

fn write_area(w: &mut W, a: &Area) -> io::Result<()> {
    w.create_element("area").write_inner_content(|w| {
        leaf(w, "areaDesc", &a.area_desc)?;
        for p in &a.polygons {
            leaf(w, "polygon", &p.to_string())?;
        }
        for c in &a.circles {
            leaf(w, "circle", &c.to_string())?;
        }
        for g in &a.geocodes {
            value_name(w, "geocode", g)?;
        }
        // f64's Display never uses an exponent, which xs:decimal forbids.
        opt(w, "altitude", a.altitude.map(|x| x.to_string()).as_deref())?;
        opt(w, "ceiling", a.ceiling.map(|x| x.to_string()).as_deref())?;
        Ok(())
    })?;
    Ok(())
}

fn value_name(w: &mut W, element: &str, v: &ValueName) -> io::Result<()> {
    w.create_element(element).write_inner_content(|w| {
        leaf(w, "valueName", &v.value_name)?;
        leaf(w, "value", &v.value)
    })?;
    Ok(())
}

fn opt(w: &mut W, element: &str, text: Option<&str>) -> io::Result<()> {
    match text {
        Some(t) => leaf(w, element, t),
        None => Ok(()),
    }
}

fn leaf(w: &mut W, element: &str, text: &str) -> io::Result<()> {
    w.create_element(element)
        .write_text_content(BytesText::from_escaped(escape(text)))?;
    Ok(())
}

/// Escapes text content. Beyond `&`, `<` and `>`, a carriage return becomes a
/// character reference: a raw one would be turned into a line feed by the reader.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// CAP's list form for `addresses` and `incidents`: space-separated, an item that
/// contains whitespace in double quotes.
fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| {
            if item.contains(char::is_whitespace) {
                format!("\"{item}\"")
            } else {
                item.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
