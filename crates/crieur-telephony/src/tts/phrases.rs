//! The fixed sentences of a voice alert, in Crieur's own wording.

/// "Press 1 to confirm", asked after the message has been played.
pub const CONFIRM_NL: &str = "Druk op 1 om te bevestigen dat u dit bericht hebt ontvangen.";
pub const CONFIRM_FR: &str = "Appuyez sur 1 pour confirmer que vous avez reçu ce message.";
pub const CONFIRM_DE: &str = "Drücken Sie die 1, um den Empfang dieser Nachricht zu bestätigen.";
pub const CONFIRM_EN: &str = "Press 1 to confirm that you have received this message.";

/// Said once the recipient has pressed 1.
pub const CONFIRMED_NL: &str = "Dank u, uw bevestiging is geregistreerd.";
pub const CONFIRMED_FR: &str = "Merci, votre confirmation est enregistrée.";
pub const CONFIRMED_DE: &str = "Vielen Dank, Ihre Bestätigung wurde gespeichert.";
pub const CONFIRMED_EN: &str = "Thank you, your confirmation is recorded.";

/// The "press 1 to confirm" sentence in `language` (nl, fr, de or en; a region
/// subtag such as `fr-BE` is ignored).
pub fn confirm_prompt(language: &str) -> Option<&'static str> {
    pick(language, [CONFIRM_NL, CONFIRM_FR, CONFIRM_DE, CONFIRM_EN])
}

/// The "thank you, your confirmation is recorded" sentence in `language`.
pub fn confirmed_prompt(language: &str) -> Option<&'static str> {
    pick(
        language,
        [CONFIRMED_NL, CONFIRMED_FR, CONFIRMED_DE, CONFIRMED_EN],
    )
}

fn pick(language: &str, [nl, fr, de, en]: [&'static str; 4]) -> Option<&'static str> {
    match super::primary_subtag(language).as_str() {
        "nl" => Some(nl),
        "fr" => Some(fr),
        "de" => Some(de),
        "en" => Some(en),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_both_sentences() {
        for lang in ["nl", "fr", "de", "en", "FR-be", "nl_BE"] {
            assert!(confirm_prompt(lang).unwrap().contains('1'), "{lang}");
            assert!(confirmed_prompt(lang).is_some(), "{lang}");
        }
        assert_eq!(confirm_prompt("fr-BE"), Some(CONFIRM_FR));
        assert_eq!(confirm_prompt("it"), None);
        assert_eq!(confirmed_prompt(""), None);
    }
}
