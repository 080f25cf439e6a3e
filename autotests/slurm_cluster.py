"""A single-node Slurm cluster on localhost, for the tests and the batch benchmark.

Debian's ``slurm-wlm`` and ``munge`` (``.ci/run`` installs them); everything lives in one folder:
a munge key and socket of its own, a ``slurm.conf`` for this machine (its hostname, the CPUs
``slurmd -C`` reports, ``SlurmUser=root``, free ports, state/spool/log folders inside the
folder, ``proctrack/linuxproc``, ``task/none``, ``select/cons_tres``, no cgroups, no
accounting, two tasks per core), ``munged``, ``slurmctld`` and ``slurmd`` started as root and
stopped by their pid files. Clients find the cluster through ``SLURM_CONF``.

    python autotests/slurm_cluster.py start /tmp/cluster   # prints: export SLURM_CONF=...
    python autotests/slurm_cluster.py stop /tmp/cluster
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
PARTITION = "debug"


class ClusterUnavailable(RuntimeError):
    """Slurm cannot run here; ``str()`` says why (not root, a missing binary, a daemon that
    would not start)."""


@dataclass
class Cluster:
    root: Path
    conf: Path
    node: str
    cpus: int
    partition: str = PARTITION

    @property
    def env(self) -> dict:
        return {"SLURM_CONF": str(self.conf)}

    def pid_files(self) -> dict[str, Path]:
        return {"slurmd": self.root / "slurmd.pid", "slurmctld": self.root / "slurmctld.pid",
                "munged": self.root / "munge" / "munged.pid"}


def unavailable_reason() -> str | None:
    """Why a cluster cannot start here, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the Slurm tests need root (they start munged, slurmctld and slurmd)"
    missing = [b for b in ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue",
                           "scancel", "srun") if shutil.which(b) is None]
    if missing:
        return (f"no {', '.join(missing)} on PATH (apt-get install slurm-wlm munge, as .ci/run "
                "does)")
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_line(node: str) -> tuple[str, int]:
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=60).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("NodeName=")), "")
    cpus = int(re.search(r"CPUs=(\d+)", line).group(1)) if "CPUs=" in line else os.cpu_count()
    fields = [f for f in line.split()[1:] if not f.startswith(("UpTime", "RealMemory"))]
    return f"NodeName={node} NodeAddr=127.0.0.1 {' '.join(fields)} State=UNKNOWN", cpus


def write_config(root: Path) -> Cluster:
    """Write the munge key and slurm.conf under ``root``; returns the :class:`Cluster`."""
    node = socket.gethostname().split(".")[0]
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "munge", 0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o600)
    node_line, cpus = _node_line(node)
    conf = root / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=dlgradetest", f"SlurmctldHost={node}(127.0.0.1)",
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
        "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", f"AuthInfo=socket={root / 'munge' / 'munge.socket'}",
        "CredType=cred/munge",
        f"StateSaveLocation={root / 'state'}", f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}", f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
        "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none", "MpiDefault=none", "ReturnToService=2",
        "SchedulerType=sched/backfill", "KillWait=2", "MinJobAge=600", "InactiveLimit=0",
        "SlurmctldTimeout=30", "SlurmdTimeout=30", "MessageTimeout=30",
        node_line,
        # Two tasks per core: a task whose student hangs asleep does not hold a core back.
        f"PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP "
        "OverSubscribe=FORCE:2", ""]))
    return Cluster(root=root, conf=conf, node=node, cpus=cpus)


def _log_tails(cluster: Cluster) -> str:
    out = []
    for log in sorted((cluster.root / "log").glob("*.log")):
        lines = log.read_text(errors="replace").strip().splitlines()[-3:]
        out.append(f"{log.name}: " + " / ".join(lines))
    return "; ".join(out)


def start(root: Path, timeout_s: float = 60.0) -> Cluster:
    """Start munged, slurmctld and slurmd for a cluster under ``root`` and wait until its node
    is idle.

    Raises:
        ClusterUnavailable: not root, a binary missing, or the node did not come up (the
            daemons that did start are stopped again).
    """
    reason = unavailable_reason()
    if reason:
        raise ClusterUnavailable(reason)
    cluster = write_config(Path(root))
    env = {**os.environ, **cluster.env}
    munge = cluster.root / "munge"
    commands = [
        ["munged", "--force", f"--socket={munge / 'munge.socket'}",
         f"--key-file={munge / 'munge.key'}",
         f"--log-file={cluster.root / 'log' / 'munged.log'}", f"--pid-file={munge / 'munged.pid'}",
         f"--seed-file={munge / 'munged.seed'}"],
        ["slurmctld", "-f", str(cluster.conf)],
        ["slurmd", "-f", str(cluster.conf)],
    ]
    try:
        for cmd in commands:
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise ClusterUnavailable(f"{cmd[0]} did not start (exit {r.returncode}): "
                                         f"{(r.stderr or r.stdout).strip()[-300:]}")
        deadline = time.monotonic() + timeout_s
        state = ""
        while time.monotonic() < deadline:
            r = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                               text=True, timeout=30)
            state = r.stdout.strip()
            if state == "idle":
                return cluster
            time.sleep(0.5)
        raise ClusterUnavailable(f"the Slurm node did not become idle in {timeout_s:g} s "
                                 f"(sinfo: {state or r.stderr.strip()!r}; {_log_tails(cluster)})")
    except BaseException:
        stop(cluster)
        raise


def stop(cluster: Cluster) -> list[str]:
    """Cancel every job, then stop slurmd, slurmctld and munged by their pid files.

    Returns:
        The daemons still alive afterwards (empty when all are gone).
    """
    env = {**os.environ, **cluster.env}
    pids = {}
    for name, path in cluster.pid_files().items():
        try:
            pids[name] = int(path.read_text().strip())
        except (OSError, ValueError):
            pass
    if "slurmctld" in pids:
        subprocess.run(["scancel", "--full", "-u", "root"], env=env, capture_output=True,
                       timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = subprocess.run(["squeue", "-h", "-t", "RUNNING,COMPLETING,PENDING"], env=env,
                               capture_output=True, text=True, timeout=30)
            if r.returncode != 0 or not r.stdout.strip():
                break
            time.sleep(0.5)
    left = []
    for name in ("slurmd", "slurmctld", "munged"):
        pid = pids.get(name)
        if pid is None or not _alive(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        if _alive(pid):
            left.append(f"{name} ({pid})")
    return left


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    where = Path(sys.argv[2]).resolve()
    if sys.argv[1] == "start":
        try:
            c = start(where)
        except ClusterUnavailable as exc:
            sys.exit(f"slurm_cluster: {exc}")
        print(f"export SLURM_CONF={c.conf}   # node {c.node}, {c.cpus} CPUs, "
              f"partition {c.partition}")
    else:
        c = Cluster(root=where, conf=where / "slurm.conf", node="", cpus=0)
        left = stop(c)
        sys.exit(f"still running: {', '.join(left)}" if left else 0)
