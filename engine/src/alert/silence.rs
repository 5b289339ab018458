//! Silences: operator-made, time-boxed mutes selected by label matchers, as in Alertmanager.
//!
//! A silence mutes an alert while it is active (`starts_ms <= now < ends_ms`) and every one of
//! its matchers accepts the alert's labels. A muted alert is still recorded (the caller
//! suppresses it with the silence id as reason); only its notifications stop. Expiring a silence
//! sets its end to now; expired silences are kept (for the audit) until [`Silences::gc`].

use serde::{Deserialize, Serialize};

use super::labels::{all_match, LabelMatcher, Labels};

/// One silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// "si-" and 16 lowercase hex digits.
    pub id: String,
    /// All must match for the silence to mute an alert.
    pub matchers: Vec<LabelMatcher>,
    /// Start (ms since the epoch), inclusive.
    pub starts_ms: i64,
    /// End (ms since the epoch), exclusive.
    pub ends_ms: i64,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

impl Silence {
    /// True within `[starts_ms, ends_ms)`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.starts_ms <= now_ms && now_ms < self.ends_ms
    }

    /// True when it is active and every matcher accepts the labels.
    pub fn mutes(&self, labels: &Labels, now_ms: i64) -> bool {
        self.is_active(now_ms) && all_match(&self.matchers, labels)
    }
}

/// A silence as the API receives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceSpec {
    /// Matchers in Alertmanager syntax, e.g. `service="db"`; at least one, and at least one that
    /// does not match the empty label set.
    pub matchers: Vec<String>,
    /// Start (ms since the epoch); absent: now.
    #[serde(default)]
    pub starts_ms: Option<i64>,
    /// End (ms since the epoch); exactly one of `ends_ms` and `duration_secs`.
    #[serde(default)]
    pub ends_ms: Option<i64>,
    /// Length from the start, seconds.
    #[serde(default)]
    pub duration_secs: Option<u64>,
    /// Who makes it (required; the API fills it from the caller when left out).
    #[serde(default)]
    pub created_by: String,
    /// Why (required: the next person on call needs to know).
    pub comment: String,
}

/// One thing wrong with a [`SilenceSpec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceProblem {
    /// No matcher at all.
    #[error("a silence needs at least one matcher")]
    NoMatcher,
    /// A matcher does not parse.
    #[error("{0}")]
    BadMatcher(String),
    /// Every matcher accepts an alert without labels, so the silence would mute everything.
    #[error("at least one matcher must not match everything (e.g. name=~\".*\" or name=\"\" alone mutes all alerts)")]
    MatchesEverything,
    /// Both or neither of `ends_ms` and `duration_secs`.
    #[error("give exactly one of ends_ms and duration_secs")]
    EndOrDuration,
    /// The end is not after the start.
    #[error("the end ({ends_ms}) must be after the start ({starts_ms})")]
    EndBeforeStart {
        /// Start, ms.
        starts_ms: i64,
        /// End, ms.
        ends_ms: i64,
    },
    /// The end has passed.
    #[error("the end ({ends_ms}) is in the past (now {now_ms})")]
    EndInPast {
        /// End, ms.
        ends_ms: i64,
        /// Now, ms.
        now_ms: i64,
    },
    /// A required text field is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
}

/// Why a silence operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// The spec has problems (all of them listed).
    #[error("invalid silence: {}", join(.0))]
    Invalid(Vec<SilenceProblem>),
    /// No silence with that id.
    #[error("no silence {0}")]
    Unknown(String),
    /// The silence has already ended.
    #[error("silence {0} has already expired")]
    AlreadyExpired(String),
}

fn join(problems: &[SilenceProblem]) -> String {
    let v: Vec<String> = problems.iter().map(ToString::to_string).collect();
    v.join("; ")
}

impl SilenceSpec {
    /// Checks the spec (no I/O) and reports every problem at once.
    pub fn validate(&self, now_ms: i64) -> Result<(), SilenceError> {
        self.checked(now_ms).map(|_| ())
    }

    /// Validates and builds the silence, with a fresh random id.
    pub fn build(&self, now_ms: i64) -> Result<Silence, SilenceError> {
        let (matchers, starts_ms, ends_ms) = self.checked(now_ms)?;
        Ok(Silence {
            id: format!("si-{:016x}", rand::random::<u64>()),
            matchers,
            starts_ms,
            ends_ms,
            created_by: self.created_by.trim().to_string(),
            comment: self.comment.trim().to_string(),
        })
    }

    fn checked(&self, now_ms: i64) -> Result<(Vec<LabelMatcher>, i64, i64), SilenceError> {
        let mut problems = Vec::new();
        let mut matchers = Vec::new();
        for text in &self.matchers {
            match LabelMatcher::parse(text) {
                Ok(m) => matchers.push(m),
                Err(e) => problems.push(SilenceProblem::BadMatcher(e.to_string())),
            }
        }
        if self.matchers.is_empty() {
            problems.push(SilenceProblem::NoMatcher);
        } else if problems.is_empty() && matchers.iter().all(LabelMatcher::matches_empty) {
            problems.push(SilenceProblem::MatchesEverything);
        }
        let starts_ms = self.starts_ms.unwrap_or(now_ms);
        let ends_ms = match (self.ends_ms, self.duration_secs) {
            (Some(e), None) => Some(e),
            (None, Some(d)) => {
                let d_ms = i64::try_from(d.saturating_mul(1000)).unwrap_or(i64::MAX);
                Some(starts_ms.saturating_add(d_ms))
            }
            _ => {
                problems.push(SilenceProblem::EndOrDuration);
                None
            }
        };
        if let Some(ends_ms) = ends_ms {
            if ends_ms <= starts_ms {
                problems.push(SilenceProblem::EndBeforeStart { starts_ms, ends_ms });
            } else if ends_ms <= now_ms {
                problems.push(SilenceProblem::EndInPast { ends_ms, now_ms });
            }
        }
        if self.created_by.trim().is_empty() {
            problems.push(SilenceProblem::Empty("created_by"));
        }
        if self.comment.trim().is_empty() {
            problems.push(SilenceProblem::Empty("comment"));
        }
        match ends_ms {
            Some(ends_ms) if problems.is_empty() => Ok((matchers, starts_ms, ends_ms)),
            _ => Err(SilenceError::Invalid(problems)),
        }
    }
}

/// The silences known to the engine, active, pending and expired.
#[derive(Debug, Clone, Default)]
pub struct Silences {
    list: Vec<Silence>,
}

impl Silences {
    /// No silence.
    pub fn new() -> Silences {
        Silences::default()
    }

    /// Every silence, in the order added.
    pub fn list(&self) -> &[Silence] {
        &self.list
    }

    /// The silence with this id.
    pub fn get(&self, id: &str) -> Option<&Silence> {
        self.list.iter().find(|s| s.id == id)
    }

    /// Adds a silence, or replaces the one with the same id (a restore or an edit).
    pub fn add(&mut self, silence: Silence) {
        match self.list.iter_mut().find(|s| s.id == silence.id) {
            Some(slot) => *slot = silence,
            None => self.list.push(silence),
        }
    }

    /// Ends a silence now (a pending one ends before it starts). Returns the changed silence,
    /// to be stored.
    pub fn expire(&mut self, id: &str, now_ms: i64) -> Result<&Silence, SilenceError> {
        let s = self
            .list
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| SilenceError::Unknown(id.to_string()))?;
        if s.ends_ms <= now_ms {
            return Err(SilenceError::AlreadyExpired(id.to_string()));
        }
        s.ends_ms = now_ms;
        s.starts_ms = s.starts_ms.min(now_ms);
        Ok(s)
    }

    /// The id of the first active silence that mutes these labels.
    pub fn muted_by(&self, labels: &Labels, now_ms: i64) -> Option<&str> {
        self.list
            .iter()
            .find(|s| s.mutes(labels, now_ms))
            .map(|s| s.id.as_str())
    }

    /// Silences active now.
    pub fn active(&self, now_ms: i64) -> impl Iterator<Item = &Silence> {
        self.list.iter().filter(move |s| s.is_active(now_ms))
    }

    /// Forgets silences that ended more than `retention_ms` ago; returns how many.
    pub fn gc(&mut self, now_ms: i64, retention_ms: i64) -> usize {
        let before = self.list.len();
        self.list
            .retain(|s| now_ms.saturating_sub(s.ends_ms) <= retention_ms);
        before - self.list.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(matchers: &[&str]) -> SilenceSpec {
        SilenceSpec {
            matchers: matchers.iter().map(|s| s.to_string()).collect(),
            starts_ms: None,
            ends_ms: None,
            duration_secs: Some(3600),
            created_by: "alice".to_string(),
            comment: "db maintenance".to_string(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied())
    }

    #[test]
    fn builds_with_duration_from_now() {
        let s = spec(&[r#"service="db""#, r#"env=~"prod|stage""#])
            .build(1_000)
            .unwrap();
        assert!(s.id.starts_with("si-") && s.id.len() == 19);
        assert_eq!((s.starts_ms, s.ends_ms), (1_000, 3_601_000));
        assert_eq!(s.matchers.len(), 2);
        assert_eq!(s.matchers[1].to_string(), r#"env=~"prod|stage""#);
    }

    #[test]
    fn active_window_is_start_inclusive_end_exclusive() {
        let mut sp = spec(&[r#"service="db""#]);
        sp.starts_ms = Some(10_000);
        sp.duration_secs = None;
        sp.ends_ms = Some(20_000);
        let s = sp.build(5_000).unwrap();
        let db = labels(&[("service", "db")]);
        assert!(!s.is_active(9_999));
        assert!(s.is_active(10_000));
        assert!(s.is_active(19_999));
        assert!(!s.is_active(20_000));
        assert!(!s.mutes(&db, 5_000), "pending");
        assert!(s.mutes(&db, 15_000));
        assert!(!s.mutes(&labels(&[("service", "web")]), 15_000));
    }

    #[test]
    fn refuses_bad_specs_listing_every_problem() {
        let err = |sp: SilenceSpec| sp.build(100_000).unwrap_err().to_string();
        assert_eq!(
            err(spec(&[])),
            "invalid silence: a silence needs at least one matcher"
        );
        assert_eq!(
            err(spec(&[r#"a=~".*""#])),
            "invalid silence: at least one matcher must not match everything (e.g. name=~\".*\" or name=\"\" alone mutes all alerts)"
        );
        assert!(spec(&[r#"a=~".*""#, r#"b="x""#]).build(0).is_ok());
        let mut sp = spec(&["bad-name=1", r#"a="x""#]);
        sp.ends_ms = Some(5);
        sp.comment = " ".into();
        assert_eq!(
            err(sp),
            "invalid silence: matcher `bad-name=1`: bad label name `bad-name` (letters, digits and _ only, not starting with a digit); give exactly one of ends_ms and duration_secs; comment must not be empty"
        );
        let mut sp = spec(&[r#"a="x""#]);
        sp.duration_secs = None;
        sp.ends_ms = Some(50_000);
        sp.starts_ms = Some(60_000);
        assert_eq!(
            err(sp.clone()),
            "invalid silence: the end (50000) must be after the start (60000)"
        );
        sp.starts_ms = Some(10_000);
        assert_eq!(
            err(sp),
            "invalid silence: the end (50000) is in the past (now 100000)"
        );
    }

    #[test]
    fn spec_reads_from_json_and_refuses_unknown_fields() {
        let sp: SilenceSpec = serde_json::from_str(
            r#"{"matchers":["service=\"db\""],"duration_secs":60,"created_by":"a","comment":"c"}"#,
        )
        .unwrap();
        assert_eq!(sp.build(0).unwrap().ends_ms, 60_000);
        assert!(serde_json::from_str::<SilenceSpec>(
            r#"{"matchers":[],"created_by":"a","comment":"c","until":1}"#
        )
        .is_err());
    }

    #[test]
    fn silences_mute_expire_and_gc() {
        let mut all = Silences::new();
        let s = spec(&[r#"service="db""#]).build(0).unwrap();
        let id = s.id.clone();
        all.add(s);
        let db = labels(&[("service", "db"), ("host", "db1")]);
        assert_eq!(all.muted_by(&db, 1_000), Some(id.as_str()));
        assert_eq!(all.muted_by(&labels(&[("service", "web")]), 1_000), None);
        assert_eq!(all.active(1_000).count(), 1);
        let e = all.expire(&id, 2_000).unwrap();
        assert_eq!((e.starts_ms, e.ends_ms), (0, 2_000));
        assert_eq!(all.muted_by(&db, 2_000), None);
        assert_eq!(
            all.expire(&id, 3_000).unwrap_err().to_string(),
            format!("silence {id} has already expired")
        );
        assert_eq!(
            all.expire("si-x", 3_000).unwrap_err(),
            SilenceError::Unknown("si-x".to_string())
        );
        assert_eq!(all.gc(10_000, 8_000), 0);
        assert_eq!(all.gc(10_001, 8_000), 1);
        assert!(all.list().is_empty());
    }

    #[test]
    fn expiring_a_pending_silence_ends_it_before_it_starts() {
        let mut sp = spec(&[r#"a="x""#]);
        sp.starts_ms = Some(50_000);
        let mut all = Silences::new();
        let s = sp.build(0).unwrap();
        let id = s.id.clone();
        all.add(s);
        let e = all.expire(&id, 1_000).unwrap();
        assert_eq!((e.starts_ms, e.ends_ms), (1_000, 1_000));
        assert!(!e.is_active(1_000));
    }

    #[test]
    fn silence_serde_keeps_matchers_as_text() {
        let s = spec(&[r#"service=~"db.*""#]).build(0).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.contains(r#""matchers":["service=~\"db.*\""]"#),
            "{json}"
        );
        let back: Silence = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
}
