//! Fortinet FortiGate template: key=value logs straight after the PRI, as FortiOS sends them.

use std::fmt::Write as _;

use rand::rngs::SmallRng;
use rand::Rng;
use std::net::Ipv4Addr;

use super::{
    ephemeral_port, inside_ip, outside_ip, pick, service_port, write_clean, write_pri, Civil,
    Device, BAD_USERS,
};

const LOCAL7: u8 = 23;

/// `<PRI>date=... time=... devname="..." devid="..." eventtime=... tz="+0000" `.
fn header(rng: &mut SmallRng, dev: &Device, ts_ms: i64, t: &Civil, sev: u8, out: &mut String) {
    write_pri(LOCAL7, sev, out);
    out.push_str("date=");
    t.write_date('-', out);
    out.push_str(" time=");
    t.write_time(out);
    out.push_str(" devname=\"");
    out.push_str(&dev.hostname);
    let _ = write!(
        out,
        "\" devid=\"FG100FTK19{:06}\" eventtime={}{:06} tz=\"+0000\" ",
        u32::from(dev.ip) & 0xf_ffff,
        ts_ms,
        rng.gen_range(0..1_000_000u32)
    );
}

/// FortiGate forward-traffic logs (logid 0000000013, 85%), UTM webfilter and IPS events
/// (10%) and admin logins (0100032001/0100032002, 5%), key=value after the PRI as FortiOS
/// sends them.
pub(super) fn fortigate(rng: &mut SmallRng, dev: &Device, ts_ms: i64, t: &Civil, out: &mut String) {
    let kind = rng.gen_range(0..100u32);
    if kind >= 95 {
        admin_login(rng, dev, ts_ms, t, None, out);
        return;
    }
    if kind >= 85 {
        utm(rng, dev, ts_ms, t, out);
        return;
    }
    header(rng, dev, ts_ms, t, 5, out);
    let action = pick(
        rng,
        &["accept", "accept", "close", "close", "timeout", "deny"],
    );
    let _ = write!(
        out,
        "logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip={} srcport={} srcintf=\"port2\" srcintfrole=\"lan\" dstip={}",
        inside_ip(rng),
        ephemeral_port(rng),
        outside_ip(rng)
    );
    let dport = service_port(rng);
    let service = match dport {
        443 | 8443 => "HTTPS",
        80 | 8080 => "HTTP",
        53 => "DNS",
        22 => "SSH",
        3389 => "RDP",
        _ => "tcp/1-65535",
    };
    let (sent, rcvd) = (rng.gen_range(40..100_000u32), rng.gen_range(0..900_000u32));
    let _ = write!(
        out,
        " dstport={dport} dstintf=\"port1\" dstintfrole=\"wan\" srccountry=\"Reserved\" dstcountry=\"United States\" sessionid={} proto=6 action=\"{action}\" policyid={} policytype=\"policy\" service=\"{service}\" trandisp=\"snat\" duration={} sentbyte={sent} rcvdbyte={rcvd} sentpkt={} rcvdpkt={} appcat=\"unscanned\"",
        rng.gen_range(1..4_000_000u32),
        if action == "deny" { 0 } else { rng.gen_range(1..40u32) },
        rng.gen_range(0..3600u32),
        sent / 600 + 1,
        rcvd / 1200 + 1
    );
}

const WEB_HOSTS: [&str; 4] = [
    "www.example.com",
    "cdn.example.net",
    "casino.example.org",
    "files.example.io",
];

/// UTM: webfilter (logid 0316013056, blocked category) and IPS (0419016384) events.
fn utm(rng: &mut SmallRng, dev: &Device, ts_ms: i64, t: &Civil, out: &mut String) {
    header(rng, dev, ts_ms, t, 4, out);
    let (src, dst) = (inside_ip(rng), outside_ip(rng));
    if rng.gen_bool(0.6) {
        let host = pick(rng, &WEB_HOSTS);
        let _ = write!(
            out,
            "logid=\"0316013056\" type=\"utm\" subtype=\"webfilter\" eventtype=\"ftgd_blk\" level=\"warning\" vd=\"root\" policyid=1 sessionid={} srcip={src} srcport={} srcintf=\"port2\" dstip={dst} dstport=443 dstintf=\"port1\" proto=6 service=\"HTTPS\" hostname=\"{host}\" profile=\"default\" action=\"blocked\" reqtype=\"direct\" url=\"https://{host}/\" sentbyte={} rcvdbyte=0 direction=\"outgoing\" msg=\"URL belongs to a denied category in policy\" method=\"domain\" cat=26 catdesc=\"Malicious Websites\"",
            rng.gen_range(1..4_000_000u32),
            ephemeral_port(rng),
            rng.gen_range(100..2000u32)
        );
    } else {
        let _ = write!(
            out,
            "logid=\"0419016384\" type=\"utm\" subtype=\"ips\" eventtype=\"signature\" level=\"alert\" vd=\"root\" severity=\"high\" srcip={dst} srcport={} srcintf=\"port1\" dstip={src} dstport=80 dstintf=\"port2\" sessionid={} action=\"dropped\" proto=6 service=\"HTTP\" policyid=3 attack=\"{}\" attackid={} profile=\"default\" ref=\"http://www.fortinet.com/ids/VID{}\" incidentserialno={} msg=\"web_misc: {}\" crscore=50 craction=4096 crlevel=\"critical\"",
            ephemeral_port(rng),
            rng.gen_range(1..4_000_000u32),
            pick(rng, &["Apache.Log4j.Error.Log.Remote.Code.Execution", "HTTP.URI.SQL.Injection", "PHP.CGI.Argument.Injection"]),
            rng.gen_range(10_000..60_000u32),
            rng.gen_range(10_000..60_000u32),
            rng.gen_range(1..999_999_999u32),
            pick(rng, &["Apache.Log4j.Error.Log.Remote.Code.Execution", "HTTP.URI.SQL.Injection"])
        );
    }
}

/// Admin login success (0100032001) or failure (0100032002); `failure` forces a failed login
/// of that user from that address.
pub(super) fn admin_login(
    rng: &mut SmallRng,
    dev: &Device,
    ts_ms: i64,
    t: &Civil,
    failure: Option<(Ipv4Addr, &str)>,
    out: &mut String,
) {
    let ok = failure.is_none() && rng.gen_bool(0.7);
    header(rng, dev, ts_ms, t, if ok { 6 } else { 1 }, out);
    let (ip, user) = match failure {
        Some(f) => f,
        None if ok => (inside_ip(rng), pick(rng, &["admin", "noc-ro", "netops"])),
        None => (outside_ip(rng), pick(rng, &BAD_USERS)),
    };
    let (status, desc) = if ok {
        ("success", "Admin login successful")
    } else {
        ("failed", "Admin login failed")
    };
    let _ = write!(
        out,
        "logid=\"{}\" type=\"event\" subtype=\"system\" level=\"{}\" vd=\"root\" logdesc=\"{desc}\" sn=\"{}\" user=\"",
        if ok { "0100032001" } else { "0100032002" },
        if ok { "information" } else { "alert" },
        rng.gen_range(1_700_000_000u32..1_800_000_000),
    );
    write_clean(user, false, true, out);
    let _ = write!(
        out,
        "\" ui=\"https({ip})\" method=\"https\" srcip={ip} dstip={} action=\"login\" status=\"{status}\" reason=\"{}\" msg=\"Administrator ",
        dev.ip,
        if ok { "none" } else { "passwd_invalid" }
    );
    write_clean(user, false, true, out);
    let _ = write!(out, " login {status} from https({ip})\"");
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_all, split_pri};
    use super::super::Vendor;

    #[test]
    fn fortigate_lines_are_key_value_with_traffic_logid() {
        let lines = render_all(Vendor::FortiGate);
        let line = lines
            .iter()
            .find(|l| l.contains("logid=\"0000000013\""))
            .unwrap();
        let (pri, rest) = split_pri(line);
        assert_eq!(pri, 189);
        assert!(rest.starts_with("date="), "{line}");
        for key in [
            " time=",
            " devname=\"FGT-",
            " devid=\"",
            " type=\"traffic\"",
            " subtype=\"forward\"",
            " level=\"notice\"",
            " srcip=",
            " srcport=",
            " dstip=",
            " dstport=",
            " proto=6",
            " action=\"",
        ] {
            assert!(line.contains(key), "{key} missing: {line}");
        }
        let event = lines.iter().find(|l| l.contains("type=\"event\"")).unwrap();
        assert!(!event.contains("..."), "{event}");
    }
}
