//! Passwords (argon2id), TOTP second factors (RFC 6238) and session tokens.
//!
//! Secrets never reach `Debug` output. Callers pass the time in; nothing here
//! reads the clock.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use std::fmt;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer inputs are refused before hashing, so nobody can make the server hash
/// megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
}

pub fn check_password_policy(password: &str) -> Result<(), PasswordProblem> {
    if password.len() > MAX_PASSWORD_BYTES {
        Err(PasswordProblem::TooLong)
    } else if password.chars().count() < MIN_PASSWORD_CHARS {
        Err(PasswordProblem::TooShort)
    } else {
        Ok(())
    }
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), with OWASP's
/// recommended parameters and a random salt. Slow on purpose: call it off the
/// async executor.
pub fn hash_password(password: &str) -> Result<String, String> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// True when `password` matches the stored hash. A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    password.len() <= MAX_PASSWORD_BYTES
        && argon2::Argon2::default()
            .verify_password(password.as_bytes(), phc)
            .is_ok()
}

/// A hash to verify against when the account does not exist, so that a wrong
/// username takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password never matches").unwrap_or_default())
}

/// A TOTP shared secret (20 random bytes, shown to people as base32).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpProblem {
    #[error("the code is wrong or expired")]
    Invalid,
    #[error("this code was already used")]
    Replayed,
}

/// What the issuer is called in authenticator apps.
pub const TOTP_ISSUER: &str = "Crieur";

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        TotpSecret(random_bytes::<20>().to_vec())
    }

    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        totp_rs::Secret::try_from_base32(text.trim())
            .ok()
            .map(|s| TotpSecret(s.as_bytes().to_vec()))
    }

    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.clone()).to_base32()
    }

    fn totp(&self, account: &str) -> totp_rs::Totp {
        // SHA-1, 6 digits, 30 s: what every authenticator app supports. One step of
        // skew either way absorbs clock drift and typing time.
        totp_rs::Builder::new()
            .with_secret(self.0.clone())
            .with_skew(1)
            .with_account_name(account)
            .with_issuer(Some(TOTP_ISSUER))
            .build_noncompliant()
    }

    /// The `otpauth://` URI that authenticator apps import.
    pub fn uri(&self, account: &str) -> String {
        self.totp(account).to_url().unwrap_or_default()
    }

    /// The code valid at `unix_time`, for the demo's sign-in page only.
    pub fn code_at(&self, unix_time: u64) -> String {
        self.totp("demo").generate(unix_time).to_string()
    }

    /// Checks a code and returns the time step it belongs to. A step at or before
    /// `last_used_step` is a replay and is refused (RFC 6238 §5.2).
    pub fn verify(
        &self,
        code: &str,
        unix_time: u64,
        last_used_step: Option<u64>,
    ) -> Result<u64, TotpProblem> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpProblem::Invalid);
        }
        let step = self
            .totp("check")
            .check(&code, unix_time)
            .ok_or(TotpProblem::Invalid)?;
        match last_used_step {
            Some(last) if step <= last => Err(TotpProblem::Replayed),
            _ => Ok(step),
        }
    }
}

/// An SVG QR code for `text`, drawn by the server (no third-party service).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The operating system's generator failing leaves no safe way to continue.
    getrandom::fill(&mut buf).expect("the operating system's random generator works");
    buf
}

/// A new unguessable token (256 bits, hex) for sessions and CSRF.
pub fn new_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// What is stored of a session token: its SHA-256, so a leaked database does not
/// yield usable sessions.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new random password for accounts created without one.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<20>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(
            h,
            hash_password("correct horse battery").expect("hash"),
            "salted"
        );
    }

    #[test]
    fn password_policy() {
        assert_eq!(
            check_password_policy("short"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(
            check_password_policy(&"x".repeat(2000)),
            Err(PasswordProblem::TooLong)
        );
        assert!(check_password_policy("twelve chars").is_ok());
    }

    #[test]
    fn totp_accepts_current_codes_once_and_refuses_old_ones() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_000;
        let code = secret.code_at(now);
        let step = secret.verify(&code, now, None).expect("valid");
        assert_eq!(step, now / 30);
        assert_eq!(
            secret.verify(&code, now, Some(step)),
            Err(TotpProblem::Replayed)
        );
        assert!(
            secret.verify(&code, now + 30, None).is_ok(),
            "one step of drift is tolerated"
        );
        assert_eq!(
            secret.verify(&code, now + 120, None),
            Err(TotpProblem::Invalid),
            "expired"
        );
        assert_eq!(secret.verify("12345", now, None), Err(TotpProblem::Invalid));
        assert_eq!(
            secret.verify("abcdef", now, None),
            Err(TotpProblem::Invalid)
        );
        let other = TotpSecret::generate();
        assert!(other.verify(&code, now, None).is_err());
    }

    #[test]
    fn totp_secret_round_trips_and_never_prints() {
        let secret = TotpSecret::generate();
        let b32 = secret.to_base32();
        assert_eq!(TotpSecret::from_base32(&b32), Some(secret.clone()));
        assert!(!format!("{secret:?}").contains(&b32));
        let uri = secret.uri("mayor.liege");
        assert!(
            uri.starts_with("otpauth://totp/Crieur:mayor.liege?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={b32}")), "{uri}");
        assert!(qr_svg(&uri).contains("<svg"));
    }

    #[test]
    fn tokens_are_random_and_digests_stable() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token());
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), a);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &new_token()));
        assert_eq!(generate_password().len(), 20);
    }
}
