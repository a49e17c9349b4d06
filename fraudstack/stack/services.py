"""The services of the local stack: how each is prepared, started and checked.

Every service is a real upstream program: JVM services from Maven Central jars
(``stack/maven``), the Spark Thrift Server from pyspark's own jars, Prometheus from
Debian. Config files are templates under ``stack/conf/<service>`` (Prometheus:
``monitoring/prometheus``) rendered into ``.fraudstack/conf/<service>`` on start.
"""

from __future__ import annotations

import base64
import os
import shutil
import string
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fraudstack.config import Config
from fraudstack.stack import health

CONF_TEMPLATES = Path(__file__).resolve().parents[2] / "stack" / "conf"


@dataclass(frozen=True)
class Service:
    """One long-running process of the stack.

    Attributes:
        name: short name used on the command line and for log and pid files.
        host: the address it binds.
        ports: every port the service binds, by role; checked free before start.
        depends_on: services that must be healthy before this one starts.
        command: builds argv and extra environment (after ``prepare``).
        health: raises ``health.Unhealthy`` unless the service is usable.
        prepare: first-start work (formatting storage, rendering config); idempotent.
        bootstrap: declarative setup applied once the service answers (topics,
            schema, directories); idempotent, retried until it succeeds.
        start_timeout: seconds ``up`` waits for the service to become healthy.
    """

    name: str
    host: str
    ports: dict[str, int]
    command: Callable[[], tuple[list[str], dict[str, str]]]
    health: Callable[[], str]
    depends_on: tuple[str, ...] = ()
    prepare: Callable[[], None] = lambda: None
    bootstrap: Callable[[], list[str]] = field(default=lambda: [])
    start_timeout: float = 180.0


def java() -> str:
    """The java executable: $JAVA_HOME/bin/java if set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else "java"


def jvm_flags(name: str, heap: str) -> list[str]:
    """Flags every JVM service gets: fixed heap, G1, die on OOM, loopback IPv4."""
    return [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dfraudstack.service={name}",
    ]


def render(source: Path, target: Path, variables: dict[str, object]) -> Path:
    """Render every file under ``source`` into ``target``, filling ``${name}`` placeholders.

    Raises:
        KeyError: a template names a variable that was not given.
    """
    target.mkdir(parents=True, exist_ok=True)
    for template in sorted(source.iterdir()):
        if template.is_file():
            text = string.Template(template.read_text()).substitute(
                {key: str(value) for key, value in variables.items()}
            )
            (target / template.name).write_text(text)
    return target


def _jmx_agent(config: Config, service: str) -> str:
    agent = next((config.jars_dir / "agents").glob("jmx_prometheus_javaagent-*.jar"))
    exporter_conf = config.conf_dir / service / "jmx-exporter.yaml"
    return f"-javaagent:{agent}={config.address(service, 'metrics_port')}:{exporter_conf}"


def _classpath(config: Config, *modules: str | Path) -> str:
    return ":".join(
        str(module) if isinstance(module, Path) else f"{config.jars_dir / module}/*"
        for module in modules
    )


# --- Kafka ---------------------------------------------------------------------------


def kafka(config: Config) -> Service:
    settings = config.service("kafka")
    conf = config.conf_dir / "kafka"
    data = config.data_dir / "kafka"

    def prepare() -> None:
        render(CONF_TEMPLATES / "kafka", conf, {**settings, "data_dir": data})
        if (data / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        _run_checked(
            [
                java(),
                "-cp",
                _classpath(config, "kafka"),
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                cluster_id,
                "--config",
                str(conf / "server.properties"),
            ],
            what="format Kafka storage",
        )

    def command() -> tuple[list[str], dict[str, str]]:
        return [
            java(),
            *jvm_flags("kafka", settings["heap"]),
            f"-Dlog4j2.configurationFile={conf / 'log4j2.yaml'}",
            _jmx_agent(config, "kafka"),
            "-cp",
            _classpath(config, "kafka"),
            "kafka.Kafka",
            str(conf / "server.properties"),
        ], {}

    def bootstrap() -> list[str]:
        from storage.topics import ensure_topics, load_topics

        return ensure_topics(
            config.kafka_bootstrap, load_topics(config.path("topics_file", "kafka"))
        )

    return Service(
        name="kafka",
        host=config.host("kafka"),
        ports={k: config.port("kafka", k) for k in ("port", "controller_port", "metrics_port")},
        command=command,
        health=lambda: health.kafka_roundtrip(config.kafka_bootstrap),
        prepare=prepare,
        bootstrap=bootstrap,
        start_timeout=120,
    )


# --- Cassandra -----------------------------------------------------------------------


def cassandra(config: Config) -> Service:
    settings = config.service("cassandra")
    conf = config.conf_dir / "cassandra"
    data = config.data_dir / "cassandra"

    def prepare() -> None:
        (conf / "triggers").mkdir(parents=True, exist_ok=True)
        jamm = next((config.jars_dir / "cassandra").glob("jamm-*.jar"))
        render(
            CONF_TEMPLATES / "cassandra",
            conf,
            {
                **settings,
                "data_dir": data,
                "conf_dir": conf,
                "log_dir": config.logs_dir,
                "jamm_jar": jamm,
                "jmx_agent": _jmx_agent(config, "cassandra"),
            },
        )

    def command() -> tuple[list[str], dict[str, str]]:
        argv = [
            java(),
            f"@{conf / 'jvm17-server.options'}",
            "-cp",
            _classpath(config, "cassandra"),
            "org.apache.cassandra.service.CassandraDaemon",
        ]
        # As root, Cassandra's mlockall() would pin the whole heap in RAM; dropping
        # CAP_IPC_LOCK makes it fail harmlessly, as it does for an ordinary user.
        if os.geteuid() == 0 and shutil.which("setpriv"):
            argv = ["setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock", *argv]
        return argv, {}

    def bootstrap() -> list[str]:
        from storage.cassandra_schema import apply_schema, schema_statements

        statements = schema_statements(
            config.path("schema_file", "cassandra"),
            config.keyspace,
            int(config.raw["cassandra"].get("replication_factor", 1)),
        )
        return apply_schema(settings["host"], settings["port"], statements, config.keyspace)

    return Service(
        name="cassandra",
        host=config.host("cassandra"),
        ports={
            k: config.port("cassandra", k)
            for k in ("port", "storage_port", "jmx_port", "metrics_port")
        },
        command=command,
        health=lambda: health.cassandra_roundtrip(
            settings["host"], settings["port"], config.keyspace
        ),
        prepare=prepare,
        bootstrap=bootstrap,
        start_timeout=240,
    )


# --- HDFS ------------------------------------------------------------------------------

HDFS_DIRECTORIES = ("/warehouse", "/master", "/checkpoints", "/tmp")


def _render_hadoop_conf(config: Config) -> None:
    _hadoop_conf(config)


def _hadoop_conf(config: Config) -> Path:
    """Render the Hadoop configuration shared by the NameNode and the DataNode."""
    namenode, datanode = config.service("namenode"), config.service("datanode")
    return render(
        CONF_TEMPLATES / "hadoop",
        config.conf_dir / "hadoop",
        {
            **namenode,
            "data_dir": config.data_dir / "hdfs",
            "datanode_port": datanode["port"],
            "datanode_http_port": datanode["http_port"],
            "datanode_ipc_port": datanode["ipc_port"],
        },
    )


def _hadoop_command(config: Config, name: str, main_class: str) -> list[str]:
    conf = config.conf_dir / "hadoop"
    return [
        java(),
        *jvm_flags(name, config.service(name)["heap"]),
        f"-Dlog4j.configuration=file://{conf / 'log4j.properties'}",
        f"-Dhadoop.log.dir={config.logs_dir}",
        "-cp",
        _classpath(config, conf, config.jars_dir / "hadoop-webroot", "hadoop"),
        main_class,
    ]


def namenode(config: Config) -> Service:
    http = config.address("namenode", "http_port")

    def prepare() -> None:
        conf = _hadoop_conf(config)
        if (config.data_dir / "hdfs" / "name" / "current" / "VERSION").exists():
            return
        _run_checked(
            [
                *_hadoop_command(
                    config, "namenode", "org.apache.hadoop.hdfs.server.namenode.NameNode"
                ),
                "-format",
                "-nonInteractive",
                "-clusterId",
                "fraudstack",
            ],
            what=f"format the HDFS NameNode (config in {conf})",
        )

    return Service(
        name="namenode",
        host=config.host("namenode"),
        ports={k: config.port("namenode", k) for k in ("port", "http_port")},
        command=lambda: (
            _hadoop_command(config, "namenode", "org.apache.hadoop.hdfs.server.namenode.NameNode"),
            {},
        ),
        health=lambda: health.namenode_active(http),
        prepare=prepare,
        bootstrap=lambda: health.hdfs_mkdirs(http, HDFS_DIRECTORIES),
        start_timeout=120,
    )


def datanode(config: Config) -> Service:
    return Service(
        name="datanode",
        host=config.host("datanode"),
        ports={k: config.port("datanode", k) for k in ("port", "http_port", "ipc_port")},
        command=lambda: (
            _hadoop_command(config, "datanode", "org.apache.hadoop.hdfs.server.datanode.DataNode"),
            {},
        ),
        health=lambda: health.hdfs_roundtrip(config.address("namenode", "http_port")),
        prepare=lambda: _render_hadoop_conf(config),
        depends_on=("namenode",),
        start_timeout=120,
    )


# --- Hive metastore database (Derby network server) ------------------------------------


def metastore(config: Config) -> Service:
    settings = config.service("metastore")
    home = config.data_dir / "metastore"

    def command() -> tuple[list[str], dict[str, str]]:
        home.mkdir(parents=True, exist_ok=True)
        return [
            java(),
            *jvm_flags("metastore", settings["heap"]),
            f"-Dderby.system.home={home}",
            "-cp",
            _classpath(config, "metastore"),
            "org.apache.derby.drda.NetworkServerControl",
            "start",
            "-h",
            settings["host"],
            "-p",
            str(settings["port"]),
            # Java 17 deprecates the security manager Derby would install by default
            "-noSecurityManager",
        ], {}

    return Service(
        name="metastore",
        host=config.host("metastore"),
        ports={"port": settings["port"]},
        command=command,
        health=lambda: health.derby_ping(
            config.jars_dir / "metastore", settings["host"], settings["port"]
        ),
        start_timeout=60,
    )


# --- Spark Thrift Server ---------------------------------------------------------------


def thriftserver(config: Config) -> Service:
    from fraudstack.spark import spark_conf, spark_env

    settings = config.service("thriftserver")

    def command() -> tuple[list[str], dict[str, str]]:
        conf = {**spark_conf(config), "spark.ui.port": str(settings["ui_port"])}
        argv = [
            str(Path(sys.executable).parent / "spark-submit"),
            "--name",
            "fraudstack-thriftserver",
            "--driver-memory",
            settings["driver_memory"],
            "--class",
            "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        ]
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        argv += [
            "--hiveconf",
            f"hive.server2.thrift.bind.host={settings['host']}",
            "--hiveconf",
            f"hive.server2.thrift.port={settings['port']}",
            "--hiveconf",
            "hive.server2.authentication=NOSASL",
            "spark-internal",
        ]
        env = {**spark_env(config), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        return argv, env

    return Service(
        name="thriftserver",
        host=config.host("thriftserver"),
        ports={k: config.port("thriftserver", k) for k in ("port", "ui_port")},
        command=command,
        health=lambda: health.thrift_select(settings["host"], settings["port"]),
        depends_on=("namenode", "datanode", "metastore"),
        start_timeout=180,
    )


# --- Prometheus ------------------------------------------------------------------------


def prometheus(config: Config) -> Service:
    settings = config.service("prometheus")
    conf = config.conf_dir / "prometheus"
    monitoring = config.root / "monitoring" / "prometheus"

    def prepare() -> None:
        conf.mkdir(parents=True, exist_ok=True)
        template = string.Template((monitoring / "prometheus.yml").read_text())
        (conf / "prometheus.yml").write_text(
            template.substitute(
                rules_dir=monitoring / "rules",
                prometheus=config.address("prometheus"),
                kafka_metrics=config.address("kafka", "metrics_port"),
                cassandra_metrics=config.address("cassandra", "metrics_port"),
                namenode_http=config.address("namenode", "http_port"),
                datanode_http=config.address("datanode", "http_port"),
                thriftserver_ui=config.address("thriftserver", "ui_port"),
            )
        )

    def command() -> tuple[list[str], dict[str, str]]:
        binary = shutil.which("prometheus")
        if binary is None:
            raise FileNotFoundError("prometheus is not installed: run `make setup` first")
        return [
            binary,
            f"--config.file={conf / 'prometheus.yml'}",
            f"--storage.tsdb.path={config.data_dir / 'prometheus'}",
            f"--storage.tsdb.retention.time={settings['retention']}",
            f"--web.listen-address={config.address('prometheus')}",
            "--web.enable-lifecycle",
        ], {}

    return Service(
        name="prometheus",
        host=config.host("prometheus"),
        ports={"port": settings["port"]},
        command=command,
        health=lambda: health.prometheus_ready(config.address("prometheus")),
        prepare=prepare,
        start_timeout=60,
    )


def _run_checked(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise RuntimeError(f"could not {what} (exit {result.returncode}):\n{output}")


def stack_services(config: Config) -> dict[str, Service]:
    """Every service of the local stack, in start order (``down`` goes in reverse)."""
    builders = (kafka, cassandra, namenode, datanode, metastore, thriftserver, prometheus)
    return {service.name: service for service in (build(config) for build in builders)}
