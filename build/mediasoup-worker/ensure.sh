#!/usr/bin/env bash
# Makes sure mediasoup (the SFU behind calls) has a worker binary that runs on
# this host, at node_modules/mediasoup/worker/out/Release/mediasoup-worker,
# and prints that path on stdout (everything else goes to stderr).
#
# In order, stopping at the first that works:
#   1. MEDIASOUP_WORKER_BIN names an executable that runs: nothing to do.
#   2. The worker in node_modules already runs (< 1 s).
#   3. A worker cached for this mediasoup version, OS release and arch:
#      ${MEGILANCE_CACHE_DIR:-~/.cache/megilance}/mediasoup-worker/<key>/
#   4. mediasoup's own prebuilt download (its URL scheme; fails fast offline).
#   5. An offline build of mediasoup's own worker sources against Debian's
#      libraries (~6 min on 2 cores, once per key), then cached.
#
# Usage: bash build/mediasoup-worker/ensure.sh [--rebuild] [--no-download]
#   --rebuild      skip 2-4 and build from source again (replaces the cache)
#   --no-download  skip 4 (also: MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD=1)
# Environment: MEGILANCE_CACHE_DIR, MEDIASOUP_WORKER_BIN,
#   MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL (a mirror of mediasoup's
#   GitHub release files), MEGILANCE_MEDIASOUP_DIR (an unpacked mediasoup
#   package other than node_modules/mediasoup), MESON_ARGS (extra meson
#   options), MEGILANCE_KEEP_BUILD_DIR=1 (keep the temporary build tree).
# See build/mediasoup-worker/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MEDIASOUP_DIR=${MEGILANCE_MEDIASOUP_DIR:-"$ROOT/node_modules/mediasoup"}
TARGET="$MEDIASOUP_DIR/worker/out/Release/mediasoup-worker"
CACHE_ROOT="${MEGILANCE_CACHE_DIR:-"$HOME/.cache/megilance"}/mediasoup-worker"

# Debian packages of the offline build: the compiler and build tools, and the
# libraries that stand in for mediasoup's downloaded subprojects. Same names
# on Debian 12 and 13.
BUILD_PACKAGES=(g++ pkg-config ninja-build meson libssl-dev libuv1-dev libsrtp2-dev
  libflatbuffers-dev flatbuffers-compiler libabsl-dev)

REBUILD=0
DOWNLOAD=1
[ -n "${MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD:-}" ] && DOWNLOAD=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --no-download) DOWNLOAD=0 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
      exit 0
      ;;
    *) printf 'Unknown option: %s (see --help)\n' "$arg" >&2 && exit 2 ;;
  esac
done

say() { printf '\033[1m[megilance]\033[0m mediasoup worker: %s\n' "$*" >&2; }
warn() { printf '\033[33m[megilance] mediasoup worker: %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31m[megilance] mediasoup worker: %s\033[0m\n' "$*" >&2; exit 1; }

# mediasoup's own check (npm-scripts.mjs): started without MEDIASOUP_VERSION
# in its environment, a worker that can run here exits at once with 41.
# Anything else (127: a library is missing, 126: wrong arch, a crash) means it
# cannot run on this host.
worker_runs() {
  local bin=$1 rc=0
  [ -f "$bin" ] && [ -x "$bin" ] || return 1
  if command -v timeout >/dev/null 2>&1; then
    timeout 10 env -i "$bin" </dev/null >/dev/null 2>&1 || rc=$?
  else
    env -i "$bin" </dev/null >/dev/null 2>&1 || rc=$?
  fi
  [ "$rc" -eq 41 ]
}

# Copies next to the destination first, then renames: a concurrent reader
# never sees half a binary.
install_binary() {
  local from=$1 to=$2
  mkdir -p "$(dirname "$to")"
  cp "$from" "$to.tmp.$$"
  chmod 755 "$to.tmp.$$"
  mv -f "$to.tmp.$$" "$to"
}

done_with() {
  printf '%s\n' "$1"
  exit 0
}

# --- 1. an operator-provided binary ------------------------------------------
if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
  if [ -f "$MEDIASOUP_WORKER_BIN" ] && [ -x "$MEDIASOUP_WORKER_BIN" ]; then
    worker_runs "$MEDIASOUP_WORKER_BIN" ||
      die "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN does not run on this host (try it: env -i '$MEDIASOUP_WORKER_BIN'; it should exit with code 41). Fix it or unset MEDIASOUP_WORKER_BIN."
    done_with "$MEDIASOUP_WORKER_BIN"
  fi
  warn "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is not an executable file; ignoring it here, but mediasoup will still try to run it: unset it to use the worker set up below."
fi

[ -f "$MEDIASOUP_DIR/package.json" ] ||
  die "mediasoup is not installed at $MEDIASOUP_DIR: run 'bash build/bootstrap.sh setup' (npm ci) first."

# --- 2. already in place ------------------------------------------------------
if [ "$REBUILD" = 0 ] && worker_runs "$TARGET"; then done_with "$TARGET"; fi

# --- the cache key --------------------------------------------------------------
package_field() { # the first "<field>": "<value>" of mediasoup's package.json
  sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$MEDIASOUP_DIR/package.json" | head -n 1
}
MEDIASOUP_VERSION=$(package_field version)
[ -n "$MEDIASOUP_VERSION" ] || die "cannot read mediasoup's version from $MEDIASOUP_DIR/package.json"

os_key() { # debian12, debian13, … (ubuntu24.04 and such elsewhere)
  local ID="" VERSION_ID=""
  # shellcheck disable=SC1091
  [ -r /etc/os-release ] && . /etc/os-release
  if [ "$ID" = debian ]; then
    # Debian testing/unstable has no VERSION_ID; its debian_version reads e.g. "trixie/sid".
    printf 'debian%s' "${VERSION_ID:-$(cut -d. -f1 /etc/debian_version | tr -c 'a-z0-9\n' '-')}"
  else
    printf '%s%s' "${ID:-linux}" "$VERSION_ID"
  fi
}
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
KEY="$MEDIASOUP_VERSION-$(os_key)-$ARCH"
CACHE_DIR="$CACHE_ROOT/$KEY"
CACHED="$CACHE_DIR/mediasoup-worker"

# Two set-ups at once (CI jobs, a developer running start and verify) share
# one build: the second waits for the first and then finds the cache filled.
mkdir -p "$CACHE_ROOT"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_ROOT/.lock"
  if ! flock -n 9; then
    say "another set-up is providing the worker; waiting for it…"
    flock 9
  fi
  if [ "$REBUILD" = 0 ] && worker_runs "$TARGET"; then done_with "$TARGET"; fi
fi

# --- 3. the cache ---------------------------------------------------------------
if [ "$REBUILD" = 0 ] && worker_runs "$CACHED"; then
  install_binary "$CACHED" "$TARGET"
  say "installed the cached worker ($KEY) into node_modules."
  done_with "$TARGET"
fi

# --- 4. mediasoup's prebuilt download ----------------------------------------------
# Same URL as mediasoup's installer: <repo>/releases/download/<version>/
# mediasoup-worker-<version>-<platform>-<node arch>-kernel<major>.tgz, or the
# same file names under MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL.
try_prebuilt() {
  local repo base node_arch url tmp
  repo=$(package_field url | sed -e 's/^git+//' -e 's/\.git$//')
  base=${MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL:-"${repo:-https://github.com/versatica/mediasoup}/releases/download"}
  case "$(uname -m)" in
    x86_64) node_arch=x64 ;;
    aarch64 | arm64) node_arch=arm64 ;;
    armv7l) node_arch=arm ;;
    *) node_arch=$(uname -m) ;;
  esac
  url="$base/$MEDIASOUP_VERSION/mediasoup-worker-$MEDIASOUP_VERSION-linux-$node_arch-kernel$(uname -r | cut -d. -f1).tgz"
  tmp=$(mktemp -d)
  local ok=1
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --connect-timeout 5 --max-time 20 -o "$tmp/worker.tgz" "$url" 2>"$tmp/error" || ok=0
  elif command -v node >/dev/null 2>&1; then
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e '
      const [url, out] = process.argv.slice(1);
      fetch(url, { signal: AbortSignal.timeout(20000) })
        .then(async (res) => {
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          require("node:fs").writeFileSync(out, Buffer.from(await res.arrayBuffer()));
        })
        .catch((error) => { console.error(String(error.cause ?? error)); process.exit(1); });
    ' "$url" "$tmp/worker.tgz" 2>"$tmp/error" || ok=0
  else
    echo "neither curl nor node to download with" >"$tmp/error"
    ok=0
  fi
  if [ "$ok" = 1 ] && tar -xzf "$tmp/worker.tgz" -C "$tmp" 2>>"$tmp/error" && worker_runs "$tmp/mediasoup-worker"; then
    mkdir -p "$CACHE_DIR"
    install_binary "$tmp/mediasoup-worker" "$CACHED"
    printf 'source: %s\ndownloaded: %s\n' "$url" "$(date -u +%FT%TZ)" >"$CACHE_DIR/BUILD-INFO"
    rm -rf "$tmp"
    return 0
  fi
  if [ "$ok" = 1 ]; then
    say "the prebuilt worker from $url does not run on this host; building instead."
  else
    say "no prebuilt worker ($(head -c 200 "$tmp/error" | tr '\n' ' ')); building it from mediasoup's sources instead."
  fi
  rm -rf "$tmp"
  return 1
}

if [ "$REBUILD" = 0 ] && [ "$DOWNLOAD" = 1 ] && try_prebuilt; then
  install_binary "$CACHED" "$TARGET"
  say "installed mediasoup's prebuilt worker (cached as $KEY)."
  done_with "$TARGET"
fi

# --- 5. the offline build ---------------------------------------------------------
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "cannot build it: missing system packages (${missing[*]}) and no apt-get. Install them with your package manager, or build the worker on a Debian machine and point MEDIASOUP_WORKER_BIN at it (build/mediasoup-worker/README.md)."
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      die "cannot build it: missing system packages: ${missing[*]}. Run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    fi
  fi
  say "installing the build's system packages: ${missing[*]}"
  local log="$CACHE_ROOT/apt.log"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 || true
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >>"$log" 2>&1; then
    tail -n 15 "$log" >&2
    die "apt-get could not install: ${missing[*]} (is a Debian mirror reachable? see build/mediasoup-worker/README.md). Log: $log"
  fi
}

version_lt() { # $1 < $2, Debian version ordering
  if command -v dpkg >/dev/null 2>&1; then dpkg --compare-versions "$1" lt "$2"; else
    [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]
  fi
}

elapsed() { printf '%dm%02ds' $(((SECONDS - BUILD_START) / 60)) $(((SECONDS - BUILD_START) % 60)); }

# Logs ninja's output and shows a line every 10 %.
ninja_progress() {
  local log=$1 line next=10 step total pct
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    if [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]]; then
      step=${BASH_REMATCH[1]}
      total=${BASH_REMATCH[2]}
      pct=$((step * 100 / total))
      if [ "$pct" -ge "$next" ]; then
        say "  compiled $step/$total ($pct %), $(elapsed)"
        next=$(((pct / 10 + 1) * 10))
      fi
    fi
  done
}

build_failed() {
  local log=$1
  mkdir -p "$CACHE_DIR"
  cp "$log" "$CACHE_DIR/build-failed.log" 2>/dev/null || true
  tail -n 30 "$log" >&2 || true
  die "$2 Full log: $CACHE_DIR/build-failed.log"
}

build_offline() {
  local src="$MEDIASOUP_DIR/worker"
  [ -f "$src/meson.build" ] || die "cannot build it: mediasoup's worker sources are missing ($src/meson.build)."
  command -v dpkg-query >/dev/null 2>&1 ||
    die "cannot build it: the offline build is made for Debian 12/13 (no dpkg here). Build the worker on a Debian machine and point MEDIASOUP_WORKER_BIN at it (build/mediasoup-worker/README.md)."
  apt_install "${BUILD_PACKAGES[@]}"

  BUILD_START=$SECONDS
  local build
  build=$(mktemp -d "${TMPDIR:-/tmp}/megilance-mediasoup-worker.XXXXXX")
  if [ "${MEGILANCE_KEEP_BUILD_DIR:-0}" = 1 ]; then
    say "keeping the build tree: $build"
  else
    # shellcheck disable=SC2064 # expand now: $build is local
    trap "rm -rf '$build'" EXIT
  fi
  local log="$build/build.log"

  # A private copy of mediasoup's sources: node_modules stays as npm left it.
  mkdir -p "$build/worker"
  (cd "$src" && tar --exclude=./out --exclude=./prebuild --exclude=./subprojects/packagecache -cf - .) |
    (cd "$build/worker" && tar -xf -)

  # Each wrap gets the folder its `directory =` line names, so meson uses our
  # stand-in instead of downloading.
  local template name wrap dir
  for template in "$HERE"/subprojects/*/; do
    name=$(basename "$template")
    wrap="$build/worker/subprojects/$name.wrap"
    if [ ! -f "$wrap" ]; then
      warn "mediasoup $MEDIASOUP_VERSION has no $name.wrap any more; its stand-in is not used."
      continue
    fi
    dir=$(sed -n 's/^[[:space:]]*directory[[:space:]]*=[[:space:]]*//p' "$wrap" | tr -d '[:space:]')
    [ -n "$dir" ] || die "cannot read the directory of $name.wrap"
    rm -rf "$build/worker/subprojects/$dir"
    cp -R "$template" "$build/worker/subprojects/$dir"
  done

  # The DTLS fix. OpenSSL calls the BIO callback after an operation with
  # BIO_CB_RETURN OR-ed into the operation type; the worker compares with ==,
  # so after every BIO_ctrl() it answers 1 instead of OpenSSL's result.
  # Debian's OpenSSL has kernel TLS, asks the BIO whether kTLS is on, gets 1,
  # and the first DTLS handshake crashes on a null write buffer. Test the bit.
  local dtls="$build/worker/src/RTC/DtlsTransport.cpp"
  if grep -q '(operationType == BIO_CB_RETURN)' "$dtls"; then
    sed -i 's/(operationType == BIO_CB_RETURN)/((operationType \& BIO_CB_RETURN) != 0)/' "$dtls"
  elif ! grep -q 'operationType & BIO_CB_RETURN' "$dtls"; then
    warn "DtlsTransport.cpp has changed upstream; the BIO_CB_RETURN fix was not applied. Check it against build/mediasoup-worker/README.md."
  fi

  # Debian 12's meson is 1.0.1; mediasoup asks for >= 1.1.0 but builds with
  # 1.0 (proven). Newer meson (Debian 13) leaves the file as it is.
  local have want
  have=$(meson --version)
  want=$(sed -n "s/.*meson_version:[[:space:]]*'>=[[:space:]]*\([0-9.]*\)'.*/\1/p" "$build/worker/meson.build" | head -n 1)
  if [ -n "$want" ] && version_lt "$have" "$want"; then
    version_lt "$have" 1.0.0 && die "cannot build it: meson $have is too old (mediasoup wants >= $want; 1.0 is known to work)."
    say "meson $have is older than the $want mediasoup asks for; relaxing that (1.0 is known to work)."
    sed -i "s/meson_version:[[:space:]]*'>=[[:space:]]*$want'/meson_version: '>= $have'/" "$build/worker/meson.build"
  fi

  say "building mediasoup $MEDIASOUP_VERSION's worker from its sources against Debian's libraries (about 6 min on 2 cores; once per version)…"
  # shellcheck disable=SC2086 # MESON_ARGS is a list of options
  (cd "$build" && meson setup out worker --wrap-mode=nodownload --buildtype=release -Db_ndebug=true ${MESON_ARGS:-}) \
    >"$log" 2>&1 || build_failed "$log" "meson setup failed."
  say "  configured ($(elapsed)); compiling…"
  # Only the worker executable (not mediasoup's tests, fuzzer or library).
  if ! ninja -C "$build/out" ${MEGILANCE_BUILD_JOBS:+-j "$MEGILANCE_BUILD_JOBS"} mediasoup-worker 2>&1 | ninja_progress "$log"; then
    build_failed "$log" "the compile failed."
  fi

  local bin="$build/out/mediasoup-worker"
  strip --strip-unneeded "$bin" 2>/dev/null || warn "strip failed; keeping the unstripped binary."
  worker_runs "$bin" || build_failed "$log" "the built worker does not run (expected exit code 41 without MEDIASOUP_VERSION)."

  mkdir -p "$CACHE_DIR"
  install_binary "$bin" "$CACHED"
  cp "$log" "$CACHE_DIR/build.log"
  rm -f "$CACHE_DIR/build-failed.log"
  {
    printf 'mediasoup: %s (built from node_modules/mediasoup/worker, offline)\n' "$MEDIASOUP_VERSION"
    printf 'built: %s on %s in %s\n' "$(date -u +%FT%TZ)" "$(uname -srm)" "$(elapsed)"
    printf 'meson: %s, compiler: %s\n' "$have" "$(c++ --version | head -n 1)"
    printf 'packages:'
    dpkg-query -W -f=' ${Package}=${Version}' "${BUILD_PACKAGES[@]}" 2>/dev/null || true
    printf '\nsha256: %s\n' "$(sha256sum "$CACHED" | cut -d' ' -f1)"
    printf 'runtime libraries:\n'
    ldd "$CACHED" | sed 's/^/  /'
  } >"$CACHE_DIR/BUILD-INFO"
  say "built in $(elapsed), $(du -h "$CACHED" | cut -f1); cached as $CACHE_DIR"
}

build_offline
install_binary "$CACHED" "$TARGET"
done_with "$TARGET"
