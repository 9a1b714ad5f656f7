//! Text normalisation shared by look-ups that must ignore case and accents
//! ("Liège" = "liege", "Sint-Niklaas" = "sint niklaas").

/// Folds a name to lowercase ASCII words separated by single spaces: accents are
/// dropped, punctuation becomes a separator, `ß` becomes `ss`, `œ` becomes `oe`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        let mapped: &str = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
            'æ' => "ae",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
            'œ' => "oe",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(c);
                continue;
            }
            c if c.is_alphanumeric() => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(c);
                continue;
            }
            _ => {
                pending_space = true;
                continue;
            }
        };
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push_str(mapped);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_accents_case_and_punctuation() {
        assert_eq!(fold("Liège"), "liege");
        assert_eq!(fold("  Rue de l'Église  "), "rue de l eglise");
        assert_eq!(fold("Sint-Niklaas"), "sint niklaas");
        assert_eq!(fold("Hauptstraße"), "hauptstrasse");
        assert_eq!(fold("Œuvre"), "oeuvre");
        assert_eq!(fold("--"), "");
    }
}
