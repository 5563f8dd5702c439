"""Throwaway Redis servers for tests that need a Cluster or Sentinel: our own processes on free
ports in a temp folder, stopped by pid (never the machine's Redis)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REDIS_SERVER = "redis-server"
REDIS_CLI = "redis-cli"
# Cluster nodes also listen on port + 10000 (the cluster bus).
BUS_OFFSET = 10_000


def free_port(bus: bool = False) -> int:
    """An OS-assigned free port; with `bus`, one whose cluster bus port is free as well."""
    return free_ports(1, bus=bus)[0]


def free_ports(count: int, bus: bool = False) -> list[int]:
    """`count` distinct OS-assigned free ports; with `bus`, each one's cluster bus port is free too
    (and none is another's bus port). Every socket stays bound until all are chosen, so the OS
    cannot hand the same port out twice within one call."""
    with contextlib.ExitStack() as held:

        def hold(port: int) -> int | None:
            # No SO_REUSEADDR: with it, Linux lets two idle sockets share a port, and then holding
            # would not exclude one. (A bus port with TIME_WAIT leftovers is merely skipped.)
            sock = held.enter_context(socket.socket())
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return None
            return int(sock.getsockname()[1])

        chosen: list[int] = []
        for _ in range(100 * count):
            if len(chosen) == count:
                break
            port = hold(0)
            assert port is not None  # the OS always has some port for port 0
            if bus and (port + BUS_OFFSET >= 65536 or hold(port + BUS_OFFSET) is None):
                continue  # this one stays held, so the OS will not offer it again
            chosen.append(port)
        if len(chosen) < count:
            raise RuntimeError(f"found {len(chosen)} of {count} free ports")
        return chosen


def cli(port: int, *args: str, timeout: float = 10) -> str:
    return subprocess.run(
        [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            if predicate():  # type: ignore[operator]
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} within {timeout} s")


@dataclass
class RedisFleet:
    """Every Redis process started here, by port; `stop_all` ends exactly these."""

    root: Path
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, port: int, *args: str, conf: Path | None = None) -> subprocess.Popen[bytes]:
        workdir = self.root / str(port)
        workdir.mkdir(parents=True, exist_ok=True)
        # A config file (which sentinel needs, to write its state to) must come first.
        first = [str(conf)] if conf else []
        with (workdir / "redis.log").open("wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen(
                [REDIS_SERVER, *first, "--port", str(port), "--bind", "127.0.0.1", *args],
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs[port] = proc
        wait_until(lambda: cli(port, "ping").strip() == "PONG", 10, f"redis on {port} up")
        return proc

    def kill(self, port: int) -> None:
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a loaded machine: do not leave it running
                proc.kill()
                proc.wait(timeout=10)
        self.procs.clear()


def start_cluster(
    fleet: RedisFleet, masters: int = 3, replicas: int = 1, ports: list[int] | None = None
) -> list[int]:
    """A Redis Cluster of `masters` primaries with `replicas` each; returns every node's port."""
    ports = ports or free_ports(masters * (1 + replicas), bus=True)
    for port in ports:
        fleet.start(
            port,
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            # A dead master is replaced after ~1 s, so failover tests stay short.
            "--cluster-node-timeout", "1000",
            # Replicas sync at once and may always take over, however stale.
            "--repl-diskless-sync-delay", "0",
            "--cluster-replica-validity-factor", "0",
            "--save", "",
            "--appendonly", "no",
        )  # fmt: skip
    created = subprocess.run(
        [REDIS_CLI, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
         "--cluster-replicas", str(replicas), "--cluster-yes"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if created.returncode != 0:
        raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-2000:]}")
    for port in ports:
        wait_until(
            lambda p=port: "cluster_state:ok" in cli(p, "cluster", "info"),  # type: ignore[misc]
            30,
            f"cluster node {port} ok",
        )
    # A replica that never finished its first sync cannot replace its master.
    for port in ports:
        wait_until(
            lambda p=port: (
                "role:master" in (i := cli(p, "info", "replication"))  # type: ignore[misc]
                or "master_link_status:up" in i
            ),
            30,
            f"cluster node {port} synced",
        )
    return ports


def cluster_masters(port: int) -> list[int]:
    """Ports of the healthy masters (not failing, nor suspected: `fail?`), as `port` sees it."""
    masters = []
    for line in cli(port, "cluster", "nodes").splitlines():
        fields = line.split()
        if "master" in fields[2] and "fail" not in fields[2]:
            masters.append(int(fields[1].split("@")[0].rsplit(":", 1)[1]))
    return sorted(masters)


def slot_owner(port: int, key: str) -> int:
    """The port of the healthy master that serves `key`'s slot, as `port` sees it."""
    slot = int(cli(port, "cluster", "keyslot", key).strip())
    for line in cli(port, "cluster", "nodes").splitlines():
        fields = line.split()
        if "master" not in fields[2] or "fail" in fields[2]:
            continue
        for span in fields[8:]:
            if span.startswith("["):  # a slot being imported or migrated
                continue
            first, _, last = span.partition("-")
            if int(first) <= slot <= int(last or first):
                return int(fields[1].split("@")[0].rsplit(":", 1)[1])
    raise LookupError(f"no healthy master serves slot {slot}")


def start_sentinel(fleet: RedisFleet, master_port: int, name: str = "mymaster") -> int:
    """One sentinel (quorum 1) watching the master on `master_port`."""
    port = free_port()
    workdir = fleet.root / str(port)
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "sentinel.conf"
    conf.write_text(
        f"sentinel monitor {name} 127.0.0.1 {master_port} 1\n"
        f"sentinel down-after-milliseconds {name} 1000\n"
        f"sentinel failover-timeout {name} 3000\n"
    )
    fleet.start(port, "--sentinel", conf=conf)
    return port


@contextlib.contextmanager
def fleet_in(root: Path) -> Iterator[RedisFleet]:
    fleet = RedisFleet(root)
    try:
        yield fleet
    finally:
        fleet.stop_all()
