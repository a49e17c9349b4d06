"""No secret and no default password in any committed file (``git ls-files``)."""

from __future__ import annotations

import subprocess

import pytest

from fraudstack.config import REPO_ROOT
from tests.security.secret_scan import scan_path_name, scan_text

# planted examples are assembled at run time, so this file itself stays clean
PLANTED_KEY_BLOCK = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----"
AWS_KEY_ID = "AKIA" + "Q3EGRIT7EXAMPLE7"


def _committed_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [name for name in out.decode().split("\0") if name]


def test_the_committed_tree_holds_no_secret_and_no_default_password() -> None:
    files = _committed_files()
    assert len(files) > 100, "git ls-files listed almost nothing: is this the repository?"
    findings = [f for f in map(scan_path_name, files) if f is not None]
    scanned = 0
    for name in files:
        path = REPO_ROOT / name
        if not path.is_file():
            continue  # deleted in the work tree, not yet committed
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary: screenshots
        findings += scan_text(data.decode(errors="replace"), name)
        scanned += 1
    assert scanned > 100
    assert not findings, "secrets in committed files:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize(
    ("text", "path", "what"),
    [
        (PLANTED_KEY_BLOCK, "deploy/key.txt", "private key"),
        (f"aws_access_key_id = {AWS_KEY_ID}", "notes.md", "AWS access key id"),
        ("password: " + "admin", "config/local.yaml", "default password for password"),
        ("SMTP_PASSWORD=" + "hunter2", ".env.example", "literal for SMTP_PASSWORD"),
        (
            # pragma: allowlist nextline secret (a planted example)
            'SECRET_KEY = "' + 'thisismysecret"',
            "superset_config.py",
            "literal for SECRET_KEY",
        ),
        (
            # pragma: allowlist nextline secret (a planted example)
            'connect(password="' + 'cassandra")',
            "storage/x.py",
            "default password for password",
        ),
        ("db: postgresql://superset:" + "s3cret@db/superset", "app.yaml", "password in a URL"),
        ("cqlsh -u cassandra -p " + "cassandra", "run.sh", "password in a command line"),
        ("create-admin --password " + "admin", "init.sh", "password in a command line"),
    ],
)
def test_the_scanner_finds_a_planted_secret(text: str, path: str, what: str) -> None:
    found = [f.what for f in scan_text(f"first line\n{text}\n", path)]
    assert what in found
    assert all(f.line == 2 for f in scan_text(f"first line\n{text}\n", path))


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("POSTGRES_PASSWORD: ${SUPERSET_DB_PASSWORD:?run init}", "docker-compose.yml"),
        ("SECRET_KEY = os.environ['SUPERSET_SECRET_KEY']", "superset_config.py"),
        ("password=os.environ.get('SMTP_PASSWORD'),", "monitoring/x.py"),
        ("password: str | None = None", "monitoring/notifier.py"),
        ('"password": credentials.password,', "dashboards/client.py"),
        ("SUPERSET_ADMIN_PASSWORD=", ".env.example"),
        ('ENV_PASSWORD = "SUPERSET_ADMIN_PASSWORD"', "services/superset.py"),
        ("url: postgresql://airflow:${AIRFLOW_DB_PASSWORD}@airflow-db/airflow", "x.yml"),
        ('--password "$$SUPERSET_ADMIN_PASSWORD"', "docker-compose.yml"),
        ('login("cassandra", "cassandra")  # pragma: allowlist secret', "storage/x.py"),
        ("# pragma: allowlist nextline secret\nSECRET_KEY = " + "'planted'", "x.py"),
    ],
)
def test_the_scanner_lets_references_and_placeholders_pass(text: str, path: str) -> None:
    assert scan_text(text, path) == []


@pytest.mark.parametrize(
    ("path", "is_secret"),
    [
        (".env", True),
        ("docker/.env.production", True),
        ("certs/server.pem", True),
        ("deploy/id_rsa", True),
        (".env.example", False),
        ("docker/scale.env", False),
        ("fraudstack/pii.py", False),
    ],
)
def test_secret_files_are_recognised_by_name(path: str, is_secret: bool) -> None:
    assert (scan_path_name(path) is not None) == is_secret


def test_where_secrets_are_kept_is_ignored_by_git() -> None:
    # .env from `fraudstack compose init`, generated secrets and keys under the home,
    # local config overrides: none can be added by a careless `git add .`
    kept = [".env", "docker/.env", ".fraudstack/secrets/pii.key", "config/local.yaml"]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *kept],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sorted(result.stdout.split()) == sorted(kept)
