//! PLACEHOLDER: being written.
use super::Frame;
use bytes::BytesMut;
/// Stream framing mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Framing { #[default] Auto, Newline, OctetCounting }
/// Stream framer.
#[derive(Debug)]
pub struct SyslogFramer { _m: usize }
impl SyslogFramer {
    /// New.
    pub fn new(_f: Framing, m: usize) -> Self { SyslogFramer { _m: m } }
    /// Decode.
    pub fn decode(&mut self, _buf: &mut BytesMut, _out: &mut Vec<Frame>) {}
    /// Finish.
    pub fn finish(&mut self, _buf: &mut BytesMut, _out: &mut Vec<Frame>) {}
    /// Count of truncated.
    pub fn truncated(&self) -> u64 { 0 }
}
