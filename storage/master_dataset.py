"""Write events as Parquet partitioned by event date: the batch layer's master dataset.

Files are written locally with pyarrow; an ``hdfs://`` target is reached through
WebHDFS (the NameNode redirects each file to a DataNode), since no native HDFS
client is installed. A file is never rewritten: each run writes new part files.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import requests

from fraudstack.events import CONTRACTS

_ARROW = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "time": pa.string(),
    "bool": pa.bool_(),
}


def arrow_schema(event_type: str) -> pa.Schema:
    """Arrow schema of an event as it is on the wire (times as ISO-8601 strings)."""
    return pa.schema(
        [pa.field(f.name, _ARROW[f.kind], nullable=True) for f in CONTRACTS[event_type]]
    )


def write_partitioned(records: Iterable[dict[str, Any]], event_type: str, root: Path) -> list[Path]:
    """Write records under ``root/event_date=YYYY-MM-DD/part-<uuid>.parquet``.

    Returns:
        The files written.
    """
    by_date: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_date[str(record["event_time"])[:10]].append(record)
    schema, written = arrow_schema(event_type), []
    for date, rows in sorted(by_date.items()):
        folder = root / f"event_date={date}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{uuid.uuid4().hex}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="zstd")
        written.append(path)
    return written


def _webhdfs(namenode_http: str, path: str) -> str:
    return f"http://{namenode_http}/webhdfs/v1{path}"


def upload_to_hdfs(files: list[Path], local_root: Path, namenode_http: str, hdfs_root: str) -> int:
    """Copy ``files`` (under ``local_root``) to ``hdfs_root`` keeping their relative paths."""
    for path in files:
        target = f"{hdfs_root.rstrip('/')}/{path.relative_to(local_root)}"
        url = f"{_webhdfs(namenode_http, target)}?op=CREATE&overwrite=false&user.name=fraudstack"
        redirect = requests.put(url, allow_redirects=False, timeout=30)
        redirect.raise_for_status()
        created = requests.put(redirect.headers["Location"], data=path.read_bytes(), timeout=120)
        created.raise_for_status()
    return len(files)


def list_hdfs(namenode_http: str, path: str) -> list[dict[str, Any]] | None:
    """The ``FileStatus`` entries of the folder ``path`` through WebHDFS (each has
    ``pathSuffix`` and ``type``), or None when it does not exist."""
    answer = requests.get(
        _webhdfs(namenode_http, path),
        params={"op": "LISTSTATUS", "user.name": "fraudstack"},
        timeout=60,
    )
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    statuses: list[dict[str, Any]] = answer.json()["FileStatuses"]["FileStatus"]
    return statuses


def read_from_hdfs(namenode_http: str, path: str) -> bytes:
    """The content of the file ``path`` through WebHDFS (the NameNode redirects to a DataNode)."""
    answer = requests.get(
        _webhdfs(namenode_http, path), params={"op": "OPEN", "user.name": "fraudstack"}, timeout=120
    )
    answer.raise_for_status()
    return answer.content


def delete_from_hdfs(namenode_http: str, path: str, recursive: bool = True) -> bool:
    """Delete ``path`` through WebHDFS, best effort (a cleanup step must not fail the work
    it cleans up after): True if it was deleted, False if absent, refused or unreachable.
    A non-recursive delete of a folder that is not empty is refused."""
    try:
        answer = requests.delete(
            _webhdfs(namenode_http, path),
            params={"op": "DELETE", "recursive": str(recursive).lower(), "user.name": "fraudstack"},
            timeout=120,
        )
        return answer.ok and bool(answer.json().get("boolean"))
    except (requests.RequestException, ValueError):
        return False
