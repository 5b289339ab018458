//! Fortinet FortiGate template: key=value logs straight after the PRI, as FortiOS sends them.

use std::fmt::Write as _;

use rand::rngs::SmallRng;
use rand::Rng;

use super::{
    ephemeral_port, pick, service_port, write_inside_ip, write_outside_ip, write_pri, Civil,
    Device, BAD_USERS,
};

const LOCAL7: u8 = 23;

/// FortiGate forward-traffic log (logid 0000000013) or an admin login event (0100032001),
/// key=value after the PRI as FortiOS sends it.
pub(super) fn fortigate(rng: &mut SmallRng, dev: Device, ts_ms: i64, t: &Civil, out: &mut String) {
    let event = rng.gen_range(0..10u32) == 0;
    write_pri(LOCAL7, if event { 6 } else { 5 }, out);
    out.push_str("date=");
    t.write_date('-', out);
    out.push_str(" time=");
    t.write_time(out);
    out.push_str(" devname=\"");
    dev.write_hostname(out);
    let _ = write!(
        out,
        "\" devid=\"FG100FTK19{:06}\" eventtime={}{:06} tz=\"+0000\" ",
        dev.index,
        ts_ms,
        rng.gen_range(0..1_000_000u32)
    );
    if event {
        let ok = rng.gen_bool(0.7);
        let (user, status, desc) = if ok {
            (
                pick(rng, &["admin", "noc-ro", "netops"]),
                "success",
                "Admin login successful",
            )
        } else {
            (pick(rng, &BAD_USERS), "failed", "Admin login failed")
        };
        let mut ip = String::with_capacity(16);
        write_inside_ip(rng, &mut ip);
        let _ = write!(
            out,
            "logid=\"{}\" type=\"event\" subtype=\"system\" level=\"{}\" vd=\"root\" logdesc=\"{desc}\" sn=\"{}\" user=\"{user}\" ui=\"https({ip})\" method=\"https\" srcip={ip} dstip=10.255.{}.{} action=\"login\" status=\"{status}\" reason=\"{}\" msg=\"Administrator {user} login {status} from https({ip})\"",
            if ok { "0100032001" } else { "0100032002" },
            if ok { "information" } else { "alert" },
            rng.gen_range(1_700_000_000u32..1_800_000_000),
            dev.index / 256,
            dev.index % 256,
            if ok { "none" } else { "passwd_invalid" }
        );
        return;
    }
    let action = pick(
        rng,
        &["accept", "accept", "close", "close", "timeout", "deny"],
    );
    let _ = write!(
        out,
        "logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip="
    );
    write_inside_ip(rng, out);
    let _ = write!(
        out,
        " srcport={} srcintf=\"port2\" srcintfrole=\"lan\" dstip=",
        ephemeral_port(rng)
    );
    write_outside_ip(rng, out);
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
