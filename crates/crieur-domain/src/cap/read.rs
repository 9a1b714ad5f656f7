//! Reads CAP 1.2 XML sent by other systems, which is untrusted input: the size is
//! checked before anything is parsed, then [`tree`](super::tree) reads the XML
//! safely, and the element tree is mapped onto the model here, collecting every
//! problem so that a sender learns all of them at once.

use super::tree::{Node, malformed, parse_tree};
use super::values::parse_decimal;
use super::{
    Alert, Area, CapError, CapProblem, Info, MAX_MESSAGE_BYTES, NAMESPACE, Reference, Resource,
    ValueName, validate,
};
use std::fmt::Display;
use std::str::FromStr;

/// The only foreign namespace the XSD allows, at the end of `alert`: signatures
/// and encryption. Such elements are accepted and not kept.
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Problems reported for one message at most.
const MAX_PROBLEMS: usize = 50;

const ALERT_ORDER: &[&str] = &[
    "identifier",
    "sender",
    "sent",
    "status",
    "msgType",
    "source",
    "scope",
    "restriction",
    "addresses",
    "code",
    "note",
    "references",
    "incidents",
    "info",
];
const INFO_ORDER: &[&str] = &[
    "language",
    "category",
    "event",
    "responseType",
    "urgency",
    "severity",
    "certainty",
    "audience",
    "eventCode",
    "effective",
    "onset",
    "expires",
    "senderName",
    "headline",
    "description",
    "instruction",
    "web",
    "contact",
    "parameter",
    "resource",
    "area",
];
const RESOURCE_ORDER: &[&str] = &[
    "resourceDesc",
    "mimeType",
    "size",
    "uri",
    "derefUri",
    "digest",
];
const AREA_ORDER: &[&str] = &[
    "areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling",
];
const VALUE_NAME_ORDER: &[&str] = &["valueName", "value"];

pub(super) fn from_xml(bytes: &[u8]) -> Result<Alert, CapError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(CapError::TooLarge {
            size: bytes.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    let xml = std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        malformed(valid, valid.len(), "the message is not UTF-8".into())
    })?;
    let root = parse_tree(xml)?;
    if root.name != "alert" || root.ns.as_deref() != Some(NAMESPACE) {
        return Err(CapError::NotCap {
            element: root.name,
            namespace: root.ns,
        });
    }
    let mut problems = Vec::new();
    match read_alert(&root, &mut problems) {
        Some(alert) if problems.is_empty() => {
            let rules = validate(&alert);
            if rules.is_empty() {
                Ok(alert)
            } else {
                Err(CapError::Invalid(capped(rules)))
            }
        }
        _ => Err(CapError::Invalid(capped(problems))),
    }
}

/// Keeps the report of a hostile or broken message readable.
fn capped(mut problems: Vec<CapProblem>) -> Vec<CapProblem> {
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        problems.push(CapProblem::new(
            "alert",
            format!("has {more} more problems"),
        ));
    }
    problems
}

/// A CAP element being mapped, with its path for problems.
struct El<'n> {
    node: &'n Node,
    path: String,
}

impl<'n> El<'n> {
    /// An element with child elements in `order`: checks for attributes, stray
    /// text, unknown elements and elements out of order.
    fn complex(node: &'n Node, path: String, order: &[&str], p: &mut Vec<CapProblem>) -> El<'n> {
        let el = El { node, path };
        el.no_attributes(p);
        if !node.text.trim().is_empty() {
            p.push(CapProblem::new(
                &el.path,
                "contains text outside its elements",
            ));
        }
        let mut furthest = 0;
        for child in &node.children {
            let child_path = format!("{}/{}", el.path, child.name);
            match child.ns.as_deref() {
                Some(NAMESPACE) => {}
                Some(XMLDSIG) if node.name == "alert" => continue,
                Some(ns) => {
                    p.push(CapProblem::new(
                        child_path,
                        format!("is in namespace {ns}, not CAP 1.2's"),
                    ));
                    continue;
                }
                None => {
                    p.push(CapProblem::new(
                        child_path,
                        "has no namespace: CAP 1.2's is required",
                    ));
                    continue;
                }
            }
            match order.iter().position(|&n| n == child.name) {
                None => p.push(CapProblem::new(
                    child_path,
                    format!("is not an element CAP 1.2 allows in <{}>", node.name),
                )),
                Some(i) if i < furthest => p.push(CapProblem::new(
                    child_path,
                    format!(
                        "is out of order: CAP 1.2 puts it before <{}>",
                        order[furthest]
                    ),
                )),
                Some(i) => furthest = i,
            }
        }
        el
    }

    fn no_attributes(&self, p: &mut Vec<CapProblem>) {
        for a in &self.node.attributes {
            p.push(CapProblem::new(
                &self.path,
                format!("has an attribute {a:?}, which CAP does not define"),
            ));
        }
    }

    fn children(&self, name: &'static str) -> impl Iterator<Item = &'n Node> + use<'n> {
        self.node
            .children
            .iter()
            .filter(move |c| c.name == name && c.ns.as_deref() == Some(NAMESPACE))
    }

    /// Every `name` child, each with its indexed path.
    fn all(&self, name: &'static str) -> Vec<El<'n>> {
        self.children(name)
            .enumerate()
            .map(|(i, node)| El {
                node,
                path: format!("{}/{name}[{}]", self.path, i + 1),
            })
            .collect()
    }

    fn opt(&self, name: &'static str, p: &mut Vec<CapProblem>) -> Option<El<'n>> {
        let path = format!("{}/{name}", self.path);
        let count = self.children(name).count();
        if count > 1 {
            p.push(CapProblem::new(
                &path,
                format!("appears {count} times; CAP allows it once"),
            ));
        }
        self.children(name).next().map(|node| El { node, path })
    }

    fn req(&self, name: &'static str, p: &mut Vec<CapProblem>) -> Option<El<'n>> {
        let found = self.opt(name, p);
        if found.is_none() {
            p.push(CapProblem::new(
                format!("{}/{name}", self.path),
                "is missing",
            ));
        }
        found
    }

    /// The text of a simple element.
    fn text(&self, p: &mut Vec<CapProblem>) -> Option<&'n str> {
        self.no_attributes(p);
        if let Some(child) = self.node.children.first() {
            p.push(CapProblem::new(
                &self.path,
                format!("must hold text only, not <{}>", child.name),
            ));
            return None;
        }
        Some(&self.node.text)
    }

    fn string(&self, p: &mut Vec<CapProblem>) -> Option<String> {
        self.text(p).map(str::to_owned)
    }

    /// For values that cannot contain whitespace (identifiers, URIs, MIME types),
    /// so a pretty-printer's indentation is dropped.
    fn trimmed(&self, p: &mut Vec<CapProblem>) -> Option<String> {
        self.text(p).map(|t| t.trim().to_owned())
    }

    /// A value with a fixed syntax; surrounding whitespace is ignored.
    fn parse<T: FromStr>(&self, p: &mut Vec<CapProblem>) -> Option<T>
    where
        T::Err: Display,
    {
        let text = self.text(p)?.trim();
        text.parse()
            .map_err(|e| p.push(CapProblem::new(&self.path, format!("is invalid: {e}"))))
            .ok()
    }

    fn decimal(&self, p: &mut Vec<CapProblem>) -> Option<f64> {
        let text = self.text(p)?.trim();
        let value = parse_decimal(text);
        if value.is_none() {
            p.push(CapProblem::new(
                &self.path,
                format!("is not a decimal number: {text:?}"),
            ));
        }
        value
    }

    /// CAP's list form: space-separated, items with spaces in double quotes.
    fn list(&self, p: &mut Vec<CapProblem>) -> Option<Vec<String>> {
        let text = self.text(p)?;
        let mut items = Vec::new();
        let mut chars = text.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let mut item = String::new();
            match chars.next() {
                None => return Some(items),
                Some('"') => loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => item.push(c),
                        None => {
                            p.push(CapProblem::new(&self.path, "has an unclosed double quote"));
                            return None;
                        }
                    }
                },
                Some(c) => {
                    item.push(c);
                    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                        item.push(c);
                    }
                }
            }
            items.push(item);
        }
    }
}

/// Turns "absent, or present and read" into one value: `None` when an element
/// was present but could not be read (its problem is already recorded).
fn optional<T>(element: Option<Option<T>>) -> Option<Option<T>> {
    element.map_or(Some(None), |read| read.map(Some))
}

fn read_alert(node: &Node, p: &mut Vec<CapProblem>) -> Option<Alert> {
    let el = El::complex(node, "alert".into(), ALERT_ORDER, p);
    let identifier = el.req("identifier", p).and_then(|e| e.trimmed(p));
    let sender = el.req("sender", p).and_then(|e| e.trimmed(p));
    let sent = el.req("sent", p).and_then(|e| e.parse(p));
    let status = el.req("status", p).and_then(|e| e.parse(p));
    let msg_type = el.req("msgType", p).and_then(|e| e.parse(p));
    let source = el.opt("source", p).map(|e| e.string(p));
    let scope = el.req("scope", p).and_then(|e| e.parse(p));
    let restriction = el.opt("restriction", p).map(|e| e.string(p));
    let addresses = el.opt("addresses", p).map(|e| e.list(p));
    let codes: Vec<_> = el.all("code").iter().map(|e| e.string(p)).collect();
    let note = el.opt("note", p).map(|e| e.string(p));
    let references = el.opt("references", p).map(|e| {
        let text = e.text(p)?;
        let mut refs = Vec::new();
        for token in text.split_whitespace() {
            match token.parse::<Reference>() {
                Ok(r) => refs.push(r),
                Err(err) => p.push(CapProblem::new(&e.path, format!("is invalid: {err}"))),
            }
        }
        Some(refs)
    });
    let incidents = el.opt("incidents", p).map(|e| e.list(p));
    let infos: Vec<_> = el
        .all("info")
        .into_iter()
        .map(|e| read_info(e, p))
        .collect();
    Some(Alert {
        identifier: identifier?,
        sender: sender?,
        sent: sent?,
        status: status?,
        msg_type: msg_type?,
        source: optional(source)?,
        scope: scope?,
        restriction: optional(restriction)?,
        addresses: optional(addresses)?.unwrap_or_default(),
        codes: codes.into_iter().collect::<Option<_>>()?,
        note: optional(note)?,
        references: optional(references)?.unwrap_or_default(),
        incidents: optional(incidents)?.unwrap_or_default(),
        infos: infos.into_iter().collect::<Option<_>>()?,
    })
}

fn read_info(info: El<'_>, p: &mut Vec<CapProblem>) -> Option<Info> {
    let el = El::complex(info.node, info.path, INFO_ORDER, p);
    let language = el.opt("language", p).map(|e| e.parse(p));
    let categories: Vec<_> = el.all("category").iter().map(|e| e.parse(p)).collect();
    if categories.is_empty() {
        p.push(CapProblem::new(
            format!("{}/category", el.path),
            "is missing",
        ));
    }
    let event = el.req("event", p).and_then(|e| e.string(p));
    let response_types: Vec<_> = el.all("responseType").iter().map(|e| e.parse(p)).collect();
    let urgency = el.req("urgency", p).and_then(|e| e.parse(p));
    let severity = el.req("severity", p).and_then(|e| e.parse(p));
    let certainty = el.req("certainty", p).and_then(|e| e.parse(p));
    let audience = el.opt("audience", p).map(|e| e.string(p));
    let event_codes: Vec<_> = el
        .all("eventCode")
        .into_iter()
        .map(|e| read_value_name(e, p))
        .collect();
    let effective = el.opt("effective", p).map(|e| e.parse(p));
    let onset = el.opt("onset", p).map(|e| e.parse(p));
    let expires = el.opt("expires", p).map(|e| e.parse(p));
    let sender_name = el.opt("senderName", p).map(|e| e.string(p));
    let headline = el.opt("headline", p).map(|e| e.string(p));
    let description = el.opt("description", p).map(|e| e.string(p));
    let instruction = el.opt("instruction", p).map(|e| e.string(p));
    let web = el.opt("web", p).map(|e| e.trimmed(p));
    let contact = el.opt("contact", p).map(|e| e.string(p));
    let parameters: Vec<_> = el
        .all("parameter")
        .into_iter()
        .map(|e| read_value_name(e, p))
        .collect();
    let resources: Vec<_> = el
        .all("resource")
        .into_iter()
        .map(|e| read_resource(e, p))
        .collect();
    let areas: Vec<_> = el
        .all("area")
        .into_iter()
        .map(|e| read_area(e, p))
        .collect();
    Some(Info {
        language: optional(language)?,
        categories: categories.into_iter().collect::<Option<_>>()?,
        event: event?,
        response_types: response_types.into_iter().collect::<Option<_>>()?,
        urgency: urgency?,
        severity: severity?,
        certainty: certainty?,
        audience: optional(audience)?,
        event_codes: event_codes.into_iter().collect::<Option<_>>()?,
        effective: optional(effective)?,
        onset: optional(onset)?,
        expires: optional(expires)?,
        sender_name: optional(sender_name)?,
        headline: optional(headline)?,
        description: optional(description)?,
        instruction: optional(instruction)?,
        web: optional(web)?,
        contact: optional(contact)?,
        parameters: parameters.into_iter().collect::<Option<_>>()?,
        resources: resources.into_iter().collect::<Option<_>>()?,
        areas: areas.into_iter().collect::<Option<_>>()?,
    })
}

fn read_resource(resource: El<'_>, p: &mut Vec<CapProblem>) -> Option<Resource> {
    let el = El::complex(resource.node, resource.path, RESOURCE_ORDER, p);
    let resource_desc = el.req("resourceDesc", p).and_then(|e| e.string(p));
    let mime_type = el.req("mimeType", p).and_then(|e| e.trimmed(p));
    let size = el.opt("size", p).map(|e| e.parse::<u64>(p));
    let uri = el.opt("uri", p).map(|e| e.trimmed(p));
    let deref_uri = el.opt("derefUri", p).map(|e| e.trimmed(p));
    let digest = el.opt("digest", p).map(|e| e.trimmed(p));
    Some(Resource {
        resource_desc: resource_desc?,
        mime_type: mime_type?,
        size: optional(size)?,
        uri: optional(uri)?,
        deref_uri: optional(deref_uri)?,
        digest: optional(digest)?,
    })
}

fn read_area(area: El<'_>, p: &mut Vec<CapProblem>) -> Option<Area> {
    let el = El::complex(area.node, area.path, AREA_ORDER, p);
    let area_desc = el.req("areaDesc", p).and_then(|e| e.string(p));
    let polygons: Vec<_> = el.all("polygon").iter().map(|e| e.parse(p)).collect();
    let circles: Vec<_> = el.all("circle").iter().map(|e| e.parse(p)).collect();
    let geocodes: Vec<_> = el
        .all("geocode")
        .into_iter()
        .map(|e| read_value_name(e, p))
        .collect();
    let altitude = el.opt("altitude", p).map(|e| e.decimal(p));
    let ceiling = el.opt("ceiling", p).map(|e| e.decimal(p));
    Some(Area {
        area_desc: area_desc?,
        polygons: polygons.into_iter().collect::<Option<_>>()?,
        circles: circles.into_iter().collect::<Option<_>>()?,
        geocodes: geocodes.into_iter().collect::<Option<_>>()?,
        altitude: optional(altitude)?,
        ceiling: optional(ceiling)?,
    })
}

fn read_value_name(pair: El<'_>, p: &mut Vec<CapProblem>) -> Option<ValueName> {
    let el = El::complex(pair.node, pair.path, VALUE_NAME_ORDER, p);
    let value_name = el.req("valueName", p).and_then(|e| e.string(p));
    let value = el.req("value", p).and_then(|e| e.string(p));
    Some(ValueName {
        value_name: value_name?,
        value: value?,
    })
}
