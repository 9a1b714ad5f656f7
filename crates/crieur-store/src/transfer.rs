//! Moves a whole store from SQLite to PostgreSQL: every table, parents before
//! children, in batches, ids kept, read from one SQLite snapshot so a store in
//! use moves consistently. It never writes to the source, and never commits a
//! partial copy: the destination gets everything in one transaction or nothing.

use crate::StoreError;
use crate::postgres::PgStore;
use crieur_domain::audit::verify_chain;
use futures_util::TryStreamExt;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{Arguments, ConnectOptions, Connection, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// How a transfer runs.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Empty a destination that already holds rows, instead of refusing.
    pub replace: bool,
    /// Rows per INSERT.
    pub batch: usize,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            replace: false,
            batch: 5_000,
        }
    }
}

/// What was copied, table by table in the order copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferReport {
    pub tables: Vec<(String, u64)>,
    /// Audit entries whose chain was verified at the destination.
    pub audit_entries: u64,
}

/// One column's values for a batch, typed as the destination declares it.
enum Column {
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Flag(Vec<Option<bool>>),
}

impl Column {
    fn new(pg_type: &str, table: &str, name: &str) -> Result<Column, StoreError> {
        Ok(match pg_type {
            "bigint" => Column::Int(Vec::new()),
            "double precision" => Column::Real(Vec::new()),
            "text" => Column::Text(Vec::new()),
            "boolean" => Column::Flag(Vec::new()),
            other => {
                return Err(StoreError::Unsupported(format!(
                    "{table}.{name} has type {other}, which the transfer does not know"
                )));
            }
        })
    }

    fn cast(&self) -> &'static str {
        match self {
            Column::Int(_) => "BIGINT[]",
            Column::Real(_) => "FLOAT8[]",
            Column::Text(_) => "TEXT[]",
            Column::Flag(_) => "BOOLEAN[]",
        }
    }

    fn push(&mut self, row: &SqliteRow, i: usize) -> Result<(), sqlx::Error> {
        match self {
            Column::Int(v) => v.push(row.try_get(i)?),
            Column::Real(v) => v.push(row.try_get(i)?),
            Column::Text(v) => v.push(row.try_get(i)?),
            Column::Flag(v) => v.push(row.try_get(i)?),
        }
        Ok(())
    }

    /// Binds the batch and leaves the column empty for the next one.
    fn bind(&mut self, args: &mut PgArguments) -> Result<(), StoreError> {
        let bound = match self {
            Column::Int(v) => args.add(std::mem::take(v)),
            Column::Real(v) => args.add(std::mem::take(v)),
            Column::Text(v) => args.add(std::mem::take(v)),
            Column::Flag(v) => args.add(std::mem::take(v)),
        };
        bound.map_err(|e| StoreError::Write(format!("cannot bind a batch: {e}")))
    }
}

/// A destination table: its columns (name, type), primary key and parents.
#[derive(Debug)]
struct Table {
    columns: Vec<(String, String)>,
    key: Vec<String>,
    parents: BTreeSet<String>,
}

/// Copies the SQLite store at `from` into the PostgreSQL store at `to`,
/// calling `progress(table, rows)` after each table.
pub async fn transfer(
    from: &str,
    to: &str,
    options: &TransferOptions,
    mut progress: impl FnMut(&str, u64),
) -> Result<TransferReport, StoreError> {
    let scheme = |url: &str| {
        url.split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    if scheme(from) != "sqlite" || !matches!(scheme(to).as_str(), "postgres" | "postgresql") {
        return Err(StoreError::Unsupported(
            "migrate-store copies a sqlite:// store into a postgres:// one".into(),
        ));
    }
    let mut source = SqliteConnectOptions::from_str(from)
        .map_err(|e| StoreError::Unsupported(format!("invalid SQLite URL {from:?}: {e}")))?
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await?;
    let dest = PgStore::open(to).await?;
    let pool = &dest.pool;

    // Both schemas at the same version, so every column has its counterpart.
    let source_version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut source)
            .await?;
    let latest = crate::postgres::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or_default();
    if source_version != Some(latest) {
        return Err(StoreError::Unsupported(format!(
            "the source's schema is at version {source_version:?}, this build's at {latest}: \
             open it once with this build (or upgrade the build) first"
        )));
    }

    let tables = destination_tables(pool).await?;
    let order = dependency_order(&tables)?;

    // One read transaction: every table is read from the same snapshot, while
    // the running installation goes on writing.
    let mut snapshot = source.begin().await?;
    let source_tables: BTreeSet<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *snapshot)
    .await?
    .into_iter()
    .collect();
    let dest_tables: BTreeSet<String> = tables.keys().cloned().collect();
    if source_tables != dest_tables {
        return Err(StoreError::Unsupported(format!(
            "the stores' tables differ: only in the source {:?}, only in the destination {:?}",
            source_tables.difference(&dest_tables).collect::<Vec<_>>(),
            dest_tables.difference(&source_tables).collect::<Vec<_>>()
        )));
    }

    let mut tx = pool.begin().await?;
    let mut occupied = Vec::new();
    for name in &order {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{name}\""
        )))
        .fetch_one(&mut *tx)
        .await?;
        if n > 0 {
            occupied.push(format!("{name} ({n})"));
        }
    }
    if !occupied.is_empty() {
        if !options.replace {
            return Err(StoreError::Conflict(format!(
                "the destination is not empty: {}; pass --replace to empty it first",
                occupied.join(", ")
            )));
        }
        let all: Vec<String> = order.iter().map(|t| format!("\"{t}\"")).collect();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "TRUNCATE {} RESTART IDENTITY",
            all.join(", ")
        )))
        .execute(&mut *tx)
        .await?;
    }

    let mut report = TransferReport::default();
    for name in &order {
        let table = &tables[name];
        let copied = copy_table(&mut snapshot, &mut tx, name, table, options.batch.max(1)).await?;
        let expected: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{name}\""
        )))
        .fetch_one(&mut *snapshot)
        .await?;
        if copied != expected as u64 {
            return Err(StoreError::Write(format!(
                "{name}: read {copied} rows of {expected}"
            )));
        }
        progress(name, copied);
        report.tables.push((name.clone(), copied));
    }
    let source_last_hash: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *snapshot)
            .await?;
    snapshot.rollback().await?;

    // The next id after the copied ones, as SQLite would give it.
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in identities {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence($1, $2),
                           coalesce((SELECT max(\"{column}\") FROM \"{table}\"), 0) + 1, false)"
        )))
        .bind(format!("\"{table}\""))
        .bind(&column)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;

    // Checked again on what is committed: the counts, and the audit chain.
    for (name, copied) in &report.tables {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{name}\""
        )))
        .fetch_one(pool)
        .await?;
        if n as u64 != *copied {
            return Err(StoreError::Write(format!(
                "{name}: the destination holds {n} rows, {copied} were copied"
            )));
        }
    }
    let entries = audit_entries(&dest).await?;
    let dest_last_hash = entries.last().map(|e| e.hash.clone());
    report.audit_entries = verify_chain(entries)
        .map_err(|broken| StoreError::Corrupt(format!("audit log at the destination: {broken}")))?;
    if dest_last_hash != source_last_hash {
        return Err(StoreError::Corrupt(
            "the audit chain's last hash differs between source and destination".into(),
        ));
    }
    Ok(report)
}

async fn audit_entries(
    store: &PgStore,
) -> Result<Vec<crieur_domain::audit::AuditEntry>, StoreError> {
    use crate::AuditStore;
    let mut entries = Vec::new();
    loop {
        let after = entries
            .last()
            .map(|e: &crieur_domain::audit::AuditEntry| e.seq)
            .unwrap_or(0);
        let page = store.audit_entries(after, 10_000).await?;
        if page.is_empty() {
            return Ok(entries);
        }
        entries.extend(page);
    }
}

/// Streams one table from the snapshot into the destination, in batches.
async fn copy_table(
    source: &mut SqliteConnection,
    dest: &mut sqlx::PgConnection,
    name: &str,
    table: &Table,
    batch: usize,
) -> Result<u64, StoreError> {
    let quoted = |c: &String| format!("\"{c}\"");
    let names: Vec<String> = table.columns.iter().map(|(c, _)| quoted(c)).collect();
    let select = format!(
        "SELECT {} FROM \"{name}\" ORDER BY {}",
        names.join(", "),
        table.key.iter().map(quoted).collect::<Vec<_>>().join(", ")
    );
    let mut columns = table
        .columns
        .iter()
        .map(|(c, t)| Column::new(t, name, c))
        .collect::<Result<Vec<_>, _>>()?;
    let casts: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i + 1, c.cast()))
        .collect();
    let insert = format!(
        "INSERT INTO \"{name}\" ({}) SELECT * FROM UNNEST({})",
        names.join(", "),
        casts.join(", ")
    );
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(source);
    let (mut pending, mut copied) = (0usize, 0u64);
    loop {
        let row = rows.try_next().await?;
        if let Some(row) = &row {
            for (i, column) in columns.iter_mut().enumerate() {
                column.push(row, i)?;
            }
            pending += 1;
        }
        if pending > 0 && (pending == batch || row.is_none()) {
            let mut args = PgArguments::default();
            for column in &mut columns {
                column.bind(&mut args)?;
            }
            sqlx::query_with(sqlx::AssertSqlSafe(insert.clone()), args)
                .execute(&mut *dest)
                .await?;
            copied += pending as u64;
            pending = 0;
        }
        if row.is_none() {
            return Ok(copied);
        }
    }
}

/// The destination's tables with their columns, keys and parents.
async fn destination_tables(pool: &sqlx::PgPool) -> Result<BTreeMap<String, Table>, StoreError> {
    let mut tables = BTreeMap::new();
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::TEXT, c.column_name::TEXT, c.data_type::TEXT
         FROM information_schema.columns c
         JOIN information_schema.tables t
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
           AND c.table_name <> '_sqlx_migrations'
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(pool)
    .await?;
    for (table, column, pg_type) in columns {
        tables
            .entry(table)
            .or_insert_with(|| Table {
                columns: Vec::new(),
                key: Vec::new(),
                parents: BTreeSet::new(),
            })
            .columns
            .push((column, pg_type));
    }
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT k.table_name::TEXT, k.column_name::TEXT
         FROM information_schema.table_constraints c
         JOIN information_schema.key_column_usage k
           ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name
         WHERE c.table_schema = current_schema() AND c.constraint_type = 'PRIMARY KEY'
         ORDER BY k.table_name, k.ordinal_position",
    )
    .fetch_all(pool)
    .await?;
    for (table, column) in keys {
        if let Some(t) = tables.get_mut(&table) {
            t.key.push(column);
        }
    }
    let parents: Vec<(String, String)> = sqlx::query_as(
        "SELECT child.relname::TEXT, parent.relname::TEXT
         FROM pg_constraint c
         JOIN pg_class child ON child.oid = c.conrelid
         JOIN pg_class parent ON parent.oid = c.confrelid
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(pool)
    .await?;
    for (child, parent) in parents {
        if child != parent
            && let Some(t) = tables.get_mut(&child)
        {
            t.parents.insert(parent);
        }
    }
    for (name, t) in &tables {
        if t.key.is_empty() {
            return Err(StoreError::Unsupported(format!(
                "{name} has no primary key to copy it in order"
            )));
        }
    }
    Ok(tables)
}

/// Parents before children; among equals, by name.
fn dependency_order(tables: &BTreeMap<String, Table>) -> Result<Vec<String>, StoreError> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < tables.len() {
        let next = tables
            .iter()
            .find(|(name, t)| !done.contains(*name) && t.parents.iter().all(|p| done.contains(p)))
            .map(|(name, _)| name.clone())
            .ok_or_else(|| StoreError::Unsupported("the tables' references form a cycle".into()))?;
        done.insert(next.clone());
        order.push(next);
    }
    Ok(order)
}
