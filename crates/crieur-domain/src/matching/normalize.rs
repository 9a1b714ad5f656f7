//! Normal forms of names, in three steps of increasing tolerance:
//!
//! 1. [`fold`]: lower case, accents and ligatures removed (é→e, ß→ss, ç→c, ø→o,
//!    æ→ae, œ→oe), apostrophes dropped (D'Hondt→dhondt), other punctuation and
//!    hyphens turned into spaces (Jean-Pierre→jean pierre).
//! 2. [`spelling_key`]: folds the spelling variants common in Belgian Dutch and
//!    French, in this order: sch→s, ph→f, th→t, gh→g, dh→d, ij→i, y→i, ae→a,
//!    ou→oe, ck→k, qu→k, c before e/i→s, other c→k (but ch kept), final dt/d→t,
//!    then doubled letters collapsed (Claes, Claas, Klaas → klas; Van Dijck, Vandyck →
//!    vandik; Verhaeghe → verhage; Goossens → gosens).
//! 3. [`phonetic_key`]: a coarse sound key on the spelling key: the first letter
//!    (any vowel as `a`), then consonant classes (b/p→p, d/t→t, g/k/ch/x→k,
//!    v/f/w→f, s/z→s, j→i), vowels and h dropped, repeats collapsed, at most five
//!    characters. Used for blocking and as weak evidence.
//!
//! Family names are also compared glued (De Smet = Desmet, Van den Broeck =
//! Vandenbroeck) and without their particles (Vanderstraeten ~ Straeten).

/// Lower case, accents removed, apostrophes dropped, punctuation → spaces.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\'' | '’' | '`' | '´' | 'ʼ' => {}
            c if c.is_alphanumeric() => push_folded(&mut out, c),
            _ => out.push(' '),
        }
    }
    out
}

fn push_folded(out: &mut String, c: char) {
    let s: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
            "a"
        }
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ğ' | 'Ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ı' | 'ī' | 'İ' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ł' | 'Ł' => "l",
        'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => {
            "o"
        }
        'œ' | 'Œ' => "oe",
        'ř' | 'Ř' => "r",
        'ß' | 'ẞ' => "ss",
        'ś' | 'š' | 'ş' | 'Ś' | 'Š' | 'Ş' => "s",
        'ť' | 'ţ' | 'Ť' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        _ => {
            out.extend(c.to_lowercase());
            return;
        }
    };
    out.push_str(s);
}

/// The words of a folded name.
pub(crate) fn tokens(s: &str) -> Vec<String> {
    fold(s).split_whitespace().map(str::to_owned).collect()
}

/// Particles that start Belgian, French, Dutch, German and Arabic family names.
const PARTICLES: &[&str] = &[
    "van", "vd", "de", "den", "der", "het", "t", "ter", "ten", "te", "la", "le", "les", "du",
    "des", "d", "l", "von", "zu", "vom", "di", "da", "del", "della", "dos", "el", "al", "ben",
    "bin", "ibn", "ver", "op", "in",
];

/// Glued particle prefixes, longest first, stripped from a glued family name when at
/// least three letters remain (Vanderstraeten → straeten, Desmet → smet).
/// Short French/Arabic particles (le, la, el…) are left out: too many plain names
/// start with them (Lambert, Leroy, Elias).
const GLUED_PREFIXES: &[&str] = &["vanden", "vander", "vande", "van", "des", "de", "ver"];

pub(crate) fn is_particle(token: &str) -> bool {
    PARTICLES.contains(&token)
}

/// The folded family name glued into one word: "Van den Broeck" → "vandenbroeck".
pub(crate) fn glued(tokens: &[String]) -> String {
    tokens.concat()
}

/// The glued family name without its leading particles, glued or not.
pub(crate) fn core(tokens: &[String]) -> String {
    let rest: Vec<&String> = tokens.iter().skip_while(|t| is_particle(t)).collect();
    let joined: String = if rest.is_empty() {
        tokens.concat()
    } else {
        rest.iter().map(|s| s.as_str()).collect()
    };
    strip_glued_prefix(&joined)
}

fn strip_glued_prefix(s: &str) -> String {
    let mut s = s;
    // At most two rounds: "vande" + "r"… is covered by the longer prefixes.
    for _ in 0..2 {
        match GLUED_PREFIXES
            .iter()
            .find(|p| s.starts_with(*p) && s.len() >= p.len() + 3)
        {
            Some(p) => s = &s[p.len()..],
            None => break,
        }
    }
    s.to_owned()
}

/// Folds Dutch and French spelling variants; see the module documentation.
pub fn spelling_key(folded: &str) -> String {
    let b: Vec<char> = folded.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out: Vec<char> = Vec::with_capacity(b.len());
    let at = |i: usize| b.get(i).copied().unwrap_or('\0');
    let mut i = 0;
    while i < b.len() {
        let (c, n, n2) = (b[i], at(i + 1), at(i + 2));
        let (emit, skip): (&[char], usize) = match (c, n, n2) {
            ('s', 'c', 'h') => (&['s'], 3),
            ('p', 'h', _) => (&['f'], 2),
            ('t', 'h', _) => (&['t'], 2),
            ('g', 'h', _) => (&['g'], 2),
            ('d', 'h', _) => (&['d'], 2),
            ('i', 'j', _) => (&['i'], 2),
            ('y', _, _) => (&['i'], 1),
            ('a', 'e', _) => (&['a'], 2),
            ('o', 'u', _) => (&['o', 'e'], 2),
            ('c', 'k', _) => (&['k'], 2),
            ('q', 'u', _) => (&['k'], 2),
            ('c', 'h', _) => (&['c', 'h'], 2),
            ('c', 'e' | 'i' | 'y', _) => (&['s'], 1),
            ('c', _, _) => (&['k'], 1),
            ('d', 't', _) if i + 2 == b.len() => (&['t'], 2),
            ('d', _, _) if i + 1 == b.len() && i > 0 => (&['t'], 1),
            _ => (std::slice::from_ref(&b[i]), 1),
        };
        for &e in emit {
            if out.last() != Some(&e) {
                out.push(e);
            }
        }
        i += skip;
    }
    out.into_iter().collect()
}

/// A coarse sound key of a spelling key; see the module documentation.
pub fn phonetic_key(spelled: &str) -> String {
    let class = |c: char| -> Option<char> {
        Some(match c {
            'b' | 'p' => 'p',
            'd' | 't' => 't',
            'g' | 'k' | 'x' | 'c' | 'q' => 'k',
            'v' | 'f' | 'w' => 'f',
            's' | 'z' => 's',
            'j' => 'i',
            'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'h' => return None,
            c => c,
        })
    };
    let mut out = String::with_capacity(5);
    let mut last: Option<char> = None;
    let mut chars = spelled.chars().peekable();
    if let Some(&first) = chars.peek() {
        let f = match first {
            'a' | 'e' | 'i' | 'o' | 'u' | 'y' => 'a',
            c => class(c).unwrap_or(c),
        };
        out.push(f);
        last = class(first);
        chars.next();
    }
    while let Some(c) = chars.next() {
        // "ch" is one sound.
        if c == 'c' && chars.peek() == Some(&'h') {
            chars.next();
        }
        let k = class(c);
        if let Some(k) = k
            && last != Some(k)
        {
            out.push(k);
            if out.len() >= 5 {
                break;
            }
        }
        last = k;
    }
    out
}

/// A phone number in international digits without `+` (`32470123456`), from
/// E.164 or the Belgian forms people say: `0470 12 34 56`, `+32 470…`, `0032 470…`.
/// `None` when fewer than eight digits remain.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let plus = trimmed.starts_with('+');
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("32{rest}")
    } else if digits.starts_with("32") && digits.len() >= 10 {
        digits
    } else {
        // Belgian numbers without the trunk 0 ("470 12 34 56").
        format!("32{digits}")
    };
    // "+32 (0)470…": drop the bracketed trunk zero.
    let international = match international.strip_prefix("320") {
        Some(rest) if rest.len() >= 8 => format!("32{rest}"),
        _ => international,
    };
    (international.len() >= 8).then_some(international)
}
