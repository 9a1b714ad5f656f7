//! The rules of CAP 1.2 that the types cannot carry: those between fields (a
//! `Cancel` names what it cancels) and those on free text (identifiers without
//! spaces, no character XML cannot hold). An alert that passes writes XSD-valid XML.

use super::{Alert, Area, CapProblem, Info, MsgType, Scope, ValueName};

/// Every rule the alert breaks, with the path of the element concerned; empty when
/// the alert may be sent.
pub fn validate(alert: &Alert) -> Vec<CapProblem> {
    let mut v = Checker(Vec::new());
    v.id("alert/identifier", &alert.identifier);
    v.id("alert/sender", &alert.sender);
    v.opt_text("alert/source", alert.source.as_deref());
    match alert.scope {
        Scope::Restricted if alert.restriction.as_deref().is_none_or(blank) => {
            v.add("alert/restriction", "is required when scope is Restricted");
        }
        Scope::Private if alert.addresses.is_empty() => {
            v.add("alert/addresses", "is required when scope is Private");
        }
        _ => {}
    }
    v.opt_text("alert/restriction", alert.restriction.as_deref());
    v.list("alert/addresses", &alert.addresses);
    for (i, code) in alert.codes.iter().enumerate() {
        v.text(&format!("alert/code[{}]", i + 1), code);
    }
    v.opt_text("alert/note", alert.note.as_deref());
    if alert.msg_type != MsgType::Alert && alert.references.is_empty() {
        v.add(
            "alert/references",
            format!(
                "is required when msgType is {}: it names the earlier messages",
                alert.msg_type
            ),
        );
    }
    for r in &alert.references {
        v.id("alert/references", &r.sender);
        v.id("alert/references", &r.identifier);
    }
    v.list("alert/incidents", &alert.incidents);
    for (i, info) in alert.infos.iter().enumerate() {
        v.info(&format!("alert/info[{}]", i + 1), info);
    }
    v.0
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

struct Checker(Vec<CapProblem>);

impl Checker {
    fn add(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(CapProblem::new(path, message));
    }

    /// Text XML can carry: a C0 control (other than tab and line breaks) or a
    /// non-character cannot be written at all, not even escaped.
    fn text(&mut self, path: &str, s: &str) {
        if let Some(c) = s
            .chars()
            .find(|&c| matches!(c, '\0'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}'))
        {
            self.add(
                path,
                format!("contains U+{:04X}, which XML cannot carry", u32::from(c)),
            );
        }
    }

    fn opt_text(&mut self, path: &str, s: Option<&str>) {
        if let Some(s) = s {
            self.text(path, s);
        }
    }

    fn required_text(&mut self, path: &str, s: &str) {
        if blank(s) {
            self.add(path, "is empty");
        }
        self.text(path, s);
    }

    /// identifier and sender: "MUST NOT include spaces, commas or restricted
    /// characters (< and &)"; references are built from them.
    fn id(&mut self, path: &str, s: &str) {
        if s.is_empty() {
            self.add(path, "is empty");
        } else if let Some(c) = s
            .chars()
            .find(|&c| c.is_whitespace() || c == ',' || c == '<' || c == '&')
        {
            self.add(
                path,
                format!("contains {c:?}: CAP forbids spaces, commas, < and & in {s:?}"),
            );
        }
        self.text(path, s);
    }

    /// An item of a space-separated list; quoting makes spaces possible, but a
    /// double quote cannot be written.
    fn list(&mut self, path: &str, items: &[String]) {
        for item in items {
            if item.is_empty() || item.contains('"') {
                self.add(path, format!("cannot hold the item {item:?}"));
            }
            self.text(path, item);
        }
    }

    fn uri(&mut self, path: &str, s: Option<&str>) {
        let Some(s) = s else { return };
        // An absolute URI starts with a scheme: a letter, then letters, digits, + - .
        let scheme_ok = s.split_once(':').is_some_and(|(scheme, _)| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        if !scheme_ok || s.contains(char::is_whitespace) {
            self.add(path, format!("is not an absolute URI: {s:?}"));
        }
        self.text(path, s);
    }

    fn value_names(&mut self, path: &str, element: &str, pairs: &[ValueName]) {
        for (i, pair) in pairs.iter().enumerate() {
            let at = format!("{path}/{element}[{}]", i + 1);
            self.required_text(&format!("{at}/valueName"), &pair.value_name);
            self.text(&format!("{at}/value"), &pair.value);
        }
    }

    fn info(&mut self, path: &str, info: &Info) {
        if info.categories.is_empty() {
            self.add(
                &format!("{path}/category"),
                "is missing: at least one is required",
            );
        }
        self.required_text(&format!("{path}/event"), &info.event);
        self.opt_text(&format!("{path}/audience"), info.audience.as_deref());
        self.value_names(path, "eventCode", &info.event_codes);
        for (name, value) in [
            ("senderName", &info.sender_name),
            ("headline", &info.headline),
            ("description", &info.description),
            ("instruction", &info.instruction),
            ("contact", &info.contact),
        ] {
            self.opt_text(&format!("{path}/{name}"), value.as_deref());
        }
        self.uri(&format!("{path}/web"), info.web.as_deref());
        self.value_names(path, "parameter", &info.parameters);
        for (i, r) in info.resources.iter().enumerate() {
            let at = format!("{path}/resource[{}]", i + 1);
            self.required_text(&format!("{at}/resourceDesc"), &r.resource_desc);
            self.required_text(&format!("{at}/mimeType"), &r.mime_type);
            self.uri(&format!("{at}/uri"), r.uri.as_deref());
            self.opt_text(&format!("{at}/derefUri"), r.deref_uri.as_deref());
            self.opt_text(&format!("{at}/digest"), r.digest.as_deref());
        }
        for (i, area) in info.areas.iter().enumerate() {
            self.area(&format!("{path}/area[{}]", i + 1), area);
        }
    }

    fn area(&mut self, path: &str, area: &Area) {
        self.required_text(&format!("{path}/areaDesc"), &area.area_desc);
        self.value_names(path, "geocode", &area.geocodes);
        for (name, value) in [("altitude", area.altitude), ("ceiling", area.ceiling)] {
            if value.is_some_and(|x| !x.is_finite()) {
                self.add(&format!("{path}/{name}"), "is not a finite number");
            }
        }
        if area.ceiling.is_some() && area.altitude.is_none() {
            self.add(&format!("{path}/ceiling"), "is only allowed with altitude");
        }
    }
}
