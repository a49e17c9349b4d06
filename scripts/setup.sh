#!/usr/bin/env bash
# Install everything fraudstack needs on a fresh Debian machine; fast when nothing changed.
#   1. Debian packages: Java 17, Maven, Prometheus (+ promtool), node and process exporters,
#      Alertmanager, Chromium (browser tests)
#   2. a virtualenv with the project and its Python dependencies
#   3. the JVM services' jars from Maven Central (stack/maven)
#   4. the Docker Compose CLI, built from its Go module (scripts/tools.sh)
#   (plus Airflow and Superset, each in a virtualenv of its own)
# Everything lands under $FRAUDSTACK_HOME (default: .fraudstack/, git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
HOME_DIR=${FRAUDSTACK_HOME:-$ROOT/.fraudstack}
VENV=$HOME_DIR/venv
PYTHON=${PYTHON:-python3}
mkdir -p "$HOME_DIR"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. Debian packages ---------------------------------------------------------------
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v prometheus >/dev/null || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
command -v prometheus-process-exporter >/dev/null || missing+=(prometheus-process-exporter)
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
command -v ss >/dev/null || missing+=(iproute2)
command -v chromium >/dev/null || missing+=(chromium)   # browser tests and screenshots
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
java_major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
if [ "${java_major%%.*}" -lt 17 ]; then
  echo "Java 17 or newer is needed (found $java_major); set JAVA_HOME or install openjdk-17." >&2
  exit 1
fi

# --- 2. Python virtualenv ---------------------------------------------------------------
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
[ -x "$VENV/bin/python" ] || { say "creating virtualenv $VENV"; "$PYTHON" -m venv "$VENV"; }
stamp=$VENV/.fraudstack-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages (pyspark is large: the first time takes a few minutes)"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[dev]"
  echo "$want" > "$stamp"
fi

# --- 2b. Apache Airflow, for the batch DAG (its pins clash with ours: a virtualenv of its own) ---
AIRFLOW_VENV=$HOME_DIR/airflow-venv
AIRFLOW_VERSION=3.3.2
[ -x "$AIRFLOW_VENV/bin/python" ] || "$PYTHON" -m venv "$AIRFLOW_VENV"
if [ "$(cat "$AIRFLOW_VENV/.fraudstack-deps" 2>/dev/null)" != "$AIRFLOW_VERSION" ]; then
  say "installing Apache Airflow $AIRFLOW_VERSION into $AIRFLOW_VENV (for the batch DAG)"
  "$AIRFLOW_VENV/bin/pip" install -q --disable-pip-version-check "apache-airflow==$AIRFLOW_VERSION"
  echo "$AIRFLOW_VERSION" > "$AIRFLOW_VENV/.fraudstack-deps"
fi

# --- 2c. Apache Superset, for the business dashboards (its pins clash too: its own virtualenv) ---
# 6.1.0 also needs flask-caching 2.3.1, cachelib < 0.14, rich and cachetools to start, and
# pyhive + thrift for its hive:// driver (the Spark Thrift Server).
SUPERSET_VENV=$HOME_DIR/superset-venv
SUPERSET_PACKAGES=(apache-superset==6.1.0 flask-caching==2.3.1 "cachelib<0.14" rich cachetools
  pyhive thrift thrift-sasl pure-sasl)
SUPERSET_WANT=$(printf '%s\n' "${SUPERSET_PACKAGES[@]}" | sha256sum | cut -d' ' -f1)
[ -x "$SUPERSET_VENV/bin/python" ] || "$PYTHON" -m venv "$SUPERSET_VENV"
if [ "$(cat "$SUPERSET_VENV/.fraudstack-deps" 2>/dev/null)" != "$SUPERSET_WANT" ]; then
  say "installing Apache Superset 6.1.0 into $SUPERSET_VENV (for the business dashboards)"
  "$SUPERSET_VENV/bin/pip" install -q --disable-pip-version-check "${SUPERSET_PACKAGES[@]}"
  echo "$SUPERSET_WANT" > "$SUPERSET_VENV/.fraudstack-deps"
fi

# --- 3. JVM service jars ------------------------------------------------------------------
"$VENV/bin/fraudstack" setup

# --- 4. tools that validate the compose deployment (the Docker Compose CLI, built once) ----
FRAUDSTACK_HOME=$HOME_DIR scripts/tools.sh
say "ready: $VENV/bin/fraudstack (or 'source $VENV/bin/activate')"
