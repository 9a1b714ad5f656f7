//! Approved answers: versions, withdrawal, and the incident they belong to.

use crate::{T0, incident};
use crieur_domain::Language;
use crieur_store::{AnswerState, NewAnswerVersion, StoreError};

fn version(incident_id: i64, key: Option<i64>, title: &str, by: i64) -> NewAnswerVersion {
    NewAnswerVersion {
        incident_id,
        answer_key: key,
        language: Language::Fr,
        title: title.into(),
        body: format!("{title}: keep doors and windows closed."),
        topics: vec!["smoke".into()],
        author: by,
        at: T0,
    }
}

story! {
    async fn versions_count_up_per_answer_and_new_answers_get_new_keys(f) {
        let h = f.store.hotline();
        let first = h
            .publish_answer(&version(f.incident, None, "Smoke", f.alice))
            .await
            .unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(first.state, AnswerState::Published);
        let second = h
            .publish_answer(&version(f.incident, None, "Schools", f.alice))
            .await
            .unwrap();
        assert_ne!(second.answer_key, first.answer_key);
        assert_eq!(second.version, 1);

        let mut v2 = version(f.incident, Some(first.answer_key), "Smoke (update)", f.bob);
        v2.language = Language::Nl;
        v2.topics = vec!["smoke".into(), "health".into()];
        v2.at = T0 + 600;
        let v2 = h.publish_answer(&v2).await.unwrap();
        assert_eq!((v2.answer_key, v2.version), (first.answer_key, 2));
        let v3 = h
            .publish_answer(&version(
                f.incident,
                Some(first.answer_key),
                "Smoke 3",
                f.bob,
            ))
            .await
            .unwrap();
        assert_eq!(v3.version, 3);

        let history = h
            .answer_history(f.incident, first.answer_key)
            .await
            .unwrap();
        assert_eq!(
            history.iter().map(|a| a.version).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(history[1], v2);
        assert_eq!(history[1].language, Language::Nl);
        assert_eq!(history[1].topics, ["smoke", "health"]);
        assert_eq!(
            (history[1].author, history[1].published_at),
            (f.bob, T0 + 600)
        );

        // The latest version of each answer.
        let current = h.answers(f.incident).await.unwrap();
        let titles: Vec<_> = current.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles.len(), 2);
        assert!(titles.contains(&"Smoke 3") && titles.contains(&"Schools"));
    }
}

story! {
    async fn concurrent_versions_of_one_answer_get_distinct_numbers(f) {
        let key = f
            .store
            .hotline()
            .publish_answer(&version(f.incident, None, "v1", f.alice))
            .await
            .unwrap()
            .answer_key;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            let store = f.store.clone();
            let v = version(f.incident, Some(key), &format!("edit {i}"), f.bob);
            tasks.spawn(async move { store.hotline().publish_answer(&v).await });
        }
        let mut versions = Vec::new();
        while let Some(done) = tasks.join_next().await {
            versions.push(done.unwrap().unwrap().version);
        }
        versions.sort();
        assert_eq!(versions, (2..=21).collect::<Vec<_>>());
    }
}

story! {
    async fn a_withdrawn_answer_leaves_the_list_and_takes_no_new_version(f) {
        let h = f.store.hotline();
        let keep = h
            .publish_answer(&version(f.incident, None, "Keep", f.alice))
            .await
            .unwrap();
        let gone = h
            .publish_answer(&version(f.incident, None, "Gone", f.alice))
            .await
            .unwrap();
        h.publish_answer(&version(
            f.incident,
            Some(gone.answer_key),
            "Gone v2",
            f.alice,
        ))
        .await
        .unwrap();
        h.withdraw_answer(f.incident, gone.answer_key, f.bob, T0 + 900)
            .await
            .unwrap();
        let current = h.answers(f.incident).await.unwrap();
        assert_eq!(current.iter().map(|a| a.id).collect::<Vec<_>>(), [keep.id]);
        let history = h.answer_history(f.incident, gone.answer_key).await.unwrap();
        assert_eq!(history.len(), 2);
        assert!(history.iter().all(|a| a.state == AnswerState::Withdrawn
            && a.withdrawn_by == Some(f.bob)
            && a.withdrawn_at == Some(T0 + 900)));
        assert!(matches!(
            h.publish_answer(&version(f.incident, Some(gone.answer_key), "v3", f.alice))
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            h.withdraw_answer(f.incident, gone.answer_key, f.bob, T0)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            h.withdraw_answer(f.incident, gone.answer_key + 100, f.bob, T0)
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            h.answer_history(f.incident, gone.answer_key)
                .await
                .unwrap()
                .len(),
            2
        );
    }
}

story! {
    async fn an_answer_belongs_to_its_incident(f) {
        let other = incident(&f.store, f.alice).await;
        let h = f.store.hotline();
        let theirs = h
            .publish_answer(&version(other, None, "Theirs", f.alice))
            .await
            .unwrap();
        assert!(h.answers(f.incident).await.unwrap().is_empty());
        assert!(
            h.answer_history(f.incident, theirs.answer_key)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            h.publish_answer(&version(
                f.incident,
                Some(theirs.answer_key),
                "Mine",
                f.alice
            ))
            .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            h.withdraw_answer(f.incident, theirs.answer_key, f.alice, T0)
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(h.answers(other).await.unwrap(), [theirs]);
        assert!(matches!(
            h.publish_answer(&version(other + 100, None, "Nowhere", f.alice))
                .await,
            Err(StoreError::NotFound)
        ));
    }
}
