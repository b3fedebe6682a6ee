#!/usr/bin/env python3
"""Failover times of a 2-node, 1-zone cluster (pom1, pom2) on a throwaway PostgreSQL.

Plant (all loopback): a PostgreSQL 15 server started here (initdb in a temp dir, run as user
`postgres` when root), one database per lease setting; a fresh `sipp -sn uas -aa` per setting
as the customer network ([[mpp]]; SIPP_TRACE=1 with KEEP=1 keeps its stats, errors and
messages). Each node reaches PostgreSQL through its own small TCP proxy and hears its peer's
UDP heartbeats through its own relay (threads in this script; `heartbeat_bind`), both
transparent until cut. An agentless campaign in zone1 dials into SIPp at RATE calls/s (env,
default 20) through each scenario; the job is stopped at the scenario's end.

Scenarios (env SCENARIOS, default "kill9 sigterm dbcut partition"), ROUNDS times each (env,
default 5); the victim is always the current zone1 master, so pom1 and pom2 alternate:
  kill9      `kill -9` of the master; the victim is started again and rejoins DORMANT.
  sigterm    SIGTERM (graceful: leases released, the peer told at once); restarted likewise.
  dbcut      the master's database proxy is cut (open connections closed, new ones closed at
             once) while UDP heartbeats keep flowing: the master must give zone1 up by its own
             lease deadline and the survivor take it once the lease runs out in the database.
             Healed once the survivor dials, or after lease_ttl + peer_dead_after +
             renew_every + 2 s without a takeover (then reported NO TAKEOVER; the zone
             comes back to the victim, which is moved to the other node with "save and
             apply" so that the rounds still alternate).
  partition  as dbcut, and the heartbeats cut both ways too (the master alone, silent on both
             paths): the survivor may take zone1 as soon as the master counts as dead.
Metrics per round, in ms from the kill / SIGTERM / cut (unix ms of this host = the nodes'):
  taken_ms       the survivor took zone1's lease (`acquired.taken_at_ms` of the new epoch)
  resumed_ms     the survivor's `acquired.dialing_resumed_at_ms` for zone1
  first_dial_ms  the first `dialing` of an attempt of the new epoch (`/v1/jobs/{id}/attempts`)
  exit_ms        sigterm: the victim process exited (polled)
  gave_up_ms     dbcut, partition: the cut master's `/v1/node` no longer lists zone1 (polled)
  resumed_after_heal_ms, first_dial_after_heal_ms   a round without takeover, from the heal
Bound on resumed_ms (a round above it is reported OVER BOUND): kill9 and partition,
peer_dead_after + renew_every + 100; sigterm, 200 ms; dbcut, lease_ttl + renew_every + 100.
Invariants checked as it goes (violations are printed and counted, never fatal): one node per
epoch among the job's attempts; an epoch's first dial not before an older epoch's last; the
victim DORMANT after its restart / the heal; a cut master dials nothing after cut + lease_ttl
and stops listing zone1 by then; at the scenario's end, after POST /v1/jobs/{id}/stop, every
attempt `completed`. Nodes' ERROR/WARN lines are counted per phase and panics printed.

Lease settings (env SETTINGS, `name:ttl/renew/heartbeat/dead_after` ms, space-separated),
default "default:2000/400/100/600 fast:1000/200/50/300 slow:6000/1500/250/2000". Env OUTDIAL
(default target/release/outdial), OUT (default bench/results/failover.csv), KEEP=1 keeps the
temp dir (cluster files, node logs). Rows `scenario,metric,value` (scenario =
setting/scenario) go to OUT; a summary table of min/p50/max over the rounds to stdout. Every
process started here is ended by its own pid; temp dirs are removed.
"""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTDIAL = os.environ.get("OUTDIAL", os.path.join(ROOT, "target", "release", "outdial"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
RATE = float(os.environ.get("RATE", "20"))
SETTINGS = os.environ.get("SETTINGS", "default:2000/400/100/600 fast:1000/200/50/300 slow:6000/1500/250/2000")
SCENARIOS = os.environ.get("SCENARIOS", "kill9 sigterm dbcut partition").split()
OUT = os.environ.get("OUT", os.path.join(ROOT, "bench", "results", "failover.csv"))
KEEP = os.environ.get("KEEP") == "1"
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
ZONE = "zone1"
NODES = ("pom1", "pom2")
TRANSIENT_WAIT_S = 30
BOUND_SLACK_MS = 100
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LEVEL = re.compile(r"^\S+Z\s+(ERROR|WARN)\s+(\S+?):?\s+(.*)$")


def now_ms():
    return int(time.time() * 1000)


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(base, method, path, body=None, ctype="application/json", timeout=5):
    """(status, parsed JSON or text); status 0 when the node does not answer."""
    req = urllib.request.Request(f"http://{base}{path}", data=body, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, None
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for(what, limit_s, fn, every=0.01):
    """Calls fn until it returns something truthy; raises after limit_s."""
    deadline = time.time() + limit_s
    while True:
        v = fn()
        if v:
            return v
        if time.time() >= deadline:
            raise TimeoutError(f"never {what} within {limit_s:.1f} s")
        time.sleep(every)


# ---------------------------------------------------------------- PostgreSQL

class Pg:
    """A fresh PostgreSQL cluster in a temp dir, on a free loopback port (trust auth, user outdial)."""

    def __init__(self):
        self.as_postgres = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="outdial-failover-pg-")
        os.chmod(self.dir, 0o700)
        if self.as_postgres:
            subprocess.run(["chown", "-R", "postgres", self.dir], check=True)
        out = subprocess.run(self._cmd("initdb", "-D", self.dir, "-U", "outdial", "--auth=trust", "-E", "UTF8",
                                       "--locale=C", "--no-sync", "--wal-segsize=1"),
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise SystemExit(f"initdb failed:\n{out.stdout}{out.stderr}")
        self.port = free_port(socket.SOCK_STREAM)
        self.proc = subprocess.Popen(self._cmd("postgres", "-D", self.dir, "-p", str(self.port), "-k", self.dir,
                                               "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.log.append(line.rstrip())
                if "ready to accept connections" in line:
                    ready.set()
        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise SystemExit("postgres was not ready within 30 s:\n" + "\n".join(self.log[-20:]))
        with open(os.path.join(self.dir, "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def _cmd(self, prog, *args):
        c = [os.path.join(PG_BIN, prog), *args]
        return ["runuser", "-u", "postgres", "--", *c] if self.as_postgres else c

    def createdb(self, name):
        subprocess.run([os.path.join(PG_BIN, "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "outdial", name],
                       check=True, capture_output=True)
        return f"host=127.0.0.1 port={self.port} user=outdial dbname={name} connect_timeout=2"

    def stop(self):
        if self.proc.poll() is None:
            pid = getattr(self, "pid", None)
            if pid:
                try:
                    os.kill(pid, signal.SIGINT)  # fast shutdown of the postmaster itself
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- TCP proxy

class Proxy:
    """node -> PostgreSQL. cut(): open connections are shut down, new ones closed at once."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.is_cut = False
        self.closed = False
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                down, _ = self.sock.accept()
            except OSError:
                return
            if self.is_cut:
                self._close(down)
                continue
            try:
                up = socket.create_connection(self.upstream, timeout=2)
                up.settimeout(None)
            except OSError:
                self._close(down)
                continue
            for s in (down, up):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.conns += [down, up]
            threading.Thread(target=self._pipe, args=(down, up), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, down), daemon=True).start()

    @staticmethod
    def _close(s):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def _pipe(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self.lock:
            if a in self.conns:
                self.conns.remove(a)
                a.close()

    def cut(self):
        self.is_cut = True
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def heal(self):
        self.is_cut = False

    def close(self):
        self.closed = True
        self.cut()
        self.sock.close()


class Relay:
    """UDP datagrams to a node's advertised heartbeat address go on to where it listens, unless cut."""

    def __init__(self, listen_port, to_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", listen_port))
        self.to = ("127.0.0.1", to_port)
        self.is_cut = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(2048)
            except OSError:
                return
            if not self.is_cut:
                try:
                    self.sock.sendto(data, self.to)
                except OSError:
                    pass

    def cut(self):
        self.is_cut = True

    def heal(self):
        self.is_cut = False

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- nodes

class Node:
    def __init__(self, name, cluster):
        self.name = name
        self.cluster = cluster
        self.sip = free_port()
        self.api = f"127.0.0.1:{free_port(socket.SOCK_STREAM)}"
        self.heartbeat = free_port()  # advertised: the relay
        self.heartbeat_bind = free_port()  # where the node listens
        self.relay = Relay(self.heartbeat, self.heartbeat_bind)
        self.proxy = Proxy(cluster.pg.port)
        self.proc = None
        self.log_path = os.path.join(cluster.dir, f"{name}.log")
        self.panics = []
        self.messages = {}  # (phase, level, "target: message" without its fields) -> count
        self.starts = 0

    def database(self):
        return f"host=127.0.0.1 port={self.proxy.port} user=outdial dbname={self.cluster.dbname} connect_timeout=2"

    def start(self):
        assert self.proc is None
        self.starts += 1
        env = dict(os.environ, OUTDIAL_DATABASE=self.database(),
                   OUTDIAL_CLUSTER_KEY=self.cluster.heartbeat_key,
                   RUST_LOG="warn,outdial::cluster=info,outdial::actors::supervisor=info")
        self.proc = subprocess.Popen([OUTDIAL, "run", "--config", self.cluster.config, "--node", self.name],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env=env)
        ready = threading.Event()
        proc, run = self.proc, self.starts

        def read():
            with open(self.log_path, "a") as log:
                log.write(f"=== start {run} at {now_ms()}\n")
                for line in proc.stderr:
                    line = ANSI.sub("", line)
                    log.write(line)
                    if " running: SIP " in line:
                        ready.set()
                    m = LEVEL.match(line.rstrip())
                    if "panicked" in line:
                        self.panics.append(f"{self.name}#{run}: {line.rstrip()}")
                    elif m:
                        msg = re.split(r"\s\w+=", m.group(3), 1)[0]
                        key = (self.cluster.phase, m.group(1), f"{m.group(2)}: {msg}")
                        self.messages[key] = self.messages.get(key, 0) + 1
        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30):
            self.kill9()
            raise RuntimeError(f"{self.name} did not print its ready line within 30 s; see {self.log_path}")

    def kill9(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def term(self):
        """SIGTERM; returns the unix ms of the exit (SIGKILL after 15 s) and the exit code."""
        p = self.proc
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
        self.proc = None
        return now_ms(), p.returncode

    def get(self, path, timeout=5):
        return http(self.api, "GET", path, timeout=timeout)

    def zone(self):
        """zone1's entry in this node's status (None when it does not master it or does not answer)."""
        st, v = self.get("/v1/node", timeout=2)
        if st != 200:
            return None
        return next((z for z in v.get("zones", []) if z.get("zone") == ZONE), None)

    def view(self):
        st, v = self.get("/v1/cluster", timeout=2)
        return v if st == 200 else None


class Cluster:
    """One lease setting: its own database, config file, the two nodes and their proxies."""

    def __init__(self, pg, sipp_port, setting, base_dir, rtp_base):
        self.pg = pg
        self.setting = setting
        name, (ttl, renew, hb, dead) = setting
        self.dir = os.path.join(base_dir, name)
        os.makedirs(self.dir)
        self.dbname = f"outdial_{name}"
        pg.createdb(self.dbname)
        self.config = os.path.join(self.dir, "cluster.toml")
        self.heartbeat_key = os.urandom(32).hex()  # every node's OUTDIAL_CLUSTER_KEY
        self.nodes = {n: Node(n, self) for n in NODES}
        self.phase = f"{setting[0]}/start"  # what the harness is doing, for the nodes' log lines
        text = f"""[node]
name = "unused"
data_dir = "{self.dir}/unused"
zones = ["{ZONE}"]

[[mpp]]
name = "customers"
address = "127.0.0.1:{sipp_port}"
capacity = 1000
options_interval_ms = 1000

[cluster]
database = "host=127.0.0.1 port={pg.port} user=outdial dbname={self.dbname} connect_timeout=2"
lease_ttl_ms = {ttl}
renew_every_ms = {renew}
heartbeat_every_ms = {hb}
peer_dead_after_ms = {dead}
"""
        for i, n in enumerate(NODES):
            node = self.nodes[n]
            first = rtp_base + i * 200
            zones = f'"{ZONE}"' if i == 0 else ""
            text += f"""
[[cluster.node]]
name = "{n}"
sip = "127.0.0.1:{node.sip}"
http = "{node.api}"
heartbeat = "127.0.0.1:{node.heartbeat}"
heartbeat_bind = "127.0.0.1:{node.heartbeat_bind}"
rtp_port_first = {first}
rtp_port_last = {first + 198}
zones = [{zones}]
"""
        with open(self.config, "w") as f:
            f.write(text)

    def other(self, name):
        return self.nodes[NODES[1] if name == NODES[0] else NODES[0]]

    def master(self):
        """(node, zone entry) of the node mastering zone1 with dialing resumed, else None."""
        for n in self.nodes.values():
            if n.proc is not None:
                z = n.zone()
                if z and z.get("acquired", {}).get("dialing_resumed_at_ms"):
                    return n, z
        return None

    def settled(self):
        """Both nodes running, connected to the database, each live in the other's view; the
        director with the first node; one master for zone1."""
        views = {}
        for n in self.nodes.values():
            if n.proc is None:
                return False
            v = n.view()
            if not v or v.get("db_error") or set(v.get("live", [])) != set(NODES):
                return False
            views[n.name] = v
        holders = set()
        for v in views.values():
            for lease in v.get("leases", []):
                if lease["name"] == "director" and lease.get("remaining_ms", 0) > 0:
                    holders.add(lease.get("node"))
        if holders != {NODES[0]}:
            return False
        masters = [n for n in self.nodes.values() if n.zone()]
        return len(masters) == 1

    def wait_settled(self, limit_s=30):
        _, (ttl, renew, hb, dead) = self.setting
        wait_for("a settled cluster", limit_s, self.settled, every=0.05)
        # A node just started is not past its start-up grace (peer_dead_after) yet: its
        # director may not allocate zones before that.
        time.sleep(max(dead, 2 * renew) / 1000.0)
        wait_for("a settled cluster", limit_s, self.settled, every=0.05)

    def stop(self):
        for n in self.nodes.values():
            n.kill9()
            n.proxy.close()
            n.relay.close()


# ---------------------------------------------------------------- jobs and invariants

def create_job(node, name, contacts):
    spec = {"name": name, "zone": ZONE, "mode": "agentless", "load_test": True, "test_ranges": ["+1212"], "ring_timeout_ms": 5000,
            "agentless": {"rate_cps": RATE, "max_concurrent": 100},
            "calling_hours": {"start": "00:00", "end": "00:00", "default_tz": "UTC"},
            "retry": {c: {"delay_s": 1, "max_attempts": 1} for c in
                      ["busy", "no-answer", "network-failure", "timeout", "no-media-resource",
                       "recovered-after-failover", "nuisance"]}}
    st, v = http(node.api, "POST", "/v1/campaigns", json.dumps(spec).encode())
    if st != 201:
        raise RuntimeError(f"create campaign: {st} {v}")
    job = v["job"]
    csv = "phone,name\n" + "".join(f"+1212{i:07d},c{i}\n" for i in range(contacts))
    st, v = http(node.api, "POST", f"/v1/jobs/{job}/contacts", csv.encode(), "text/csv", timeout=60)
    if st not in (200, 201):
        raise RuntimeError(f"import contacts: {st} {v}")
    st, v = http(node.api, "POST", f"/v1/jobs/{job}/start", b"")
    if st != 200:
        raise RuntimeError(f"start job: {st} {v}")
    return job


def attempts(node, job):
    st, v = node.get(f"/v1/jobs/{job}/attempts", timeout=30)
    if st != 200 or not isinstance(v, list):
        return None
    return v


def first_dialing(a):
    return next((h[0] for h in a.get("history", []) if h[1].get("state") == "dialing"), None)


def check_epochs(atts):
    """Violations of: one node per epoch; an epoch's first dial not before an older one's last."""
    nodes, spans, bad = {}, {}, []
    for a in atts:
        e = a.get("epoch")
        nodes.setdefault(e, set()).add(a.get("node"))
        t = first_dialing(a)
        if t is not None:
            lo, hi = spans.get(e, (t, t))
            spans[e] = (min(lo, t), max(hi, t))
    for e, ns in sorted(nodes.items(), key=lambda x: x[0] or 0):
        if len(ns) != 1:
            bad.append(f"epoch {e} has attempts of nodes {sorted(map(str, ns))}")
    last = None
    for e in sorted(spans, key=lambda x: x or 0):
        if last and spans[e][0] < last[1]:
            bad.append(f"epoch {e} dialed at {spans[e][0]} before epoch {last[0]}'s last dial at {last[1]}")
        last = (e, spans[e][1])
    return bad


# ---------------------------------------------------------------- one round

def resume_bound(scenario, setting):
    """The expected worst case of resumed_ms: kill9 / partition, the peer's silence
    (peer_dead_after) and one decision tick (renew_every); sigterm, 200 ms (the handover is
    immediate); dbcut, the lease running out in the database (lease_ttl) and one tick; plus
    BOUND_SLACK_MS for the take itself (database round trips, the zone's start)."""
    _, (ttl, renew, hb, dead) = setting
    return {"kill9": dead + renew, "partition": dead + renew, "sigterm": 200,
            "dbcut": ttl + renew}[scenario] + (0 if scenario == "sigterm" else BOUND_SLACK_MS)


def kind(problem):
    for k in ("NO TAKEOVER", "OVER BOUND"):
        if problem.startswith(k):
            return k
    return "VIOLATION"


def count(problems, key, k):
    """How many of `problems` ("setting/scenario ...: problem") are of `key` and kind `k`."""
    return sum(1 for p in problems if p.startswith(key + " ") and kind(p.split(": ", 1)[1]) == k)


def one_round(c, scenario, job, rnd):
    """One failover of the current zone1 master; returns (metrics, invariant problems)."""
    _, (ttl, renew, hb, dead) = c.setting
    m = wait_for("a zone1 master", 20, c.master, every=0.05)
    victim, z = m
    survivor = c.other(victim.name)
    old_epoch = z["epoch"]
    r = {"victim": victim.name}
    gave_up = None
    cut = scenario in ("dbcut", "partition")
    t0 = now_ms()
    if scenario == "kill9":
        victim.kill9()
    elif scenario == "sigterm":
        victim.proc.send_signal(signal.SIGTERM)
    else:
        victim.proxy.cut()
        if scenario == "partition":
            for n in c.nodes.values():
                n.relay.cut()

    def resumed(nodes):
        def check():
            nonlocal gave_up
            if cut and gave_up is None and not victim.zone():
                gave_up = now_ms()
            for n in nodes:
                zz = n.zone()
                acq = (zz or {}).get("acquired") or {}
                # `epoch` follows the lease at once, `acquired` once the zone's supervisor
                # has handled the take: until then it is the node's previous acquisition.
                if zz and zz["epoch"] > old_epoch and acq.get("epoch") == zz["epoch"] \
                        and acq.get("dialing_resumed_at_ms"):
                    return n, zz
            return None
        return check

    # A cut master's lease runs out in the database by lease_ttl: allow that, a peer's death
    # (peer_dead_after), a renewal and slack; a restart is not waited for.
    limit_s = (ttl + dead + renew) / 1000.0 + 3
    new_master, zz, t_heal = survivor, None, None
    try:
        new_master, zz = wait_for(f"{survivor.name} dialing zone1 again", limit_s, resumed([survivor]))
    except TimeoutError:
        if not cut:
            raise
    if cut and gave_up is None:
        try:
            gave_up = wait_for(f"{victim.name} giving zone1 up", 1, lambda: None if victim.zone() else now_ms())
        except TimeoutError:
            pass
    if gave_up is not None:
        r["gave_up_ms"] = gave_up - t0
    elif cut:
        r["gave_up_ms"] = None
    if scenario == "sigterm":
        p = victim.proc
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
        r["exit_ms"] = now_ms() - t0
        r["exit_code"] = p.returncode
        victim.proc = None
    problems = []
    if scenario == "partition" and gave_up is None:
        # Taken over as dead (silent on both paths) before its own lease deadline: see it
        # stop by that deadline before healing.
        try:
            gave_up = wait_for(f"{victim.name} giving zone1 up", ttl / 1000.0 + 1,
                               lambda: None if victim.zone() else now_ms())
            r["gave_up_ms"] = gave_up - t0
        except TimeoutError:
            problems.append(f"{victim.name} still lists zone1 {ttl + 1000} ms after the cut")
    if cut:
        # Back to two connected nodes (the victim was never stopped).
        if zz is None:
            problems.append(f"NO TAKEOVER: {survivor.name} did not take zone1 within {limit_s * 1000:.0f} ms of "
                            f"the cut ({victim.name} gave it up at {r['gave_up_ms']} ms); healed then")
        t_heal = now_ms()
        victim.proxy.heal()
        for n in c.nodes.values():
            n.relay.heal()
        if zz is None:
            new_master, zz = wait_for("zone1 dialing again after the heal", 30, resumed(list(c.nodes.values())))
            r["resumed_after_heal_ms"] = zz["acquired"]["dialing_resumed_at_ms"] - t_heal
            r["resumed_on"] = new_master.name
    r["takeover"] = int(t_heal is None or "resumed_after_heal_ms" not in r)
    acq = zz["acquired"]
    new_epoch = zz["epoch"]
    if r["takeover"]:
        r["taken_ms"] = acq["taken_at_ms"] - t0
        r["resumed_ms"] = acq["dialing_resumed_at_ms"] - t0

    def first_new():
        atts = attempts(new_master, job)
        ts = [first_dialing(a) for a in atts or [] if a.get("epoch") == new_epoch]
        ts = [t for t in ts if t is not None]
        return (min(ts), atts) if ts else None
    first, atts = wait_for("a dialing attempt of the new epoch", 30, first_new, every=0.1)
    if r["takeover"]:
        r["first_dial_ms"] = first - t0
    else:
        r["first_dial_after_heal_ms"] = first - t_heal
    problems += check_epochs(atts)
    old = [a for a in atts if a.get("epoch") == old_epoch]
    if old and any(a.get("node") != victim.name for a in old):
        problems.append(f"epoch {old_epoch} attempts not all from {victim.name}")
    if any(a.get("node") != new_master.name for a in atts if a.get("epoch") == new_epoch):
        problems.append(f"epoch {new_epoch} attempts not all from {new_master.name}")
    if cut:
        late = [first_dialing(a) for a in old if (first_dialing(a) or 0) > t0 + ttl]
        if late:
            problems.append(f"{victim.name} dialed {len(late)} attempts more than lease_ttl after the cut")
    if cut and r.get("gave_up_ms") is not None and r["gave_up_ms"] > ttl + 100:
        problems.append(f"{victim.name} still listed zone1 {r['gave_up_ms']} ms after the cut (lease_ttl {ttl})")
    bound = resume_bound(scenario, c.setting)
    if r.get("resumed_ms") is not None and r["resumed_ms"] > bound:
        problems.append(f"OVER BOUND: dialing resumed {r['resumed_ms']} ms after the {scenario}, bound {bound} ms")
    r["epoch"] = new_epoch

    # Back to two nodes: restart the victim (kill9, sigterm), then wait for the cluster to settle.
    t1 = now_ms()
    if not cut:
        victim.start()
    c.wait_settled()
    r["rejoin_ms"] = now_ms() - (t_heal or t1)
    if r["takeover"] and victim.zone():
        problems.append(f"{victim.name} rejoined as zone1 master, not DORMANT")
    if not r["takeover"] and new_master is victim:
        # No takeover: the zone came back to the victim. "Save and apply" moves it to the
        # other node, so the next round cuts the other one (the rounds alternate).
        st, v = http(survivor.api, "PUT", f"/v1/cluster/zones/{ZONE}",
                     json.dumps({"node": survivor.name, "apply": True}).encode())
        if st != 202:
            problems.append(f"save and apply of zone1 to {survivor.name}: {st} {v}")
        else:
            wait_for(f"zone1 moved to {survivor.name}", 30, resumed([survivor]), every=0.05)
            c.wait_settled()
    return r, problems


def stop_job(c, job):
    """POST stop, then wait until no attempt is transient; returns the number left transient."""
    m = c.master()
    via = m[0] if m else next(n for n in c.nodes.values() if n.proc is not None)
    http(via.api, "POST", f"/v1/jobs/{job}/stop", b"")
    left = None
    deadline = time.time() + TRANSIENT_WAIT_S
    while time.time() < deadline:
        atts = attempts(via, job)
        if atts is not None:
            left = sum(1 for a in atts if a.get("state", {}).get("state") != "completed")
            if left == 0:
                break
        time.sleep(0.5)
    return left, atts or []


# ---------------------------------------------------------------- main

def parse_settings(text):
    out = []
    for item in text.split():
        name, vals = item.split(":")
        out.append((name, tuple(int(x) for x in vals.split("/"))))
    return out


def start_uas(base):
    port = free_port()
    extra = ["-trace_err", "-trace_stat", "-fd", "1", "-trace_screen", "-trace_msg"] if os.environ.get("SIPP_TRACE") == "1" else []
    p = subprocess.Popen(["sipp", "-sn", "uas", "-aa", "-i", "127.0.0.1", "-p", str(port), "-cp", str(free_port()),
                          "-mp", str(free_port()), "-buff_size", "4194304", "-nostdin", *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=base)
    time.sleep(0.3)  # SIPp has no readiness signal; it binds within milliseconds
    if p.poll() is not None:
        raise SystemExit(f"sipp exited at once ({p.returncode})")
    return p, port


def pct(vals, q):
    s = sorted(vals)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main():
    if not os.path.exists(OUTDIAL):
        raise SystemExit(f"{OUTDIAL} not found: cargo build --release -p outdial, or set OUTDIAL=")
    settings = parse_settings(SETTINGS)
    started = time.time()
    base = tempfile.mkdtemp(prefix="outdial-failover-")
    rows, summary, all_problems, all_panics, all_messages = [], [], [], [], {}
    pg = uas = None
    rtp_base = 30000 + (os.getpid() % 24) * 400
    try:
        pg = Pg()
        print(f"PostgreSQL on {pg.port}, temp dir {base}", flush=True)
        for setting in settings:
            name, (ttl, renew, hb, dead) = setting
            # A fresh SIPp per setting: each setting's database numbers attempts from 1 again,
            # and a Call-ID is the attempt id and the node name's hash, so a SIPp that still
            # holds calls of an earlier setting (killed mid-call, never released) takes the
            # new INVITEs for requests inside those dead calls and answers none of them.
            uas, sipp_port = start_uas(base)
            c = Cluster(pg, sipp_port, setting, base, rtp_base)
            try:
                for n in NODES:
                    c.nodes[n].start()
                c.wait_settled()
                for scenario in SCENARIOS:
                    key = f"{name}/{scenario}"
                    c.phase = key
                    est_s = ROUNDS * ((ttl + dead) * 2 / 1000.0 + 8) + 30
                    job = create_job(c.nodes[NODES[1]], f"failover-{name}-{scenario}", int(RATE * est_s))
                    wait_for("the job dialing", 30, lambda: (atts := attempts(c.nodes[NODES[0]], job)) and len(atts) > 0,
                             every=0.1)
                    per = []
                    for rnd in range(1, ROUNDS + 1):
                        try:
                            r, problems = one_round(c, scenario, job, rnd)
                        except Exception as e:  # a round that cannot finish is reported, not fatal
                            problems = [f"round failed: {type(e).__name__}: {e}"]
                            r = None
                        for p in problems:
                            all_problems.append(f"{key} round {rnd}: {p}")
                            print(f"  {kind(p) if kind(p) != 'VIOLATION' else 'VIOLATION:'} {key} round {rnd}: "
                                  f"{p.split(': ', 1)[1] if kind(p) != 'VIOLATION' else p}", flush=True)
                        if r is None:
                            print(f"{key} round {rnd}: FAILED, rest of the scenario skipped", flush=True)
                            for n in c.nodes.values():
                                n.proxy.heal()
                                n.relay.heal()
                                if n.proc is None:
                                    n.start()
                            c.wait_settled(60)
                            break
                        per.append(r)
                        for k, v in r.items():
                            rows.append(f"{key},round{rnd}_{k},{v}")
                        shown = [f"{k} {r[k]}" for k in ("taken_ms", "resumed_ms", "first_dial_ms", "gave_up_ms",
                                                          "exit_ms", "resumed_after_heal_ms", "first_dial_after_heal_ms",
                                                          "resumed_on") if k in r]
                        print(f"{key} round {rnd}: {r['victim']} -> epoch {r['epoch']}"
                              f"{'' if r['takeover'] else ' (NO TAKEOVER)'}: {', '.join(shown)}; "
                              f"settled {r['rejoin_ms']} ms after the restart/heal", flush=True)
                    left, atts = stop_job(c, job)
                    bad = check_epochs(atts)
                    if left:
                        bad.append(f"{left} attempts still transient {TRANSIENT_WAIT_S} s after stop")
                    for p in bad:
                        all_problems.append(f"{key} end: {p}")
                        print(f"  VIOLATION: {key} end: {p}", flush=True)
                    codes = {}
                    for a in atts:
                        code = a.get("state", {}).get("code", a.get("state", {}).get("state"))
                        codes[code] = codes.get(code, 0) + 1
                    held = sorted(a["history"][-1][0] - first_dialing(a) for a in atts
                                  if a.get("state", {}).get("code") == "answered-human" and first_dialing(a))
                    held_p50 = held[len(held) // 2] if held else None
                    print(f"{key}: job {job}: {len(atts)} attempts, transient left {left}, codes {codes}, "
                          f"answered calls last {held_p50} ms (p50, dialing to completed)", flush=True)
                    rows += [f"{key},attempts,{len(atts)}", f"{key},transient_left,{left}",
                             f"{key},answered_call_ms_p50,{held_p50}",
                             f"{key},invariant_violations,{count(all_problems, key, 'VIOLATION')}",
                             f"{key},over_bound,{count(all_problems, key, 'OVER BOUND')}",
                             f"{key},resumed_bound_ms,{resume_bound(scenario, setting)}"]
                    rows.append(f"{key},takeovers,{sum(r['takeover'] for r in per)}")
                    summary.append((name, f"{ttl}/{renew}/{hb}/{dead}", scenario, "takeovers", len(per),
                                    sum(r["takeover"] for r in per), "", "", ""))
                    for metric in ("taken_ms", "resumed_ms", "first_dial_ms", "gave_up_ms", "exit_ms",
                                   "resumed_after_heal_ms", "first_dial_after_heal_ms"):
                        vals = [r[metric] for r in per if r.get(metric) is not None]
                        if not vals:
                            continue
                        mn, p50, mx = min(vals), pct(vals, 0.5), max(vals)
                        rows += [f"{key},{metric}_min,{mn}", f"{key},{metric}_p50,{p50}", f"{key},{metric}_max,{mx}"]
                        bound = resume_bound(scenario, setting) if metric == "resumed_ms" else ""
                        summary.append((name, f"{ttl}/{renew}/{hb}/{dead}", scenario, metric, len(vals), mn, p50, mx, bound))
            finally:
                c.stop()
                uas.send_signal(signal.SIGKILL)
                uas.wait()
                uas = None
                for n in c.nodes.values():
                    all_panics += n.panics
                    for k, v in n.messages.items():
                        all_messages[k] = all_messages.get(k, 0) + v
                    errors = sum(v for k, v in n.messages.items() if k[1] == "ERROR")
                    rows += [f"{name},{n.name}_error_lines,{errors}", f"{name},{n.name}_panics,{len(n.panics)}"]
    finally:
        if uas is not None:
            uas.send_signal(signal.SIGKILL)
            uas.wait()
        if pg is not None:
            pg.stop()
        if KEEP:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    elapsed = time.time() - started
    rows.append(f"all,runtime_s,{elapsed:.1f}")
    by_kind = {k: [p for p in all_problems if kind(p.split(": ", 1)[1]) == k] for k in ("VIOLATION", "NO TAKEOVER", "OVER BOUND")}
    rows.append(f"all,invariant_violations,{len(by_kind['VIOLATION'])}")
    rows.append(f"all,rounds_without_takeover,{len(by_kind['NO TAKEOVER'])}")
    rows.append(f"all,rounds_over_bound,{len(by_kind['OVER BOUND'])}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("scenario,metric,value\n" + "\n".join(rows) + "\n")

    print(f"\n{'setting':<8} {'ttl/renew/hb/dead':<18} {'scenario':<9} {'metric':<24} {'n':>2} "
          f"{'min':>6} {'p50':>6} {'max':>6} {'bound':>6}  (ms from the kill/SIGTERM/cut)")
    for s in summary:
        print(f"{s[0]:<8} {s[1]:<18} {s[2]:<9} {s[3]:<24} {s[4]:>2} {s[5]:>6} {s[6]:>6} {s[7]:>6} {s[8]:>6}")
    for k, title in (("VIOLATION", "invariant violations"), ("NO TAKEOVER", "rounds without a takeover"),
                     ("OVER BOUND", "rounds over the resume bound")):
        print(f"\n{title}: {len(by_kind[k])}" if k == "VIOLATION" else f"{title}: {len(by_kind[k])}")
        for p in by_kind[k]:
            print(f"  {p}")
    print(f"node panics: {len(all_panics)}")
    for e in all_panics[:10]:
        print(f"  {e[:300]}")
    print("node ERROR/WARN messages by phase (setting/scenario, summed over both nodes and all rounds):")
    for (phase, level, msg), v in sorted(all_messages.items()):
        print(f"  {phase:<18} {level:<5} {v:>5} x {msg[:160]}")
    print(f"runtime {elapsed:.0f} s; rows in {OUT}")


if __name__ == "__main__":
    main()
