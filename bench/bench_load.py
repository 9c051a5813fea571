"""Load test of signed-in users on loopback: N concurrent users for S seconds against gunicorn.

    .venv/bin/python bench/bench_load.py [--users 50] [--seconds 60] [--patients 20000] [--workers 2]

1. Generates the dataset and trains the models into a scratch var dir (first run), creates
   the users (admin, coordinators of all sites, analysts) and starts gunicorn
   (--workers 2 --preload) on a free loopback port.
2. Each virtual user signs in through the /login form (CSRF token, argon2 check), loads the
   Dash layout once, then loops until the deadline over a mix of page loads, aggregate
   callbacks (Overview, Pathways, Model subgroups) and, for coordinators, the Worklist, a
   Patient page and the JSON API (a Bearer token). Analysts call only what their role allows.
3. Counts every response that is not 200 as an error, and reads the workers' RSS before and after.
Bounded in time (the deadline, plus a 30 s timeout per request); only 127.0.0.1 is contacted.
Writes bench/results/load.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.local_server import free_port, wait_healthy

PASSWORD = "bench-load-password"
QUERIES = ("", "?program=diabetes", "?payer=Medicaid", "?sex=F&age=50-80", "?risk=high", "?region=rural")
PAGES = ("/", "/pathways", "/model", "/scenarios")
COORDINATOR_PAGES = ("/worklist", "/patient")


def _rss_mb(pid: int) -> dict:
    import psutil

    master = psutil.Process(pid)
    return {str(child.pid): round(child.memory_info().rss / 2**20, 1) for child in master.children()}


def _callback_bodies(dependencies: list) -> dict:
    """The Dash dispatch requests the load mixes, built from the served app's own dependency list."""
    def body(dep, values):
        output = dep["output"]
        parts = output.strip(".").split("...") if output.startswith("..") else [output]
        outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
        inputs = [{"id": i["id"], "property": i["property"], "value": values.get((i["id"], i["property"]))}
                  for i in dep["inputs"]]
        state = [{"id": s["id"], "property": s["property"], "value": None} for s in dep.get("state", [])]
        return {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
                "state": state, "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else []}

    wanted = {"overview": "kpi-patients.children", "pathways": "sankey-graph.figure",
              "subgroups": "model-subgroup-grid.rowData", "worklist": "worklist-grid.rowData",
              "patient": "patient-header.children"}
    found = {}
    for dep in dependencies:
        for name, marker in wanted.items():
            if marker in dep["output"] and isinstance(dep["inputs"][0]["id"], str):
                found[name] = (dep, body)
    missing = set(wanted) - set(found)
    if missing:
        raise SystemExit(f"the served app has no callback for {sorted(missing)}")
    return found


class VirtualUser(threading.Thread):
    def __init__(self, base, name, role, deadline, callbacks, patient_ids, token, seed, results):
        super().__init__(daemon=True)
        self.base, self.name, self.role, self.deadline = base, name, role, deadline
        self.callbacks, self.patient_ids, self.token = callbacks, patient_ids, token
        self.random, self.results = random.Random(seed), results

    def _record(self, kind, response, started):
        elapsed = (time.perf_counter() - started) * 1000
        with self.results["lock"]:
            self.results["latency"].setdefault(kind, []).append(elapsed)
            self.results["status"][f"{kind} {response.status_code}"] += 1
            if response.status_code != 200:
                self.results["errors"] += 1

    def run(self):
        import requests

        session = requests.Session()
        page = session.get(self.base + "/login", timeout=30)
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        started = time.perf_counter()
        signed = session.post(self.base + "/login", data={"username": self.name, "password": PASSWORD,
                                                          "csrf_token": csrf}, allow_redirects=False, timeout=30)
        signed.status_code = 200 if signed.status_code == 302 else signed.status_code
        self._record("sign-in", signed, started)
        for path in ("/_dash-layout", "/_dash-dependencies"):
            started = time.perf_counter()
            self._record("layout", session.get(self.base + path, timeout=30), started)
        choices = ["page", "overview", "pathways", "subgroups"]
        if self.role != "analyst":
            choices += ["worklist", "patient", "api"]
        while time.monotonic() < self.deadline:
            kind = self.random.choice(choices)
            started = time.perf_counter()
            query = self.random.choice(QUERIES)
            if kind == "page":
                pages = PAGES + (COORDINATOR_PAGES if self.role != "analyst" else ())
                response = session.get(self.base + self.random.choice(pages), timeout=30)
            elif kind == "api":
                response = session.get(self.base + "/api/v1/outreach/candidates?limit=25", timeout=30,
                                       headers={"Authorization": f"Bearer {self.token}"})
            else:
                dep, body = self.callbacks[kind]
                values = {("cohort-query", "data"): query, ("worklist-capacity", "value"): 25,
                          ("patient-search", "value"): self.random.choice(self.patient_ids),
                          ("model-subgroup-model", "value"): None, ("url", "pathname"): "/model"}
                response = session.post(self.base + "/_dash-update-component", json=body(dep, values), timeout=30)
            self._record(kind, response, started)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--patients", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--var-dir", help="scratch runtime folder (default: a temporary one, kept between runs "
                                          "under the system temp dir so data and models are reused)")
    args = parser.parse_args(argv)
    var_dir = Path(args.var_dir or Path(tempfile.gettempdir()) / f"carepath-bench-load-{args.patients}")
    env = {**os.environ, "CAREPATH_VAR_DIR": str(var_dir), "CAREPATH_PATIENTS": str(args.patients),
           "CAREPATH_DATABASE_URL": f"sqlite:///{var_dir / 'carepath.db'}"}
    env.pop("CAREPATH_DATA_DIR", None)
    os.environ.update({k: env[k] for k in ("CAREPATH_VAR_DIR", "CAREPATH_PATIENTS", "CAREPATH_DATABASE_URL")})

    from app.access.store import open_store

    store = open_store()
    n_coordinators = args.users // 2
    roles = ["coordinator"] * n_coordinators + ["analyst"] * (args.users - n_coordinators)
    tokens = {}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = var_dir / "bench-load-gunicorn.log"
    print(f"starting gunicorn ({args.workers} workers) on {base}, {args.patients:,} patients ...", flush=True)
    with open(log_path, "w") as log_file:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--preload",
                                   "--no-control-socket", "--bind", f"127.0.0.1:{port}", "--timeout", "120",
                                   "wsgi:server"], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_healthy(base, timeout=1800)
            import requests

            health = requests.get(base + "/healthz", timeout=30).json()
            for i, role in enumerate(roles):
                name = f"load-{role}-{i:02d}"
                if store.users.get(name) is None:
                    sites = () if role != "coordinator" else _all_sites(var_dir)
                    store.users.add(name, role, PASSWORD, sites)
                if role == "coordinator":
                    tokens[name] = store.users.issue_token(name)
            admin = requests.Session()
            page = admin.get(base + "/login", timeout=30)
            csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            first = roles.index("coordinator")
            admin.post(base + "/login", data={"username": f"load-coordinator-{first:02d}", "password": PASSWORD,
                                              "csrf_token": csrf}, timeout=30)
            dependencies = admin.get(base + "/_dash-dependencies", timeout=30).json()
            candidates = admin.get(base + "/api/v1/outreach/candidates?limit=200", timeout=30,
                                   headers={"Authorization": f"Bearer {tokens[f'load-coordinator-{first:02d}']}"}).json()
            patient_ids = [c["patient_id"] for c in candidates["candidates"]] or ["P0000001"]
            callbacks = _callback_bodies(dependencies)
            time.sleep(1.0)
            rss_before = _rss_mb(server.pid)
            results = {"lock": threading.Lock(), "latency": {}, "status": Counter(), "errors": 0}
            deadline = time.monotonic() + args.seconds
            users = [VirtualUser(base, f"load-{role}-{i:02d}", role, deadline, callbacks, patient_ids,
                                 tokens.get(f"load-{role}-{i:02d}"), seed=i, results=results)
                     for i, role in enumerate(roles)]
            started = time.perf_counter()
            for user in users:
                user.start()
            for user in users:
                user.join(timeout=args.seconds + 120)
            wall = time.perf_counter() - started
            rss_after = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    latency = {kind: {"n": len(v), "p50_ms": round(float(np.percentile(v, 50)), 1),
                      "p95_ms": round(float(np.percentile(v, 95)), 1), "max_ms": round(float(max(v)), 1)}
               for kind, v in sorted(results["latency"].items())}
    total = sum(len(v) for v in results["latency"].values())
    out = {"date": str(date.today()), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                                 f"Python {platform.python_version()}",
           "patients": health.get("patients"), "users": args.users, "coordinators": n_coordinators,
           "seconds": args.seconds, "workers": args.workers, "requests": total,
           "requests_per_second": round(total / wall, 1), "errors": results["errors"],
           "status": dict(results["status"]), "latency": latency,
           "worker_rss_mb_before": rss_before, "worker_rss_mb_after": rss_after}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "load.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    store.engine.dispose()


def _all_sites(var_dir: Path) -> tuple[str, ...]:
    from data.io import read_dataset

    patients = read_dataset(var_dir / "data").patients
    return tuple(sorted(str(s) for s in patients["site"].dropna().unique()))


if __name__ == "__main__":
    main()
