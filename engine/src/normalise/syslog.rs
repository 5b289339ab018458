//! PLACEHOLDER: being written.
/// Error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("x")]
pub struct SyslogError;
