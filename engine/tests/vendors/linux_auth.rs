//! Tests for the `linux_auth` mapping.
use crate::support::*;

fn absent(v: &serde_json::Value, path: &[&str]) -> bool {
    path.iter().try_fold(v, |cur, k| cur.get(*k)).is_none()
}

#[test]
fn sshd_accepted_from_the_file_without_a_pri() {
    // /var/log/auth.log: year-less BSD timestamp (a one-digit day is space-padded).
    let line = "Mar  5 08:15:42 bastion-1 sshd[24817]: Accepted password for deploy from 203.0.113.10 port 51234 ssh2";
    let v = normalise("linux_auth", line);
    assert_eq!(v["class_uid"], 3002);
    assert_eq!(v["class_name"], "Authentication");
    assert_eq!(v["activity_name"], "Logon");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["severity_id"], 1);
    assert_eq!(v["time"], ms("2024-03-05T08:15:42Z"));
    assert_eq!(v["device"]["hostname"], "bastion-1");
    assert_eq!(v["actor"]["user"]["name"], "deploy");
    assert_eq!(v["src_endpoint"]["ip"], "203.0.113.10");
    assert_eq!(v["src_endpoint"]["port"], 51234);
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Linux");
    assert_eq!(v["metadata"]["product"]["name"], "sshd");
    assert_eq!(v["metadata"]["event_code"], "sshd.accepted_password");
    assert_eq!(
        v["message"],
        "Accepted password for deploy from 203.0.113.10 port 51234 ssh2"
    );
    assert_eq!(v["unmapped"]["process.pid"], "24817");
    assert_eq!(v["unmapped"]["auth_protocol"], "password");
    assert_eq!(detect(line).as_deref(), Some("linux_auth"));

    // rsyslog's high-precision timestamp (Debian 12, Ubuntu 24.04), publickey with its key.
    let line = "2024-03-15T11:58:01.123456+01:00 web-2 sshd[901]: Accepted publickey for ops from 2001:db8::7 port 60022 ssh2: ED25519 SHA256:Zk3q9mJ0yVt4nQ1xYb2cW8eR5tU7iO6pL1aS3dF4gH0";
    let v = normalise("linux_auth", line);
    assert_eq!(v["time"], ms("2024-03-15T10:58:01.123Z"));
    assert_eq!(v["device"]["hostname"], "web-2");
    assert_eq!(v["src_endpoint"]["ip"], "2001:db8::7");
    assert_eq!(v["metadata"]["event_code"], "sshd.accepted_publickey");
    assert_eq!(v["unmapped"]["ssh.key_type"], "ED25519");
    assert_eq!(
        v["unmapped"]["ssh.key_fingerprint"],
        "SHA256:Zk3q9mJ0yVt4nQ1xYb2cW8eR5tU7iO6pL1aS3dF4gH0"
    );
    assert_eq!(detect(line).as_deref(), Some("linux_auth"));

    // OpenSSH 9.8+ logs authentication from sshd-session; behind a PRI the header is parsed.
    let line = "<38>Mar 15 11:59:00 web-3 sshd-session[4410]: Accepted keyboard-interactive/pam for carol from 198.51.100.61 port 40022 ssh2";
    let v = normalise("auto", line);
    assert_eq!(v["metadata"]["product"]["name"], "sshd-session");
    assert_eq!(
        v["metadata"]["event_code"],
        "sshd.accepted_keyboard-interactive"
    );
    assert_eq!(v["unmapped"]["auth_protocol"], "keyboard-interactive/pam");
    assert_eq!(v["device"]["hostname"], "web-3");
    assert_eq!(v["time"], ms("2024-03-15T11:59:00Z"));
    assert_eq!(v["status"], "Success");
}

/// (line, event code, user, source ip, source port)
type SshdCase<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, Option<u16>);

#[test]
fn sshd_failures_and_preauth_ends() {
    let cases: &[SshdCase] = &[
        (
            "Mar 15 11:59:58 bastion-1 sshd[3001]: Failed password for invalid user admin from 192.0.2.200 port 40112 ssh2",
            "sshd.failed_password",
            Some("admin"),
            "192.0.2.200",
            Some(40112),
        ),
        (
            "Mar 15 11:59:58 bastion-1 sshd[3001]: Failed publickey for root from 2001:db8:ffff::3 port 2222 ssh2: RSA SHA256:abcDEF",
            "sshd.failed_publickey",
            Some("root"),
            "2001:db8:ffff::3",
            Some(2222),
        ),
        (
            "Mar 15 11:59:58 bastion-1 sshd[3002]: Invalid user oracle from 192.0.2.201 port 55000",
            "sshd.invalid_user",
            Some("oracle"),
            "192.0.2.201",
            Some(55000),
        ),
        (
            "Mar 15 11:59:58 bastion-1 sshd[3003]: Connection closed by authenticating user root 192.0.2.202 port 41414 [preauth]",
            "sshd.connection_closed_preauth",
            Some("root"),
            "192.0.2.202",
            Some(41414),
        ),
        (
            "Mar 15 11:59:58 bastion-1 sshd[3004]: Disconnected from invalid user test 192.0.2.203 port 33333 [preauth]",
            "sshd.disconnected_preauth",
            Some("test"),
            "192.0.2.203",
            Some(33333),
        ),
        (
            "Mar 15 11:59:58 bastion-1 sshd[3005]: error: maximum authentication attempts exceeded for invalid user ubnt from 192.0.2.204 port 50505 ssh2 [preauth]",
            "sshd.max_auth_attempts",
            Some("ubnt"),
            "192.0.2.204",
            Some(50505),
        ),
        (
            "Mar 15 11:59:58 bastion-1 sshd[3006]: User guest from 192.0.2.205 not allowed because not listed in AllowUsers",
            "sshd.user_not_allowed",
            Some("guest"),
            "192.0.2.205",
            None,
        ),
        (
            "Mar 15 11:59:58 bastion-1 sshd[3007]: Connection closed by 192.0.2.206 port 60606 [preauth]",
            "sshd.connection_closed_preauth",
            None,
            "192.0.2.206",
            Some(60606),
        ),
        (
            // A user name with a space, as the client sent it.
            "Mar 15 11:59:58 bastion-1 sshd[3008]: Invalid user john smith from 192.0.2.207 port 42",
            "sshd.invalid_user",
            Some("john smith"),
            "192.0.2.207",
            Some(42),
        ),
    ];
    for &(line, code, user, ip, port) in cases {
        let v = normalise("linux_auth", line);
        assert_eq!(v["class_uid"], 3002, "{line}");
        assert_eq!(v["activity_name"], "Logon", "{line}");
        assert_eq!(v["status"], "Failure", "{line}");
        assert_eq!(v["severity_id"], 2, "{line}");
        assert_eq!(v["metadata"]["event_code"], code, "{line}");
        assert_eq!(v["time"], ms("2024-03-15T11:59:58Z"), "{line}");
        match user {
            Some(u) => assert_eq!(v["actor"]["user"]["name"], u, "{line}"),
            None => assert!(absent(&v, &["actor"]), "{line}"),
        }
        assert_eq!(v["src_endpoint"]["ip"], ip, "{line}");
        match port {
            Some(p) => assert_eq!(v["src_endpoint"]["port"], p, "{line}"),
            None => assert!(absent(&v, &["src_endpoint", "port"]), "{line}"),
        }
        assert_eq!(detect(line).as_deref(), Some("linux_auth"), "{line}");
    }
}

#[test]
fn repeated_messages_and_trailing_space() {
    let line = "Mar 15 11:00:00 bastion-1 sshd[3101]: message repeated 4 times: [ Failed password for root from 192.0.2.55 port 41000 ssh2] ";
    let v = normalise("linux_auth", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "sshd.failed_password");
    assert_eq!(v["actor"]["user"]["name"], "root");
    assert_eq!(v["src_endpoint"]["ip"], "192.0.2.55");
    assert_eq!(v["metrics"]["repeated"].as_f64(), Some(4.0));
    assert_eq!(v["time"], ms("2024-03-15T11:00:00Z"));
}

#[test]
fn sshd_logoffs() {
    let line = "Mar 15 11:30:00 bastion-1 sshd[24817]: Disconnected from user deploy 203.0.113.10 port 51234";
    let v = normalise("linux_auth", line);
    assert_eq!(v["activity_name"], "Logoff");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["metadata"]["event_code"], "sshd.disconnected");
    assert_eq!(v["actor"]["user"]["name"], "deploy");
    assert_eq!(v["src_endpoint"]["ip"], "203.0.113.10");
    assert_eq!(v["src_endpoint"]["port"], 51234);

    let line = "Mar 15 11:30:00 bastion-1 sshd[24817]: Received disconnect from 203.0.113.10 port 51234:11: disconnected by user";
    let v = normalise("linux_auth", line);
    assert_eq!(v["activity_name"], "Logoff");
    assert_eq!(v["metadata"]["event_code"], "sshd.received_disconnect");
    assert_eq!(v["src_endpoint"]["port"], 51234);
    assert_eq!(v["unmapped"]["ssh.disconnect_code"], "11");
    assert_eq!(
        v["unmapped"]["ssh.disconnect_reason"],
        "disconnected by user"
    );

    let line = "Mar 15 11:30:00 bastion-1 sshd[3120]: Received disconnect from 192.0.2.9 port 22022:11: Bye Bye [preauth]";
    let v = normalise("linux_auth", line);
    assert_eq!(
        v["metadata"]["event_code"],
        "sshd.received_disconnect_preauth"
    );
    assert_eq!(v["status"], "Failure");
}

#[test]
fn pam_sessions_and_failures_under_any_program() {
    // Behind a PRI: the header gives time, host and program.
    let line = "<86>Mar 15 11:59:59 bastion-1 sshd[24817]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)";
    let v = normalise("auto", line);
    assert_eq!(v["class_uid"], 3002);
    assert_eq!(v["activity_name"], "Logon");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["time"], ms("2024-03-15T11:59:59Z"));
    assert_eq!(v["device"]["hostname"], "bastion-1");
    assert_eq!(v["actor"]["user"]["name"], "deploy");
    assert_eq!(v["metadata"]["event_code"], "pam.session_opened");
    assert_eq!(v["metadata"]["product"]["name"], "sshd");
    assert_eq!(v["unmapped"]["pam.module"], "pam_unix");
    assert_eq!(v["unmapped"]["pam.service"], "sshd");
    assert_eq!(v["unmapped"]["pam.type"], "session");
    assert_eq!(v["unmapped"]["pam.uid"], "1001");

    let line = "Mar 15 11:17:01 bastion-1 CRON[5120]: pam_unix(cron:session): session closed for user root";
    let v = normalise("linux_auth", line);
    assert_eq!(detect(line).as_deref(), Some("linux_auth"));
    assert_eq!(v["activity_name"], "Logoff");
    assert_eq!(v["metadata"]["event_code"], "pam.session_closed");
    assert_eq!(v["metadata"]["product"]["name"], "CRON");
    assert_eq!(v["actor"]["user"]["name"], "root");

    // rhost is the remote address; user= the account.
    let line = "Mar 15 11:59:57 bastion-1 sshd[3200]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.99  user=root";
    let v = normalise("linux_auth", line);
    assert_eq!(v["activity_name"], "Logon");
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "pam.auth_failure");
    assert_eq!(v["actor"]["user"]["name"], "root");
    assert_eq!(v["src_endpoint"]["ip"], "198.51.100.99");
    assert_eq!(v["unmapped"]["tty"], "ssh");
    assert!(
        absent(&v, &["unmapped", "pam.logname"]),
        "empty logname is left out"
    );

    let line =
        "Mar 15 11:59:57 bastion-1 sshd[3201]: pam_unix(sshd:auth): check pass; user unknown";
    let v = normalise("linux_auth", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "pam.user_unknown");
    assert!(absent(&v, &["actor"]));

    let line = "Mar 15 11:59:57 bastion-1 sshd[3202]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=scanner.example.net  user=root";
    let v = normalise("linux_auth", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "pam.more_auth_failures");
    assert_eq!(v["metrics"]["auth_failures"].as_f64(), Some(2.0));
    assert_eq!(v["src_endpoint"]["hostname"], "scanner.example.net");
    assert!(absent(&v, &["src_endpoint", "ip"]));
    assert_eq!(v["actor"]["user"]["name"], "root");
}

#[test]
fn sudo_commands_and_refusals() {
    let line = "Mar 15 11:45:00 bastion-1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx";
    let v = normalise("linux_auth", line);
    assert_eq!(detect(line).as_deref(), Some("linux_auth"));
    assert_eq!(v["class_uid"], 3002);
    assert_eq!(v["status"], "Success");
    assert_eq!(v["metadata"]["event_code"], "sudo.command");
    assert_eq!(v["metadata"]["product"]["name"], "sudo");
    assert_eq!(v["actor"]["user"]["name"], "alice");
    assert_eq!(v["time"], ms("2024-03-15T11:45:00Z"));
    assert_eq!(v["message"], "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx");
    let u = &v["unmapped"];
    assert_eq!(u["tty"], "pts/0");
    assert_eq!(u["pwd"], "/home/alice");
    assert_eq!(u["user.name"], "root");
    assert_eq!(u["process.cmd_line"], "/usr/bin/systemctl restart nginx");

    let line = "Mar 15 11:46:00 bastion-1 sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/srv/app ; USER=root ; COMMAND=/bin/cat /etc/shadow";
    let v = normalise("linux_auth", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "sudo.incorrect_password");
    assert_eq!(v["actor"]["user"]["name"], "bob");
    assert_eq!(v["metrics"]["failed_attempts"].as_f64(), Some(3.0));
    assert_eq!(v["unmapped"]["reason"], "3 incorrect password attempts");
    assert_eq!(v["unmapped"]["process.cmd_line"], "/bin/cat /etc/shadow");

    let line = "Mar 15 11:47:00 bastion-1 sudo:    mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash";
    let v = normalise("linux_auth", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "sudo.not_in_sudoers");
    assert_eq!(v["actor"]["user"]["name"], "mallory");

    let line = "Mar 15 11:46:00 bastion-1 sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1002 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob";
    let v = normalise("linux_auth", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "pam.auth_failure");
    assert_eq!(v["actor"]["user"]["name"], "bob");
    assert_eq!(v["unmapped"]["pam.service"], "sudo");
    assert_eq!(v["unmapped"]["pam.logname"], "bob");
    assert!(absent(&v, &["src_endpoint"]), "empty rhost");
}

#[test]
fn su_switches_user() {
    let line = "Mar 15 11:50:00 bastion-1 su[7001]: (to root) alice on pts/3";
    let v = normalise("linux_auth", line);
    assert_eq!(detect(line).as_deref(), Some("linux_auth"));
    assert_eq!(v["activity_name"], "Logon");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["metadata"]["event_code"], "su.success");
    assert_eq!(v["metadata"]["product"]["name"], "su");
    assert_eq!(v["actor"]["user"]["name"], "alice");
    assert_eq!(v["unmapped"]["user.name"], "root");
    assert_eq!(v["unmapped"]["tty"], "pts/3");

    let line = "Mar 15 11:50:10 bastion-1 su[7002]: FAILED SU (to root) bob on pts/4";
    let v = normalise("linux_auth", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["metadata"]["event_code"], "su.failed");
    assert_eq!(v["actor"]["user"]["name"], "bob");
    assert_eq!(v["unmapped"]["user.name"], "root");

    // The one who typed the password is ruser; the account is user=.
    let line = "Mar 15 11:50:09 bastion-1 su[7002]: pam_unix(su:auth): authentication failure; logname=bob uid=1002 euid=0 tty=/dev/pts/4 ruser=bob rhost=  user=root";
    let v = normalise("linux_auth", line);
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["actor"]["user"]["name"], "bob");
    assert_eq!(v["unmapped"]["user.name"], "root");

    let line = "Mar 15 11:50:00 bastion-1 su[7001]: pam_unix(su-l:session): session opened for user root(uid=0) by alice(uid=1000)";
    let v = normalise("linux_auth", line);
    assert_eq!(v["metadata"]["event_code"], "pam.session_opened");
    assert_eq!(v["actor"]["user"]["name"], "alice");
    assert_eq!(v["unmapped"]["user.name"], "root");
    assert_eq!(v["unmapped"]["pam.service"], "su-l");
}

#[test]
fn logind_sessions() {
    let line = "Mar 15 11:59:59 bastion-1 systemd-logind[612]: New session 42 of user deploy.";
    let v = normalise("linux_auth", line);
    assert_eq!(detect(line).as_deref(), Some("linux_auth"));
    assert_eq!(v["activity_name"], "Logon");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["metadata"]["event_code"], "logind.new_session");
    assert_eq!(v["metadata"]["product"]["name"], "systemd-logind");
    assert_eq!(v["actor"]["user"]["name"], "deploy");
    assert_eq!(v["unmapped"]["session.uid"], "42");

    let line = "Mar 15 12:10:00 bastion-1 systemd-logind[612]: Removed session 42.";
    let v = normalise("linux_auth", line);
    assert_eq!(v["activity_name"], "Logoff");
    assert_eq!(v["metadata"]["event_code"], "logind.removed_session");
    assert_eq!(v["unmapped"]["session.uid"], "42");
    assert!(absent(&v, &["actor"]));
}

#[test]
fn other_lines_keep_host_time_and_program() {
    let line = "Mar 15 09:00:00 bastion-1 sshd[700]: Server listening on 0.0.0.0 port 22.";
    let v = normalise("linux_auth", line);
    assert_eq!(v["class_uid"], 0);
    assert_eq!(v["status"], "Unknown");
    assert_eq!(v["time"], ms("2024-03-15T09:00:00Z"));
    assert_eq!(v["device"]["hostname"], "bastion-1");
    assert_eq!(v["metadata"]["product"]["name"], "sshd");
    assert_eq!(v["message"], "Server listening on 0.0.0.0 port 22.");
    assert!(absent(&v, &["metadata", "event_code"]));

    let line = "Mar 15 09:05:00 bastion-1 useradd[812]: new user: name=svc-backup, UID=998, GID=998, home=/var/lib/backup, shell=/usr/sbin/nologin, from=none";
    let v = normalise("auto", line);
    assert_eq!(v["metadata"]["event_code"], "useradd.new_user");
    assert_eq!(v["activity_name"], "Create");
    assert_eq!(v["status"], "Success");
    assert_eq!(v["actor"]["user"]["name"], "svc-backup");
    assert_eq!(v["unmapped"]["user.uid"], "998");
    assert_eq!(v["unmapped"]["user.shell"], "/usr/sbin/nologin");
}

#[test]
fn sudo_layouts_beyond_the_usual_one() {
    // GROUP and a `;` in the command: not the one-pass layout, the key searches take them.
    let line = "Mar 15 11:45:00 bastion-1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; GROUP=wheel ; COMMAND=/bin/sh -c echo a; echo b";
    let v = normalise("linux_auth", line);
    assert_eq!(v["metadata"]["event_code"], "sudo.command");
    assert_eq!(v["actor"]["user"]["name"], "alice");
    let u = &v["unmapped"];
    assert_eq!(u["tty"], "pts/0");
    assert_eq!(u["pwd"], "/home/alice");
    assert_eq!(u["user.name"], "root");
    assert_eq!(u["group.name"], "wheel");
    assert_eq!(u["process.cmd_line"], "/bin/sh -c echo a; echo b");
    // A working directory with a space.
    let line = "Mar 15 11:45:00 bastion-1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice/My Files ; USER=root ; COMMAND=/bin/ls";
    let v = normalise("linux_auth", line);
    assert_eq!(v["unmapped"]["pwd"], "/home/alice/My Files");
    assert_eq!(v["unmapped"]["process.cmd_line"], "/bin/ls");
    assert!(absent(&v, &["unmapped", "group.name"]));
}

#[test]
fn pam_session_by_login_names_no_acting_user() {
    let line = "Mar 15 11:00:09 bastion-1 login[812]: pam_unix(login:session): session opened for user bob(uid=1000) by LOGIN(uid=0)";
    let v = normalise("linux_auth", line);
    assert_eq!(v["metadata"]["event_code"], "pam.session_opened");
    assert_eq!(v["actor"]["user"]["name"], "bob");
    assert_eq!(v["unmapped"]["pam.by_uid"], "0");
    let line = "Mar 15 11:00:09 bastion-1 systemd[812]: pam_unix(systemd-user:session): session opened for user root(uid=0) by alice(uid=1000)";
    let v = normalise("linux_auth", line);
    assert_eq!(v["actor"]["user"]["name"], "alice");
    assert_eq!(v["unmapped"]["user.name"], "root");
}

#[test]
fn remote_addresses_and_names() {
    // A link-local IPv6 address with its zone: the address without it.
    let line = "Mar 15 11:00:09 bastion-1 sshd[3001]: Accepted publickey for ops from fe80::1%eth0 port 40112 ssh2: ED25519 SHA256:abc";
    let v = normalise("linux_auth", line);
    assert_eq!(v["src_endpoint"]["ip"], "fe80::1");
    assert!(absent(&v, &["src_endpoint", "hostname"]));
    // UseDNS: a name, not an address.
    let line = "Mar 15 11:00:09 bastion-1 sshd[3001]: Failed password for root from scanner.example.net port 40112 ssh2";
    let v = normalise("linux_auth", line);
    assert_eq!(v["src_endpoint"]["hostname"], "scanner.example.net");
    assert!(absent(&v, &["src_endpoint", "ip"]));
}
