//! Alerts: one per fingerprint (an anomaly's or incident's key), with a priority P1–P4 and a
//! lifecycle open -> acknowledged -> resolved (or suppressed), and the Alertmanager-style
//! notification logic around them (grouping, inhibition, silences).

pub mod dispatch;

use serde::{Deserialize, Serialize};

pub mod book;
pub mod inhibit;
pub mod labels;
pub mod lifecycle;
pub mod silence;
pub mod stats;
pub mod store;

/// An alert's priority: P1 is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    /// Wake someone now.
    P1 = 1,
    /// Urgent, working hours or on-call.
    P2 = 2,
    /// Needs attention soon.
    P3 = 3,
    /// Informational.
    P4 = 4,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    /// "P1" .. "P4".
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    /// 1 .. 4.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Parses "P1".."P4" (any case) or "1".."4".
    pub fn parse(s: &str) -> Option<Priority> {
        let s = s.trim();
        let digits = s
            .strip_prefix('P')
            .or_else(|| s.strip_prefix('p'))
            .unwrap_or(s);
        match digits {
            "1" => Some(Priority::P1),
            "2" => Some(Priority::P2),
            "3" => Some(Priority::P3),
            "4" => Some(Priority::P4),
            _ => None,
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_parses_both_spellings_and_orders_p1_first() {
        assert_eq!(Priority::parse("p2"), Some(Priority::P2));
        assert_eq!(Priority::parse("4"), Some(Priority::P4));
        assert_eq!(Priority::parse("P5"), None);
        assert_eq!(Priority::parse(""), None);
        assert!(Priority::P1 < Priority::P3);
        assert_eq!(Priority::P3.to_string(), "P3");
    }
}
