//! tocsin-api: the actix-web control plane and the `tocsin` command.
//!
//! - [`server`]: `/health`, `/ready`, `/metrics`, `/api/v1/pipeline`, HTTP ingest and target
//!   control routes.
//! - [`alerts`]: alerts, silences and routing rules (`/api/v1/alerts`, `/silences`, `/rules`).
//! - [`incidents`]: incidents and the topology (`/api/v1/incidents`, `/api/v1/topology`).
//! - [`engine`]: starts the pipeline and the API in one actix `System` on its own thread, and
//!   stops them with a draining shutdown (used by `tocsin run` and the integration tests).
//! - [`normalize`]: `tocsin normalize`, the offline form of the live normaliser.
//! - [`replay`]: `tocsin replay`, a config's real pipeline run over captured files.
//! - [`score_series`]: `tocsin score-series`, one signal scored offline by the detectors.

pub mod alerts;
pub mod engine;
pub mod incidents;
pub mod normalize;
pub mod replay;
pub mod score_series;
pub mod server;

pub use engine::RunningEngine;
