//! `/api/v1/incidents` and `/api/v1/topology`.
//!
//! Topology changes are checked whole and written to the topology file before they are
//! answered: a 200 or 201 means a restart loads the same topology.

use crate::server::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use tocsin_actors::correlator::{IncidentQuery, TopologyChangeError};
use tocsin_actors::pipeline::Correlation;
use tocsin_engine::correlate::{EdgeKind, EdgeSpec, IncidentStatus, NodeSpec, TopologyFile};

/// Registers the routes of this module.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/incidents", web::get().to(list_incidents))
        .route("/api/v1/incidents/{id}", web::get().to(get_incident))
        .route("/api/v1/topology", web::get().to(get_topology))
        .route("/api/v1/topology", web::put().to(put_topology))
        .route("/api/v1/topology/nodes", web::post().to(add_node))
        .route("/api/v1/topology/nodes/{id}", web::delete().to(remove_node))
        .route("/api/v1/topology/edges", web::post().to(add_edge))
        .route("/api/v1/topology/edges", web::delete().to(remove_edge));
}

fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}

fn correlation(state: &AppState) -> Result<&Correlation, Box<HttpResponse>> {
    state.correlation.as_ref().ok_or_else(|| {
        Box::new(error(
            StatusCode::NOT_FOUND,
            "correlation is off (correlation.enabled = false, or score.enabled = false)",
        ))
    })
}

/// The answer to a refused change: `invalid` for a change the topology refused (what it
/// means depends on the operation: 404 for removing what is not there, 409 for a node whose
/// names are taken, 400 otherwise), 500 when the file could not be written.
fn change_error(e: TopologyChangeError, invalid: StatusCode) -> HttpResponse {
    let status = match &e {
        TopologyChangeError::Invalid(_) => invalid,
        TopologyChangeError::Write { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

fn body<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, Box<HttpResponse>> {
    serde_json::from_slice(bytes)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, format!("{what}: {e}"))))
}

#[derive(Debug, Deserialize)]
struct IncidentParams {
    status: Option<String>,
    entity: Option<String>,
    since: Option<i64>,
    limit: Option<usize>,
}

/// `GET /api/v1/incidents?status=open|resolved|merged|all&entity=&since=&limit=`: most
/// recently seen first; default limit 100, at most 10000.
async fn list_incidents(state: web::Data<AppState>, q: web::Query<IncidentParams>) -> HttpResponse {
    let c = match correlation(&state) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let status = match q.status.as_deref() {
        None | Some("all") => None,
        Some("open") => Some(IncidentStatus::Open),
        Some("resolved") => Some(IncidentStatus::Resolved),
        Some("merged") => Some(IncidentStatus::Merged),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("status {other:?}: expected open, resolved, merged or all"),
            )
        }
    };
    let query = IncidentQuery {
        status,
        entity: q.entity.clone(),
        since: q.since,
        limit: q.limit.unwrap_or(100).min(10_000),
    };
    let (total, incidents) = c.incidents.query(&query);
    let list: Vec<&tocsin_engine::correlate::Incident> = incidents.iter().map(|i| &**i).collect();
    HttpResponse::Ok().json(json!({ "total": total, "incidents": list }))
}

/// `GET /api/v1/incidents/{id}`.
async fn get_incident(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let c = match correlation(&state) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    match c.incidents.get(&id) {
        Some(i) => HttpResponse::Ok().json(&*i),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no incident {:?}", id.as_str()),
        ),
    }
}

/// `GET /api/v1/topology`: nodes and edges (learned ones with `learned = true`), and the
/// file configured ones are kept in.
async fn get_topology(state: web::Data<AppState>) -> HttpResponse {
    let c = match correlation(&state) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let (file, version) = {
        let t = c.topology.read();
        (t.to_file(), t.version())
    };
    HttpResponse::Ok().json(json!({
        "file": c.topology.file().display().to_string(),
        "version": version,
        "nodes": file.nodes,
        "edges": file.edges,
    }))
}

/// `PUT /api/v1/topology`: replaces the whole topology (`{"nodes": [..], "edges": [..]}`).
async fn put_topology(state: web::Data<AppState>, bytes: web::Bytes) -> HttpResponse {
    let c = match correlation(&state) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let file: TopologyFile = match body("topology", &bytes) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let (nodes, edges) = (file.nodes.len(), file.edges.len());
    match c.topology.change(|t| t.replace(file)) {
        Ok(()) => HttpResponse::Ok().json(json!({ "nodes": nodes, "edges": edges })),
        Err(e) => change_error(e, StatusCode::BAD_REQUEST),
    }
}

/// `POST /api/v1/topology/nodes`: adds a node (its id, aliases and addresses must be new).
async fn add_node(state: web::Data<AppState>, bytes: web::Bytes) -> HttpResponse {
    let c = match correlation(&state) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let node: NodeSpec = match body("node", &bytes) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let answer = serde_json::to_value(&node).unwrap_or_default();
    match c.topology.change(|t| t.add_node(node)) {
        Ok(()) => HttpResponse::Created().json(answer),
        Err(e) => change_error(e, StatusCode::CONFLICT),
    }
}

/// `DELETE /api/v1/topology/nodes/{id}`: removes a node and its edges.
async fn remove_node(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let c = match correlation(&state) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    match c.topology.change(|t| t.remove_node(&id)) {
        Ok(node) => HttpResponse::Ok().json(node),
        Err(e) => change_error(e, StatusCode::NOT_FOUND),
    }
}

/// `POST /api/v1/topology/edges`: adds an edge between two known nodes.
async fn add_edge(state: web::Data<AppState>, bytes: web::Bytes) -> HttpResponse {
    let c = match correlation(&state) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let edge: EdgeSpec = match body("edge", &bytes) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let answer = serde_json::to_value(&edge).unwrap_or_default();
    match c.topology.change(|t| t.add_edge(edge)) {
        Ok(()) => HttpResponse::Created().json(answer),
        Err(e) => change_error(e, StatusCode::BAD_REQUEST),
    }
}

#[derive(Debug, Deserialize)]
struct EdgeKey {
    from: String,
    to: String,
    kind: EdgeKind,
}

/// `DELETE /api/v1/topology/edges?from=&to=&kind=`: removes an edge.
async fn remove_edge(state: web::Data<AppState>, q: web::Query<EdgeKey>) -> HttpResponse {
    let c = match correlation(&state) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let EdgeKey { from, to, kind } = q.into_inner();
    match c.topology.change(|t| t.remove_edge(&from, &to, kind)) {
        Ok(()) => HttpResponse::Ok().json(json!({ "from": from, "to": to, "kind": kind })),
        Err(e) => change_error(e, StatusCode::NOT_FOUND),
    }
}
