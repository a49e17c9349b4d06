"""Install the JVM services' jars from Maven Central, once per change of the poms."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from fraudstack.config import Config

MAVEN_DIR = Path(__file__).resolve().parents[2] / "stack" / "maven"


def poms_digest() -> str:
    """A digest over every pom under ``stack/maven``: the jars are stale when it changes."""
    digest = hashlib.sha256()
    for pom in sorted(MAVEN_DIR.rglob("pom.xml")):
        digest.update(str(pom.relative_to(MAVEN_DIR)).encode())
        digest.update(pom.read_bytes())
    return digest.hexdigest()


def jars_current(config: Config) -> bool:
    stamp = config.jars_dir / ".poms.sha256"
    return stamp.exists() and stamp.read_text().strip() == poms_digest()


def ensure_jars(config: Config, force: bool = False) -> bool:
    """Resolve every module of ``stack/maven`` into ``<home>/jars/<module>``.

    Returns:
        True when Maven ran, False when the jars were already current.

    Raises:
        RuntimeError: Maven failed; the message holds its last output lines.
    """
    if jars_current(config) and not force:
        return False
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is not installed: run `make setup`")
    # start clean so an old version of a jar never lingers on a classpath
    shutil.rmtree(config.jars_dir, ignore_errors=True)
    config.jars_dir.mkdir(parents=True)
    result = subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(MAVEN_DIR / "pom.xml"),
            "generate-resources",
            f"-Dfraudstack.jars={config.jars_dir}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"Maven could not resolve the stack's jars:\n{tail}")
    (config.jars_dir / ".poms.sha256").write_text(poms_digest() + "\n")
    return True
