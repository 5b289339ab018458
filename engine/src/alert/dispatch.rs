//! Notification grouping: Alertmanager's `group_by`, `group_wait`, `group_interval`,
//! `repeat_interval` and resolved notifications, as plain logic with injected time.
//!
//! The alert store tells the [`Dispatcher`] about every change of an alert's state
//! ([`Dispatcher::update`]); the notification actor sleeps until [`Dispatcher::next_due`] and
//! then asks [`Dispatcher::due`] for the notifications to hand to the targets. No clock is read
//! here: every method takes `now_ms`.
//!
//! # Semantics (after Alertmanager's route options and dispatcher)
//! - **Groups.** An alert belongs to the group keyed by its receiver (the set of targets, a
//!   bitmask) and the values of its `group_by` labels. A label the alert lacks is left out of
//!   the group's labels, so alerts lacking it group together. `group_by = ["..."]` groups by
//!   all labels (one group per distinct label set); `group_by = []` puts all alerts of a
//!   receiver in one group.
//! - **group_wait.** A new group's first flush is at its creation + `group_wait`, so alerts
//!   that arrive close together go out in one notification. As in Alertmanager, a firing alert
//!   whose start (`at_ms`) is already `group_wait` old when it reaches a group that has not
//!   flushed yet makes the group due at once (nothing is gained by waiting, e.g. after a restart).
//! - **group_interval.** After each flush the next one is at flush time + `group_interval`; a
//!   change to a group that has already flushed waits for that tick.
//! - **What is sent at a flush.** `firing` is every firing, not muted alert of the group; `resolved`
//!   is every alert resolved since the receiver was told it was firing. A notification goes out
//!   when the firing set holds an alert that was not in the last notification's firing set, or
//!   (with `send_resolved`) some announced alert resolved, or every alert of the last
//!   notification stopped firing. Otherwise, when nothing changed, the firing alerts are sent
//!   again (`repeat: true`) once `repeat_interval` has passed since the last notification.
//!   As in Alertmanager, an alert that resolves and fires again between two flushes is not sent
//!   again (the receiver still believes it is firing), and an alert that fires and resolves
//!   between two flushes is never sent at all (the receiver never heard of it).
//! - **Resolved alerts** leave the group at the flush that reports them; with
//!   `send_resolved = false` (and for alerts the receiver never heard of) they leave at once.
//!   A group left with no alerts after a flush is removed.
//! - **Muted alerts** (silenced, inhibited or suppressed) stay in their group but are never sent:
//!   one that becomes muted just drops out of the firing list, without a "resolved". If it
//!   resolves while muted it leaves silently. Unmuted while still firing, it is news again when a
//!   flush has taken it off the firing list meanwhile (a silence expiring on a live problem);
//!   when it later resolves, the receiver that was told it fired is told it resolved.
//! - **Moving.** An alert has one group. A firing change that names another receiver or other
//!   group labels moves it (the old group forgets it silently); a resolution is applied where
//!   the alert is, since that is the receiver that was told it fired.
//! - **Order.** A change whose `at_ms` is older than the one recorded for the alert is stale and
//!   ignored. Notifications from one [`Dispatcher::due`] call come in order of due time, then
//!   group key; alert ids inside a notification are sorted.
//! - **Bound.** At most `max_groups` groups are held. When a new group is needed at the limit,
//!   the group with no firing, unmuted alert that was changed least recently is evicted
//!   (counted by [`Dispatcher::evicted_groups`]; its pending resolved notifications are lost).
//!   When every group still has a firing alert the change is refused and counted by
//!   [`Dispatcher::dropped_groups`]: existing groups keep notifying, the new one is not made.
//!   Finding the eviction candidate scans the groups, which only happens at the limit.
//!
//! Deviations from Alertmanager: resolved alerts are only sent to receivers told they fired;
//! a group's notification history goes with the group when it is removed (Alertmanager keeps
//! its notification log for a retention period); durations are milliseconds.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

#[cfg(test)]
mod tests;

/// The `group_by` entry that means "all labels".
pub const GROUP_BY_ALL: &str = "...";

/// The longest `group_wait_ms`, `group_interval_ms` or `repeat_interval_ms` accepted: 30 days.
pub const MAX_INTERVAL_MS: u64 = 30 * 24 * 3600 * 1000;

/// How alerts are grouped into notifications, e.g. in TOML:
///
/// ```toml
/// group_by = ["entity"]          # or ["..."] for all labels, [] for one group per receiver
/// group_wait_ms = 30000
/// group_interval_ms = 300000
/// repeat_interval_ms = 14400000
/// send_resolved = true
/// max_groups = 10000
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupConfig {
    /// Label names whose values make a group; `["..."]` groups by all labels.
    pub group_by: Vec<String>,
    /// How long a new group waits for more alerts before its first notification.
    pub group_wait_ms: u64,
    /// How long a group waits between two notifications (and before sending a change).
    pub group_interval_ms: u64,
    /// How long after the last notification unchanged firing alerts are sent again.
    pub repeat_interval_ms: u64,
    /// Whether receivers are told when an alert they were sent resolves.
    pub send_resolved: bool,
    /// The most groups held at once (see the module doc for what happens past it).
    pub max_groups: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_by: vec!["entity".to_string()],
            group_wait_ms: 30_000,
            group_interval_ms: 5 * 60_000,
            repeat_interval_ms: 4 * 3_600_000,
            send_resolved: true,
            max_groups: 10_000,
        }
    }
}

impl GroupConfig {
    /// Every problem with the settings, each naming its field; empty when they are usable.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, name) in self.group_by.iter().enumerate() {
            let field = format!("group_by[{i}]");
            if name.trim().is_empty() {
                errors.push(ConfigError::unlocated(
                    field,
                    "a label name cannot be empty",
                ));
            } else if name == GROUP_BY_ALL && self.group_by.len() > 1 {
                errors.push(ConfigError::unlocated(
                    field,
                    "\"...\" (group by all labels) must be the only entry of group_by",
                ));
            } else if !seen.insert(name.as_str()) {
                errors.push(ConfigError::unlocated(
                    field,
                    format!("label \"{name}\" is listed twice"),
                ));
            }
        }
        for (field, value, zero_ok) in [
            ("group_wait_ms", self.group_wait_ms, true),
            ("group_interval_ms", self.group_interval_ms, false),
            ("repeat_interval_ms", self.repeat_interval_ms, false),
        ] {
            if value == 0 && !zero_ok {
                errors.push(ConfigError::unlocated(field, "must be more than 0"));
            } else if value > MAX_INTERVAL_MS {
                errors.push(ConfigError::unlocated(
                    field,
                    format!("{value} ms is more than the limit of {MAX_INTERVAL_MS} ms (30 days)"),
                ));
            }
        }
        if self.repeat_interval_ms != 0 && self.repeat_interval_ms < self.group_interval_ms {
            errors.push(ConfigError::unlocated(
                "repeat_interval_ms",
                format!(
                    "{} ms is shorter than group_interval_ms ({} ms); a group can only repeat \
                     at its flushes",
                    self.repeat_interval_ms, self.group_interval_ms
                ),
            ));
        }
        if self.max_groups == 0 {
            errors.push(ConfigError::unlocated("max_groups", "must be at least 1"));
        }
        errors
    }

    /// A dispatcher with these settings, or every problem [`GroupConfig::validate`] finds.
    pub fn build(self) -> Result<Dispatcher, Vec<ConfigError>> {
        let errors = self.validate();
        if errors.is_empty() {
            Ok(Dispatcher::new_unchecked(self))
        } else {
            Err(errors)
        }
    }
}

/// One change of an alert's state, as the alert store reports it.
#[derive(Debug, Clone, Copy)]
pub struct AlertChange<'a> {
    /// The alert's identity (its incident or anomaly fingerprint).
    pub fingerprint: u64,
    /// The id the targets show (and acknowledge by).
    pub alert_id: &'a str,
    /// The alert's labels, sorted by name.
    pub labels: &'a [(String, String)],
    /// `true` while firing, `false` once resolved.
    pub firing: bool,
    /// Silenced, inhibited or suppressed: kept, never notified.
    pub muted: bool,
    /// The targets to notify, one bit per target index.
    pub receiver: u64,
    /// When this state began (start of firing, or resolution time).
    pub at_ms: i64,
}

/// What [`Dispatcher::update`] did with a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The change is recorded in its group.
    Recorded,
    /// Nothing to do: a resolution or stale change of an alert no group holds, or a change
    /// older than the state already recorded.
    Ignored,
    /// A new group was needed but `max_groups` groups all hold firing alerts.
    Refused,
}

/// One notification for one group's receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupNotification {
    /// Stable text key of the group: receiver bitmask and group labels,
    /// e.g. `0x5:{entity="db1"}`.
    pub group_key: String,
    /// The `group_by` labels the group's alerts share, sorted by name.
    pub group_labels: Vec<(String, String)>,
    /// The targets to notify, one bit per target index.
    pub receiver: u64,
    /// Ids of the group's firing, unmuted alerts, sorted.
    pub firing: Vec<String>,
    /// Ids of alerts that resolved since the receiver was told they fired, sorted.
    pub resolved: Vec<String>,
    /// `true` when nothing changed and this re-sends the firing alerts after `repeat_interval`.
    pub repeat: bool,
}

/// An alert as its group holds it.
#[derive(Debug, Clone)]
struct Member {
    alert_id: String,
    firing: bool,
    muted: bool,
    at_ms: i64,
    /// The receiver was last told this alert is firing.
    announced: bool,
}

/// One group of alerts sharing a receiver and group labels.
#[derive(Debug)]
struct Group {
    receiver: u64,
    labels: Vec<(String, String)>,
    members: BTreeMap<u64, Member>,
    /// The next flush; also this group's entry in the dispatcher's schedule.
    next_flush_ms: i64,
    /// No flush has happened yet (the group is in its `group_wait`).
    waiting: bool,
    /// When the last notification went out.
    last_notified_ms: Option<i64>,
    /// Fingerprints of the last notification's firing alerts.
    last_firing: BTreeSet<u64>,
    /// Last change, for eviction order.
    touched_ms: i64,
}

impl Group {
    fn has_live_firing(&self) -> bool {
        self.members.values().any(|m| m.firing && !m.muted)
    }
}

/// Groups alerts and decides when each group notifies its receiver; see the module doc.
#[derive(Debug)]
pub struct Dispatcher {
    config: GroupConfig,
    groups: FxHashMap<String, Group>,
    /// (next flush, group key) of every group.
    schedule: BTreeSet<(i64, String)>,
    /// Which group holds each alert.
    by_fingerprint: FxHashMap<u64, String>,
    dropped_groups: u64,
    evicted_groups: u64,
}

impl Dispatcher {
    fn new_unchecked(config: GroupConfig) -> Dispatcher {
        Dispatcher {
            config,
            groups: FxHashMap::default(),
            schedule: BTreeSet::new(),
            by_fingerprint: FxHashMap::default(),
            dropped_groups: 0,
            evicted_groups: 0,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// Records an alert's new state in its group, creating the group (first flush at
    /// `now_ms + group_wait`) when a firing alert needs one.
    pub fn update(&mut self, change: AlertChange<'_>, now_ms: i64) -> UpdateOutcome {
        let current = self.by_fingerprint.get(&change.fingerprint).cloned();
        let held = current.as_ref().and_then(|k| {
            self.groups
                .get(k)
                .and_then(|g| g.members.get(&change.fingerprint))
        });
        if held.is_some_and(|m| change.at_ms < m.at_ms) {
            return UpdateOutcome::Ignored; // stale
        }
        let announced = held.is_some_and(|m| m.announced);

        if !change.firing {
            let Some(key) = current else {
                return UpdateOutcome::Ignored; // no group holds it: nothing to resolve
            };
            // A resolution applies where the alert is: that receiver was told it fired.
            let Some(group) = self.groups.get_mut(&key) else {
                self.by_fingerprint.remove(&change.fingerprint);
                return UpdateOutcome::Ignored;
            };
            group.touched_ms = now_ms;
            if !self.config.send_resolved || change.muted || !announced {
                // Nothing will ever be said about this resolution.
                group.members.remove(&change.fingerprint);
                self.by_fingerprint.remove(&change.fingerprint);
            } else if let Some(m) = group.members.get_mut(&change.fingerprint) {
                m.firing = false;
                m.muted = false;
                m.at_ms = change.at_ms;
            }
            return UpdateOutcome::Recorded;
        }

        let labels = group_labels(&self.config.group_by, change.labels);
        let key = group_key(change.receiver, &labels);
        if !self.groups.contains_key(&key) {
            if self.groups.len() >= self.config.max_groups && !self.evict_one() {
                self.dropped_groups += 1;
                return UpdateOutcome::Refused;
            }
            let first_flush = now_ms.saturating_add(ms(self.config.group_wait_ms));
            self.groups.insert(
                key.clone(),
                Group {
                    receiver: change.receiver,
                    labels,
                    members: BTreeMap::new(),
                    next_flush_ms: first_flush,
                    waiting: true,
                    last_notified_ms: None,
                    last_firing: BTreeSet::new(),
                    touched_ms: now_ms,
                },
            );
            self.schedule.insert((first_flush, key.clone()));
        }
        // The eviction above may have taken the alert's old group with it.
        let current = self.by_fingerprint.get(&change.fingerprint).cloned();
        let moved = current.as_ref().is_some_and(|c| *c != key);
        if let Some(old) = current.filter(|_| moved) {
            // Moving to another receiver or other group labels: the old group forgets it.
            if let Some(g) = self.groups.get_mut(&old) {
                g.members.remove(&change.fingerprint);
            }
        }

        let group_wait = ms(self.config.group_wait_ms);
        let Some(group) = self.groups.get_mut(&key) else {
            return UpdateOutcome::Ignored; // unreachable: the group was found or made above
        };
        group.touched_ms = now_ms;
        group.members.insert(
            change.fingerprint,
            Member {
                alert_id: change.alert_id.to_string(),
                firing: true,
                muted: change.muted,
                at_ms: change.at_ms,
                announced: announced && !moved,
            },
        );
        self.by_fingerprint.insert(change.fingerprint, key.clone());

        // As Alertmanager: an alert already `group_wait` old need not wait for a new group.
        let old_news = change.at_ms.saturating_add(group_wait) <= now_ms;
        if group.waiting && !change.muted && old_news && group.next_flush_ms > now_ms {
            self.schedule.remove(&(group.next_flush_ms, key.clone()));
            group.next_flush_ms = now_ms;
            self.schedule.insert((now_ms, key));
        }
        UpdateOutcome::Recorded
    }

    /// Flushes every group whose time has come and returns the notifications to send, in order
    /// of due time, then group key. Each flushed group's next flush is `now_ms + group_interval`.
    pub fn due(&mut self, now_ms: i64) -> Vec<GroupNotification> {
        let mut out = Vec::new();
        while let Some((at, key)) = self.schedule.first().cloned() {
            if at > now_ms {
                break;
            }
            self.schedule.remove(&(at, key.clone()));
            let Some(group) = self.groups.get_mut(&key) else {
                continue; // unreachable: schedule and groups change together
            };
            if let Some(n) = flush(group, &key, &self.config, now_ms, &mut self.by_fingerprint) {
                out.push(n);
            }
            if group.members.is_empty() {
                self.groups.remove(&key);
            } else {
                let next = now_ms.saturating_add(ms(self.config.group_interval_ms));
                group.next_flush_ms = next;
                self.schedule.insert((next, key));
            }
        }
        out
    }

    /// The earliest flush time of any group, so the caller can sleep until it.
    pub fn next_due(&self) -> Option<i64> {
        self.schedule.first().map(|(at, _)| *at)
    }

    /// Groups held now.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Changes refused because `max_groups` groups all held firing alerts.
    pub fn dropped_groups(&self) -> u64 {
        self.dropped_groups
    }

    /// Groups without firing alerts evicted to make room for new ones.
    pub fn evicted_groups(&self) -> u64 {
        self.evicted_groups
    }

    /// Evicts the least recently changed group with no firing, unmuted alert; `false` if none.
    fn evict_one(&mut self) -> bool {
        let victim = self
            .groups
            .iter()
            .filter(|(_, g)| !g.has_live_firing())
            .min_by(|(ka, a), (kb, b)| a.touched_ms.cmp(&b.touched_ms).then_with(|| ka.cmp(kb)))
            .map(|(k, _)| k.clone());
        let Some(key) = victim else {
            return false;
        };
        if let Some(g) = self.groups.remove(&key) {
            self.schedule.remove(&(g.next_flush_ms, key));
            for fp in g.members.keys() {
                self.by_fingerprint.remove(fp);
            }
        }
        self.evicted_groups += 1;
        true
    }
}

/// One flush of one group: decides whether to notify, updates what the receiver was told and
/// drops the resolved alerts.
fn flush(
    group: &mut Group,
    key: &str,
    config: &GroupConfig,
    now_ms: i64,
    by_fingerprint: &mut FxHashMap<u64, String>,
) -> Option<GroupNotification> {
    group.waiting = false;
    let firing: BTreeSet<u64> = group
        .members
        .iter()
        .filter(|(_, m)| m.firing && !m.muted)
        .map(|(fp, _)| *fp)
        .collect();
    let resolved: Vec<u64> = group
        .members
        .iter()
        .filter(|(_, m)| !m.firing && !m.muted && m.announced && config.send_resolved)
        .map(|(fp, _)| *fp)
        .collect();
    let new_firing = !firing.is_subset(&group.last_firing);
    let all_stopped = firing.is_empty() && !group.last_firing.is_empty();
    let changed = new_firing || !resolved.is_empty() || all_stopped;
    let repeat = !changed
        && !firing.is_empty()
        && group
            .last_notified_ms
            .is_some_and(|t| now_ms.saturating_sub(t) >= ms(config.repeat_interval_ms));

    let mut notification = None;
    if changed || repeat {
        if !firing.is_empty() || !resolved.is_empty() {
            let ids = |fps: &mut dyn Iterator<Item = &u64>| -> Vec<String> {
                let mut v: Vec<String> = fps
                    .filter_map(|fp| group.members.get(fp).map(|m| m.alert_id.clone()))
                    .collect();
                v.sort();
                v
            };
            notification = Some(GroupNotification {
                group_key: key.to_string(),
                group_labels: group.labels.clone(),
                receiver: group.receiver,
                firing: ids(&mut firing.iter()),
                resolved: ids(&mut resolved.iter()),
                repeat,
            });
            group.last_notified_ms = Some(now_ms);
        }
        for (fp, m) in group.members.iter_mut() {
            m.announced = firing.contains(fp) || (m.announced && m.muted && m.firing);
        }
        group.last_firing = firing;
    }
    // Every resolved alert still here is reported now (the others left at `update`).
    group.members.retain(|fp, m| {
        if !m.firing {
            by_fingerprint.remove(fp);
        }
        m.firing
    });
    notification
}

/// The group labels of an alert: its values for the `group_by` names (all labels for `["..."]`),
/// sorted by name; names the alert lacks are left out.
fn group_labels(group_by: &[String], labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = if group_by.len() == 1 && group_by[0] == GROUP_BY_ALL {
        labels.to_vec()
    } else {
        group_by
            .iter()
            .filter_map(|name| labels.iter().find(|(n, _)| n == name).cloned())
            .collect()
    };
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// `0x5:{entity="db1",kind="cpu"}`: the receiver in hex, then the labels with `\`, `"` and
/// newlines escaped in values, so distinct groups never share a key.
fn group_key(receiver: u64, labels: &[(String, String)]) -> String {
    let mut key = format!("{receiver:#x}:{{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(name);
        key.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => key.push_str("\\\\"),
                '"' => key.push_str("\\\""),
                '\n' => key.push_str("\\n"),
                c => key.push(c),
            }
        }
        key.push('"');
    }
    key.push('}');
    key
}

/// A validated duration (at most [`MAX_INTERVAL_MS`]) as signed milliseconds.
fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
