"""Start and stop optlab servers for the load harness: one ``streamlit run`` process, or K of
them behind nginx via ``deploy/run_cluster.sh``. Everything listens on 127.0.0.1 only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "deploy" / "run_cluster.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (nginx workers under the master)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


@dataclass
class Server:
    """A running server (or cluster): its URL, the process we own, and pids to watch."""

    url: str
    proc: subprocess.Popen | None = None
    pids: dict[int, str] = field(default_factory=dict)
    log: Path | None = None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path)


def _wait(server: Server, what: str, timeout: float) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc is not None and server.proc.poll() is not None:
            text = server.log.read_text()[-3000:] if server.log else ""
            raise RuntimeError(f"{what} exited early:\n{text}")
        if healthy(server.url):
            return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")


def streamlit_command(port: int) -> list[str]:
    """``streamlit run app.py`` on ``port`` (shared with the browser tests); every other
    server setting comes from ``.streamlit/config.toml``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.port",
        str(port),
    ]


def start_streamlit(workdir: Path, port: int = 0, timeout: float = 120) -> Server:
    """``streamlit run app.py`` on 127.0.0.1:``port`` (a free one if 0), output to a log."""
    port = port or free_port()
    cmd = streamlit_command(port)
    log = workdir / f"streamlit-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/", proc, {proc.pid: f"streamlit:{port}"}, log)
    return _wait(server, "streamlit", timeout)


def start_cluster(workdir: Path, k: int, port: int = 0, timeout: float = 180) -> Server:
    """``deploy/run_cluster.sh k port``: K backends behind nginx on 127.0.0.1:``port``."""
    port = port or free_port()
    run_dir = workdir / "cluster"
    env = dict(_env(), OPTLAB_RUN_DIR=str(run_dir), OPTLAB_LISTEN="127.0.0.1",
               OPTLAB_PYTHON=sys.executable)  # fmt: skip
    log = workdir / "cluster.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["bash", str(CLUSTER), str(k), str(port)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    server = _wait(Server(f"http://127.0.0.1:{port}/", proc, log=log), "run_cluster.sh", timeout)
    for line in (run_dir / "pids").read_text().splitlines():
        pid, name = line.split(maxsplit=1)
        server.pids[int(pid)] = name
        if name == "nginx":
            server.pids.update(dict.fromkeys(children(int(pid)), "nginx-worker"))
    return server
