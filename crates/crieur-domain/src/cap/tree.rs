//! Safe XML reading for imported CAP: a DOCTYPE ends the reading (so no entity is
//! ever declared, expanded or fetched), only XML's five predefined entities and
//! character references are resolved, and nesting depth is bounded. The result is
//! a plain element tree; what CAP makes of it is `read`'s concern.

use super::CapError;
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// CAP itself nests five deep; a signature a few more.
const MAX_DEPTH: usize = 32;

/// An element as read: namespace, local name, text and child elements.
#[derive(Debug)]
pub(super) struct Node {
    pub ns: Option<String>,
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
    /// Attributes other than namespace declarations; CAP defines none.
    pub attributes: Vec<String>,
}

pub(super) fn parse_tree(xml: &str) -> Result<Node, CapError> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().enable_all_checks(true);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let at = reader.buffer_position() as usize;
        let fail = |message: String| malformed(xml, at, message);
        let event = reader
            .read_resolved_event()
            .map(|(ns, event)| (owned_namespace(ns), event));
        let (ns, event) = match event {
            Ok(ok) => ok,
            Err(e) => {
                return Err(malformed(
                    xml,
                    reader.error_position() as usize,
                    e.to_string(),
                ));
            }
        };
        match event {
            Event::DocType(_) => return Err(CapError::Doctype),
            Event::Decl(decl) => {
                if let Some(encoding) = decl.encoding() {
                    let encoding = encoding.map_err(|e| fail(e.to_string()))?;
                    let encoding = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if !matches!(encoding.as_str(), "utf-8" | "utf8" | "us-ascii") {
                        return Err(fail(format!(
                            "the declared encoding {encoding:?} is not supported: send UTF-8"
                        )));
                    }
                }
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                if root.is_some() && stack.is_empty() {
                    return Err(fail("a second root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(fail(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let ns = ns.map_err(|prefix| fail(format!("undeclared prefix {prefix:?}")))?;
                let mut attributes = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| fail(e.to_string()))?;
                    if attr.key.as_namespace_binding().is_none() {
                        attributes.push(String::from_utf8_lossy(attr.key.as_ref()).into_owned());
                    }
                }
                stack.push(Node {
                    ns,
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    text: String::new(),
                    children: Vec::new(),
                    attributes,
                });
                if matches!(event, Event::Empty(_)) {
                    close(&mut stack, &mut root);
                }
            }
            Event::End(_) => close(&mut stack, &mut root),
            Event::Text(text) => {
                let text = text.xml10_content().map_err(|e| fail(e.to_string()))?;
                append(&mut stack, &text).map_err(fail)?;
            }
            Event::CData(cdata) => {
                let raw = String::from_utf8_lossy(&cdata.into_inner()).into_owned();
                let text = raw.replace("\r\n", "\n").replace('\r', "\n");
                append(&mut stack, &text).map_err(fail)?;
            }
            Event::GeneralRef(reference) => {
                let name = reference.decode().map_err(|e| fail(e.to_string()))?;
                let c = match reference.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => c,
                    Ok(Some(c)) => {
                        return Err(fail(format!(
                            "&{name}; refers to U+{:04X}, which XML forbids",
                            u32::from(c)
                        )));
                    }
                    Err(e) => return Err(fail(e.to_string())),
                    Ok(None) => match name.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => {
                            return Err(fail(format!(
                                "undefined entity &{name};: without a DTD only XML's five exist"
                            )));
                        }
                    },
                };
                append(&mut stack, c.encode_utf8(&mut [0; 4])).map_err(fail)?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(malformed(
            xml,
            xml.len(),
            format!("the input ends inside <{}>", open.name),
        ));
    }
    root.ok_or_else(|| malformed(xml, xml.len(), "no root element".into()))
}

fn owned_namespace(ns: ResolveResult<'_>) -> Result<Option<String>, String> {
    match ns {
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(String::from_utf8_lossy(&prefix).into_owned()),
    }
}

fn close(stack: &mut Vec<Node>, root: &mut Option<Node>) {
    if let Some(node) = stack.pop() {
        match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => *root = Some(node),
        }
    }
}

fn append(stack: &mut [Node], text: &str) -> Result<(), String> {
    if let Some(c) = text.chars().find(|&c| !is_xml_char(c)) {
        return Err(format!(
            "the character U+{:04X} is not allowed in XML",
            u32::from(c)
        ));
    }
    match stack.last_mut() {
        Some(node) => node.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err("text outside the root element".into()),
    }
    Ok(())
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub(super) fn malformed(xml: &str, offset: usize, message: String) -> CapError {
    let before = &xml.as_bytes()[..offset.min(xml.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    // Count characters, not bytes: skip UTF-8 continuation bytes.
    let column = before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    CapError::Malformed {
        line,
        column,
        message,
    }
}
