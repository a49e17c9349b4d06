"""Find secrets and default passwords in text: what must never be committed.

Every secret of the stack comes from the environment or is generated once into the
git-ignored home (``fraudstack/credentials.py``, ``fraudstack compose init``), so any
literal below is a leak. A line that must hold one on purpose (a published default
that the code exists to disable, a planted test example) carries
``pragma: allowlist secret``, or the line before ``pragma: allowlist nextline secret``
(detect-secrets' markers), and says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

ALLOW_MARKER = "pragma: allowlist secret"  # on the line itself
ALLOW_NEXT_MARKER = "pragma: allowlist nextline secret"  # on the line before

# (what, pattern): found anywhere, in any file
_TOKENS = (
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b")),
    (
        "AWS secret access key",
        re.compile(r"(?i)aws_?secret_?access_?key\W{0,3}\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}\b"),
    ),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{40,})")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Stripe live key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}")),
)
# a key that names a secret, then `:` or `=`, then its value (quoted or bare); not the
# `${NAME:?message}` of a compose file
_ASSIGNMENT = re.compile(
    r"(?i)(?<![\w.-])(?<!\$\{)(?P<key>[\w.-]*(?:password|passwd|pwd|secret(?:_?key)?|api_?key|access_?key|private_?key))"
    r"[\"']?\s*(?::|=|:=)\s*"
    r"(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s\"',;)}\]#]+))"
)
# credentials inside a URL (a scheme, a user, a password, then @host)
_URL_PASSWORD = re.compile(
    # pragma: allowlist nextline secret (the pattern looks like what it finds)
    r"\b[a-z][a-z0-9+.-]*://[^/\s:@\"']+:(?P<value>[^@\s/\"']+)@"
)
# a password on a command line (after --password, or -p following -u USER)
_CLI_PASSWORD = re.compile(
    # pragma: allowlist nextline secret (the pattern looks like what it finds)
    r"(?:--password[= ]|\s-u\s+\S+\s+-p\s*)[\"']?(?P<value>[^\s\"']+)",
    re.IGNORECASE,
)
# what follows a quote that closed a string rather than opened a value
_ENDS_A_STRING = re.compile(r"\s*(?:[,)+\]}]|$)")
# values that point at the secret instead of being it: a variable, a placeholder, the
# name of an environment variable (upper case with an underscore)
_REFERENCE = re.compile(
    r"^(?:\$|%\(|\{|<|os\.environ|os\.getenv|env\(|[A-Z][A-Z0-9]*_[A-Z0-9_]+$|\.\.\.$|\*+$)"
)
# files whose bare `key: value` / `KEY=value` lines are literals, not code
_CONFIG_SUFFIXES = {".yaml", ".yml", ".env", ".properties", ".ini", ".cfg", ".conf", ".toml"}
# upstream defaults that an attacker tries first
DEFAULT_PASSWORDS = {
    "admin",
    "password",
    "changeme",
    "secret",
    "root",
    "cassandra",
    "superset",
    "airflow",
    "hive",
    "postgres",
    "grafana",
    "123456",
    "letmein",
}
# file names that hold secrets by their nature; a template (.example) holds none
_SECRET_FILE = re.compile(
    r"(?:^\.env(?:\.(?!example$|sample$|template$)[\w.-]+)?$|\.pem$|\.key$|\.p12$|\.pfx$"
    r"|\.jks$|\.keystore$|^id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?$|^\.pypirc$|^\.netrc$"
    r"|^credentials(?:\.json)?$)"
)


@dataclass(frozen=True)
class Finding:
    """One suspected secret: where and what (never the secret itself)."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def scan_text(text: str, path: str = "<text>") -> list[Finding]:
    """Secrets and default passwords in ``text``, as read from the file ``path``.

    Args:
        text: the file's content.
        path: its path (the suffix decides whether bare ``key: value`` lines are literals).

    Returns:
        One finding per suspicious line and rule, in line order.
    """
    is_config = _is_config(path)
    findings = []
    previous = ""
    for number, line in enumerate(text.splitlines(), start=1):
        allowed = ALLOW_MARKER in line or ALLOW_NEXT_MARKER in previous
        previous = line
        if allowed:
            continue
        found = [what for what, pattern in _TOKENS if pattern.search(line)]
        for match in _ASSIGNMENT.finditer(line):
            quoted = match["dq"] if match["dq"] is not None else match["sq"]
            if quoted is not None and _ENDS_A_STRING.match(quoted):
                continue  # the quote closed the key's own string: `"PASSWORD=", x`
            value = quoted if quoted is not None else match["bare"]
            if (quoted is not None or is_config) and _is_literal(value):
                kind = "default password" if value.lower() in DEFAULT_PASSWORDS else "literal"
                found.append(f"{kind} for {match['key']}")
        for pattern, what in ((_URL_PASSWORD, "URL"), (_CLI_PASSWORD, "command line")):
            for match in pattern.finditer(line):
                if _is_literal(match["value"]):
                    found.append(f"password in a {what}")
        findings += [Finding(path, number, what) for what in found]
    return findings


def scan_path_name(path: str) -> Finding | None:
    """A finding when the file's name says it holds secrets (``.env``, a key store, ...)."""
    if _SECRET_FILE.search(PurePosixPath(path).name):
        return Finding(path, 0, "a secrets file is committed")
    return None


def _is_config(path: str) -> bool:
    name = PurePosixPath(path).name
    return PurePosixPath(path).suffix in _CONFIG_SUFFIXES or name.startswith(".env")


def _is_literal(value: str) -> bool:
    value = value.strip()
    return bool(value) and not _REFERENCE.match(value)
