"""Secrets the stack generates for itself: from the environment, else created once.

A generated secret lives in ``<home>/secrets/<name>`` (folder mode 700, file mode 600),
never in a committed file, so every clone gets its own.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def secret(home: Path, name: str, env_var: str, nbytes: int = 32) -> str:
    """The secret ``name``: ``$env_var`` when set, else the home's file (created once).

    Args:
        home: the stack's home folder (``Config.home``).
        name: file name under ``<home>/secrets/``.
        env_var: environment variable that overrides the file.
        nbytes: randomness of a generated secret.

    Returns:
        The secret, stripped of surrounding whitespace.
    """
    from_env = os.environ.get(env_var)
    if from_env:
        return from_env.strip()
    path = secret_path(home, name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(nbytes) + "\n")
    return path.read_text().strip()


def secret_path(home: Path, name: str) -> Path:
    """Where the generated secret ``name`` is kept."""
    return home / "secrets" / name
