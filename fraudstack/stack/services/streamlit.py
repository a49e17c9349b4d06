"""The fraud analyst's live-alert screen: Streamlit serving ``dashboards/alerts/app.py``."""

from __future__ import annotations

import sys
from pathlib import Path

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import Service

APP = Path("dashboards") / "alerts" / "app.py"


def streamlit(config: Config) -> Service:
    host, port = config.host("streamlit"), config.port("streamlit")

    def command() -> tuple[list[str], dict[str, str]]:
        return [
            str(Path(sys.executable).parent / "streamlit"),
            "run",
            str(config.root / APP),
            f"--server.address={host}",
            f"--server.port={port}",
            "--server.headless=true",
            "--server.fileWatcherType=none",  # a service, not a development server
            "--browser.gatherUsageStats=false",
            "--global.developmentMode=false",
            "--client.toolbarMode=viewer",  # no "Deploy" button for analysts
        ], {"PYTHONPATH": str(config.root)}

    return Service(
        name="streamlit",
        host=host,
        ports={"port": port},
        command=command,
        health=lambda: health.http_ok(f"http://{host}:{port}/_stcore/health", "streamlit"),
        start_timeout=60,
    )
