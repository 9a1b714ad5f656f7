//! HTTP Digest (RFC 2617, MD5 with qop=auth) as the registrar checks it, and the
//! nonces it hands out.
//!
//! rsipstack's own `verify_digest` reads `nc` as a hexadecimal `u8` and writes it
//! back in decimal, so any nonce count from 10 on fails; the response is
//! computed here from the header's own strings instead.

use md5::{Digest as _, Md5};
use rsipstack::sip::typed::tokenizers::AuthTokenizer;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Nonces remembered at most; a REGISTER flood cannot grow the store past this.
const MAX_NONCES: usize = 100_000;

/// The fields of a Digest `Authorization` header that the check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestAnswer {
    pub(crate) username: String,
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) uri: String,
    pub(crate) response: String,
    pub(crate) algorithm: Option<String>,
    pub(crate) qop: Option<String>,
    pub(crate) nc: Option<String>,
    pub(crate) cnonce: Option<String>,
}

impl DigestAnswer {
    /// None when the header is not a readable Digest answer.
    pub(crate) fn parse(header: &str) -> Option<Self> {
        let tok = AuthTokenizer::parse(header).ok()?;
        if !tok.scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let get = |key: &str| {
            tok.params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.to_string())
        };
        Some(Self {
            username: get("username")?,
            realm: get("realm")?,
            nonce: get("nonce")?,
            uri: get("uri")?,
            response: get("response")?,
            algorithm: get("algorithm"),
            qop: get("qop"),
            nc: get("nc"),
            cnonce: get("cnonce"),
        })
    }

    /// The nonce count, when the answer uses qop=auth as the registrar demands.
    pub(crate) fn nonce_count(&self) -> Option<u32> {
        let qop_auth = self
            .qop
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case("auth"));
        let md5 = self
            .algorithm
            .as_deref()
            .is_none_or(|a| a.eq_ignore_ascii_case("md5"));
        if !qop_auth || !md5 || self.cnonce.is_none() {
            return None;
        }
        u32::from_str_radix(self.nc.as_deref()?, 16).ok()
    }

    /// Whether `password` produces this answer for `method` (constant time).
    pub(crate) fn matches(&self, password: &str, method: &str) -> bool {
        let (Some(nc), Some(cnonce), Some(qop)) = (&self.nc, &self.cnonce, &self.qop) else {
            return false;
        };
        let ha1 = md5_hex(&format!("{}:{}:{}", self.username, self.realm, password));
        let ha2 = md5_hex(&format!("{method}:{}", self.uri));
        let expected = md5_hex(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", self.nonce));
        constant_time_eq(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }
}

pub(crate) fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the store says about a nonce an answer used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NonceUse {
    /// Issued by us, not expired, and this nonce count is new.
    Fresh,
    /// Unknown, expired or replayed: challenge again with `stale=true`.
    Stale,
}

/// Nonces issued by the registrar, each valid for `ttl`, with the highest nonce
/// count seen so that a replayed request is not accepted twice.
#[derive(Debug)]
pub(crate) struct NonceStore {
    ttl: Duration,
    nonces: Mutex<HashMap<String, (Instant, u32)>>,
}

impl NonceStore {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            nonces: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn issue(&self) -> String {
        let mut bytes = [0u8; 16];
        // The OS generator does not fail on the systems Crieur runs on; a nonce
        // made of zeroes would still be single-use thanks to the nc check.
        let _ = getrandom::fill(&mut bytes);
        let nonce = hex::encode(bytes);
        let now = Instant::now();
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        if nonces.len() >= MAX_NONCES {
            nonces.retain(|_, (issued, _)| now.duration_since(*issued) < self.ttl);
            if nonces.len() >= MAX_NONCES {
                // Still full of live nonces: a flood. Forget them all; honest
                // phones are challenged again with stale=true and carry on.
                nonces.clear();
            }
        }
        nonces.insert(nonce.clone(), (now, 0));
        nonce
    }

    pub(crate) fn use_nonce(&self, nonce: &str, nc: u32) -> NonceUse {
        let now = Instant::now();
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        match nonces.get_mut(nonce) {
            Some((issued, _)) if now.duration_since(*issued) >= self.ttl => {
                nonces.remove(nonce);
                NonceUse::Stale
            }
            Some((_, last)) if nc > *last => {
                *last = nc;
                NonceUse::Fresh
            }
            _ => NonceUse::Stale,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.nonces.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's example (an HTTP GET, but the arithmetic is the same).
    #[test]
    fn the_rfc_2617_example_verifies() {
        let answer = DigestAnswer::parse(
            r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert_eq!(answer.nonce_count(), Some(1));
        assert!(answer.matches("Circle Of Life", "GET"));
        assert!(!answer.matches("circle of life", "GET"));
        assert!(!answer.matches("Circle Of Life", "REGISTER"));
    }

    #[test]
    fn a_nonce_count_past_nine_is_read_as_hexadecimal() {
        let answer = DigestAnswer {
            username: "1001".into(),
            realm: "crieur".into(),
            nonce: "n".into(),
            uri: "sip:127.0.0.1".into(),
            response: String::new(),
            algorithm: Some("MD5".into()),
            qop: Some("auth".into()),
            nc: Some("0000000a".into()),
            cnonce: Some("c".into()),
        };
        assert_eq!(answer.nonce_count(), Some(10));
        let ha1 = md5_hex("1001:crieur:pw");
        let ha2 = md5_hex("REGISTER:sip:127.0.0.1");
        let response = md5_hex(&format!("{ha1}:n:0000000a:c:auth:{ha2}"));
        assert!(DigestAnswer { response, ..answer }.matches("pw", "REGISTER"));
    }

    #[test]
    fn answers_without_qop_auth_or_with_another_algorithm_are_not_accepted() {
        let base = r#"Digest username="u", realm="r", nonce="n", uri="sip:x", response="00""#;
        assert_eq!(DigestAnswer::parse(base).unwrap().nonce_count(), None);
        let sha = format!(r#"{base}, algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c""#);
        assert_eq!(DigestAnswer::parse(&sha).unwrap().nonce_count(), None);
        assert!(DigestAnswer::parse("Basic dXNlcjpwYXNz").is_none());
        assert!(DigestAnswer::parse("Digest username=").is_none());
    }

    #[test]
    fn a_nonce_is_single_use_per_count_and_expires() {
        let store = NonceStore::new(Duration::from_secs(60));
        let nonce = store.issue();
        assert_eq!(store.use_nonce(&nonce, 1), NonceUse::Fresh);
        assert_eq!(store.use_nonce(&nonce, 1), NonceUse::Stale, "replayed");
        assert_eq!(store.use_nonce(&nonce, 2), NonceUse::Fresh);
        assert_eq!(store.use_nonce("not-ours", 1), NonceUse::Stale);

        let short = NonceStore::new(Duration::ZERO);
        let nonce = short.issue();
        assert_eq!(short.use_nonce(&nonce, 1), NonceUse::Stale, "expired");
        assert_eq!(short.len(), 0);
    }
}
