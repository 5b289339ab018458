//! What the API asks the alert manager, and what it answers.

use actix::Message;
use serde::Serialize;
use tocsin_engine::alert::lifecycle::{Alert, AlertFilter, HistoryEntry};
use tocsin_engine::alert::silence::{Silence, SilenceSpec};
use tocsin_engine::alert::store::RunbookRun;

/// Why an alert operation was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AlertError {
    /// No alert (or silence) with that id.
    #[error("{0}")]
    NotFound(String),
    /// The operation does not apply in the alert's state (acknowledging a resolved alert).
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The database refused the write: nothing was acknowledged.
    #[error("alert store: {0}")]
    Store(String),
    /// The alert manager is not running (shutting down).
    #[error("the alert manager is not running")]
    Unavailable,
}

/// An operator's action on an alert.
#[derive(Debug, Clone)]
pub enum AlertOp {
    /// open -> acknowledged.
    Acknowledge,
    /// -> resolved.
    Resolve,
    /// -> suppressed, with a reason.
    Suppress(String),
    /// Sets the assignee.
    Assign(String),
}

/// `POST /api/v1/alerts/{id}/ack|suppress|resolve|assign`.
#[derive(Debug, Message)]
#[rtype(result = "Result<Alert, AlertError>")]
pub struct Operate {
    /// The alert id.
    pub id: String,
    /// What to do.
    pub op: AlertOp,
    /// Who does it.
    pub actor: String,
}

/// `POST /api/v1/alerts/{id}/remediate`: runs the alert's runbook action.
#[derive(Debug, Message)]
#[rtype(result = "Result<RunbookRun, AlertError>")]
pub struct Remediate {
    /// The alert id.
    pub id: String,
    /// Who asks.
    pub actor: String,
}

/// `GET /api/v1/alerts`.
#[derive(Debug, Message)]
#[rtype(result = "Vec<Alert>")]
pub struct ListAlerts(pub AlertFilter);

/// One alert with its history and runbook runs.
#[derive(Debug, Clone, Serialize)]
pub struct AlertDetail {
    /// The alert.
    pub alert: Alert,
    /// Every state change, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Runbook actions run for it.
    pub runs: Vec<RunbookRun>,
}

/// `GET /api/v1/alerts/{id}`.
#[derive(Debug, Message)]
#[rtype(result = "Result<AlertDetail, AlertError>")]
pub struct GetAlert(pub String);

/// `GET /api/v1/silences`.
#[derive(Debug, Message)]
#[rtype(result = "Vec<Silence>")]
pub struct ListSilences;

/// `POST /api/v1/silences`.
#[derive(Debug, Message)]
#[rtype(result = "Result<Silence, AlertError>")]
pub struct AddSilence {
    /// The silence asked for.
    pub spec: SilenceSpec,
    /// Who adds it.
    pub actor: String,
}

/// `DELETE /api/v1/silences/{id}`: ends a silence now.
#[derive(Debug, Message)]
#[rtype(result = "Result<Silence, AlertError>")]
pub struct ExpireSilence(pub String);
