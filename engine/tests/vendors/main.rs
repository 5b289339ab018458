//! Per-vendor mapping tests: lines written from each vendor's published log format, asserting
//! the OCSF fields the shipped mapping in `config/vendors/` extracts.

mod apache_access;
mod aws_cloudtrail;
mod aws_vpcflow;
mod azure_activity;
mod batch;
mod checkpoint;
mod cisco_asa;
mod cisco_ios;
mod fortinet_fortigate;
mod gcp_audit;
mod generic_json;
mod juniper_srx;
mod kubernetes_audit;
mod kubernetes_events;
mod linux_auth;
mod nginx_access;
mod panw_panos;
mod pfsense;
mod props;
mod sophos_xg;
mod support;
mod telegraf_json;
