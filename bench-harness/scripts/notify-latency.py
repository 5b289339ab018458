#!/usr/bin/env python3
"""Notification latency: from an anomaly being detected to a webhook receiving its alert.

Starts a local HTTP receiver and the release engine with a webhook target that every alert
notifies at once (group_wait 0), sends brute-force bursts for N distinct hosts over syslog TCP
(each burst makes one anomaly, so one alert and one notification), and for each host takes
    latency = time the webhook request arrived - the anomaly's detected_time (from the API).
Both clocks are this machine's wall clock, in ms. Prints p50, p99 and max.

usage: bench-harness/scripts/notify-latency.py [HOSTS] [PACE_MS]   (defaults 300 and 20)
Needs the release binary: make build
"""
import http.server, json, os, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 300
pace = (int(sys.argv[2]) if len(sys.argv) > 2 else 20) / 1000.0
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
engine = os.path.join(root, "target", "release", "tocsin")

received = {}  # entity -> arrival ms
lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        now = time.time() * 1000.0
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()
        try:
            doc = json.loads(body)
        except ValueError:
            return
        for a in doc.get("alerts", []):
            with lock:
                received.setdefault(a.get("entity"), now)

    def log_message(self, *args):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
work = tempfile.mkdtemp()
syslog, api = free_port(), free_port()
config = f"""
[engine]
data_dir = "{work}/data"
vendors_dir = "{root}/config/vendors"
[api]
listen = "127.0.0.1:{api}"
[[sources]]
type = "syslog_tcp"
name = "tcp"
listen = "127.0.0.1:{syslog}"
[[targets]]
type = "blackhole"
name = "null"
[[targets]]
type = "webhook"
name = "hook"
url = "http://127.0.0.1:{server.server_address[1]}/alerts"
[router]
default_targets = ["null"]
[score]
shards = 1
[score.trainer]
interval_secs = 0
[alerts]
default_targets = ["hook"]
[alerts.group]
group_wait_ms = 0
"""
open(f"{work}/tocsin.toml", "w").write(config)
proc = subprocess.Popen([engine, "run", "--config", f"{work}/tocsin.toml"],
                        stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{api}/ready", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    sock = socket.create_connection(("127.0.0.1", syslog))

    def stamp(t):
        g = time.gmtime(t)
        return f"{time.strftime('%b', g)} {g.tm_mday:>2} {time.strftime('%H:%M:%S', g)}"

    base = 1_700_000_000
    for h in range(hosts):
        host = f"host-{h:04d}"
        t0 = base + h * 120
        lines = []
        for s in range(0, 60, 5):
            lines.append(f"<38>{stamp(t0 + s)} {host} sshd[1]: Accepted publickey for deploy from 10.0.0.5 port 5000 ssh2")
        for i in range(20):
            lines.append(f"<38>{stamp(t0 + 60 + i // 3)} {host} sshd[2]: Failed password for root from 203.0.113.66 port 4{i:03d} ssh2")
        for s in range(20, 60, 10):
            lines.append(f"<38>{stamp(t0 + 60 + s)} {host} sshd[3]: Accepted publickey for deploy from 10.0.0.5 port 6000 ssh2")
        sock.sendall(("\n".join(lines) + "\n").encode())
        time.sleep(pace)
    deadline = time.time() + 120
    while time.time() < deadline:
        with lock:
            if len(received) >= hosts - 1:
                break
        time.sleep(0.2)
    time.sleep(1)
    anomalies = json.load(urllib.request.urlopen(
        f"http://127.0.0.1:{api}/api/v1/anomalies?limit=100000"))["anomalies"]
    detected = {}
    for a in anomalies:
        detected.setdefault(a["entity"], a["detected_time"])
    lat = sorted(received[e] - detected[e] for e in received if e in detected)
    if not lat:
        sys.exit("no notification matched an anomaly")
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"hosts {hosts}, anomalies {len(detected)}, notifications {len(received)}, matched {len(lat)}")
    print(f"latency ms: p50 {statistics.median(lat):.1f}, p99 {q(0.99):.1f}, max {lat[-1]:.1f}")
finally:
    proc.terminate()
    proc.wait(timeout=60)
    server.shutdown()
