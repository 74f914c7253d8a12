"""Child processes of a benchmark: servers that are always stopped, and a bound on run time."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


class OutOfTime(Exception):
    """The benchmark ran past its time limit; everything it started is being cleaned up."""


@contextlib.contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Raise :class:`OutOfTime` in the main thread after ``seconds``; SIGTERM raises too.

    Either way the ``finally`` blocks below (servers, scratch databases) still run.
    """
    def out_of_time(signum, frame):
        raise OutOfTime(f"{what} took longer than {seconds} s")

    def terminated(signum, frame):
        raise SystemExit(f"{what} was terminated")

    previous = signal.signal(signal.SIGALRM, out_of_time), signal.signal(signal.SIGTERM, terminated)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], *, timeout: float, env: dict | None = None) -> str:
    """Run a command to completion (bounded); its stdout, or an error with its stderr."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def _stop_group(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the server's own process group (it leads it), then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # workers of a supervisor that has already exited
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def server(cmd: list[str], *, port: int, env: dict, ready_path: str = "/healthz",
           log: Path, start_timeout: float = 60) -> Iterator[subprocess.Popen]:
    """Start an HTTP server on 127.0.0.1:``port`` and yield once it answers ``ready_path``."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited ({proc.returncode}) before serving; "
                                   f"log:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[0]} did not answer within {start_timeout} s") from None
                time.sleep(0.2)
        yield proc
    except Exception as exc:  # what the server said is usually why
        exc.add_note(f"{cmd[0]} exit code {proc.poll()}; its log ends:\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        _stop_group(proc)


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request, for a smoke test before the load."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def cpu_busy(seconds: float = 2.0) -> float:
    """The fraction of the machine's CPU time spent busy over the next ``seconds`` (Linux).

    Taken before each benchmark: other work on the machine takes cores from the one measured.
    """
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    try:
        busy0, total0 = sample()
        time.sleep(seconds)
        busy1, total1 = sample()
    except OSError:
        return float("nan")
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_for_quiet(max_seconds: float, threshold: float = 0.15) -> float:
    """Wait (at most ``max_seconds``) until the machine is mostly idle; returns the last reading."""
    deadline = time.monotonic() + max_seconds
    busy = cpu_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy()
    return busy


def code_revision() -> str:
    """Which ombuds is measured: its path, and the git commit when it is this repository's."""
    import ombuds
    src = Path(ombuds.__file__).resolve().parent.parent
    stamp = src.parent / "REVISION"  # an exported tree (git archive) says where it came from
    if stamp.exists() and not (src.parent / ".git").exists():
        return f"{stamp.read_text().strip()} ({src})"
    try:
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "-C", str(src), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        head, dirty = "", ""
    if not head:
        return f"{src} (not a git checkout)"
    return f"{head}{' with uncommitted changes in src/' if dirty else ''} ({src})"


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, CPU seconds used so far, of which in the kernel) of a live process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, int(fields[12]) / _TICK


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (a server's supervisor and workers)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))):
            parents[int(entry)] = stat[0]
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb(pid: int) -> float | None:
    """Resident memory of a live process, in MB (10^6 bytes)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 1e6
    except (OSError, IndexError, ValueError):
        return None


def machine_cpu_seconds() -> float:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / _TICK


class CpuMeter:
    """CPU seconds spent during one measured run, by who spent them; the server's peak memory.

    The server's processes, the PostgreSQL backends serving its database, the load
    generator (a child of this process), and the rest of the machine (anything else
    running: it competes for the same two cores). Every quarter second the resident
    memory of each of the server's processes is read too: ``rss_mb`` holds the
    largest any one process reached (``server_process``: what the RSS target is about) and
    the largest sum over them (``server_total``: a supervisor and its workers).
    """

    def __init__(self, server_pid: int | None, backend_pids):
        self.server_pid = server_pid
        self.backend_pids = backend_pids  # a callable: the backends' pids right now

    def _snapshot(self) -> dict:
        tree = process_tree(self.server_pid) if self.server_pid else []
        server_stats = {pid: s for pid in tree if (s := _proc_stat(pid))}
        backends = {pid: s[1] for pid in self.backend_pids() if (s := _proc_stat(pid))}
        children = os.times()
        return {"server": {pid: s[1] for pid, s in server_stats.items()},
                "server_kernel": {pid: s[2] for pid, s in server_stats.items()},
                "backends": backends, "machine": machine_cpu_seconds(),
                "children": children.children_user + children.children_system}

    def __enter__(self) -> CpuMeter:
        import threading
        self.before = self._snapshot()
        self._last_backends = dict(self.before["backends"])
        self._rss_peak, self._rss_total_peak = 0.0, 0.0
        self._sample_rss()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()
        return self

    def _sample_rss(self) -> None:
        if not self.server_pid:
            return
        sizes = [m for pid in process_tree(self.server_pid) if (m := rss_mb(pid)) is not None]
        if sizes:
            self._rss_peak = max(self._rss_peak, max(sizes))
            self._rss_total_peak = max(self._rss_total_peak, sum(sizes))

    def _poll(self) -> None:
        """Backends that exit before the end (pgbench's) keep the CPU last seen for them."""
        while not self._stop.wait(0.25):
            try:
                for pid in self.backend_pids():
                    if (s := _proc_stat(pid)):
                        self._last_backends[pid] = s[1]
                self._sample_rss()
            except Exception:  # a missed reading only loses a quarter second of one backend
                pass

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._poller.join(timeout=5)
        after = self._snapshot()
        after["backends"] = {**self._last_backends, **after["backends"]}

        def spent(key: str) -> float:
            return sum(cpu - self.before[key].get(pid, 0.0) for pid, cpu in after[key].items())

        self.result = {"server": spent("server"), "server_in_kernel": spent("server_kernel"),
                       "postgres": spent("backends"),
                       "load_generator": after["children"] - self.before["children"],
                       "machine": after["machine"] - self.before["machine"]}
        self.rss_mb = ({"server_process": self._rss_peak, "server_total": self._rss_total_peak}
                       if self.server_pid else {})
        self.result["other"] = max(self.result["machine"] - self.result["server"] - self.result["postgres"]
                                   - self.result["load_generator"], 0.0)
