//! Callbacks owed to callers: who takes them, and how they end.

use crate::{T0, entered, hotline};
use crieur_domain::Language;
use crieur_store::{CallbackState, HotlineLine, NewCallback, StoreError};

fn owed(hotline_id: i64, call_id: Option<&str>) -> NewCallback {
    NewCallback {
        hotline_id,
        call_id: call_id.map(str::to_owned),
        number: "+32470000001".into(),
        language: Language::De,
        line: HotlineLine::Relatives,
        reason: "max_wait".into(),
        note: "Waited 15 minutes".into(),
        at: T0,
    }
}

story! {
    async fn a_callback_is_taken_by_one_operator_and_finished_by_them(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        h.upsert_call(&entered(id, "c1", "+32470000001", T0 - 900))
            .await
            .unwrap();
        let cb = h.create_callback(&owed(id, Some("c1"))).await.unwrap();
        assert_eq!(cb.state, CallbackState::Open);
        assert_eq!(cb.call_id.as_deref(), Some("c1"));
        assert_eq!(
            (cb.language, cb.line),
            (Language::De, HotlineLine::Relatives)
        );
        assert_eq!((cb.created_at, cb.updated_at, cb.attempts), (T0, T0, 0));
        assert_eq!(
            h.callbacks(id, true).await.unwrap(),
            std::slice::from_ref(&cb)
        );

        let taken = h.assign_callback(cb.id, id, f.bob, T0 + 10).await.unwrap();
        assert_eq!(taken.state, CallbackState::Assigned);
        assert_eq!(
            (taken.assigned_to, taken.updated_at),
            (Some(f.bob), T0 + 10)
        );
        // Taking it again is harmless; someone else cannot.
        h.assign_callback(cb.id, id, f.bob, T0 + 11).await.unwrap();
        assert!(matches!(
            h.assign_callback(cb.id, id, f.alice, T0 + 12).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            h.finish_callback(cb.id, id, f.alice, true, "", T0 + 13)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            h.callbacks(id, true).await.unwrap()[0].assigned_to,
            Some(f.bob)
        );

        let done = h
            .finish_callback(cb.id, id, f.bob, true, "Reassured", T0 + 60)
            .await
            .unwrap();
        assert_eq!(done.state, CallbackState::Done);
        assert_eq!(done.attempts, 1);
        assert_eq!(done.note, "Waited 15 minutes\nReassured");
        assert_eq!(done.updated_at, T0 + 60);
        assert!(h.callbacks(id, true).await.unwrap().is_empty());
        assert_eq!(h.callbacks(id, false).await.unwrap(), [done]);
        // Finished: nobody takes or finishes it again.
        assert!(matches!(
            h.assign_callback(cb.id, id, f.bob, T0 + 70).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            h.finish_callback(cb.id, id, f.bob, false, "", T0 + 70)
                .await,
            Err(StoreError::Conflict(_))
        ));
    }
}

story! {
    async fn a_failed_callback_is_finished_and_keeps_its_note_when_none_is_added(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        let cb = h.create_callback(&owed(id, None)).await.unwrap();
        let second = h.create_callback(&owed(id, None)).await.unwrap();
        h.assign_callback(cb.id, id, f.alice, T0 + 1).await.unwrap();
        let failed = h
            .finish_callback(cb.id, id, f.alice, false, "", T0 + 2)
            .await
            .unwrap();
        assert_eq!(failed.state, CallbackState::Failed);
        assert_eq!(
            (failed.note.as_str(), failed.attempts),
            ("Waited 15 minutes", 1)
        );
        let open: Vec<_> = h
            .callbacks(id, true)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(open, [second.id]);
        // Unassigned: nobody can finish it.
        assert!(matches!(
            h.finish_callback(second.id, id, f.alice, true, "", T0 + 3)
                .await,
            Err(StoreError::Conflict(_))
        ));
    }
}

story! {
    async fn a_hotline_reaches_only_its_own_callbacks(f) {
        let id = hotline(&f, "1771").await;
        let other = hotline(&f, "1772").await;
        let h = f.store.hotline();
        h.upsert_call(&entered(other, "theirs", "+32470000001", T0))
            .await
            .unwrap();
        // A call of another hotline cannot be named.
        assert!(matches!(
            h.create_callback(&owed(id, Some("theirs"))).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            h.create_callback(&owed(id + 10, None)).await,
            Err(StoreError::NotFound)
        ));
        let cb = h
            .create_callback(&owed(other, Some("theirs")))
            .await
            .unwrap();
        assert!(h.callbacks(id, false).await.unwrap().is_empty());
        assert!(matches!(
            h.assign_callback(cb.id, id, f.bob, T0).await,
            Err(StoreError::NotFound)
        ));
        h.assign_callback(cb.id, other, f.bob, T0).await.unwrap();
        assert!(matches!(
            h.finish_callback(cb.id, id, f.bob, true, "", T0).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            h.assign_callback(cb.id + 10, other, f.bob, T0).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            h.callbacks(other, true).await.unwrap()[0].state,
            CallbackState::Assigned
        );
    }
}
