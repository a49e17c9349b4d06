"""Apache Cassandra 5.0 single node, with the project's schema applied."""

from __future__ import annotations

import os
import shutil

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import (
    CONF_TEMPLATES,
    Service,
    classpath,
    java,
    jmx_agent,
    render,
)


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
                "jmx_agent": jmx_agent(config, "cassandra"),
            },
        )

    def command() -> tuple[list[str], dict[str, str]]:
        argv = [
            java(),
            f"@{conf / 'jvm17-server.options'}",
            "-cp",
            classpath(config, "cassandra"),
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
