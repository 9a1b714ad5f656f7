//! What the hotline writes down: call records and the queue log (its times
//! turned into wall-clock milliseconds), in the order things happened, by one writer per hotline so that a slow disk never holds up
//! a call.

use crate::service::CallInfo;
use crieur_domain::acd::{OperatorId, QueueEvent};
use crieur_store::{CallRecord, NewCallback, NewQueueLogEntry, Store};
use std::collections::HashMap;
use tokio::sync::mpsc;

enum Record {
    Entered(i64, CallInfo),
    Answered(i64, String, OperatorId),
    Ended(i64, String, &'static str),
    Callback(NewCallback),
}

/// A handle on the writer; cheap to clone.
#[derive(Clone)]
pub(crate) struct Records {
    tx: mpsc::UnboundedSender<Record>,
    pub(crate) store: Store,
}

impl Records {
    pub(crate) fn new(store: Store) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_calls(store.clone(), rx));
        Self { tx, store }
    }

    pub(crate) fn entered(&self, hotline: i64, info: &CallInfo) {
        let _ = self.tx.send(Record::Entered(hotline, info.clone()));
    }

    pub(crate) fn answered(&self, hotline: i64, call: &str, operator: OperatorId) {
        let _ = self
            .tx
            .send(Record::Answered(hotline, call.to_owned(), operator));
    }

    /// `end`: answered, abandoned, callback, closed, refused.
    pub(crate) fn ended(&self, hotline: i64, call: &str, end: &'static str) {
        let _ = self.tx.send(Record::Ended(hotline, call.to_owned(), end));
    }

    pub(crate) fn callback(&self, callback: NewCallback) {
        let _ = self.tx.send(Record::Callback(callback));
    }
}

async fn write_calls(store: Store, mut rx: mpsc::UnboundedReceiver<Record>) {
    let mut open: HashMap<(i64, String), CallRecord> = HashMap::new();
    while let Some(record) = rx.recv().await {
        let now = jiff::Timestamp::now().as_second();
        let row = match record {
            Record::Entered(hotline, info) => {
                let key = (hotline, info.call_id.clone());
                let row = open.entry(key).or_insert_with(|| CallRecord {
                    hotline_id: hotline,
                    call_id: info.call_id.clone(),
                    caller: info.caller.clone(),
                    line: Some(info.line),
                    language: Some(info.language),
                    ivr_path: info.ivr_path.clone(),
                    entered_at: info.entered_at / 1000,
                    answered_at: None,
                    ended_at: None,
                    operator_id: None,
                    ending: None,
                });
                row.line = Some(info.line);
                row.clone()
            }
            Record::Answered(hotline, call, operator) => {
                let Some(row) = open.get_mut(&(hotline, call)) else {
                    continue;
                };
                row.answered_at.get_or_insert(now);
                row.operator_id = Some(operator);
                row.clone()
            }
            Record::Ended(hotline, call, end) => {
                let Some(mut row) = open.remove(&(hotline, call)) else {
                    continue;
                };
                row.ended_at = Some(now);
                row.ending = Some(end.to_owned());
                row
            }
            Record::Callback(callback) => {
                if let Err(e) = store.hotline().create_callback(&callback).await {
                    tracing::error!(error = %e, "callback task not stored");
                }
                continue;
            }
        };
        if let Err(e) = store.hotline().upsert_call(&row).await {
            tracing::error!(error = %e, "call record not stored");
        }
    }
}

/// Writes the queue log in batches, as the distributor produces it.
pub(crate) async fn write_queue_log(
    records: Records,
    hotline: i64,
    wall_epoch_ms: i64,
    mut rx: mpsc::UnboundedReceiver<Vec<QueueEvent>>,
) {
    while let Some(mut batch) = rx.recv().await {
        while let Ok(more) = rx.try_recv() {
            batch.extend(more);
        }
        let entries: Vec<NewQueueLogEntry> = batch
            .into_iter()
            .map(|e| NewQueueLogEntry {
                hotline_id: hotline,
                at: wall_epoch_ms + e.at as i64,
                call_id: e.call,
                queue: e.queue,
                agent: e.agent,
                event: e.event.as_str().to_owned(),
                data1: e.data[0].clone(),
                data2: e.data[1].clone(),
                data3: e.data[2].clone(),
            })
            .collect();
        if let Err(e) = records.store.hotline().append_queue_log(entries).await {
            tracing::error!(hotline, error = %e, "queue log lines not stored");
        }
    }
}
