//! The embedded store's one writer: a thread that owns the only write connection
//! and commits the requests that arrive together in one transaction (group
//! commit), so a registration surge costs one fsync per batch, not one per
//! request. Each request runs inside its own savepoint, so one that fails leaves
//! nothing behind and does not disturb the others; its answer is sent only after
//! the COMMIT that made it durable.

use crate::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How many requests one transaction takes at most: enough to amortise the
/// fsync, few enough that a batch's latency stays in milliseconds.
const MAX_BATCH: usize = 256;

/// Delivers a request's outcome once its transaction has ended.
type Completion = Box<dyn FnOnce(Option<&str>) + Send>;
/// A request: runs on the writer's connection, or is told why it cannot, and
/// tells whether it succeeded.
type Job = Box<dyn FnOnce(Result<&Connection, &str>) -> (bool, Completion) + Send>;

/// A handle on the writer thread, cheap to clone. The thread ends when the last
/// handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Writer {
    /// Opens the write connection on `path` (already created and migrated) and
    /// starts the thread.
    pub(crate) fn open(path: &Path) -> Result<Writer, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // FULL: a committed transaction survives a power cut, not only a crash.
        // The savepoints' journal stays in memory (a crash loses the whole
        // uncommitted batch anyway), and a large page cache spares re-reading
        // the pages every batch touches.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;",
        )?;
        conn.set_prepared_statement_cache_capacity(128);
        let (jobs, queue) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, queue))
            .map_err(|e| StoreError::Write(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` in the next transaction and returns its result once committed.
    /// An error from `f` rolls back everything `f` wrote.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = match conn {
                Ok(conn) => catch_unwind(AssertUnwindSafe(|| f(conn)))
                    .unwrap_or_else(|_| Err(StoreError::Write("a write request panicked".into()))),
                Err(reason) => Err(StoreError::Write(reason.to_owned())),
            };
            let ok = outcome.is_ok();
            let completion: Completion = Box::new(move |failed_commit| {
                let result = match failed_commit {
                    Some(e) if ok => Err(StoreError::Write(e.to_owned())),
                    _ => outcome,
                };
                let _ = answer.send(result);
            });
            (ok, completion)
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Write("the writer thread has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Write("the writer thread has stopped".into()))?
    }
}

fn run(conn: Connection, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut completions = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Without a transaction nothing runs; each request hears why.
            let reason = e.to_string();
            tracing::error!(error = %reason, "the writer could not begin a transaction");
            for job in batch.drain(..) {
                fail(job, &reason);
            }
            continue;
        }
        // Once anything goes wrong below the level of one request, nothing of
        // the batch is committed: every request hears why.
        let mut aborted: Option<String> = None;
        for job in batch.drain(..) {
            if let Some(reason) = &aborted {
                fail(job, reason);
                continue;
            }
            if let Err(e) = conn.execute_batch("SAVEPOINT request") {
                let reason = format!("the writer could not open a savepoint: {e}");
                fail(job, &reason);
                aborted = Some(reason);
                continue;
            }
            let (ok, completion) = job(Ok(&conn));
            completions.push(completion);
            let end = if ok {
                "RELEASE request"
            } else {
                "ROLLBACK TO request; RELEASE request"
            };
            if let Err(e) = conn.execute_batch(end) {
                aborted = Some(format!("the writer could not end a savepoint: {e}"));
            } else if conn.is_autocommit() {
                // SQLite rolled the whole transaction back (disk full, I/O error).
                aborted = Some("the database abandoned the transaction".into());
            }
        }
        let failed = match aborted {
            Some(reason) => Some(reason),
            None => conn.execute_batch("COMMIT").err().map(|e| e.to_string()),
        };
        if let Some(reason) = &failed {
            tracing::error!(error = %reason, "the writer rolled a batch back");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        for completion in completions.drain(..) {
            completion(failed.as_deref());
        }
    }
}

/// Answers a request that could not run.
fn fail(job: Job, reason: &str) {
    let (_, completion) = job(Err(reason));
    completion(None);
}
