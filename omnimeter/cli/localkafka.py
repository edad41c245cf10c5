"""A single-node Apache Kafka broker (KRaft, broker+controller in one JVM) on 127.0.0.1.

The jars come from Maven Central through deploy/kafka/pom.xml into ``<cache_dir>/kafka-<version>/libs``
(reused when present). Storage under ``<data_dir>/kafka`` is formatted once and survives restarts.
The JVM runs detached; its pid and log live beside the data.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from pathlib import Path

from omnimeter.errors import KafkaSetupError

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = Path(os.environ.get("OMNIMETER_KAFKA_POM", REPO_ROOT / "deploy" / "kafka" / "pom.xml"))
LOG_CONFIG = POM.parent / "log4j2.yaml"


def kafka_version(pom: Path = POM) -> str:
    m = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom.read_text())
    if not m:
        raise KafkaSetupError(f"no <kafka.version> in {pom}")
    return m.group(1)


@dataclass(frozen=True)
class LocalKafka:
    data_dir: Path
    cache_dir: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"

    @classmethod
    def from_bootstrap(cls, data_dir: Path, cache_dir: Path, bootstrap: str) -> LocalKafka:
        """The local broker for a configured `host:port` (its controller listens on port + 1)."""
        port = int(bootstrap.split(",")[0].rpartition(":")[2])
        return cls(data_dir, cache_dir, port=port, controller_port=port + 1)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def home(self) -> Path:
        return (self.data_dir / "kafka").resolve()

    @property
    def libs(self) -> Path:
        return self.cache_dir / f"kafka-{kafka_version()}" / "libs"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "broker.log"

    # -- fetch ------------------------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Download the broker jars once; later calls reuse the cache. Processes fetching into the same cache
        at once (two test processes on a fresh machine) take turns: the second finds the first's jars."""
        done = self.libs.parent / ".complete"
        if done.exists():
            return self.libs
        self.libs.parent.mkdir(parents=True, exist_ok=True)
        with (self.libs.parent / ".fetch.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if done.exists():
                return self.libs
            return self._fetch(done)

    def _fetch(self, done: Path) -> Path:
        if not shutil.which("mvn"):
            raise KafkaSetupError("Maven (mvn) is not on PATH: install it (apt-get install maven) to fetch Kafka")
        tmp = self.libs.parent / "libs.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        cmd = ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={tmp}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise KafkaSetupError(
                f"fetching Kafka {kafka_version()} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
            )
        shutil.rmtree(self.libs, ignore_errors=True)
        tmp.rename(self.libs)
        done.touch()
        return self.libs

    # -- configure and format ----------------------------------------------------------------------------
    def _properties(self) -> str:
        logs = self.home / "data"
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={logs}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "log.retention.hours=-1",
                "",
            ]
        )

    def _java(self, main: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if not java:
            raise KafkaSetupError("java is not on PATH: Kafka needs Java 17 (apt-get install openjdk-17-jre-headless)")
        return [
            java,
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={LOG_CONFIG}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def _format(self, props: Path) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = "-"
        while cluster_id.startswith("-"):  # "-..." reads as an option to kafka-storage; Kafka avoids it too
            cluster_id = urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        proc = subprocess.run(
            self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)),
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise KafkaSetupError(f"formatting Kafka storage failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    # -- run -----------------------------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our exited child
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            return None
        return None if state == "Z" else pid

    def answering(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def up(self, timeout_s: float = 90.0) -> str:
        """Fetch, format and start the broker unless it runs; wait until it serves metadata."""
        if self.pid() is not None and self.answering():
            return self.bootstrap
        self.fetch()
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(self._properties())
        self._format(props)
        if self.answering():
            raise KafkaSetupError(f"port {self.port} is taken by another process: choose another with --port")
        log = self.log_file.open("ab")
        proc = subprocess.Popen(
            self._java("kafka.Kafka", str(props)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.home,
        )
        self.pid_file.write_text(str(proc.pid))
        self._wait_ready(proc, timeout_s)
        return self.bootstrap

    def _wait_ready(self, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-3000:]
                raise KafkaSetupError(f"Kafka exited with code {proc.returncode}; log tail:\n{tail}")
            if self.answering():
                try:
                    md = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=2)
                    if md.brokers:
                        return
                except Exception:  # not ready yet
                    pass
            time.sleep(0.3)
        raise KafkaSetupError(
            f"Kafka did not answer on {self.bootstrap} within {timeout_s:.0f} s (log: {self.log_file})"
        )

    def down(self, timeout_s: float = 30.0) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after `timeout_s`). False when it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        if self.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, object]:
        return {
            "version": kafka_version(),
            "bootstrap": self.bootstrap,
            "pid": self.pid(),
            "answering": self.answering(),
            "data": str(self.home),
        }
