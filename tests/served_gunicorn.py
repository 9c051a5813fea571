"""CarePath served by gunicorn as serve.sh serves it (2 workers, --preload) on a free loopback
port, for the tests that need real worker processes (concurrent writes, background jobs)."""
from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from scripts.local_server import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def gunicorn_workers(env: dict, log_path: Path, start_timeout: float, request_timeout: int = 120):
    """Yield the base URL once /healthz answers; the server log goes to ``log_path`` (its tail is
    the assertion message when the server does not start)."""
    port = free_port()
    with open(log_path, "w") as log_file:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--preload",
                                   "--no-control-socket", "--bind", f"127.0.0.1:{port}",
                                   "--timeout", str(request_timeout), "tests.database.fast_wsgi:server"],
                                  cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            try:
                wait_healthy(f"http://127.0.0.1:{port}", timeout=start_timeout)
            except TimeoutError:
                raise AssertionError(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}") from None
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=30)
