//! Runbook (remediation) runs.

use rusqlite::params;

use super::{AlertStore, StoreError, MAX_RUN_OUTPUT};

/// One run of a runbook's remediation action, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

impl AlertStore {
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
