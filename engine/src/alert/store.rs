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

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::labels::{LabelMatcher, Labels};
use super::lifecycle::{Alert, AlertStatus, HistoryEntry};
use super::silence::Silence;
use super::Priority;

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

const ALERT_COLUMNS: &str = "id, fingerprint, title, entity, kind, priority, status, assignee, \
    labels, runbook, runbook_url, score, occurrences, source_ids, created_ms, updated_ms, \
    last_seen_ms, acknowledged_ms, resolved_ms";

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

/// One run of a runbook's remediation action, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookRun {
    /// Row id; 0 before it is recorded.
    pub id: i64,
    /// The alert it ran for.
    pub alert_id: String,
    /// The runbook's name.
    pub runbook: String,
    /// The action (webhook or allow-listed command) that ran.
    pub action: String,
    /// Start, ms since the epoch.
    pub started_ms: i64,
    /// End, ms since the epoch.
    pub finished_ms: i64,
    /// Whether it succeeded.
    pub ok: bool,
    /// The command's exit code (None for webhooks or a killed command).
    pub exit_code: Option<i32>,
    /// Its output, at most [`MAX_RUN_OUTPUT`] bytes.
    pub output: String,
    /// Who started it.
    pub actor: String,
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

/// Raw alert columns, converted outside the row callback so bad values become
/// [`StoreError::Corrupt`].
struct AlertRow {
    id: String,
    fingerprint: i64,
    title: String,
    entity: String,
    kind: String,
    priority: i64,
    status: String,
    assignee: Option<String>,
    labels: String,
    runbook: Option<String>,
    runbook_url: Option<String>,
    score: f64,
    occurrences: i64,
    source_ids: String,
    created_ms: i64,
    updated_ms: i64,
    last_seen_ms: i64,
    acknowledged_ms: Option<i64>,
    resolved_ms: Option<i64>,
}

impl AlertRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
        Ok(AlertRow {
            id: r.get(0)?,
            fingerprint: r.get(1)?,
            title: r.get(2)?,
            entity: r.get(3)?,
            kind: r.get(4)?,
            priority: r.get(5)?,
            status: r.get(6)?,
            assignee: r.get(7)?,
            labels: r.get(8)?,
            runbook: r.get(9)?,
            runbook_url: r.get(10)?,
            score: r.get(11)?,
            occurrences: r.get(12)?,
            source_ids: r.get(13)?,
            created_ms: r.get(14)?,
            updated_ms: r.get(15)?,
            last_seen_ms: r.get(16)?,
            acknowledged_ms: r.get(17)?,
            resolved_ms: r.get(18)?,
        })
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

    /// Writes an alert (insert or update) and, if given, appends its history line, in one
    /// transaction.
    pub fn save(&mut self, alert: &Alert, entry: Option<&HistoryEntry>) -> Result<(), StoreError> {
        self.save_batch(std::iter::once((alert, entry)))
    }

    /// [`AlertStore::save`] for many alerts in one transaction (e.g. an auto-resolve sweep).
    pub fn save_batch<'a>(
        &mut self,
        items: impl IntoIterator<Item = (&'a Alert, Option<&'a HistoryEntry>)>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let path = &path;
        let e = |context| move |err| sql_err(path, context, err);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e("begin save"))?;
        for (a, entry) in items {
            write_alert(&tx, a).map_err(e("write alert"))?;
            if let Some(h) = entry {
                tx.execute(
                    "INSERT INTO alert_history (alert_id, at_ms, actor, action, from_status, \
                     to_status, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        h.alert_id,
                        h.at_ms,
                        h.actor,
                        h.action,
                        h.from.map(AlertStatus::as_str),
                        h.to.map(AlertStatus::as_str),
                        h.detail
                    ],
                )
                .map_err(e("append history"))?;
            }
        }
        tx.commit().map_err(e("commit save"))
    }

    /// Every alert not resolved, and the most recently resolved ones (see
    /// [`AlertStore::with_loaded_resolved`]), oldest created first.
    pub fn load_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        let live_sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE status != 'resolved'");
        let done_sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE status = 'resolved' \
             ORDER BY resolved_ms DESC, id LIMIT ?1"
        );
        let limit = i64::try_from(self.loaded_resolved).unwrap_or(i64::MAX);
        let mut rows = Vec::new();
        for (sql, arg) in [(live_sql, None), (done_sql, Some(limit))] {
            let mut stmt = self.conn.prepare(&sql).map_err(self.err("read alerts"))?;
            let it = match arg {
                Some(n) => stmt.query_map([n], AlertRow::read),
                None => stmt.query_map([], AlertRow::read),
            }
            .map_err(self.err("read alerts"))?;
            for row in it {
                rows.push(row.map_err(self.err("read alerts"))?);
            }
        }
        let mut out = rows
            .into_iter()
            .map(|r| self.alert_from(r))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(out)
    }

    /// One alert by id, resolved or not.
    pub fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1");
        let row = self
            .conn
            .query_row(&sql, [id], AlertRow::read)
            .optional()
            .map_err(self.err("read alert"))?;
        row.map(|r| self.alert_from(r)).transpose()
    }

    fn alert_from(&self, r: AlertRow) -> Result<Alert, StoreError> {
        let bad = |field, reason: String| self.corrupt("alerts", &r.id, field, reason);
        let priority = Priority::parse(&r.priority.to_string())
            .ok_or_else(|| bad("priority", format!("{} is not 1..4", r.priority)))?;
        let status = AlertStatus::parse(&r.status)
            .ok_or_else(|| bad("status", format!("unknown status {:?}", r.status)))?;
        let labels: Labels =
            serde_json::from_str(&r.labels).map_err(|e| bad("labels", e.to_string()))?;
        let source_ids: Vec<String> =
            serde_json::from_str(&r.source_ids).map_err(|e| bad("source_ids", e.to_string()))?;
        Ok(Alert {
            fingerprint: r.fingerprint as u64,
            title: r.title,
            entity: r.entity,
            kind: r.kind,
            priority,
            status,
            assignee: r.assignee,
            labels,
            runbook: r.runbook,
            runbook_url: r.runbook_url,
            score: r.score,
            occurrences: u64::try_from(r.occurrences).unwrap_or(0),
            source_ids,
            created_ms: r.created_ms,
            updated_ms: r.updated_ms,
            last_seen_ms: r.last_seen_ms,
            acknowledged_ms: r.acknowledged_ms,
            resolved_ms: r.resolved_ms,
            id: r.id,
        })
    }

    /// An alert's history, in the order it was written.
    pub fn history(&self, alert_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        type Raw = (
            i64,
            String,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
        );
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, alert_id, at_ms, actor, action, from_status, to_status, detail \
                 FROM alert_history WHERE alert_id = ?1 ORDER BY seq",
            )
            .map_err(self.err("read history"))?;
        let rows = stmt
            .query_map([alert_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .map_err(self.err("read history"))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, alert_id, at_ms, actor, action, from, to, detail): Raw =
                row.map_err(self.err("read history"))?;
            let status = |field, s: Option<String>| match s {
                None => Ok(None),
                Some(s) => AlertStatus::parse(&s).map(Some).ok_or_else(|| {
                    self.corrupt(
                        "alert_history",
                        &seq.to_string(),
                        field,
                        format!("unknown status {s:?}"),
                    )
                }),
            };
            out.push(HistoryEntry {
                from: status("from_status", from)?,
                to: status("to_status", to)?,
                alert_id,
                at_ms,
                actor,
                action,
                detail,
            });
        }
        Ok(out)
    }

    /// Writes a silence (insert, or update by id, e.g. after expiring it).
    pub fn put_silence(&mut self, s: &Silence) -> Result<(), StoreError> {
        let matchers: Vec<String> = s.matchers.iter().map(ToString::to_string).collect();
        let matchers = serde_json::to_string(&matchers).unwrap_or_else(|_| "[]".to_string());
        self.conn
            .execute(
                "INSERT INTO silences (id, matchers, starts_ms, ends_ms, created_by, comment) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET \
                 matchers = excluded.matchers, starts_ms = excluded.starts_ms, \
                 ends_ms = excluded.ends_ms, created_by = excluded.created_by, \
                 comment = excluded.comment",
                params![
                    s.id,
                    matchers,
                    s.starts_ms,
                    s.ends_ms,
                    s.created_by,
                    s.comment
                ],
            )
            .map_err(self.err("write silence"))?;
        Ok(())
    }

    /// Every stored silence, in the order first written.
    pub fn load_silences(&self) -> Result<Vec<Silence>, StoreError> {
        type Raw = (String, String, i64, i64, String, String);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, matchers, starts_ms, ends_ms, created_by, comment FROM silences \
                 ORDER BY rowid",
            )
            .map_err(self.err("read silences"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(self.err("read silences"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, matchers, starts_ms, ends_ms, created_by, comment): Raw =
                row.map_err(self.err("read silences"))?;
            let matchers: Vec<LabelMatcher> = serde_json::from_str(&matchers)
                .map_err(|e| self.corrupt("silences", &id, "matchers", e.to_string()))?;
            out.push(Silence {
                id,
                matchers,
                starts_ms,
                ends_ms,
                created_by,
                comment,
            });
        }
        Ok(out)
    }

    /// Records a runbook run (output cut to [`MAX_RUN_OUTPUT`] bytes); returns its id.
    pub fn record_run(&mut self, run: &RunbookRun) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runbook_runs (alert_id, runbook, action, started_ms, finished_ms, \
                 ok, exit_code, output, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    run.alert_id,
                    run.runbook,
                    run.action,
                    run.started_ms,
                    run.finished_ms,
                    run.ok,
                    run.exit_code,
                    truncate_utf8(&run.output, MAX_RUN_OUTPUT),
                    run.actor
                ],
            )
            .map_err(self.err("record runbook run"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// An alert's runbook runs, in the order recorded.
    pub fn runs(&self, alert_id: &str) -> Result<Vec<RunbookRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, alert_id, runbook, action, started_ms, finished_ms, ok, exit_code, \
                 output, actor FROM runbook_runs WHERE alert_id = ?1 ORDER BY id",
            )
            .map_err(self.err("read runbook runs"))?;
        let rows = stmt
            .query_map([alert_id], |r| {
                Ok(RunbookRun {
                    id: r.get(0)?,
                    alert_id: r.get(1)?,
                    runbook: r.get(2)?,
                    action: r.get(3)?,
                    started_ms: r.get(4)?,
                    finished_ms: r.get(5)?,
                    ok: r.get(6)?,
                    exit_code: r.get(7)?,
                    output: r.get(8)?,
                    actor: r.get(9)?,
                })
            })
            .map_err(self.err("read runbook runs"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(self.err("read runbook runs"))
    }

    /// Deletes alerts resolved before `before_ms` with their history and runs, and silences
    /// that ended before it, in one transaction; returns how many alerts went.
    pub fn prune(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let path = &path;
        let e = |context| move |err| sql_err(path, context, err);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e("begin prune"))?;
        let old = "SELECT id FROM alerts WHERE status = 'resolved' AND resolved_ms < ?1";
        for table in ["alert_history", "runbook_runs"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE alert_id IN ({old})"),
                [before_ms],
            )
            .map_err(e("prune history and runs"))?;
        }
        let n = tx
            .execute(
                "DELETE FROM alerts WHERE status = 'resolved' AND resolved_ms < ?1",
                [before_ms],
            )
            .map_err(e("prune alerts"))?;
        tx.execute("DELETE FROM silences WHERE ends_ms < ?1", [before_ms])
            .map_err(e("prune silences"))?;
        tx.commit().map_err(e("commit prune"))?;
        Ok(n)
    }
}

fn sql_err(path: &Path, context: &'static str, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        context,
        source,
    }
}

fn write_alert(tx: &rusqlite::Transaction<'_>, a: &Alert) -> rusqlite::Result<usize> {
    // Labels and a Vec<String> always serialize; the fallbacks are never taken.
    let labels = serde_json::to_string(&a.labels).unwrap_or_else(|_| "{}".to_string());
    let sources = serde_json::to_string(&a.source_ids).unwrap_or_else(|_| "[]".to_string());
    // SQLite stores NaN as NULL; an alert's score is never NaN (the book maps it to 0).
    let score = if a.score.is_nan() { 0.0 } else { a.score };
    tx.execute(
        &format!(
            "INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) ON CONFLICT(id) DO UPDATE SET \
             fingerprint = excluded.fingerprint, title = excluded.title, \
             entity = excluded.entity, kind = excluded.kind, priority = excluded.priority, \
             status = excluded.status, assignee = excluded.assignee, labels = excluded.labels, \
             runbook = excluded.runbook, runbook_url = excluded.runbook_url, \
             score = excluded.score, occurrences = excluded.occurrences, \
             source_ids = excluded.source_ids, created_ms = excluded.created_ms, \
             updated_ms = excluded.updated_ms, last_seen_ms = excluded.last_seen_ms, \
             acknowledged_ms = excluded.acknowledged_ms, resolved_ms = excluded.resolved_ms"
        ),
        params![
            a.id,
            a.fingerprint as i64,
            a.title,
            a.entity,
            a.kind,
            i64::from(a.priority.number()),
            a.status.as_str(),
            a.assignee,
            labels,
            a.runbook,
            a.runbook_url,
            score,
            i64::try_from(a.occurrences).unwrap_or(i64::MAX),
            sources,
            a.created_ms,
            a.updated_ms,
            a.last_seen_ms,
            a.acknowledged_ms,
            a.resolved_ms
        ],
    )
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
