//! [`AlertStore`]: alerts, their history, silences and runbook runs in SQLite, in the data
//! folder, so a restart (or a crash) loses nothing that was saved.
//!
//! The database runs in WAL mode with `synchronous=FULL`: a `save` that returned is on disk.
//! Each `save` is one transaction (the alert row and its history line together). Columns are
//! typed; labels, source ids and silence matchers are JSON text. Fingerprints (u64) are stored
//! as the i64 with the same bits. A `schema_version` table holds the layout's version; a newer
//! one than this build knows is refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

/// The layout version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
/// Resolved alerts [`AlertStore::load_alerts`] returns by default (the most recently resolved).
pub const DEFAULT_LOADED_RESOLVED: usize = 1_000;
/// Longest runbook output kept, bytes; longer output is cut at a character boundary.
pub const MAX_RUN_OUTPUT: usize = 64 * 1024;

const SCHEMA: &str = "
CREATE TABLE alerts (
    id TEXT PRIMARY KEY NOT NULL,
    fingerprint INTEGER NOT NULL,
    title TEXT NOT NULL,
    entity TEXT NOT NULL,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    labels TEXT NOT NULL,
    runbook TEXT,
    runbook_url TEXT,
    score REAL NOT NULL,
    occurrences INTEGER NOT NULL,
    source_ids TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    acknowledged_ms INTEGER,
    resolved_ms INTEGER
) STRICT;
CREATE INDEX alerts_status ON alerts (status, resolved_ms);
CREATE TABLE alert_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX alert_history_alert ON alert_history (alert_id, seq);
CREATE TABLE silences (
    id TEXT PRIMARY KEY NOT NULL,
    matchers TEXT NOT NULL,
    starts_ms INTEGER NOT NULL,
    ends_ms INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    comment TEXT NOT NULL
) STRICT;
CREATE TABLE runbook_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    runbook TEXT NOT NULL,
    action TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    exit_code INTEGER,
    output TEXT NOT NULL,
    actor TEXT NOT NULL
) STRICT;
CREATE INDEX runbook_runs_alert ON runbook_runs (alert_id, id);
";

/// Why the store failed. Every error names the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("{}: {context}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What the store was doing.
        context: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A row holds a value this build cannot read back.
    #[error("{}: {table} row {key}: bad {field}: {reason}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// The column.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The file was written by a newer tocsin.
    #[error("{}: schema version {found} is newer than this build understands ({supported})", path.display())]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version in the file.
        found: i64,
        /// The version this build knows.
        supported: i64,
    },
}

/// The SQLite database of alerts, history, silences and runbook runs.
pub struct AlertStore {
    conn: Connection,
    path: PathBuf,
    loaded_resolved: usize,
}

impl std::fmt::Debug for AlertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertStore")
            .field("path", &self.path)
            .field("loaded_resolved", &self.loaded_resolved)
            .finish()
    }
}

impl AlertStore {
    /// Opens (creating if needed) the database at `path`; its folder must exist.
    pub fn open(path: &Path) -> Result<AlertStore, StoreError> {
        let conn = Connection::open(path).map_err(|e| sql_err(path, "open", e))?;
        let mut store = AlertStore {
            conn,
            path: path.to_path_buf(),
            loaded_resolved: DEFAULT_LOADED_RESOLVED,
        };
        store.setup()?;
        Ok(store)
    }

    /// Sets how many resolved alerts [`AlertStore::load_alerts`] returns.
    pub fn with_loaded_resolved(mut self, n: usize) -> AlertStore {
        self.loaded_resolved = n;
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| sql_err(&self.path, context, e)
    }

    fn corrupt(
        &self,
        table: &'static str,
        key: &str,
        field: &'static str,
        reason: String,
    ) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            table,
            key: key.to_string(),
            field,
            reason,
        }
    }

    fn setup(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let path = &path;
        let e = |context| move |err| sql_err(path, context, err);
        self.conn
            .busy_timeout(Duration::from_secs(5))
            .map_err(e("set busy timeout"))?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(e("set journal_mode=WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(sql_err(
                &self.path,
                "set journal_mode=WAL",
                rusqlite::Error::InvalidQuery,
            ));
        }
        self.conn
            .execute_batch("PRAGMA synchronous=FULL;")
            .map_err(e("set synchronous=FULL"))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e("begin schema setup"))?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT;",
        )
        .map_err(e("create schema_version"))?;
        let found: Option<i64> = tx
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .map_err(e("read schema_version"))?;
        match found {
            None => {
                tx.execute_batch(SCHEMA).map_err(e("create tables"))?;
                tx.execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    [SCHEMA_VERSION],
                )
                .map_err(e("write schema_version"))?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    path: self.path.clone(),
                    found: v,
                    supported: SCHEMA_VERSION,
                })
            }
            Some(_) => {}
        }
        tx.commit().map_err(e("commit schema setup"))
    }
}

fn sql_err(path: &Path, context: &'static str, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        context,
        source,
    }
}

mod alerts;
mod runs;
mod silences;

pub use runs::RunbookRun;

#[cfg(test)]
mod tests;
