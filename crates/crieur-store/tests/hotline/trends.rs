//! Topic trends: calls counted per topic, time bucket and municipality.

use crate::{T0, entered, hotline};
use crieur_store::{CallForm, TopicCount};
use std::num::NonZeroU32;

const HOUR: NonZeroU32 = NonZeroU32::new(3600).unwrap();

fn count(topic: &str, municipality: Option<&str>, bucket_start: i64, count: u64) -> TopicCount {
    TopicCount {
        topic: topic.into(),
        municipality: municipality.map(|m| m.parse().unwrap()),
        bucket_start,
        count,
    }
}

story! {
    async fn topics_are_counted_per_bucket_and_municipality(f) {
        let id = hotline(&f, "1771").await;
        let other = hotline(&f, "1772").await;
        let h = f.store.hotline();
        let liege = Some("62063");
        let seraing = Some("62096");
        let calls: [(&str, i64, &[&str], Option<&str>); 7] = [
            // before `since`
            ("old", T0 - 1, &["smoke"], liege),
            ("a", T0, &["smoke", "schools"], liege),
            ("b", T0 + 3599, &["smoke"], liege),
            // a topic named twice counts once
            ("c", T0 + 1800, &["smoke", "smoke"], seraing),
            ("d", T0 + 3600, &["smoke"], liege),
            ("e", T0 + 7300, &["water"], None),
            ("f", T0 + 7400, &[], liege),
        ];
        for (call_id, at, topics, municipality) in calls {
            h.upsert_call(&entered(id, call_id, "+32470000001", at))
                .await
                .unwrap();
            let form = CallForm {
                topics: topics.iter().map(|t| t.to_string()).collect(),
                municipality: municipality.map(|m| m.parse().unwrap()),
                ..CallForm::default()
            };
            h.save_call_form(id, call_id, &form, f.bob, at + 60)
                .await
                .unwrap();
        }
        // A call without a form and another hotline's call do not count.
        h.upsert_call(&entered(id, "no-form", "+32470000002", T0 + 10))
            .await
            .unwrap();
        h.upsert_call(&entered(other, "x", "+32470000003", T0 + 10))
            .await
            .unwrap();
        let form = CallForm {
            topics: vec!["smoke".into()],
            municipality: liege.map(|m| m.parse().unwrap()),
            ..CallForm::default()
        };
        h.save_call_form(other, "x", &form, f.bob, T0 + 20)
            .await
            .unwrap();

        let counts = h.topic_counts(id, T0, HOUR).await.unwrap();
        assert_eq!(
            counts,
            [
                count("schools", liege, T0, 1),
                count("smoke", liege, T0, 2),
                count("smoke", seraing, T0, 1),
                count("smoke", liege, T0 + 3600, 1),
                count("water", None, T0 + 7200, 1),
            ]
        );
        // Half-hour buckets split the first hour.
        let half = NonZeroU32::new(1800).unwrap();
        let smoke_liege: Vec<_> = h
            .topic_counts(id, T0, half)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.topic == "smoke" && c.municipality == liege.map(|m| m.parse().unwrap()))
            .map(|c| (c.bucket_start, c.count))
            .collect();
        assert_eq!(smoke_liege, [(T0, 1), (T0 + 1800, 1), (T0 + 3600, 1)]);
        // From a later time on, only later calls count.
        let later = h.topic_counts(id, T0 + 3600, HOUR).await.unwrap();
        assert_eq!(
            later,
            [
                count("smoke", liege, T0 + 3600, 1),
                count("water", None, T0 + 7200, 1),
            ]
        );
        assert_eq!(
            h.topic_counts(other, 0, HOUR).await.unwrap(),
            [count("smoke", liege, T0, 1)]
        );
    }
}
