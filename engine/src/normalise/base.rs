//! PLACEHOLDER: being written.
use super::{FrameMeta, NormaliseError};
use crate::schema::Event;
/// Line.
pub fn normalise_line(_d: &bytes::Bytes, _m: &FrameMeta) -> Result<Event, NormaliseError> { Ok(Event::default()) }
