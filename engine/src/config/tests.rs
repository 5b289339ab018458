use super::*;

fn parse(src: &str) -> Result<Config, ConfigErrors> {
    Config::parse(src, Path::new("test.toml"))
}

fn errors(src: &str) -> Vec<ConfigError> {
    match parse(src) {
        Ok(c) => panic!("expected errors, parsed {c:?}"),
        Err(e) => e.0,
    }
}

/// The error at `field`, which must be the only one there.
fn at<'a>(errs: &'a [ConfigError], field: &str) -> &'a ConfigError {
    let found: Vec<_> = errs.iter().filter(|e| e.field == field).collect();
    assert_eq!(found.len(), 1, "one error at {field} in {errs:#?}");
    found[0]
}

/// A file target named `file`, which the default router needs.
const FILE_TARGET: &str = "[[targets]]\ntype = \"file\"\nname = \"file\"\n";

#[test]
fn shipped_config_validates() {
    let src = include_str!("../../../config/tocsin.toml");
    let c = Config::parse(src, Path::new("config/tocsin.toml")).unwrap_or_else(|e| panic!("{e}"));
    let sources: Vec<_> = c.sources.iter().map(|s| (s.name(), s.kind())).collect();
    assert_eq!(
        sources,
        [
            ("syslog-udp", "syslog_udp"),
            ("syslog-tcp", "syslog_tcp"),
            ("http", "http")
        ]
    );
    let targets: Vec<_> = c.targets.iter().map(|t| (t.name(), t.kind())).collect();
    assert_eq!(targets, [("file", "file")]);
    assert_eq!(c.router.default_targets, ["file"]);
    // The shipped file shows the defaults.
    let defaults = Config::default();
    assert_eq!(c.engine, defaults.engine);
    assert_eq!(c.api, defaults.api);
    assert_eq!(c.router, defaults.router);
    assert_eq!(c.watchdog, defaults.watchdog);
    assert_eq!(c.dead_letter, defaults.dead_letter);
    assert_eq!(c.score, defaults.score);
    assert!(c.validate().is_empty());
}

#[test]
fn score_settings_out_of_range_are_each_named() {
    let src = format!(
        "{FILE_TARGET}[score]\nwindow_ms = 5\nthreshold = 1.5\nmax_entities = 0\n\
         [score.weights]\nforest = 2.0\n[score.trainer]\nmin_samples = 1\n"
    );
    let e = parse(&src).unwrap_err().to_string();
    for field in [
        "score.window_ms",
        "score.threshold",
        "score.max_entities",
        "score.weights.forest",
        "score.trainer.min_samples",
    ] {
        assert!(e.contains(field), "{field} not named in: {e}");
    }
    let e = parse(&format!("{FILE_TARGET}[score]\nwindow = 10\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `window`"), "{e}");
}

/// The shipped file's commented `tcp` example parses once uncommented, and the values it shows
/// are the defaults.
#[test]
fn shipped_tcp_example_is_valid_and_shows_the_defaults() {
    let src = include_str!("../../../config/tocsin.toml");
    let lines: Vec<&str> = src.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "# type = \"tcp\"")
        .expect("a commented tcp target in config/tocsin.toml")
        - 1;
    let example: String = lines[start..]
        .iter()
        .take_while(|l| l.starts_with("# "))
        .map(|l| format!("{}\n", &l[2..]))
        .collect();
    assert!(example.starts_with("[[targets]]\n"), "{example}");
    let c = parse(&format!("{src}\n{example}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.targets[1],
        TargetConfig::Tcp(TcpTarget::new("collector", "127.0.0.1:6000"))
    );
}

#[test]
fn load_reads_the_shipped_file_and_reports_a_missing_one() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/tocsin.toml"
    ));
    assert_eq!(Config::load(path).unwrap().sources.len(), 3);

    let missing = Path::new("/nonexistent/tocsin.toml");
    let e = Config::load(missing).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].file, missing);
    assert!(e.0[0].message.contains("cannot read"), "{}", e.0[0].message);
}

#[test]
fn full_valid_config() {
    let src = r#"
[engine]
data_dir = "/var/lib/tocsin"
batch_size = 256
normaliser_shards = 4
router_shards = 2
max_line_bytes = 8192
shutdown_timeout_secs = 5
mailbox = { normaliser = 8, router = 16, target = 32 }

[api]
listen = "127.0.0.1:9090"
workers = 4
ingest_max_body_bytes = 1048576
ingest_wait_ms = 500
retry_after_secs = 3

[[sources]]
type = "syslog_udp"
name = "udp"
listen = "0.0.0.0:514"
vendor = "cisco_asa"
recv_buffer_bytes = 8388608

[[sources]]
type = "syslog_tcp"
name = "tcp"
listen = "[::]:601"
framing = "octet_counting"
max_connections = 10

[[sources]]
type = "http"
name = "fw_01-b"

[[sources]]
type = "file"
name = "app"
path = "/var/log/app.log"
mode = "once"
start_at = "end"
poll_ms = 100

[[targets]]
type = "file"
name = "archive"
path = "/srv/events.ndjson"
max_bytes = 1000
max_files = 0

[[targets]]
type = "stdout"
name = "console"

[[targets]]
type = "blackhole"
name = "void"

[router]
default_targets = ["archive", "console"]

[watchdog]
interval_ms = 200
stall_after_ms = 2000

[dead_letter]
path = "dl/dead.ndjson"
max_bytes = 4096
max_files = 1
"#;
    let c = parse(src).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.engine,
        EngineConfig {
            data_dir: PathBuf::from("/var/lib/tocsin"),
            batch_size: 256,
            normaliser_shards: 4,
            router_shards: 2,
            max_line_bytes: 8192,
            mailbox: MailboxConfig {
                normaliser: 8,
                router: 16,
                target: 32,
                scorer: 64,
            },
            shutdown_timeout_secs: 5,
            vendors_dir: PathBuf::from("vendors"),
        }
    );
    assert_eq!(
        c.api,
        ApiConfig {
            listen: "127.0.0.1:9090".into(),
            workers: 4,
            ingest_max_body_bytes: 1 << 20,
            ingest_wait_ms: 500,
            retry_after_secs: 3,
        }
    );
    assert_eq!(
        c.sources,
        [
            SourceConfig::SyslogUdp(SyslogUdpSource {
                name: "udp".into(),
                listen: "0.0.0.0:514".into(),
                vendor: "cisco_asa".into(),
                recv_buffer_bytes: Some(8 << 20),
            }),
            SourceConfig::SyslogTcp(SyslogTcpSource {
                name: "tcp".into(),
                listen: "[::]:601".into(),
                vendor: "auto".into(),
                framing: Framing::OctetCounting,
                max_connections: 10,
            }),
            SourceConfig::Http(HttpSource {
                name: "fw_01-b".into(),
                vendor: "auto".into(),
            }),
            SourceConfig::File(FileSource {
                name: "app".into(),
                path: PathBuf::from("/var/log/app.log"),
                mode: FileMode::Once,
                start_at: StartAt::End,
                vendor: "auto".into(),
                poll_ms: 100,
            }),
        ]
    );
    assert_eq!(
        c.targets,
        [
            TargetConfig::File(FileTarget {
                name: "archive".into(),
                path: PathBuf::from("/srv/events.ndjson"),
                max_bytes: 1000,
                max_files: 0,
            }),
            TargetConfig::Stdout(StdoutTarget {
                name: "console".into()
            }),
            TargetConfig::Blackhole(BlackholeTarget {
                name: "void".into()
            }),
        ]
    );
    assert_eq!(c.router.default_targets, ["archive", "console"]);
    assert_eq!(
        c.watchdog,
        WatchdogConfig {
            interval_ms: 200,
            stall_after_ms: 2000
        }
    );
    assert_eq!(
        c.dead_letter,
        DeadLetterConfig {
            path: PathBuf::from("dl/dead.ndjson"),
            max_bytes: 4096,
            max_files: 1
        }
    );
    // The derived serde form accepts the same document.
    assert_eq!(toml::from_str::<Config>(src).unwrap(), c);

    // Accessors and helpers.
    let kinds: Vec<_> = c.sources.iter().map(|s| (s.kind(), s.vendor())).collect();
    assert_eq!(
        kinds,
        [
            ("syslog_udp", "cisco_asa"),
            ("syslog_tcp", "auto"),
            ("http", "auto"),
            ("file", "auto")
        ]
    );
    assert_eq!(
        c.data_path(&c.dead_letter.path),
        Path::new("/var/lib/tocsin/dl/dead.ndjson")
    );
    assert_eq!(c.data_path(Path::new("/abs/x")), Path::new("/abs/x"));
    assert_eq!(c.engine.normaliser_shard_count(), 4);
    assert_eq!(c.engine.router_shard_count(), 2);

    let s = c.summary();
    assert_eq!(s["data_dir"], "/var/lib/tocsin");
    assert_eq!(s["batch_size"], 256);
    assert_eq!(s["normaliser_shards"], 4);
    assert_eq!(s["router_shards"], 2);
    assert_eq!(s["mailbox"]["router"], 16);
    assert_eq!(s["sources"][0]["name"], "udp");
    assert_eq!(s["sources"][0]["type"], "syslog_udp");
    assert_eq!(s["sources"][0]["listen"], "0.0.0.0:514");
    assert_eq!(s["sources"][0]["vendor"], "cisco_asa");
    assert_eq!(s["sources"][2]["path"], "/api/v1/ingest/fw_01-b");
    assert_eq!(s["sources"][3]["path"], "/var/log/app.log");
    assert_eq!(s["targets"][2]["name"], "void");
    assert_eq!(s["targets"][2]["type"], "blackhole");
}

#[test]
fn defaults() {
    let d = Config::default();
    assert_eq!(d.engine.data_dir, Path::new("./data"));
    assert_eq!(d.engine.batch_size, 1024);
    assert_eq!(d.engine.normaliser_shards, 0);
    assert_eq!(d.engine.router_shards, 0);
    assert_eq!(d.engine.max_line_bytes, 65536);
    assert_eq!(d.engine.mailbox.normaliser, 64);
    assert_eq!(d.engine.mailbox.router, 64);
    assert_eq!(d.engine.mailbox.target, 64);
    assert_eq!(d.engine.shutdown_timeout_secs, 30);
    assert_eq!(d.api.listen, "0.0.0.0:8080");
    assert_eq!(d.api.workers, 2);
    assert_eq!(d.api.ingest_max_body_bytes, 64 * 1024 * 1024);
    assert_eq!(d.api.ingest_wait_ms, 2000);
    assert_eq!(d.api.retry_after_secs, 1);
    assert!(d.sources.is_empty());
    assert!(d.targets.is_empty());
    assert_eq!(d.router.default_targets, ["file"]);
    assert_eq!(d.watchdog.interval_ms, 1000);
    assert_eq!(d.watchdog.stall_after_ms, 10_000);
    assert_eq!(d.dead_letter.path, Path::new("deadletter.ndjson"));
    assert_eq!(d.dead_letter.max_bytes, 64 * 1024 * 1024);
    assert_eq!(d.dead_letter.max_files, 2);
    assert!(d.engine.normaliser_shard_count() >= 1);
    assert!(d.engine.router_shard_count() >= 1);

    // The default router names `file`, which must then be declared.
    let errs = d.validate();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "router.default_targets[0]");

    // Sections left out take the defaults; entries take their per-field defaults.
    let src = format!(
        "{FILE_TARGET}\n\
         [[sources]]\ntype = \"syslog_udp\"\nname = \"u\"\nlisten = \"0.0.0.0:1\"\n\
         [[sources]]\ntype = \"syslog_tcp\"\nname = \"t\"\nlisten = \"0.0.0.0:1\"\n\
         [[sources]]\ntype = \"http\"\nname = \"h\"\n\
         [[sources]]\ntype = \"file\"\nname = \"f\"\npath = \"x.log\"\n"
    );
    let c = parse(&src).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine, d.engine);
    assert_eq!(c.api, d.api);
    assert_eq!(c.router, d.router);
    assert_eq!(c.watchdog, d.watchdog);
    assert_eq!(c.dead_letter, d.dead_letter);
    assert_eq!(
        c.targets,
        [TargetConfig::File(FileTarget {
            name: "file".into(),
            path: PathBuf::from("events.ndjson"),
            max_bytes: 256 * 1024 * 1024,
            max_files: 5,
        })]
    );
    assert_eq!(
        c.sources[0],
        SourceConfig::SyslogUdp(SyslogUdpSource {
            name: "u".into(),
            listen: "0.0.0.0:1".into(),
            vendor: "auto".into(),
            recv_buffer_bytes: None,
        })
    );
    assert_eq!(
        c.sources[1],
        SourceConfig::SyslogTcp(SyslogTcpSource {
            name: "t".into(),
            listen: "0.0.0.0:1".into(),
            vendor: "auto".into(),
            framing: Framing::Auto,
            max_connections: 1024,
        })
    );
    assert_eq!(c.sources[2].vendor(), "auto");
    assert_eq!(
        c.sources[3],
        SourceConfig::File(FileSource {
            name: "f".into(),
            path: PathBuf::from("x.log"),
            mode: FileMode::Follow,
            start_at: StartAt::Beginning,
            vendor: "auto".into(),
            poll_ms: 250,
        })
    );
    assert_eq!(
        c.data_path(Path::new("events.ndjson")),
        Path::new("./data/events.ndjson")
    );

    // Partial sections keep the defaults of the fields left out.
    let c = parse(&format!("{FILE_TARGET}[engine.mailbox]\nrouter = 7\n")).unwrap();
    assert_eq!(
        c.engine.mailbox,
        MailboxConfig {
            router: 7,
            ..MailboxConfig::default()
        }
    );
    assert_eq!(c.engine.batch_size, 1024);
}

#[test]
fn broken_config_reports_every_error_with_line_and_field() {
    let src = r#"[engine]
batch_size = 512
bogus = 1

[[sources]]
type = "syslog_udp"
name = "a"
listen = 5514

[[sources]]
type = "syslog_tcp"
name = "b"
listen = "0.0.0.0:6514"

[[sources]]
type = "http"
name = "b"

[[sources]]
type = "syslog_udp"
name = "c"
listen = "not-an-address"

[[targets]]
type = "file"
name = "file"

[router]
default_targets = ["file", "missing"]
"#;
    let errs = errors(src);
    let located: Vec<_> = errs.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        located,
        [
            (3, "engine.bogus"),
            (8, "sources[0].listen"),
            (17, "sources[2].name"),
            (22, "sources[3].listen"),
            (29, "router.default_targets[1]"),
        ],
        "{errs:#?}"
    );
    assert!(
        errs[0].message.starts_with("unknown field `bogus`"),
        "{}",
        errs[0].message
    );
    assert!(
        errs[1].message.contains("invalid type: integer `5514`"),
        "{}",
        errs[1].message
    );
    assert!(
        errs[2].message.contains("duplicate source name `b`"),
        "{}",
        errs[2].message
    );
    assert!(errs[3]
        .message
        .contains("`not-an-address` is not a socket address"));
    assert!(errs[4].message.contains("`missing`"), "{}", errs[4].message);
    assert!(errs.iter().all(|e| e.file == Path::new("test.toml")));
    // Columns point at the offending key's value.
    assert_eq!(
        (errs[0].column, errs[1].column, errs[4].column),
        (9, 10, 28)
    );

    let listing = ConfigErrors(errs).to_string();
    let first = listing.lines().next().unwrap();
    assert!(
        first.starts_with("test.toml:3:9: engine.bogus: unknown field `bogus`"),
        "{first}"
    );
    assert_eq!(listing.lines().count(), 5);
}

#[test]
fn toml_syntax_error_gives_its_line() {
    let errs = errors("[engine]\nbatch_size = 1\ndata_dir = \"unterminated\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].line, 3);
    assert!(errs[0].column > 0);
    assert!(errs[0].field.is_empty());
    assert!(!errs[0].message.contains('\n'));

    let errs = errors("[engine]\n[engine]\n");
    assert_eq!((errs.len(), errs[0].line), (1, 2), "{errs:?}");
}

#[test]
fn unknown_type_is_rejected() {
    let src = format!("{FILE_TARGET}\n[[sources]]\nname = \"x\"\ntype = \"carrier_pigeon\"\n");
    let errs = errors(&src);
    let e = at(&errs, "sources[0].type");
    assert_eq!(e.line, 7);
    assert!(
        e.message.contains("unknown source type `carrier_pigeon`"),
        "{}",
        e.message
    );
    assert_eq!(errs.len(), 1);

    let errs = errors("[[targets]]\nname = \"file\"\ntype = \"s3\"\n");
    assert_eq!(at(&errs, "targets[0].type").line, 3);
    // The router names `file`, which failed to parse: reported once, not twice.
    assert_eq!(errs.len(), 1, "{errs:?}");

    let errs = errors(&format!("{FILE_TARGET}\n[[sources]]\nname = \"x\"\n"));
    let e = at(&errs, "sources[0].type");
    assert_eq!(e.line, 5, "missing `type`: the entry's header");
    assert!(e.message.contains("missing field `type`"));
}

#[test]
fn unknown_field_in_a_syslog_tcp_source_is_rejected() {
    let src = format!(
        "{FILE_TARGET}\n[[sources]]\ntype = \"syslog_tcp\"\nname = \"t\"\nlisten = \"0.0.0.0:1\"\n\
         tls = true\n"
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "sources[0].tls");
    assert_eq!(errs[0].line, 9);
    assert!(errs[0].message.starts_with("unknown field `tls`"));
    // The derived serde form (internally tagged enum) rejects it too.
    let e = toml::from_str::<Config>(&src).unwrap_err();
    assert!(e.message().contains("unknown field `tls`"), "{e}");
    // And in every other entry type.
    for (kind, extra) in [
        ("syslog_udp", "listen = \"0.0.0.0:1\"\n"),
        ("http", ""),
        ("file", "path = \"a\"\n"),
    ] {
        let src =
            format!("{FILE_TARGET}[[sources]]\ntype = \"{kind}\"\nname = \"n\"\n{extra}zz = 1\n");
        assert_eq!(errors(&src)[0].field, "sources[0].zz", "{kind}");
    }
    let errs = errors("[[targets]]\ntype = \"stdout\"\nname = \"file\"\nzz = 1\n");
    assert_eq!((errs[0].field.as_str(), errs[0].line), ("targets[0].zz", 4));
}

#[test]
fn field_errors_are_located() {
    // Missing required field: the entry's header line.
    let errs = errors(&format!(
        "{FILE_TARGET}\n[[sources]]\ntype = \"syslog_udp\"\nname = \"u\"\n"
    ));
    let e = at(&errs, "sources[0].listen");
    assert_eq!(e.line, 5);
    assert!(e.message.contains("missing field `listen`"));

    // Nested, inline and dotted keys.
    let errs = errors(&format!(
        "{FILE_TARGET}[engine]\nmailbox = {{ router = \"x\" }}\n[api]\nlisten.x = 1\n"
    ));
    assert_eq!(at(&errs, "engine.mailbox.router").line, 5);
    // A dotted-key table has no span of its own: its section header is used.
    assert_eq!(at(&errs, "api.listen").line, 6);

    // Bad enum value.
    let errs = errors(&format!(
        "{FILE_TARGET}[[sources]]\ntype = \"syslog_tcp\"\nname = \"t\"\nlisten = \"0.0.0.0:1\"\n\
         framing = \"smoke_signals\"\n"
    ));
    let e = at(&errs, "sources[0].framing");
    assert_eq!(e.line, 8);
    assert!(
        e.message.contains("unknown variant `smoke_signals`"),
        "{}",
        e.message
    );

    // Unknown section; sources given as a plain table; negative number.
    let errs = errors(&format!(
        "{FILE_TARGET}[enigne]\nbatch_size = 1\n[sources]\nname = \"x\"\n[watchdog]\ninterval_ms = -1\n"
    ));
    assert_eq!(at(&errs, "enigne").line, 4);
    assert!(at(&errs, "enigne").message.contains("unknown section"));
    assert_eq!(at(&errs, "sources").line, 6);
    assert_eq!(at(&errs, "watchdog.interval_ms").line, 9);

    // A semantic error on an entry after one that failed keeps its place in the file.
    let errs = errors(&format!(
        "{FILE_TARGET}[[sources]]\ntype = \"http\"\nname = 1\n\
         [[sources]]\ntype = \"syslog_udp\"\nname = \"u\"\nlisten = \"nope\"\n"
    ));
    assert_eq!(at(&errs, "sources[0].name").line, 6);
    assert_eq!(at(&errs, "sources[1].listen").line, 10);
    let errs = errors(&format!(
        "{FILE_TARGET}[[sources]]\ntype = \"http\"\nname = 1\n\
         [[sources]]\ntype = \"http\"\nname = \"h\"\n[[sources]]\ntype = \"http\"\nname = \"h\"\n"
    ));
    let e = at(&errs, "sources[2].name");
    assert_eq!(e.line, 12);
    assert!(e.message.ends_with("(also sources[1])"), "{}", e.message);

    // A defaulted field (not in the file) cannot be placed: line 0, listed last.
    let errs = errors("[router]\ndefault_targets = []\n[watchdog]\ninterval_ms = 20000\n");
    let e = at(&errs, "watchdog.stall_after_ms");
    assert_eq!(e.line, 3, "falls back to the section header");
    let errs = errors("");
    assert_eq!(
        (errs[0].field.as_str(), errs[0].line),
        ("router.default_targets[0]", 0)
    );
}

#[test]
fn semantic_checks() {
    let src = r#"
[engine]
batch_size = 0
max_line_bytes = 10
mailbox = { normaliser = 0, router = 65537 }

[api]
listen = "0.0.0.0:8080"
workers = 0

[[sources]]
type = "syslog_udp"
name = "u1"
listen = "0.0.0.0:514"

[[sources]]
type = "syslog_udp"
name = "u2"
listen = "127.0.0.1:514"
vendor = ""
recv_buffer_bytes = 0

[[sources]]
type = "syslog_tcp"
name = "t1"
listen = "127.0.0.1:8080"

[[sources]]
type = "syslog_tcp"
name = "t2"
listen = "0.0.0.0:514"
max_connections = 0

[[sources]]
type = "http"
name = "bad name"

[[sources]]
type = "file"
name = "f"
path = ""
poll_ms = 0

[[targets]]
type = "file"
name = "a"
path = "x.ndjson"

[[targets]]
type = "file"
name = "a"
path = "./x.ndjson"

[[targets]]
type = "file"
name = "dl"
path = "deadletter.ndjson"
max_bytes = 0

[router]
default_targets = ["a", "a"]

[watchdog]
interval_ms = 500
stall_after_ms = 500
"#;
    let errs = errors(src);
    let fields: Vec<_> = errs.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        fields,
        [
            (3, "engine.batch_size"),
            (4, "engine.max_line_bytes"),
            (5, "engine.mailbox.normaliser"),
            (5, "engine.mailbox.router"),
            (9, "api.workers"),
            (19, "sources[1].listen"),
            (20, "sources[1].vendor"),
            (21, "sources[1].recv_buffer_bytes"),
            (26, "sources[2].listen"),
            (32, "sources[3].max_connections"),
            (36, "sources[4].name"),
            (41, "sources[5].path"),
            (42, "sources[5].poll_ms"),
            (51, "targets[1].name"),
            (52, "targets[1].path"),
            (57, "targets[2].path"),
            (58, "targets[2].max_bytes"),
            (61, "router.default_targets[1]"),
            (65, "watchdog.stall_after_ms"),
        ],
        "{errs:#?}"
    );
    assert!(at(&errs, "sources[2].listen")
        .message
        .contains("used by the API"));
    assert!(at(&errs, "sources[1].listen")
        .message
        .contains("also used by sources[0]"));
    assert!(at(&errs, "targets[1].path")
        .message
        .contains("also written by targets[0]"));
    assert!(at(&errs, "targets[2].path").message.contains("dead-letter"));
    // A UDP and a TCP source may share a port (as in the shipped file); port 0 never clashes.
    let ok = format!(
        "{FILE_TARGET}[[sources]]\ntype = \"syslog_udp\"\nname = \"u\"\nlisten = \"0.0.0.0:5514\"\n\
         [[sources]]\ntype = \"syslog_tcp\"\nname = \"t\"\nlisten = \"0.0.0.0:5514\"\n\
         [[sources]]\ntype = \"syslog_tcp\"\nname = \"t0\"\nlisten = \"0.0.0.0:0\"\n\
         [[sources]]\ntype = \"syslog_tcp\"\nname = \"t1\"\nlisten = \"127.0.0.1:0\"\n"
    );
    parse(&ok).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn validate_alone_reports_unlocated_errors() {
    let mut c = Config::default();
    c.targets.push(TargetConfig::Stdout(StdoutTarget {
        name: "file".into(),
    }));
    assert!(c.validate().is_empty());
    c.api.listen = "localhost".into();
    let errs = c.validate();
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (
            errs[0].field.as_str(),
            errs[0].line,
            errs[0].file.as_os_str().is_empty()
        ),
        ("api.listen", 0, true)
    );
    assert!(errs[0].to_string().starts_with(":0:0: api.listen: "));
}

#[test]
fn a_relative_vendors_dir_is_taken_from_the_config_files_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tocsin.toml");
    std::fs::write(&file, FILE_TARGET).unwrap();
    let c = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine.vendors_dir, dir.path().join("vendors"));
    std::fs::write(
        &file,
        format!("[engine]\nvendors_dir = \"/opt/maps\"\n{FILE_TARGET}"),
    )
    .unwrap();
    let c = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.engine.vendors_dir, PathBuf::from("/opt/maps"));
}

#[test]
fn tcp_target_parses_with_defaults_and_with_every_setting() {
    let src = format!(
        "{FILE_TARGET}\n[[targets]]\ntype = \"tcp\"\nname = \"harness\"\naddress = \"127.0.0.1:6000\"\n\
         \n[[targets]]\ntype = \"tcp\"\nname = \"collector\"\naddress = \"[::1]:6514\"\n\
         connect_timeout_ms = 250\nwrite_timeout_ms = 1000\nreconnect_backoff_ms = 10\n\
         reconnect_backoff_max_ms = 10\n\
         \n[[targets]]\ntype = \"tcp\"\nname = \"by-name\"\naddress = \"collector.example.net:6000\"\n\
         \n[router]\ndefault_targets = [\"file\", \"harness\"]\n"
    );
    let c = parse(&src).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.targets[1..],
        [
            TargetConfig::Tcp(TcpTarget {
                name: "harness".into(),
                address: "127.0.0.1:6000".into(),
                connect_timeout_ms: 2000,
                write_timeout_ms: 5000,
                reconnect_backoff_ms: 100,
                reconnect_backoff_max_ms: 5000,
            }),
            TargetConfig::Tcp(TcpTarget {
                name: "collector".into(),
                address: "[::1]:6514".into(),
                connect_timeout_ms: 250,
                write_timeout_ms: 1000,
                reconnect_backoff_ms: 10,
                reconnect_backoff_max_ms: 10,
            }),
            TargetConfig::Tcp(TcpTarget::new("by-name", "collector.example.net:6000")),
        ]
    );
    assert_eq!(c.targets[1].kind(), "tcp");
    assert_eq!(
        c.targets[1],
        TargetConfig::Tcp(TcpTarget::new("harness", "127.0.0.1:6000"))
    );
    let s = c.summary();
    assert_eq!(s["targets"][1]["type"], "tcp");
    assert_eq!(s["targets"][1]["address"], "127.0.0.1:6000");
    // The derived serde form accepts the same document.
    assert_eq!(toml::from_str::<Config>(&src).unwrap(), c);
}

#[test]
fn tcp_target_errors_name_their_line_and_field() {
    let src = r#"[[sources]]
type = "syslog_tcp"
name = "in"
listen = "0.0.0.0:5514"

[[targets]]
type = "tcp"
name = "file"
address = "localhost"

[[targets]]
type = "tcp"
name = "b"
address = "127.0.0.1:0"
connect_timeout_ms = 0
write_timeout_ms = 0

[[targets]]
type = "tcp"
name = "c"
address = "::1:6000"
reconnect_backoff_ms = 0

[[targets]]
type = "tcp"
name = "d"
address = "127.0.0.1:5514"
reconnect_backoff_ms = 500
reconnect_backoff_max_ms = 100

[[targets]]
type = "tcp"
name = "e"
address = "bad_host!:6000"
keepalive = true
"#;
    let errs = errors(src);
    let fields: Vec<_> = errs.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        fields,
        [
            (9, "targets[0].address"),
            (14, "targets[1].address"),
            (15, "targets[1].connect_timeout_ms"),
            (16, "targets[1].write_timeout_ms"),
            (21, "targets[2].address"),
            (22, "targets[2].reconnect_backoff_ms"),
            (27, "targets[3].address"),
            (29, "targets[3].reconnect_backoff_max_ms"),
            (34, "targets[4].address"),
            (35, "targets[4].keepalive"),
        ],
        "{errs:#?}"
    );
    for e in &errs {
        assert_eq!(e.file, Path::new("test.toml"));
    }
    let message = |field| at(&errs, field).message.clone();
    assert!(message("targets[0].address").contains("no `:PORT`"));
    assert!(
        message("targets[0].address").contains("\"[::1]:6000\""),
        "examples given"
    );
    assert!(message("targets[1].address").contains("port 0"));
    assert!(message("targets[2].address").contains("brackets"));
    assert!(message("targets[3].address").contains("own syslog listener (sources[0])"));
    assert!(message("targets[3].reconnect_backoff_max_ms").contains("smaller than"));
    // An unknown field does not hide the bad address next to it.
    assert!(message("targets[4].keepalive").starts_with("unknown field `keepalive`"));
    assert!(message("targets[4].address").contains("`bad_host!` is not a valid host name"));

    let bad = |address: &str| {
        let src = format!(
            "{FILE_TARGET}[[targets]]\ntype = \"tcp\"\nname = \"t\"\naddress = \"{address}\"\n"
        );
        errors(&src)
            .into_iter()
            .map(|e| (e.line, e.field, e.message))
            .collect::<Vec<_>>()
    };
    for (address, why) in [
        ("bad_host!:6000", "not a valid host name"),
        ("collector:65536", "`65536` is not a port"),
        ("collector:", "`` is not a port"),
        (":6000", "no host"),
        ("10.0.0.1:http", "`http` is not a port"),
        ("[::1]:x", "`x` is not a port"),
        ("[fe80::zz]:6000", "`fe80::zz` is not an IPv6 address"),
        ("-lead.example:6000", "not a valid host name"),
        ("", "no `:PORT`"),
    ] {
        let errs = bad(address);
        assert_eq!(errs.len(), 1, "{address}: {errs:?}");
        assert_eq!((errs[0].0, errs[0].1.as_str()), (7, "targets[1].address"));
        assert!(errs[0].2.contains(why), "{address}: {}", errs[0].2);
    }
    // Missing address: the entry's header.
    let errs = errors(&format!(
        "{FILE_TARGET}[[targets]]\ntype = \"tcp\"\nname = \"t\"\n"
    ));
    assert_eq!(
        (errs[0].line, errs[0].field.as_str()),
        (4, "targets[1].address")
    );
    assert!(
        errs[0].message.contains("missing field `address`"),
        "{errs:?}"
    );
    // A syslog listener on another port, or a remote collector on the same port, is no loop.
    let ok = format!(
        "{FILE_TARGET}[[sources]]\ntype = \"syslog_tcp\"\nname = \"in\"\nlisten = \"0.0.0.0:5514\"\n\
         [[targets]]\ntype = \"tcp\"\nname = \"a\"\naddress = \"127.0.0.1:5515\"\n\
         [[targets]]\ntype = \"tcp\"\nname = \"b\"\naddress = \"10.1.2.3:5514\"\n\
         [[targets]]\ntype = \"tcp\"\nname = \"c\"\naddress = \"logs.example.net.:5514\"\n"
    );
    parse(&ok).unwrap_or_else(|e| panic!("{e}"));
}
