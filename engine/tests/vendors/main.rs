//! Per-vendor mapping tests: lines written from each vendor's published log format, asserting
//! the OCSF fields the shipped mapping in `config/vendors/` extracts.

mod props;
mod support;
mod cisco_asa;
mod cisco_ios;
mod panw_panos;
mod fortinet_fortigate;
mod checkpoint;
mod juniper_srx;
mod sophos_xg;
mod pfsense;
mod aws_vpcflow;
mod aws_cloudtrail;
mod azure_activity;
mod gcp_audit;
mod kubernetes_audit;
mod kubernetes_events;
mod nginx_access;
mod apache_access;
mod linux_auth;
mod generic_json;
