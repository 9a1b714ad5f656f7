//! The relatives line's records: inquiries and their links, lists written whole,
//! decisions with the callback a confirmation creates, and the purge.

use crate::{T0, incident, new_hotline};
use crieur_domain::Language;
use crieur_domain::matching::{ListKind, PartialDate, Sex};
use crieur_domain::relatives::{Involvement, ListPerson, Relationship};
use crieur_store::{
    Decision, Enquirer, HotlineLine, InquiryState, ListOrigin, NewCallback, NewDecision,
    NewInquiry, NewPersonList, SoughtPerson, StoreError,
};

fn inquiry(incident_id: i64, by: i64, family: &str) -> NewInquiry {
    NewInquiry {
        incident_id,
        hotline_id: None,
        call_id: None,
        sought: SoughtPerson {
            given_names: "Marie".into(),
            family_names: family.into(),
            birth: PartialDate::year(1962),
            sex: Some(Sex::Female),
            nationality: Some("BE".into()),
            description: "red coat".into(),
            phone: Some("+32470111111".into()),
            last_place: Some("Gare de Liège-Guillemins".into()),
            last_seen: "yesterday 18:00".into(),
            why_involved: "takes the train there every day".into(),
        },
        caller: Enquirer {
            name: "Paul Dupont".into(),
            relationship: Relationship::Child,
            callback_numbers: vec!["+32470222222".into(), "+3243333333".into()],
            language: Language::Fr,
        },
        involvement: Involvement::Likely,
        notes: "very anxious".into(),
        same_person_as: None,
        by,
        at: T0,
    }
}

fn hospital(incident_id: i64, by: i64) -> NewPersonList {
    NewPersonList {
        incident_id,
        kind: ListKind::HospitalAdmission,
        source: "CHR Citadelle".into(),
        drawn_up_at: T0 - 600,
        origin: ListOrigin::Csv,
        by,
        at: T0,
    }
}

fn person(given: &str, family: &str) -> ListPerson {
    ListPerson {
        given_names: given.into(),
        family_names: family.into(),
        birth: PartialDate::full(1962, 5, 14),
        sex: Some(Sex::Female),
        place: Some("CHR Citadelle".into()),
        details: Some("ward 3".into()),
        ..ListPerson::default()
    }
}

story! {
    async fn an_inquiry_keeps_every_field_and_links_to_others_about_the_same_person(f) {
        let r = f.store.relatives();
        let first = r
            .create_inquiry(&inquiry(f.incident, f.alice, "Dupont"))
            .await
            .unwrap();
        assert_eq!(first.person, first.id, "a new person");
        assert_eq!(first.state, InquiryState::Open);
        assert_eq!(first.sought, inquiry(f.incident, f.alice, "Dupont").sought);
        assert_eq!(first.caller.callback_numbers.len(), 2);
        assert_eq!(first.caller.relationship, Relationship::Child);
        assert_eq!(first.involvement, Involvement::Likely);

        // A second caller about the same woman, linked when recorded.
        let mut second = inquiry(f.incident, f.bob, "Dupont");
        second.same_person_as = Some(first.id);
        let second = r.create_inquiry(&second).await.unwrap();
        assert_eq!(second.person, first.id);
        // A third, recorded separately and linked afterwards.
        let third = r
            .create_inquiry(&inquiry(f.incident, f.bob, "Du Pont"))
            .await
            .unwrap();
        assert_ne!(third.person, first.person);
        r.link_inquiries(third.id, second.id, T0 + 5).await.unwrap();
        let about: Vec<i64> = r
            .inquiries_about(first.id)
            .await
            .unwrap()
            .iter()
            .map(|q| q.id)
            .collect();
        assert_eq!(about, vec![first.id, second.id, third.id]);
        let listed: Vec<i64> = r
            .inquiries(f.incident)
            .await
            .unwrap()
            .iter()
            .map(|q| q.id)
            .collect();
        assert_eq!(listed, vec![third.id, second.id, first.id], "newest first");

        // Another incident's inquiry cannot be linked, nor named as the same person.
        let other_incident = incident(&f.store, f.alice).await;
        let elsewhere = r
            .create_inquiry(&inquiry(other_incident, f.alice, "Dupont"))
            .await
            .unwrap();
        assert!(matches!(
            r.link_inquiries(elsewhere.id, first.id, T0).await,
            Err(StoreError::NotFound)
        ));
        let mut crossing = inquiry(other_incident, f.alice, "Dupont");
        crossing.same_person_as = Some(first.id);
        assert!(matches!(
            r.create_inquiry(&crossing).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(r.inquiries(other_incident).await.unwrap().len(), 1);
    }
}

story! {
    async fn a_closed_incident_takes_no_new_inquiry_or_list(f) {
        f.store
            .alerts()
            .close_incident(f.incident, f.alice)
            .await
            .unwrap();
        let r = f.store.relatives();
        assert!(matches!(
            r.create_inquiry(&inquiry(f.incident, f.alice, "X")).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            r.add_list(&hospital(f.incident, f.alice), vec![person("A", "B")])
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            r.create_inquiry(&inquiry(9_999, f.alice, "X")).await,
            Err(StoreError::NotFound)
        ));
    }
}

story! {
    async fn lists_are_stored_whole_and_hand_entries_join_their_manual_list(f) {
        let r = f.store.relatives();
        let people: Vec<ListPerson> = (0..2_000)
            .map(|i| person(&format!("P{i}"), "Peeters"))
            .collect();
        let list = r
            .add_list(&hospital(f.incident, f.alice), people.clone())
            .await
            .unwrap();
        assert_eq!(list.entries, 2_000);
        assert_eq!(list.kind, ListKind::HospitalAdmission);
        assert_eq!(list.origin, ListOrigin::Csv);
        assert_eq!(list.drawn_up_at, T0 - 600);
        let entries = r.list_entries(f.incident).await.unwrap();
        assert_eq!(entries.len(), 2_000);
        assert_eq!(entries[7].person, people[7]);
        assert_eq!(entries[7].kind, ListKind::HospitalAdmission);
        let (incident_of, one) = r.entry(entries[7].id).await.unwrap().unwrap();
        assert_eq!((incident_of, one), (f.incident, entries[7].clone()));

        let manual = || NewPersonList {
            kind: ListKind::SafeSelfReport,
            source: "Phone report".into(),
            origin: ListOrigin::Manual,
            ..hospital(f.incident, f.bob)
        };
        let a = r
            .add_list(&manual(), vec![person("An", "Janssens")])
            .await
            .unwrap();
        let b = r
            .add_list(&manual(), vec![person("Tom", "Janssens")])
            .await
            .unwrap();
        assert_eq!(a.id, b.id, "the same manual list");
        assert_eq!(b.entries, 2);
        let lists = r.lists(f.incident).await.unwrap();
        assert_eq!(lists.len(), 2);
        assert_eq!(lists[0].id, a.id, "newest first");
        assert_eq!(r.list_entries(f.incident).await.unwrap().len(), 2_002);
    }
}

story! {
    async fn a_confirmation_creates_its_callback_in_the_same_write_and_is_decided_once(f) {
        let h = f.store.hotline();
        let hotline = h
            .activate_hotline(&new_hotline(f.incident, "1771", f.alice))
            .await
            .unwrap()
            .id;
        let r = f.store.relatives();
        let q = r
            .create_inquiry(&inquiry(f.incident, f.alice, "Dupont"))
            .await
            .unwrap();
        r.add_list(
            &hospital(f.incident, f.alice),
            vec![person("Marie", "Dupont"), person("Maria", "Dupond")],
        )
        .await
        .unwrap();
        let entries = r.list_entries(f.incident).await.unwrap();

        let rejected = r
            .decide_match(&NewDecision {
                inquiry_id: q.id,
                entry_id: entries[1].id,
                score: 0.71,
                reasons: vec!["family_name_similar".into()],
                decision: Decision::Rejected,
                note: "other birth date per caller".into(),
                callback: None,
                by: f.bob,
                at: T0 + 10,
            })
            .await
            .unwrap();
        assert_eq!(rejected.decision, Decision::Rejected);
        assert!(rejected.callback.is_none());
        assert_eq!(
            r.inquiry(q.id).await.unwrap().unwrap().state,
            InquiryState::Open
        );

        let confirm = NewDecision {
            inquiry_id: q.id,
            entry_id: entries[0].id,
            score: 0.97,
            reasons: vec!["family_name_exact".into(), "birth_year_equal".into()],
            decision: Decision::Confirmed,
            note: String::new(),
            callback: Some(NewCallback {
                hotline_id: hotline,
                call_id: None,
                number: "+32470222222".into(),
                language: Language::Fr,
                line: HotlineLine::Relatives,
                reason: "inquiry_match".into(),
                note: "approved wording".into(),
                at: T0 + 20,
            }),
            by: f.bob,
            at: T0 + 20,
        };
        let confirmed = r.decide_match(&confirm).await.unwrap();
        let callback = confirmed.callback.clone().expect("a callback task");
        assert_eq!(callback.number, "+32470222222");
        assert_eq!(callback.line, HotlineLine::Relatives);
        assert_eq!(h.callbacks(hotline, true).await.unwrap(), vec![callback]);
        assert_eq!(
            r.inquiry(q.id).await.unwrap().unwrap().state,
            InquiryState::Matched
        );
        assert_eq!(confirmed.reasons, confirm.reasons);

        // Twice: refused, and no second callback.
        assert!(matches!(
            r.decide_match(&confirm).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(h.callbacks(hotline, true).await.unwrap().len(), 1);
        let decisions = r.decisions(q.id).await.unwrap();
        assert_eq!(decisions, vec![rejected, confirmed]);

        // An entry of another incident's list is not a candidate for this inquiry.
        let other = incident(&f.store, f.alice).await;
        r.add_list(&hospital(other, f.alice), vec![person("Marie", "Dupont")])
            .await
            .unwrap();
        let foreign = r.list_entries(other).await.unwrap()[0].id;
        assert!(matches!(
            r.decide_match(&NewDecision {
                entry_id: foreign,
                ..confirm.clone()
            })
            .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(h.callbacks(hotline, true).await.unwrap().len(), 1);
    }
}

story! {
    async fn the_purge_removes_closed_incidents_records_only(f) {
        let r = f.store.relatives();
        let h = f.store.hotline();
        let closed = f.incident;
        let open = incident(&f.store, f.alice).await;
        let hotline = h
            .activate_hotline(&new_hotline(closed, "1771", f.alice))
            .await
            .unwrap()
            .id;
        let q = r
            .create_inquiry(&inquiry(closed, f.alice, "Dupont"))
            .await
            .unwrap();
        r.add_list(&hospital(closed, f.alice), vec![person("Marie", "Dupont")])
            .await
            .unwrap();
        let entry = r.list_entries(closed).await.unwrap()[0].id;
        r.decide_match(&NewDecision {
            inquiry_id: q.id,
            entry_id: entry,
            score: 0.97,
            reasons: vec![],
            decision: Decision::Confirmed,
            note: String::new(),
            callback: Some(NewCallback {
                hotline_id: hotline,
                call_id: None,
                number: "+32470222222".into(),
                language: Language::Fr,
                line: HotlineLine::Relatives,
                reason: "inquiry_match".into(),
                note: "Marie Dupont".into(),
                at: T0,
            }),
            by: f.alice,
            at: T0,
        })
        .await
        .unwrap();
        let kept = r
            .create_inquiry(&inquiry(open, f.alice, "Peeters"))
            .await
            .unwrap();
        r.add_list(&hospital(open, f.alice), vec![person("An", "Peeters")])
            .await
            .unwrap();

        // Not closed yet: nothing goes.
        assert_eq!(
            r.purge_relatives("9999-01-01T00:00:00Z").await.unwrap(),
            Default::default()
        );
        h.close_hotline(hotline, f.alice, "", T0).await.unwrap();
        f.store
            .alerts()
            .close_incident(closed, f.alice)
            .await
            .unwrap();
        // Closed, but after the cut-off: kept.
        assert_eq!(
            r.purge_relatives("2000-01-01T00:00:00Z").await.unwrap(),
            Default::default()
        );
        let purged = r.purge_relatives("9999-01-01T00:00:00Z").await.unwrap();
        assert_eq!(
            (
                purged.incidents,
                purged.inquiries,
                purged.lists,
                purged.entries,
                purged.callbacks
            ),
            (1, 1, 1, 1, 1)
        );
        assert!(r.inquiry(q.id).await.unwrap().is_none());
        assert!(r.lists(closed).await.unwrap().is_empty());
        assert!(r.decisions(q.id).await.unwrap().is_empty());
        assert!(h.callbacks(hotline, false).await.unwrap().is_empty());
        // The open incident keeps everything.
        assert_eq!(r.inquiry(kept.id).await.unwrap().unwrap().id, kept.id);
        assert_eq!(r.list_entries(open).await.unwrap().len(), 1);
        // A second purge finds nothing more.
        assert_eq!(
            r.purge_relatives("9999-01-01T00:00:00Z").await.unwrap(),
            Default::default()
        );
    }
}
