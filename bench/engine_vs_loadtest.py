#!/usr/bin/env python3
"""The dialer engine's agentless rate against `outdial loadtest`'s, against the same SIPp UAS.

For each rate R (env RATES, default "50 100 200 400"), with N = R * SECONDS contacts/calls:
  engine:   `outdial run` (fresh data dir) dials an agentless campaign of N contacts at R calls/s
            into `sipp -sn uas`; every answered call hears the campaign message (a 1 s tone over
            RTP) and is released; attempts are durable (group commit) before each INVITE.
  loadtest: `outdial loadtest --rate R --calls N --media --hold-ms 1000` against a fresh
            `sipp -sn uas`: the same call shape (1 s of RTP each) without persistence or actors.
A run has zero failures when every call/attempt was answered. Rows `scenario,metric,value` go to
bench/results/engine_vs_loadtest.csv and a summary to stdout: the highest zero-failure rate of
each and their ratio. Only loopback; every process started here is killed by its pid.
"""
import json, os, signal, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTDIAL = os.environ.get("OUTDIAL", os.path.join(ROOT, "target", "release", "outdial"))
RATES = [float(r) for r in os.environ.get("RATES", "50 100 200 400").split()]
SECONDS = float(os.environ.get("SECONDS_PER_STEP", "5"))
OUT = os.environ.get("OUT", os.path.join(ROOT, "bench", "results", "engine_vs_loadtest.csv"))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_uas():
    port = free_port()
    p = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-ci", "127.0.0.1",
                          "-cp", str(free_port()), "-mp", str(free_port()), "-buff_size", "4194304", "-nostdin"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    time.sleep(0.3)  # SIPp has no readiness signal; it binds within milliseconds
    return p, port


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    p.wait()


def http(base, method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def run_engine(rate, n):
    uas, port = start_uas()
    d = tempfile.mkdtemp(prefix="outdial-bench-")
    cfg = os.path.join(d, "node.toml")
    with open(cfg, "w") as f:
        f.write(f"""[node]
name = "bench"
data_dir = "{d}/db"
[sip]
bind = "127.0.0.1:{free_port()}"
[rtp]
port_first = 20000
port_last = 29998
[http]
bind = "127.0.0.1:0"
[[mpp]]
name = "sipp"
address = "127.0.0.1:{port}"
capacity = 20000
""")
    node = subprocess.Popen([OUTDIAL, "run", "--config", cfg], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    base = None
    deadline = time.time() + 20
    while time.time() < deadline and base is None:
        line = node.stderr.readline()
        if "API http://" in line:
            base = "http://" + line.split("API http://")[1].split()[0]
    if base is None:
        stop(node); stop(uas)
        raise SystemExit("outdial run did not start")
    spec = {"name": f"bench-{rate}", "mode": "agentless", "load_test": True, "test_ranges": ["+1212"], "ring_timeout_ms": 5000,
            "agentless": {"rate_cps": rate, "max_concurrent": 20000},
            "calling_hours": {"start": "00:00", "end": "00:00"},
            "retry": {c: {"delay_s": 1, "max_attempts": 1} for c in
                      ["busy", "no-answer", "network-failure", "timeout", "no-media-resource", "recovered-after-failover", "nuisance"]}}
    job = http(base, "POST", "/v1/campaigns", json.dumps(spec).encode())["job"]
    csv = "phone\n" + "".join(f"+1212{i:07d}\n" for i in range(int(n)))
    http(base, "POST", f"/v1/jobs/{job}/contacts", csv.encode(), "text/csv")
    cpu0 = cpu_of(node.pid)
    http(base, "POST", f"/v1/jobs/{job}/start", b"")
    deadline = time.time() + SECONDS * 4 + 60
    report = None
    while time.time() < deadline:
        report = http(base, "GET", f"/v1/jobs/{job}")
        if report["job"]["state"] in ("finished", "stopped"):
            break
        time.sleep(0.2)
    cpu = cpu_of(node.pid) - cpu0
    attempts = http(base, "GET", f"/v1/jobs/{job}/attempts")
    stop(node); stop(uas)
    starts = [a["history"][0][0] for a in attempts if a["history"]]
    answered = sum(1 for a in attempts if a["state"].get("code") == "answered-human")
    failed = len(attempts) - answered
    span = (max(starts) - min(starts)) / 1000.0 if len(starts) > 1 else 0.0
    cps = (len(starts) - 1) / span if span > 0 else 0.0
    return {"attempts": len(attempts), "answered": answered, "failed": failed, "cps": cps, "cpu_seconds": cpu,
            "by_code": report["stats"]["by_code"] if report else {}}


def cpu_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100.0
    except OSError:
        return 0.0


def run_loadtest(rate, n):
    uas, port = start_uas()
    out = subprocess.run([OUTDIAL, "loadtest", "--target", f"127.0.0.1:{port}", "--rate", str(rate), "--calls", str(int(n)),
                          "--media", "--hold-ms", "1000", "--json"], capture_output=True, text=True, timeout=SECONDS * 4 + 120)
    stop(uas)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    failed = sum(r["failed"].values())
    return {"attempts": r["attempted"], "answered": r["answered"], "failed": failed, "cps": r["cps"], "cpu_seconds": r["cpu_seconds"]}


def main():
    if not os.path.exists(OUTDIAL):
        raise SystemExit(f"{OUTDIAL} not found: cargo build --release -p outdial, or set OUTDIAL=")
    rows = []
    best = {"engine": 0.0, "loadtest": 0.0}
    for i, rate in enumerate(RATES):
        n = rate * SECONDS
        order = [("engine", run_engine), ("loadtest", run_loadtest)]
        if i % 2:
            order.reverse()
        for name, fn in order:
            r = fn(rate, n)
            ok = r["failed"] == 0 and r["answered"] == int(n)
            print(f"{name:>8} rate {rate:>6.0f}: {r['answered']}/{int(n)} answered, {r['failed']} failed, "
                  f"{r['cps']:.1f} cps, {r['cpu_seconds']:.2f} CPU s" + ("" if ok else "  FAIL"), flush=True)
            for k in ("attempts", "answered", "failed", "cps", "cpu_seconds"):
                rows.append(f"{name},rate_{rate:.0f}_{k},{r[k]}")
            if ok:
                best[name] = max(best[name], rate)
    ratio = best["engine"] / best["loadtest"] if best["loadtest"] else 0.0
    rows += [f"engine,highest_zero_failure_rate,{best['engine']}", f"loadtest,highest_zero_failure_rate,{best['loadtest']}",
             f"engine,ratio_to_loadtest,{ratio:.3f}"]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("scenario,metric,value\n" + "\n".join(rows) + "\n")
    print(f"highest zero-failure rate: engine {best['engine']:.0f} cps, loadtest {best['loadtest']:.0f} cps, ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
