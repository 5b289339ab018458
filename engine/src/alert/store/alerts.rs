//! Alert rows and their history.

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use super::{sql_err, AlertStore, StoreError};
use crate::alert::labels::Labels;
use crate::alert::lifecycle::{Alert, AlertStatus, HistoryEntry};
use crate::alert::Priority;

const ALERT_COLUMNS: &str = "id, fingerprint, title, entity, kind, priority, status, assignee, \
    labels, runbook, runbook_url, score, occurrences, source_ids, created_ms, updated_ms, \
    last_seen_ms, acknowledged_ms, resolved_ms";

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
