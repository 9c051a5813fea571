"""Start-up that heals (issue 11 item 4): Redis down -> file cache with a warning; a runtime
folder that cannot be written -> one sentence and exit code 3, no traceback; temporary
folders left by a crashed dataset write removed, and only ours."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from callbacks import context
from data.settings import get_settings
from data.store import RuntimeFolderError, check_runtime_folders, prepare_runtime

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_redis_falls_back_to_the_file_cache_with_a_warning(tmp_path):
    """Issue 11: REDIS_URL pointing at a closed port killed gunicorn, though the cache is optional."""
    settings = replace(get_settings(), redis_url=f"redis://127.0.0.1:{closed_port()}/0",
                       cache_dir=tmp_path / "cache")
    server = Flask("redis-down")
    lines: list[str] = []
    started = time.perf_counter()
    context.init_cache(server, settings, log=lines.append)
    assert time.perf_counter() - started < 10
    assert len(lines) == 1 and lines[0].startswith("warning: REDIS_URL") and "file cache" in lines[0]
    with server.app_context():
        context.cache.set("probe", {"ok": 1})
        assert context.cache.get("probe") == {"ok": 1}
    assert any((tmp_path / "cache").iterdir())


def test_the_warning_never_shows_a_redis_password(tmp_path):
    settings = replace(get_settings(), redis_url=f"redis://:s3cret@127.0.0.1:{closed_port()}/0",
                       cache_dir=tmp_path / "cache")
    lines: list[str] = []
    context.init_cache(Flask("redis-password"), settings, log=lines.append)
    assert "s3cret" not in lines[0]


def _unwritable_var_dir(tmp_path: Path) -> Path:
    """A runtime folder that cannot be written, even by root: its parent is a file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runtime folder's parent should be")
    return blocker / "var"


def test_unwritable_runtime_folder_is_one_clear_sentence(tmp_path):
    var_dir = _unwritable_var_dir(tmp_path)
    settings = replace(get_settings(), var_dir=var_dir, model_dir=var_dir / "models", cache_dir=var_dir / "cache")
    with pytest.raises(RuntimeFolderError) as raised:
        check_runtime_folders(settings)
    message = str(raised.value)
    assert str(var_dir) in message and "CAREPATH_VAR_DIR" in message
    assert message.count(". ") == 0 and message.endswith(".")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_runtime_folder_is_refused(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    var_dir.chmod(0o555)
    try:
        settings = replace(get_settings(), var_dir=var_dir, model_dir=var_dir / "models",
                           cache_dir=var_dir / "cache")
        with pytest.raises(RuntimeFolderError, match="permission denied"):
            check_runtime_folders(settings)
    finally:
        var_dir.chmod(0o755)


def test_serving_with_an_unwritable_runtime_folder_exits_3_without_a_traceback(tmp_path):
    """Issue 11: a read-only runtime folder gave a traceback. wsgi.py (what gunicorn imports)
    now stops with one sentence naming the folder and the setting."""
    var_dir = _unwritable_var_dir(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAREPATH_")}
    env["CAREPATH_VAR_DIR"] = str(var_dir)
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"cannot write to its runtime folder {var_dir}" in result.stderr


def _aged(folder: Path, seconds: float = 3600) -> Path:
    folder.mkdir()
    (folder / "patients.parquet").write_bytes(b"half-written")
    past = time.time() - seconds
    os.utime(folder, (past, past))
    return folder


def test_leftover_dataset_temp_folders_are_removed_at_start_up(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    crashed_write = _aged(var_dir / ".data.tmp-1a2b3c4d")
    stepped_aside = _aged(var_dir / ".data.old-0f0f0f0f")
    in_progress = var_dir / ".data.tmp-99999999"
    in_progress.mkdir()  # young: a writer may still be at work
    not_ours = _aged(var_dir / "data.tmp-1a2b3c4d")
    settings = replace(get_settings(), var_dir=var_dir, data_dir=var_dir / "data", data_dir_configured=False,
                       model_dir=var_dir / "models", cache_dir=var_dir / "cache", redis_url=None)
    lines: list[str] = []
    prepare_runtime(settings, lines.append)
    assert not crashed_write.exists() and not stepped_aside.exists()
    assert in_progress.exists() and not_ours.exists()
    assert len(lines) == 2 and all("interrupted write" in line for line in lines)


def test_a_users_data_folder_is_never_cleaned(tmp_path):
    """Next to a folder named by CAREPATH_DATA_DIR, even our own pattern is left alone: it is
    the user's disk, not our runtime folder."""
    users = tmp_path / "users"
    users.mkdir()
    lookalike = _aged(users / ".data.tmp-1a2b3c4d")
    var_dir = tmp_path / "var"
    settings = replace(get_settings(), var_dir=var_dir, data_dir=users / "data", data_dir_configured=True,
                       model_dir=var_dir / "models", cache_dir=var_dir / "cache", redis_url=None)
    prepare_runtime(settings, print)
    assert lookalike.exists()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_gunicorn_preload_trains_leaves_no_workers_and_stops_without_tracebacks(small_dataset, tmp_path):
    """Issue 11: each training run left two ~300 MB joblib worker processes for minutes, and
    the gunicorn master printed "AssertionError: can only join a child process" tracebacks at
    shutdown. Serve as scripts/serve.sh does (--preload, 2 workers) with an empty model folder,
    so the master trains, and with REDIS_URL at a closed port (the file cache takes over)."""
    import urllib.request

    from scripts.local_server import free_port, wait_healthy

    port = free_port()
    env = {**os.environ, "CAREPATH_VAR_DIR": str(tmp_path / "var"), "CAREPATH_DATA_DIR": str(small_dataset.source_dir),
           "CAREPATH_MODEL_DIR": str(tmp_path / "models"), "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log_file:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--preload",
                                   "--no-control-socket", "--bind", f"127.0.0.1:{port}", "--timeout", "120",
                                   "tests.database.fast_wsgi:server"],
                                  cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", timeout=600)
            deadline = time.monotonic() + 60
            while len(_descendants(server.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.5)  # healthy once one worker answers; the second may still be forking
            time.sleep(2)
            descendants = _descendants(server.pid)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as response:
                server_header = response.headers.get("Server", "")
        finally:
            server.terminate()
            server.wait(timeout=60)
    log = log_path.read_text()
    assert "training models" in log, "the master was meant to train"
    assert len(descendants) == 2, f"expected the 2 gunicorn workers only, found {len(descendants)} processes"
    assert "warning: REDIS_URL" in log
    assert "Traceback" not in log and "AssertionError" not in log, log[-3000:]
    assert server_header == "gunicorn", server_header  # no version, no Python
