//! PLACEHOLDER: being written.
use crate::normalise::FrameMeta;
use crate::schema::Event;
/// Error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("x")]
pub struct JsonEventError;
/// From json.
pub fn event_from_json(_d: &[u8], _m: &FrameMeta) -> Result<Event, JsonEventError> { Ok(Event::default()) }
/// Write.
pub fn write_event(_e: &Event, _out: &mut Vec<u8>) {}
