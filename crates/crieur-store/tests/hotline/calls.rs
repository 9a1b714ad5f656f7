//! Calls: what the telephony records, the operator's form, and look-ups.

use crate::{T0, entered, hotline};
use crieur_domain::Language;
use crieur_store::{CallForm, HotlineLine, StoreError, Worry};

fn form() -> CallForm {
    CallForm {
        topics: vec!["smoke".into(), "schools".into()],
        tags: vec!["elderly".into()],
        question: "Can my children go to school tomorrow?".into(),
        municipality: Some("62063".parse().unwrap()),
        worry: Worry::new(4),
        notes: "Lives near the site".into(),
        outcome: "informed".into(),
    }
}

story! {
    async fn an_upsert_fills_in_the_telephony_part_without_losing_what_is_known(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        h.upsert_call(&entered(id, "c1@pbx", "+32470000001", T0))
            .await
            .unwrap();
        let mut later = entered(id, "c1@pbx", "+32470000001", T0 + 50);
        later.line = Some(HotlineLine::Information);
        later.language = Some(Language::Nl);
        later.ivr_path = "lang:nl>1".into();
        later.answered_at = Some(T0 + 90);
        later.operator_id = Some(f.bob);
        h.upsert_call(&later).await.unwrap();
        // The end: only what is new is given.
        let mut end = entered(id, "c1@pbx", "+32470000001", T0 + 99);
        end.ivr_path = "lang:nl>1".into();
        end.ended_at = Some(T0 + 400);
        end.ending = Some("answered".into());
        h.upsert_call(&end).await.unwrap();

        let call = h.call(id, "c1@pbx").await.unwrap().unwrap();
        let r = &call.record;
        assert_eq!(r.entered_at, T0, "entered_at keeps its first value");
        assert_eq!(r.line, Some(HotlineLine::Information));
        assert_eq!(r.language, Some(Language::Nl));
        assert_eq!(r.ivr_path, "lang:nl>1");
        assert_eq!((r.answered_at, r.ended_at), (Some(T0 + 90), Some(T0 + 400)));
        assert_eq!(r.operator_id, Some(f.bob));
        assert_eq!(r.ending.as_deref(), Some("answered"));
        assert!(call.form.is_none());
        assert_eq!(h.recent_calls(id, 10).await.unwrap().len(), 1);
    }
}

story! {
    async fn a_call_needs_an_existing_hotline(f) {
        let id = hotline(&f, "1771").await;
        assert!(matches!(
            f.store
                .hotline()
                .upsert_call(&entered(id + 5, "c1", "+32470000001", T0))
                .await,
            Err(StoreError::NotFound)
        ));
    }
}

story! {
    async fn the_form_and_the_telephony_part_do_not_overwrite_each_other(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        let mut call = entered(id, "c1", "+32470000001", T0);
        call.answered_at = Some(T0 + 30);
        h.upsert_call(&call).await.unwrap();
        h.save_call_form(id, "c1", &form(), f.bob, T0 + 100)
            .await
            .unwrap();
        let saved = h.call(id, "c1").await.unwrap().unwrap();
        assert_eq!(saved.record.answered_at, Some(T0 + 30));
        let filed = saved.form.unwrap();
        assert_eq!(filed.form, form());
        assert_eq!((filed.by, filed.at), (f.bob, T0 + 100));

        // The call ends after the form was saved: the form stays.
        call.ended_at = Some(T0 + 200);
        h.upsert_call(&call).await.unwrap();
        let after = h.call(id, "c1").await.unwrap().unwrap();
        assert_eq!(after.form.as_ref().unwrap().form, form());
        assert_eq!(after.record.ended_at, Some(T0 + 200));

        // A second save replaces the form.
        let mut changed = form();
        changed.topics = vec!["water".into()];
        changed.municipality = None;
        changed.worry = None;
        h.save_call_form(id, "c1", &changed, f.alice, T0 + 300)
            .await
            .unwrap();
        let filed = h.call(id, "c1").await.unwrap().unwrap().form.unwrap();
        assert_eq!(filed.form, changed);
        assert_eq!((filed.by, filed.at), (f.alice, T0 + 300));
    }
}

story! {
    async fn a_hotline_reaches_only_its_own_calls(f) {
        let id = hotline(&f, "1771").await;
        let other = hotline(&f, "1772").await;
        let h = f.store.hotline();
        h.upsert_call(&entered(other, "shared-id", "+32470000009", T0))
            .await
            .unwrap();
        assert!(h.call(id, "shared-id").await.unwrap().is_none());
        assert!(matches!(
            h.save_call_form(id, "shared-id", &form(), f.bob, T0).await,
            Err(StoreError::NotFound)
        ));
        assert!(
            h.call(other, "shared-id")
                .await
                .unwrap()
                .unwrap()
                .form
                .is_none()
        );
        assert!(matches!(
            h.save_call_form(id, "nowhere", &form(), f.bob, T0).await,
            Err(StoreError::NotFound)
        ));
        // The same Call-ID on another hotline is another call.
        h.upsert_call(&entered(id, "shared-id", "+32470000001", T0 + 5))
            .await
            .unwrap();
        assert_eq!(
            h.call(id, "shared-id")
                .await
                .unwrap()
                .unwrap()
                .record
                .caller,
            "+32470000001"
        );
        assert_eq!(
            h.call(other, "shared-id")
                .await
                .unwrap()
                .unwrap()
                .record
                .caller,
            "+32470000009"
        );
        assert!(
            h.calls_from(id, "+32470000009", 10)
                .await
                .unwrap()
                .is_empty()
        );
        let recent = h.recent_calls(other, 10).await.unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].record.hotline_id, other);
    }
}

story! {
    async fn calls_from_a_caller_and_recent_calls_come_newest_first(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        // Stored out of order on purpose.
        for (call_id, caller, at) in [
            ("b", "+32470000001", T0 + 200),
            ("a", "+32470000001", T0 + 100),
            ("x", "+32470000002", T0 + 150),
            ("c", "+32470000001", T0 + 300),
            ("y", "anonymous", T0 + 250),
        ] {
            h.upsert_call(&entered(id, call_id, caller, at))
                .await
                .unwrap();
        }
        let ids = |calls: Vec<crieur_store::Call>| {
            calls
                .into_iter()
                .map(|c| c.record.call_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(h.calls_from(id, "+32470000001", 10).await.unwrap()),
            ["c", "b", "a"]
        );
        assert_eq!(
            ids(h.calls_from(id, "+32470000001", 2).await.unwrap()),
            ["c", "b"]
        );
        assert_eq!(ids(h.recent_calls(id, 3).await.unwrap()), ["c", "y", "b"]);
    }
}
