//! The HTTP control plane. The API never reaches into actor state: it reads the metrics
//! snapshot and calls the ingest and control handles the pipeline hands out.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tocsin_actors::connectors::http::{HttpIngest, IngestError};
use tocsin_actors::metrics::PipelineMetrics;
use tocsin_actors::pipeline::Scoring;
use tocsin_actors::scorer::AnomalyQuery;
use tocsin_actors::stage::PauseSwitch;
use tocsin_actors::trainer::Retrain;
use tocsin_engine::normalise::mapping::VendorRegistry;
use tocsin_engine::score::anomaly::AnomalyKind;

/// What the routes share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Pipeline metrics.
    pub metrics: Arc<PipelineMetrics>,
    /// HTTP ingest.
    pub ingest: Arc<HttpIngest>,
    /// Target pause switches.
    pub pauses: Arc<HashMap<String, Arc<PauseSwitch>>>,
    /// True once the API itself is listening.
    pub api_bound: Arc<AtomicBool>,
    /// Vendor mappings.
    pub vendors: Arc<VendorRegistry>,
    /// Anomalies, models and the trainer; `None` when scoring is off.
    pub scoring: Option<Scoring>,
    /// The alert manager; `None` when alerts are off.
    pub alerts: Option<tocsin_actors::pipeline::Alerting>,
    /// The routing rules.
    pub rules: Arc<tocsin_actors::rules::RouteRules>,
    /// Topology and incidents; `None` when correlation is off.
    pub correlation: Option<tocsin_actors::pipeline::Correlation>,
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics))
        .route("/api/v1/pipeline", web::get().to(pipeline))
        .route(
            "/api/v1/pipeline/latency/reset",
            web::post().to(reset_latency),
        )
        .route("/api/v1/ingest/{source}", web::post().to(ingest))
        .route("/api/v1/vendors", web::get().to(list_vendors))
        .route("/api/v1/vendors/{name}", web::get().to(get_vendor))
        .route("/api/v1/vendors/{name}", web::put().to(put_vendor))
        .route("/api/v1/anomalies", web::get().to(list_anomalies))
        .route("/api/v1/anomalies/{id}", web::get().to(get_anomaly))
        .route("/api/v1/models", web::get().to(list_models))
        .route("/api/v1/models/retrain", web::post().to(retrain))
        .route("/api/v1/targets/{name}/pause", web::post().to(pause_target))
        .route(
            "/api/v1/targets/{name}/resume",
            web::post().to(resume_target),
        )
        .configure(crate::alerts::routes)
        .configure(crate::incidents::routes);
}

fn error(status: actix_web::http::StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let api = state.api_bound.load(Ordering::Acquire);
    let connectors = state.metrics.all_bound();
    if api && connectors {
        HttpResponse::Ok().json(json!({ "ready": true }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "ready": false, "api_bound": api, "connectors_bound": connectors,
        }))
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render_prometheus())
}

async fn pipeline(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.metrics.snapshot())
}

async fn reset_latency(state: web::Data<AppState>) -> HttpResponse {
    state.metrics.reset_latency();
    HttpResponse::Ok().json(json!({ "reset": true }))
}

async fn ingest(
    state: web::Data<AppState>,
    source: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match state.ingest.submit(&source, content_type, body).await {
        Ok(accepted) => HttpResponse::Accepted().json(json!({ "accepted": accepted })),
        Err(IngestError::UnknownSource(s)) => error(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("no http source named {s:?} is configured"),
        ),
        Err(e @ IngestError::BadBody(_)) => {
            error(actix_web::http::StatusCode::BAD_REQUEST, e.to_string())
        }
        Err(e @ IngestError::Saturated { retry_after_secs }) => HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, retry_after_secs.to_string()))
            .json(json!({ "error": e.to_string() })),
        Err(e @ IngestError::ShuttingDown) => HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, "5"))
            .json(json!({ "error": e.to_string() })),
    }
}

fn switch(state: &AppState, name: &str, pause: bool) -> HttpResponse {
    match state.pauses.get(name) {
        Some(p) => {
            if pause {
                p.pause();
            } else {
                p.resume();
            }
            HttpResponse::Ok().json(json!({ "target": name, "paused": p.is_paused() }))
        }
        None => error(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("no target named {name:?}"),
        ),
    }
}

async fn pause_target(state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    switch(&state, &name, true)
}

async fn resume_target(state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    switch(&state, &name, false)
}

async fn list_vendors(state: web::Data<AppState>) -> HttpResponse {
    let unrecognised: std::collections::BTreeMap<String, u64> =
        state.vendors.unrecognised().into_iter().collect();
    HttpResponse::Ok().json(json!({
        "vendors": state.vendors.list(),
        "unrecognised_by_source": unrecognised,
    }))
}

async fn get_vendor(state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    match state.vendors.plan(&name) {
        Some(plan) => HttpResponse::Ok()
            .content_type("application/toml; charset=utf-8")
            .body(plan.source.clone()),
        None => error(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("no vendor mapping named {:?}", name.as_str()),
        ),
    }
}

/// Adds or replaces a mapping: the body is the TOML file. It is compiled before anything
/// changes; a broken mapping is refused (400, with the error) and the old one stays.
async fn put_vendor(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(src) = std::str::from_utf8(&body) else {
        return error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "the mapping must be UTF-8 TOML",
        );
    };
    let vendors = state.vendors.clone();
    let (name_c, src_c) = (name.to_string(), src.to_owned());
    // Compiling regexes and writing the file: off the async workers.
    let result = web::block(move || vendors.put(&name_c, &src_c)).await;
    match result {
        Ok(Ok(())) => {
            tracing::info!(vendor = %name, "vendor mapping applied");
            HttpResponse::Ok().json(json!({ "vendor": name.as_str(), "applied": true }))
        }
        Ok(Err(e)) => error(actix_web::http::StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("mapping update failed: {e}"),
        ),
    }
}

fn scoring_off() -> HttpResponse {
    error(
        actix_web::http::StatusCode::NOT_FOUND,
        "scoring is off (score.enabled = false): there are no anomalies or models",
    )
}

/// `GET /api/v1/anomalies?entity=&kind=&since=&min_score=&limit=`: the latest anomalies,
/// oldest first (`since` is event-time ms of the window end; `limit` defaults to 1000).
async fn list_anomalies(
    state: web::Data<AppState>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let Some(scoring) = &state.scoring else {
        return scoring_off();
    };
    let bad = |m: String| error(actix_web::http::StatusCode::BAD_REQUEST, m);
    let mut query = AnomalyQuery {
        entity: q.get("entity").cloned(),
        limit: 1000,
        ..AnomalyQuery::default()
    };
    for (key, value) in q.iter() {
        match key.as_str() {
            "entity" => {}
            "kind" => match AnomalyKind::parse(value) {
                Some(k) => query.kind = Some(k),
                None => {
                    let kinds: Vec<&str> = AnomalyKind::ALL.iter().map(|k| k.as_str()).collect();
                    return bad(format!("kind {value:?} is not one of {}", kinds.join(", ")));
                }
            },
            "since" => match value.parse::<i64>() {
                Ok(t) => query.since = Some(t),
                Err(_) => {
                    return bad(format!(
                        "since {value:?} is not a time in ms since the epoch"
                    ))
                }
            },
            "min_score" => match value.parse::<f64>() {
                Ok(s) if (0.0..=1.0).contains(&s) => query.min_score = Some(s),
                _ => return bad(format!("min_score {value:?} is not a number in 0..1")),
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=100_000).contains(&n) => query.limit = n,
                _ => return bad(format!("limit {value:?} is not a number in 1..=100000")),
            },
            other => {
                return bad(format!(
                    "unknown parameter {other:?}; expected entity, kind, since, min_score, limit"
                ))
            }
        }
    }
    let hits = scoring.anomalies.query(&query);
    let list: Vec<serde_json::Value> = hits.iter().map(|a| a.to_json()).collect();
    HttpResponse::Ok().json(json!({ "count": list.len(), "anomalies": list }))
}

async fn get_anomaly(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let Some(scoring) = &state.scoring else {
        return scoring_off();
    };
    match scoring.anomalies.get(&id) {
        Some(a) => HttpResponse::Ok().json(a.to_json()),
        None => error(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("no anomaly {:?} among the latest kept", id.as_str()),
        ),
    }
}

/// `GET /api/v1/models`: the published models, the samples gathered per class, and the
/// trainer's state.
async fn list_models(state: web::Data<AppState>) -> HttpResponse {
    let Some(scoring) = &state.scoring else {
        return scoring_off();
    };
    let samples: Vec<serde_json::Value> = scoring
        .models
        .sampled()
        .into_iter()
        .map(|(class, kept, seen)| json!({ "class": class, "kept": kept, "seen": seen }))
        .collect();
    let st = &scoring.trainer_status;
    let shards: Vec<serde_json::Value> = state
        .metrics
        .scoring
        .read()
        .map(|s| {
            s.shards
                .iter()
                .map(|m| {
                    let v = m.lstm_version.load(Ordering::Relaxed);
                    json!({ "shard": m.name, "lstm_version": (v > 0).then_some(v) })
                })
                .collect()
        })
        .unwrap_or_default();
    HttpResponse::Ok().json(json!({
        "models": scoring.models.list(),
        "shards": shards,
        "samples": samples,
        "trainer": {
            "runs": st.runs.load(Ordering::Relaxed),
            "failures": st.failures.load(Ordering::Relaxed),
            "last_error": st.last_error.lock().ok().and_then(|e| e.clone()),
        },
    }))
}

/// `POST /api/v1/models/retrain`: fits every class with enough samples now; answers with the
/// versions published.
async fn retrain(state: web::Data<AppState>) -> HttpResponse {
    let Some(scoring) = &state.scoring else {
        return scoring_off();
    };
    match scoring.trainer.send(Retrain).await {
        Ok(Ok(trained)) => {
            let forests: Vec<serde_json::Value> = trained
                .forests
                .iter()
                .map(|r| {
                    json!({
                        "class": r.class,
                        "version": r.version,
                        "trained_on": r.trained_on,
                        "checksum": format!("{:016x}", r.checksum),
                    })
                })
                .collect();
            HttpResponse::Ok().json(json!({ "trained": forests, "lstm": trained.lstm }))
        }
        Ok(Err(e)) => error(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => error(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("the trainer is not running: {e}"),
        ),
    }
}
