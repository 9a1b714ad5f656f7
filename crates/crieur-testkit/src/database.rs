//! A fresh database per test, on either backend: a SQLite file in a temporary
//! folder, or a PostgreSQL schema of its own (dropped when the test ends) on
//! the server at 127.0.0.1:5432 or `CRIEUR_TEST_POSTGRES_URL`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The server the PostgreSQL half of the tests uses: trust auth, database `test`.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend `CRIEUR_TEST_DATABASE` names (`postgres`), SQLite otherwise.
    pub fn from_env() -> Backend {
        match std::env::var("CRIEUR_TEST_DATABASE").as_deref() {
            Ok("postgres" | "postgresql" | "pg") => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// A test's own database; dropping it removes it.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    /// The SQLite file's folder, or a scratch folder beside a PostgreSQL schema.
    pub dir: tempfile::TempDir,
}

/// A fresh database on `backend`. `None`, after printing why, when PostgreSQL
/// is not reachable (a failure instead under `CRIEUR_REQUIRE_PEERS=1`).
pub fn database(backend: Backend) -> Option<TestDb> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("crieur.db").display()),
        Backend::Postgres => fresh_postgres_url()?,
    };
    Some(TestDb { url, dir })
}

/// The URL of a schema of its own on the test server (created when the store
/// opens it); [`drop_postgres_schema`] removes it.
pub fn fresh_postgres_url() -> Option<String> {
    let base = postgres_url()?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}schema={}", fresh_schema_name()))
}

/// The PostgreSQL server's URL, if one answers.
pub fn postgres_url() -> Option<String> {
    let explicit = std::env::var("CRIEUR_TEST_POSTGRES_URL").ok();
    let reachable = explicit.is_some()
        || std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], 5432)),
            Duration::from_secs(1),
        )
        .is_ok();
    if !reachable {
        let msg = "peer PostgreSQL not reachable at 127.0.0.1:5432 (set CRIEUR_TEST_POSTGRES_URL \
                   or install it with: apt-get install postgresql)";
        assert!(!crate::peers_required(), "CRIEUR_REQUIRE_PEERS=1 and {msg}");
        eprintln!("SKIPPED (PostgreSQL half): {msg}");
        return None;
    }
    Some(explicit.unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned()))
}

fn fresh_schema_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "crieur_t_{}_{nanos:x}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops the test schema a URL from [`fresh_postgres_url`] names, and waits
/// for it; does nothing for any other URL. Runs on a thread of its own, so it
/// may be called from `Drop` inside a runtime; gives up (the schema stays)
/// rather than wait long for a lock.
pub fn drop_postgres_schema(url: &str) {
    if let Some(dropping) = start_dropping(url) {
        let _ = dropping.join();
    }
}

/// Drops the schema in the background: for a test whose runtime still runs
/// the application holding it (waiting would block the very tasks that must
/// let go of their locks). The schema may stay if the test process ends first.
pub fn drop_postgres_schema_later(url: &str) {
    start_dropping(url);
}

fn start_dropping(url: &str) -> Option<std::thread::JoinHandle<()>> {
    let (base, query) = url.split_once('?')?;
    let mut rest = Vec::new();
    let mut schema = None;
    for pair in query.split('&') {
        match pair.strip_prefix("schema=") {
            Some(name) if name.starts_with("crieur_t_") => schema = Some(name.to_owned()),
            _ => rest.push(pair),
        }
    }
    let name = schema?;
    let base = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Some(std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return eprintln!("could not drop the test schema {name}: {e}"),
        };
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&base)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query("SET lock_timeout = '20s'")
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
            )))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        })
        .unwrap_or_else(|e| eprintln!("could not drop the test schema {name}: {e}"));
    }))
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_postgres_schema(&self.url);
    }
}
