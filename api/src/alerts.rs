//! `/api/v1/alerts`, `/api/v1/silences` and `/api/v1/rules`.
//!
//! Alert and silence changes are answered only after the alert manager has committed them to
//! SQLite: a 200 means the change survives a crash.

use crate::server::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use tocsin_actors::alerts::{
    AddSilence, AlertError, AlertOp, ExpireSilence, GetAlert, ListAlerts, ListSilences, Operate,
    Remediate,
};
use tocsin_actors::rules::RulesError;
use tocsin_engine::alert::lifecycle::{AlertFilter, AlertStatus};
use tocsin_engine::alert::silence::SilenceSpec;
use tocsin_engine::alert::Priority;
use tocsin_engine::route::RuleSpec;

/// Registers the routes of this module.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/alerts", web::get().to(list_alerts))
        .route("/api/v1/alerts/stats", web::get().to(alert_stats))
        .route("/api/v1/alerts/{id}", web::get().to(get_alert))
        .route("/api/v1/alerts/{id}/{action}", web::post().to(act_on_alert))
        .route("/api/v1/silences", web::get().to(list_silences))
        .route("/api/v1/silences", web::post().to(add_silence))
        .route("/api/v1/silences/{id}", web::delete().to(expire_silence))
        .route("/api/v1/rules", web::get().to(list_rules))
        .route("/api/v1/rules", web::post().to(add_rule))
        .route("/api/v1/rules/{name}", web::get().to(get_rule))
        .route("/api/v1/rules/{name}", web::put().to(replace_rule))
        .route("/api/v1/rules/{name}", web::delete().to(remove_rule));
}

fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}

fn alerts_off() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "alerts are off (alerts.enabled = false, or score.enabled = false)",
    )
}

fn alert_error(e: AlertError) -> HttpResponse {
    let status = match &e {
        AlertError::NotFound(_) => StatusCode::NOT_FOUND,
        AlertError::Conflict(_) => StatusCode::CONFLICT,
        AlertError::Invalid(_) => StatusCode::BAD_REQUEST,
        AlertError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AlertError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, e.to_string())
}

fn mailbox_error(e: actix::MailboxError) -> HttpResponse {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the alert manager is not running: {e}"),
    )
}

/// Who acts: the body's `by`, else the `X-Tocsin-User` header, else `"api"`.
fn actor(req: &HttpRequest, by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| {
            req.headers()
                .get("x-tocsin-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "api".to_owned())
}

/// `GET /api/v1/alerts?priority=&status=&entity=&since=&limit=`: newest first.
async fn list_alerts(
    state: web::Data<AppState>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let Some(alerts) = &state.alerts else {
        return alerts_off();
    };
    let bad = |m: String| error(StatusCode::BAD_REQUEST, m);
    let mut filter = AlertFilter {
        limit: 1000,
        ..AlertFilter::default()
    };
    for (key, value) in q.iter() {
        match key.as_str() {
            "priority" => match Priority::parse(value) {
                Some(p) => filter.priority = Some(p),
                None => return bad(format!("priority {value:?} is not one of P1, P2, P3, P4")),
            },
            "status" => match AlertStatus::parse(value) {
                Some(s) => filter.status = Some(s),
                None => {
                    return bad(format!(
                        "status {value:?} is not one of open, acknowledged, resolved, suppressed"
                    ))
                }
            },
            "entity" => filter.entity = Some(value.clone()),
            "since" => match value.parse::<i64>() {
                Ok(t) => filter.since_ms = Some(t),
                Err(_) => {
                    return bad(format!(
                        "since {value:?} is not a time in ms since the epoch"
                    ))
                }
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=100_000).contains(&n) => filter.limit = n,
                _ => return bad(format!("limit {value:?} is not a number in 1..=100000")),
            },
            other => {
                return bad(format!(
                    "unknown parameter {other:?}; expected priority, status, entity, since, limit"
                ))
            }
        }
    }
    match alerts.manager.send(ListAlerts(filter)).await {
        Ok(list) => HttpResponse::Ok().json(json!({ "count": list.len(), "alerts": list })),
        Err(e) => mailbox_error(e),
    }
}

/// `GET /api/v1/alerts/stats`: per priority, counts by status, MTTA and MTTR (ms).
async fn alert_stats(state: web::Data<AppState>) -> HttpResponse {
    let Some(alerts) = &state.alerts else {
        return alerts_off();
    };
    let stats = alerts
        .metrics
        .stats
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    HttpResponse::Ok().json(json!({ "priorities": stats }))
}

/// `GET /api/v1/alerts/{id}`: the alert, its history and its runbook runs.
async fn get_alert(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let Some(alerts) = &state.alerts else {
        return alerts_off();
    };
    match alerts.manager.send(GetAlert(id.into_inner())).await {
        Ok(Ok(detail)) => HttpResponse::Ok().json(detail),
        Ok(Err(e)) => alert_error(e),
        Err(e) => mailbox_error(e),
    }
}

/// The body of an alert action; every field is optional except where the action needs it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    by: Option<String>,
    reason: Option<String>,
    assignee: Option<String>,
}

/// `POST /api/v1/alerts/{id}/ack|suppress|resolve|assign|remediate`.
async fn act_on_alert(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(alerts) = &state.alerts else {
        return alerts_off();
    };
    let (id, action) = path.into_inner();
    let body: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("body: {e} (fields: by, reason, assignee)"),
                )
            }
        }
    };
    let who = actor(&req, body.by.as_deref());
    let op = match action.as_str() {
        "ack" | "acknowledge" => AlertOp::Acknowledge,
        "resolve" => AlertOp::Resolve,
        "suppress" => AlertOp::Suppress(body.reason.unwrap_or_default()),
        "assign" => match body.assignee {
            Some(a) => AlertOp::Assign(a),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "assign needs a body {\"assignee\": \"name\"}",
                )
            }
        },
        "remediate" => {
            return match alerts.manager.send(Remediate { id, actor: who }).await {
                Ok(Ok(run)) => HttpResponse::Ok().json(run),
                Ok(Err(e)) => alert_error(e),
                Err(e) => mailbox_error(e),
            }
        }
        other => {
            return error(
                StatusCode::NOT_FOUND,
                format!(
                    "unknown action {other:?}; expected ack, suppress, resolve, assign, remediate"
                ),
            )
        }
    };
    match alerts.manager.send(Operate { id, op, actor: who }).await {
        Ok(Ok(alert)) => HttpResponse::Ok().json(alert),
        Ok(Err(e)) => alert_error(e),
        Err(e) => mailbox_error(e),
    }
}

/// `GET /api/v1/silences`.
async fn list_silences(state: web::Data<AppState>) -> HttpResponse {
    let Some(alerts) = &state.alerts else {
        return alerts_off();
    };
    match alerts.manager.send(ListSilences).await {
        Ok(list) => HttpResponse::Ok().json(json!({ "count": list.len(), "silences": list })),
        Err(e) => mailbox_error(e),
    }
}

/// `POST /api/v1/silences` with a [`SilenceSpec`].
async fn add_silence(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(alerts) = &state.alerts else {
        return alerts_off();
    };
    let spec: SilenceSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("silence: {e}")),
    };
    let who = actor(&req, None);
    match alerts.manager.send(AddSilence { spec, actor: who }).await {
        Ok(Ok(s)) => HttpResponse::Created().json(s),
        Ok(Err(e)) => alert_error(e),
        Err(e) => mailbox_error(e),
    }
}

/// `DELETE /api/v1/silences/{id}`: ends it now (it stays listed, expired).
async fn expire_silence(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let Some(alerts) = &state.alerts else {
        return alerts_off();
    };
    match alerts.manager.send(ExpireSilence(id.into_inner())).await {
        Ok(Ok(s)) => HttpResponse::Ok().json(s),
        Ok(Err(e)) => alert_error(e),
        Err(e) => mailbox_error(e),
    }
}

fn rules_error(e: RulesError) -> HttpResponse {
    let status = match &e {
        RulesError::Invalid(_) => StatusCode::BAD_REQUEST,
        RulesError::NotFound(_) => StatusCode::NOT_FOUND,
        RulesError::Exists(_) => StatusCode::CONFLICT,
        RulesError::Write { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

fn parse_rule(body: &[u8]) -> Result<RuleSpec, Box<HttpResponse>> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, format!("rule: {e}"))))
}

/// `GET /api/v1/rules`: the routing rules, in file order.
async fn list_rules(state: web::Data<AppState>) -> HttpResponse {
    let list = state.rules.list();
    HttpResponse::Ok().json(json!({ "count": list.len(), "rules": list }))
}

/// `GET /api/v1/rules/{name}`.
async fn get_rule(state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    match state.rules.list().into_iter().find(|r| r.name == *name) {
        Some(r) => HttpResponse::Ok().json(r),
        None => rules_error(RulesError::NotFound(name.into_inner())),
    }
}

/// `POST /api/v1/rules`: adds a rule (its name must be new).
async fn add_rule(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let rule = match parse_rule(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    match state.rules.add(rule) {
        Ok(r) => HttpResponse::Created().json(r),
        Err(e) => rules_error(e),
    }
}

/// `PUT /api/v1/rules/{name}`: replaces (or adds) the rule of that name.
async fn replace_rule(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let rule = match parse_rule(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    match state.rules.replace(&name, rule) {
        Ok(r) => HttpResponse::Ok().json(r),
        Err(e) => rules_error(e),
    }
}

/// `DELETE /api/v1/rules/{name}`.
async fn remove_rule(state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    match state.rules.remove(&name) {
        Ok(r) => HttpResponse::Ok().json(r),
        Err(e) => rules_error(e),
    }
}
