//! The queue log: batches are appended whole or not at all.

use crate::hotline;
use crieur_store::{NewQueueLogEntry, StoreError};

/// Unix milliseconds.
const MS: i64 = 1_749_999_600_000;

fn entry(hotline_id: i64, at: i64, call_id: &str, event: &str, data1: &str) -> NewQueueLogEntry {
    NewQueueLogEntry {
        hotline_id,
        at,
        call_id: call_id.into(),
        queue: "info-fr".into(),
        agent: "NONE".into(),
        event: event.into(),
        data1: data1.into(),
        data2: String::new(),
        data3: String::new(),
    }
}

story! {
    async fn entries_come_back_in_the_order_appended_from_a_time_on(f) {
        let id = hotline(&f, "1771").await;
        let other = hotline(&f, "1772").await;
        let h = f.store.hotline();
        let mut connect = entry(id, MS + 9_000, "c1", "CONNECT", "9");
        connect.agent = "op/bob".into();
        connect.data2 = "c1-leg".into();
        connect.data3 = "2".into();
        h.append_queue_log(vec![
            entry(id, MS, "c1", "ENTERQUEUE", ""),
            entry(other, MS + 1, "z", "ENTERQUEUE", ""),
            connect.clone(),
        ])
        .await
        .unwrap();
        // A later batch carries an earlier time: the order appended still holds.
        h.append_queue_log(vec![entry(id, MS + 5_000, "c2", "ABANDON", "1")])
            .await
            .unwrap();

        let all = h.queue_log(id, 0, 100).await.unwrap();
        let events: Vec<_> = all.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(events, ["ENTERQUEUE", "CONNECT", "ABANDON"]);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        assert!(all.iter().all(|e| e.hotline_id == id));
        let c = &all[1];
        assert_eq!(
            (
                c.at,
                c.call_id.as_str(),
                c.queue.as_str(),
                c.agent.as_str(),
                c.data1.as_str(),
                c.data2.as_str(),
                c.data3.as_str()
            ),
            (MS + 9_000, "c1", "info-fr", "op/bob", "9", "c1-leg", "2")
        );
        let since: Vec<_> = h
            .queue_log(id, MS + 5_000, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(since, ["CONNECT", "ABANDON"]);
        assert_eq!(h.queue_log(id, 0, 1).await.unwrap().len(), 1);
        assert_eq!(h.queue_log(other, 0, 100).await.unwrap().len(), 1);
    }
}

story! {
    async fn a_batch_with_one_bad_entry_leaves_nothing(f) {
        let id = hotline(&f, "1771").await;
        let h = f.store.hotline();
        let batch: Vec<_> = (0..50)
            .map(|i| entry(id, MS + i, &format!("c{i}"), "ENTERQUEUE", ""))
            .chain([entry(id + 99, MS + 60, "c60", "ENTERQUEUE", "")])
            .chain([entry(id, MS + 61, "c61", "ENTERQUEUE", "")])
            .collect();
        assert!(matches!(
            h.append_queue_log(batch).await,
            Err(StoreError::NotFound)
        ));
        assert!(h.queue_log(id, 0, 1000).await.unwrap().is_empty());
        // An empty event is refused by the schema: the same holds.
        let batch = vec![
            entry(id, MS, "c1", "ENTERQUEUE", ""),
            entry(id, MS + 1, "c1", "", ""),
        ];
        assert!(h.append_queue_log(batch).await.is_err());
        assert!(h.queue_log(id, 0, 1000).await.unwrap().is_empty());
        h.append_queue_log(vec![]).await.unwrap();
    }
}
