"""Run a single-node Apache Kafka 4.x broker (KRaft, no ZooKeeper) on 127.0.0.1.

No Docker needed: Python 3.11+ (stdlib only), Java 17+ and, unless KAFKA_HOME is
set, Maven.

    python deploy/kafka.py start [--port 9092] [--controller-port 9093]
                                 [--state-dir DIR] [--timeout 90] [--foreground]
    python deploy/kafka.py status [--port 9092]
    python deploy/kafka.py stop   [--state-dir DIR] [--timeout 60]
    python deploy/kafka.py reset  [--state-dir DIR]   # stop, then delete the data

Jars come from $KAFKA_HOME/libs if KAFKA_HOME names an unpacked Kafka distribution;
otherwise Maven copies the jars named in deploy/pom.xml, once, into
${RECSYS_CACHE_DIR:-~/.cache/recsys}/kafka-<version>/libs.
The state dir (default ${RECSYS_KAFKA_DIR:-<repo>/.kafka}) holds server.properties,
log4j2.properties, data/ (log.dirs), broker.log (previous run: broker.log.1) and
broker.pid. Storage is formatted (`StorageTool format --standalone`) on first start.

`start` returns once the broker answers a Kafka ApiVersions request. start(), stop(),
reset() and is_up() can be used from Python (e.g. a pytest conftest that loads this
file with importlib); they raise KafkaError where the CLI exits with status 1.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
POM = DEPLOY_DIR / "pom.xml"
REPO_DIR = DEPLOY_DIR.parent
DEFAULT_STATE_DIR = Path(os.environ.get("RECSYS_KAFKA_DIR") or REPO_DIR / ".kafka")
# Logged at WARN only: config dumps, client chatter, lines per partition.
NOISY_LOGGERS = (
    "org.apache.kafka.common.config",
    "org.apache.kafka.common.utils.AppInfoParser",
    "org.apache.kafka.clients",
    "org.apache.kafka.storage.internals.log",
    "kafka.log",
    "kafka.cluster",
    "org.apache.kafka.coordinator.common.runtime",
    "org.apache.kafka.image.loader",
    "kafka.request.logger",
    "state.change.logger",
)
_children: dict[int, subprocess.Popen] = {}  # brokers started by this process


class KafkaError(RuntimeError):
    """The broker could not be provisioned, started or stopped."""


def kafka_version() -> str:
    """The <kafka.version> property of deploy/pom.xml."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(POM).getroot().findtext("m:properties/m:kafka.version", "", ns)
    if not version.strip():
        raise KafkaError(f"no <kafka.version> property in {POM}")
    return version.strip()


def _which(tool: str, install: str) -> str:
    if path := shutil.which(tool):
        return path
    raise KafkaError(f"'{tool}' not found on PATH: install {install}")


def libs_dir() -> Path:
    """The directory of broker jars; Maven downloads them on first use."""
    if home := os.environ.get("KAFKA_HOME"):
        libs = Path(home) / "libs"
        if not any(libs.glob("kafka_*.jar")):
            raise KafkaError(
                f"KAFKA_HOME={home} has no libs/kafka_*.jar; point it at an unpacked Kafka 4.x distribution"
            )
        return libs
    cache = Path(os.environ.get("RECSYS_CACHE_DIR") or Path.home() / ".cache/recsys")
    libs = cache / f"kafka-{kafka_version()}" / "libs"
    if libs.is_dir() and any(libs.iterdir()):
        return libs
    mvn = _which(
        "mvn",
        "Maven 3.6+ (e.g. `apt-get install maven`, `brew install "
        "maven`), or set KAFKA_HOME to an unpacked Kafka 4.x distribution",
    )
    libs.parent.mkdir(parents=True, exist_ok=True)
    print(f"Downloading Kafka {kafka_version()} jars into {libs} ...", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="libs.tmp-", dir=libs.parent))
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not any(tmp.glob("kafka_*.jar")):
        shutil.rmtree(tmp, ignore_errors=True)
        raise KafkaError(f"{' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")
    if libs.is_dir():
        libs.rmdir()  # an empty leftover
    tmp.rename(libs)  # only a complete download gets the final name
    return libs


def write_config(state: Path, port: int, controller_port: int, console: bool, extra: str = "") -> Path:
    """Write server.properties and log4j2.properties into the state dir; ``extra`` is appended to
    server.properties (a key it repeats wins: e.g. more listeners, TLS and SASL)."""
    (state / "data").mkdir(parents=True, exist_ok=True)
    props = state / "server.properties"
    props.write_text(f"""\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={state / "data"}
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
""" + extra)
    if console:  # --foreground: log to the terminal
        out = ["appender.out.type = Console", "appender.out.target = SYSTEM_OUT"]
    else:
        out = [
            "appender.out.type = File",
            "appender.out.append = true",
            f"appender.out.fileName = {state / 'broker.log'}",
        ]
    lines = [  # no log4j shutdown hook: keep logging through Kafka's own shutdown
        "status = warn",
        "shutdownHook = disable",
        *out,
        "appender.out.name = OUT",
        "appender.out.layout.type = PatternLayout",
        "appender.out.layout.pattern = [%d] %p %m (%c)%n",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.out.ref = OUT",
    ]
    for i, name in enumerate(NOISY_LOGGERS):
        lines += [f"logger.n{i}.name = {name}", f"logger.n{i}.level = WARN"]
    (state / "log4j2.properties").write_text("\n".join(lines) + "\n")
    return props


def new_cluster_id() -> str:
    """A random cluster id: unpadded base64url of a uuid4's 16 bytes (22 chars)."""
    while True:  # like Kafka's Uuid.randomUuid(): a leading '-' looks like a flag
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def format_storage(java: str, libs: Path, props: Path, scram: Sequence[str] = ()) -> None:
    """Format log.dirs as a new single-controller cluster, unless already done. ``scram`` adds SCRAM
    users, each as StorageTool's ``--add-scram`` takes them: ``SCRAM-SHA-512=[name=bob,password=...]``."""
    if (props.parent / "data" / "meta.properties").exists():
        return
    cmd = [
        java,
        "-cp",
        f"{libs}/*",
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        new_cluster_id(),
        "-c",
        str(props),
    ]
    for user in scram:
        cmd += ["--add-scram", user]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise KafkaError(f"formatting storage failed:\n{result.stdout}{result.stderr}")


def is_up(port: int = 9092, host: str = "127.0.0.1", timeout: float = 2.0) -> bool:
    """True if a Kafka broker answers an ApiVersions v0 request with error_code 0."""
    client_id, corr = b"recsys-deploy", 0x5EC5
    request = struct.pack(">hhih", 18, 0, corr, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            with sock.makefile("rb") as reply:  # read() waits for all 10 bytes
                size, got_corr, error_code = struct.unpack(">iih", reply.read(10))
            return size >= 6 and got_corr == corr and error_code == 0
    except (OSError, struct.error):
        return False


def _alive(pid: int) -> bool:
    """True if pid is a running Kafka broker (not a zombie, not a reused pid)."""
    if pid in _children:
        return _children[pid].poll() is None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not Path("/proc/self").exists():  # no procfs (macOS): trust the pid
        return True
    try:  # a zombie's cmdline is empty
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _read_pid(state: Path) -> int | None:
    try:
        return int((state / "broker.pid").read_text())
    except (OSError, ValueError):
        return None


def _log_tail(state: Path, n: int = 40) -> str:
    try:
        lines = (state / "broker.log").read_text(errors="replace").splitlines()
    except OSError:
        return "(no broker.log)"
    return "last lines of broker.log:\n" + "\n".join(lines[-n:])


def _port_free(port: int) -> bool:
    """Nobody listens on ``port`` (connections of a stopped broker in TIME_WAIT do not count: the
    broker binds with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def start(
    port: int = 9092,
    controller_port: int = 9093,
    state_dir: Path | str | None = None,
    timeout: float = 90,
    foreground: bool = False,
    extra_config: str = "",
    scram: Sequence[str] = (),
) -> None:
    """Start the broker unless it is already running; wait until it answers on ``port`` (plaintext).
    ``extra_config`` (server.properties lines) and ``scram`` (users) are for a broker with more
    listeners, e.g. SASL_SSL for the security tests; see :func:`write_config` and :func:`format_storage`."""
    state = Path(state_dir or DEFAULT_STATE_DIR).resolve()
    pid = _read_pid(state)
    if pid and _alive(pid):
        if is_up(port):
            print(f"Kafka already running on 127.0.0.1:{port} (pid {pid})")
            return
        print(f"Kafka (pid {pid}) is running but not answering yet; waiting")
        return _wait(state, pid, port, timeout)
    for p in (port, controller_port):
        if not _port_free(p):
            raise KafkaError(f"port 127.0.0.1:{p} is in use by another process")
    java = _which(
        "java", "a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`, `brew install openjdk@17`)"
    )
    libs = libs_dir()
    props = write_config(state, port, controller_port, console=foreground, extra=extra_config)
    format_storage(java, libs, props, scram)
    cmd = [
        java,
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={state / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        "kafka.Kafka",
        str(props),
    ]
    if foreground:
        (state / "broker.pid").write_text(f"{os.getpid()}\n")  # exec keeps the pid
        os.execv(java, cmd)
    log = state / "broker.log"
    if log.exists():
        log.replace(state / "broker.log.1")
    with open(log, "ab") as out:  # catches JVM output that bypasses log4j
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=state, start_new_session=True
        )
    _children[proc.pid] = proc
    (state / "broker.pid").write_text(f"{proc.pid}\n")
    _wait(state, proc.pid, port, timeout)


def _wait(state: Path, pid: int, port: int, timeout: float) -> None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if is_up(port):
            print(
                f"Kafka up on 127.0.0.1:{port} (pid {pid}) after "
                f"{time.monotonic() - began:.1f}s; log: {state / 'broker.log'}"
            )
            return
        if not _alive(pid):
            (state / "broker.pid").unlink(missing_ok=True)
            raise KafkaError(f"Kafka (pid {pid}) exited; {_log_tail(state)}")
        time.sleep(0.25)
    raise KafkaError(
        f"Kafka did not answer on 127.0.0.1:{port} within {timeout:g}s "
        f"(pid {pid} still running; see `stop`); {_log_tail(state)}"
    )


def stop(state_dir: Path | str | None = None, timeout: float = 60) -> None:
    """SIGTERM the broker (controlled shutdown); SIGKILL it after timeout seconds."""
    state = Path(state_dir or DEFAULT_STATE_DIR).resolve()
    pid = _read_pid(state)
    if not pid or not _alive(pid):
        (state / "broker.pid").unlink(missing_ok=True)
        print("Kafka not running")
        return
    os.kill(pid, signal.SIGTERM)
    began = time.monotonic()
    while _alive(pid) and time.monotonic() - began < timeout:
        time.sleep(0.2)
    if _alive(pid):
        print(f"Kafka (pid {pid}) still running after {timeout:g}s; sending SIGKILL")
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.1)
    _children.pop(pid, None)
    (state / "broker.pid").unlink(missing_ok=True)
    print(f"Kafka stopped (pid {pid}) after {time.monotonic() - began:.1f}s")


def reset(state_dir: Path | str | None = None) -> None:
    """Stop the broker and delete its data; the next start formats a new cluster."""
    state = Path(state_dir or DEFAULT_STATE_DIR).resolve()
    stop(state)
    shutil.rmtree(state / "data", ignore_errors=True)
    print(f"Deleted {state / 'data'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="start the broker, wait until it answers")
    p_start.add_argument("--port", type=int, default=9092)
    p_start.add_argument("--controller-port", type=int, default=9093)
    p_start.add_argument("--timeout", type=float, default=90)
    p_start.add_argument(
        "--foreground", action="store_true", help="exec the broker in this terminal, logging to stdout"
    )
    p_stop = sub.add_parser("stop", help="stop the broker")
    p_stop.add_argument("--timeout", type=float, default=60)
    p_status = sub.add_parser("status", help="exit 0 if the broker answers, else 1")
    p_status.add_argument("--port", type=int, default=9092)
    p_reset = sub.add_parser("reset", help="stop the broker, delete its data")
    for p in (p_start, p_stop, p_reset):
        p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            start(args.port, args.controller_port, args.state_dir, args.timeout, args.foreground)
        elif args.command == "stop":
            stop(args.state_dir, args.timeout)
        elif args.command == "reset":
            reset(args.state_dir)
        else:
            up = is_up(args.port)
            state = "running" if up else "not running"
            print(f"Kafka {state} on 127.0.0.1:{args.port}")
            return 0 if up else 1
    except KafkaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
