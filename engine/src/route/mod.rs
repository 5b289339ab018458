//! The routing rule language: priority-ordered rules with Alertmanager-style matchers over any
//! event or alert field, and actions (targets, priority, drop, throttle, runbook, continue).
