use super::synthetic::{Config, generate};
use super::*;
use crate::Language;

fn entry(id: u64, given: &str, family: &str, birth: PartialDate) -> ListEntry {
    ListEntry {
        id: EntryId(id),
        kind: ListKind::HospitalAdmission,
        given_names: given.into(),
        family_names: family.into(),
        birth,
        sex: None,
        nationality: None,
        phone: None,
        last_place: None,
    }
}

fn sought(given: &str, family: &str, birth: PartialDate) -> PersonSought {
    PersonSought {
        given_names: given.into(),
        family_names: family.into(),
        birth,
        ..PersonSought::default()
    }
}

fn has(m: &Match, key: &str) -> bool {
    m.reasons.iter().any(|r| r.key() == key)
}

const BIRTH: PartialDate = PartialDate {
    year: Some(1962),
    month: Some(3),
    day: Some(14),
};

#[test]
fn fold_removes_accents_case_and_punctuation() {
    assert_eq!(fold("Hélène François-Ça"), "helene francois ca");
    assert_eq!(fold("Straße Øster D'Hondt"), "strasse oster dhondt");
    assert_eq!(fold("Jean-Pierre"), "jean pierre");
}

#[test]
fn spelling_key_folds_dutch_and_french_variants() {
    for (a, b) in [
        ("vandijck", "vandyk"),
        ("claes", "klaas"),
        ("verhaeghe", "verhage"),
        ("goossens", "gosens"),
        ("schepers", "sepers"),
        ("philippe", "filipe"),
        ("dhondt", "hont"),
    ] {
        let (x, y) = (spelling_key(a), spelling_key(b));
        if a == "dhondt" {
            // Only the "dh"/"dt" part folds; the particle stays.
            assert_eq!(x, "dont");
            continue;
        }
        assert_eq!(x, y, "{a} vs {b}");
    }
    assert_ne!(spelling_key("peeters"), spelling_key("pieters"));
}

#[test]
fn phone_numbers_in_belgian_forms_normalise_alike() {
    let want = Some("32470123456".to_owned());
    assert_eq!(normalize_phone("0470 12 34 56"), want);
    assert_eq!(normalize_phone("+32 470 12 34 56"), want);
    assert_eq!(normalize_phone("0032470123456"), want);
    assert_eq!(normalize_phone("+32 (0)470/12.34.56"), want);
    assert_eq!(normalize_phone("12"), None);
}

#[test]
fn distances_behave() {
    assert_eq!(damerau_levenshtein("peeters", "peeters"), 0);
    assert_eq!(damerau_levenshtein("peeters", "peetres"), 1);
    assert_eq!(damerau_levenshtein("martha", "marhta"), 1);
    assert!((jaro_winkler("martha", "marhta") - 0.961).abs() < 0.001);
    assert!(jaro_winkler("dubois", "janssens") < 0.6);
}

#[test]
fn exact_match_scores_high() {
    let m = score(
        &sought("Marie", "Peeters", BIRTH),
        &entry(1, "Marie", "Peeters", BIRTH),
    );
    assert!(m.score > 0.95, "{m:?}");
    assert!(
        has(&m, "family_name_matches")
            && has(&m, "given_name_matches")
            && has(&m, "birth_date_matches")
    );
}

#[test]
fn accents_and_case_do_not_matter() {
    let m = score(
        &sought("HELENE", "LEFEBVRE", BIRTH),
        &entry(1, "Hélène", "Lefèbvre", BIRTH),
    );
    assert!(m.score > 0.95, "{m:?}");
    assert!(has(&m, "family_name_matches"));
    assert!(has(&m, "given_name_matches"));
}

#[test]
fn dutch_and_french_spelling_variants_match() {
    let m = score(
        &sought("Jan", "Van Dyck", BIRTH),
        &entry(1, "Jan", "Van Dijck", BIRTH),
    );
    assert!(has(&m, "family_name_spelling_variant"), "{m:?}");
    assert!(m.score > 0.95);
    let m = score(
        &sought("Luc", "Claas", BIRTH),
        &entry(1, "Luc", "Claes", BIRTH),
    );
    assert!(has(&m, "family_name_spelling_variant"), "{m:?}");
}

#[test]
fn particles_glued_or_split_match() {
    for (a, b) in [
        ("De Smet", "Desmet"),
        ("Van den Broeck", "Vandenbroeck"),
        ("Van der Straeten", "Vanderstraeten"),
    ] {
        let m = score(&sought("Koen", a, BIRTH), &entry(1, "Koen", b, BIRTH));
        assert!(m.score > 0.95, "{a} vs {b}: {m:?}");
        assert!(!has(&m, "family_name_differs"));
    }
    let m = score(
        &sought("Koen", "Straeten", BIRTH),
        &entry(1, "Koen", "Vanderstraeten", BIRTH),
    );
    assert!(has(&m, "family_name_particles"), "{m:?}");
}

#[test]
fn given_name_variant_and_diminutive_match() {
    let m = score(
        &sought("Jan", "Peeters", BIRTH),
        &entry(1, "Jean", "Peeters", BIRTH),
    );
    assert!(
        m.reasons.contains(&Reason::GivenNameVariant {
            sought: "jan".into(),
            entry: "jean".into()
        }),
        "{m:?}"
    );
    assert!(m.score > 0.9);
    let m = score(
        &sought("Katrien", "Maes", BIRTH),
        &entry(1, "Catherine", "Maes", BIRTH),
    );
    assert!(has(&m, "given_name_variant"), "{m:?}");
    assert!(variant_group("willem") == variant_group("guillaume"));
    assert!(variant_group("jan") != variant_group("marie"));
}

#[test]
fn swapped_names_match_and_say_so() {
    let m = score(
        &sought("Peeters", "Jan", BIRTH),
        &entry(1, "Jan", "Peeters", BIRTH),
    );
    assert!(has(&m, "names_swapped"), "{m:?}");
    assert!(m.score > 0.9);
}

#[test]
fn a_typo_still_matches() {
    let m = score(
        &sought("Marie", "Vermuelen", BIRTH),
        &entry(1, "Marie", "Vermeulen", BIRTH),
    );
    assert!(has(&m, "family_name_typo"), "{m:?}");
    assert!(m.score > 0.9);
}

#[test]
fn missing_middle_name_costs_nothing() {
    let full = score(
        &sought("Jean", "Dupont", BIRTH),
        &entry(1, "Jean", "Dupont", BIRTH),
    );
    let m = score(
        &sought("Jean", "Dupont", BIRTH),
        &entry(1, "Jean-Pierre Marie", "Dupont", BIRTH),
    );
    assert!(has(&m, "middle_name_missing"), "{m:?}");
    assert!((m.score - full.score).abs() < 1e-9);
}

#[test]
fn partial_birth_dates_grade_the_evidence() {
    let e = entry(1, "Marie", "Peeters", BIRTH);
    let full = score(&sought("Marie", "Peeters", BIRTH), &e);
    let year = score(&sought("Marie", "Peeters", PartialDate::year(1962)), &e);
    let close = score(&sought("Marie", "Peeters", PartialDate::year(1963)), &e);
    let none = score(&sought("Marie", "Peeters", PartialDate::unknown()), &e);
    let far = score(&sought("Marie", "Peeters", PartialDate::year(1980)), &e);
    assert!(has(&year, "birth_year_matches") && has(&close, "birth_year_close"));
    assert!(full.score > year.score && year.score > close.score && close.score > none.score);
    assert!(none.score > far.score && has(&far, "birth_dates_conflict"));
}

#[test]
fn conflicting_full_dates_rank_down() {
    let m = score(
        &sought("Marie", "Peeters", PartialDate::full(1962, 3, 14)),
        &entry(1, "Marie", "Peeters", PartialDate::full(1971, 9, 2)),
    );
    assert!(has(&m, "birth_dates_conflict"), "{m:?}");
    assert!(m.score < 0.5);
}

#[test]
fn sex_conflict_ranks_down() {
    let mut e = entry(1, "Dominique", "Lambert", BIRTH);
    e.sex = Some(Sex::Male);
    let mut s = sought("Dominique", "Lambert", BIRTH);
    let agree = score(&s, &e);
    s.sex = Some(Sex::Female);
    let m = score(&s, &e);
    assert!(
        has(&m, "sex_conflicts") && m.score < agree.score - 0.1,
        "{m:?}"
    );
}

#[test]
fn phone_alone_is_strong_evidence() {
    let mut e = entry(1, "Youssef", "El Amrani", BIRTH);
    e.phone = Some("+32470123456".into());
    let s = PersonSought {
        phone: Some("0470/12.34.56".into()),
        ..PersonSought::default()
    };
    let m = score(&s, &e);
    assert_eq!(m.reasons, vec![Reason::SamePhone]);
    assert!(m.score > 0.6);
    let index = Index::new(&[e]);
    assert_eq!(
        index.candidates(&s, 3).first().map(|c| c.0),
        Some(EntryId(1))
    );
}

#[test]
fn different_people_score_low() {
    let m = score(
        &sought("Marie", "Peeters", BIRTH),
        &entry(1, "Mohamed", "Yilmaz", PartialDate::full(1990, 1, 1)),
    );
    assert!(m.score < 0.01, "{m:?}");
    assert!(has(&m, "family_name_differs") && has(&m, "given_name_differs"));
}

#[test]
fn right_person_ranks_first_among_similar_decoys() {
    let entries = vec![
        entry(1, "Jan", "Peeters", PartialDate::full(1962, 3, 15)),
        entry(2, "Jan", "Pieters", PartialDate::full(1985, 7, 1)),
        entry(3, "Johan", "Peeters", PartialDate::full(1990, 3, 14)),
        entry(4, "Jean", "Peeters", BIRTH),
        entry(5, "Jan", "Peeters", PartialDate::year(1970)),
        entry(6, "Marie", "Peeters", BIRTH),
        entry(7, "Jan", "Peters", PartialDate::full(1962, 4, 14)),
    ];
    let index = Index::new(&entries);
    let ranked = index.candidates(&sought("Jan", "Peeters", BIRTH), 3);
    assert_eq!(ranked[0].0, EntryId(4), "{ranked:?}");
    assert!(ranked[0].1.score > ranked[1].1.score);
}

#[test]
fn reasons_have_texts_in_every_language() {
    let r = Reason::GivenNameVariant {
        sought: "jan".into(),
        entry: "jean".into(),
    };
    assert_eq!(r.text(Language::En), "given name is a variant (jan ~ jean)");
    for l in Language::ALL {
        assert!(!Reason::BirthDatesConflict.text(l).is_empty());
    }
    assert!(Reason::BirthDatesConflict.is_conflict() && !Reason::SamePhone.is_conflict());
}

#[test]
fn synthetic_data_is_reproducible_and_has_truth() {
    let config = Config {
        entries: 300,
        inquiries: 100,
        listed_share: 0.7,
        seed: 7,
    };
    let a = generate(&config);
    assert_eq!(a, generate(&config));
    assert_eq!(a.entries.len(), 300);
    let listed = a.inquiries.iter().filter(|i| i.truth.is_some()).count();
    assert!((55..=85).contains(&listed), "{listed}");
}

#[test]
fn index_finds_most_synthetic_inquiries_in_the_top_three() {
    let data = generate(&Config {
        entries: 2_000,
        inquiries: 400,
        listed_share: 1.0,
        seed: 11,
    });
    let index = Index::new(&data.entries);
    let found = data
        .inquiries
        .iter()
        .filter(|i| {
            index
                .candidates(&i.sought, 3)
                .iter()
                .any(|c| Some(c.0) == i.truth)
        })
        .count();
    assert!(
        found * 100 >= 85 * data.inquiries.len(),
        "{found} of {}",
        data.inquiries.len()
    );
}

#[test]
fn index_agrees_with_a_full_scan_on_the_best_candidate() {
    let data = generate(&Config {
        entries: 1_000,
        inquiries: 100,
        listed_share: 0.8,
        seed: 3,
    });
    let index = Index::new(&data.entries);
    for inquiry in &data.inquiries {
        let best = data
            .entries
            .iter()
            .map(|e| (e.id, score(&inquiry.sought, e).score))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let got = index.candidates(&inquiry.sought, 1);
        if let (Some(best), Some(got)) = (best, got.first())
            && best.1 > 0.5
        {
            assert!(
                (got.1.score - best.1).abs() < 1e-9,
                "{inquiry:?}: {got:?} vs {best:?}"
            );
        }
    }
}
