#!/usr/bin/env bash
# Builds the Prometheus server WITH its web UI, at the version pinned in go.mod/go.sum here,
# from the package registries only (Go module proxy + npm):
#
#   stack/prometheus/build.sh OUTPUT_BINARY [WORK_DIR]
#   e.g. stack/prometheus/build.sh .lab/bin/prometheus .lab/build/prometheus
#
# Why a script and not `go build` like MinIO: the UI is not in the Go module. Prometheus's
# release builds it from web/ui with pnpm (`make assets assets-compress`) and embeds the
# gzipped files with the `builtinassets` tag (web/ui/embed.go is generated). The module cache
# is read-only, so the module's source is copied into WORK_DIR and built there:
#
#   1. go mod download the pinned module; its hash must equal go.sum's
#   2. copy it to WORK_DIR/src, apply web-ui-code-highlight.patch (the one npm package the
#      registry lacks: @mantine/code-highlight 9.7.2 -> 9.6.2, as a pnpm override)
#   3. pnpm (PNPM_VERSION, from npm) installs web/ui with the patched lockfile, frozen
#   4. `pnpm run build:mantine-ui` (= make ui-build BUILD_UI=mantine), then
#      scripts/compress_assets.sh (= make assets-compress)
#   5. go build -tags netgo,builtinassets ./cmd/prometheus ./cmd/promtool (tags as in upstream's
#      .promu.yml), ONE go build for both binaries: they share most packages, so promtool (the
#      lab's rule tests, `promtool check config`) costs its own packages and a link, not a second
#      compilation of Prometheus. promtool lands next to OUTPUT_BINARY.
#
# Idempotent: a binary whose stamp matches the inputs (go.mod, go.sum, the patch, this
# script) is left alone. Resumable: a finished source copy, pnpm install and UI build are
# kept in WORK_DIR and reused; delete WORK_DIR to start over. Everything goes to
# WORK_DIR/build.log; the terminal gets one line per step.
# The classic UI (web/ui/react-app, `--enable-feature=old-ui`) is not built.
# Needs: go (1.24+; a newer toolchain is fetched from the module proxy if go.mod asks),
# node >= 20.19 and npm (for vite 8), patch, gzip. Tested on Linux x86-64.
set -euo pipefail

PNPM_VERSION=12.23.0
MODULE=github.com/prometheus/prometheus
MIN_NODE=20.19.0

usage() { echo "usage: $0 OUTPUT_BINARY [WORK_DIR]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PATCH_FILE="$HERE/web-ui-code-highlight.patch"
OUT="$(realpath -m "$1")"
WORK="$(realpath -m "${2:-$(dirname "$OUT")/.prometheus-build}")"
SRC="$WORK/src"
UI="$SRC/web/ui"
LOG="$WORK/build.log"

mkdir -p "$WORK" "$(dirname "$OUT")"
# Two builds in one WORK_DIR would trample each other (flock is absent on macOS: no lock there).
exec 9>"$WORK/.lock"
if command -v flock >/dev/null && ! flock -n 9; then
  echo "build.sh: another build is running in $WORK" >&2; exit 1
fi

exec 3>&1 >>"$LOG" 2>&1
T0=$SECONDS
STEP_T0=$SECONDS
STEP=start
step() {
  STEP="$1"; STEP_T0=$SECONDS
  echo; echo "=== $(date -u +%FT%TZ) $STEP"
  echo "prometheus build: $STEP ..." >&3
}
done_step() { echo "=== $STEP: done in $((SECONDS - STEP_T0)) s"; echo "  done in $((SECONDS - STEP_T0)) s" >&3; }
die() { echo "build.sh: $*"; echo "build.sh: $*" >&3; exit 1; }
trap 'rc=$?; echo "build.sh: failed during \"$STEP\" (exit $rc); see $LOG" >&3; tail -n 15 "$LOG" | sed "s/^/  | /" >&3' ERR

echo; echo "##### $(date -u +%FT%TZ) build.sh $OUT $WORK"

# --------------------------------------------------------------------------- pins and tools
VERSION="$(awk -v m="$MODULE" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$HERE/go.mod")"
SUM="$(awk -v m="$MODULE" -v v="$VERSION" '$1 == m && $2 == v {print $3; exit}' "$HERE/go.sum")"
[[ -n $VERSION && -n $SUM ]] || die "no pinned $MODULE in $HERE/go.mod + go.sum: restore them from git"
# Prometheus 3.x publishes its Go module as v0.3XX.Y for release 3.XX.Y.
[[ $VERSION =~ ^v0\.([0-9])([0-9][0-9])\.([0-9]+)$ ]] || die "cannot derive the release from $MODULE $VERSION"
RELEASE="${BASH_REMATCH[1]}.$((10#${BASH_REMATCH[2]})).${BASH_REMATCH[3]}"

INPUTS="$(cat "$HERE/go.mod" "$HERE/go.sum" "$PATCH_FILE" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
PROMTOOL="$(dirname "$OUT")/promtool"
if [[ -x $OUT && -x $PROMTOOL && -f $OUT.stamp && "$(cat "$OUT.stamp")" == "$INPUTS" ]]; then
  echo "up to date: $OUT ($RELEASE, inputs $INPUTS)"
  echo "prometheus $RELEASE is up to date: $OUT" >&3
  exit 0
fi

for tool in go node npm patch gzip; do
  command -v "$tool" >/dev/null || die "\`$tool\` is not installed and is needed to build Prometheus with its UI"
done
NODE_VERSION="$(node -p process.versions.node)"
[[ "$(printf '%s\n%s\n' "$MIN_NODE" "$NODE_VERSION" | sort -V | head -n1)" == "$MIN_NODE" ]] \
  || die "Node.js $NODE_VERSION is too old to build Prometheus's UI (vite 8 needs $MIN_NODE or newer)"

# The module graph is fixed by go.mod/go.sum; the copy has no go.work of its own to honour
# (go.work names nested modules the module zip leaves out); -buildvcs=false because WORK_DIR
# may sit inside the lab's own git checkout, whose commit is not Prometheus's.
export GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off CGO_ENABLED=0
echo "go $(go env GOVERSION), GOMODCACHE=$(go env GOMODCACHE), GOCACHE=$(go env GOCACHE)"
echo "node $NODE_VERSION, npm $(npm --version), pnpm $PNPM_VERSION, $MODULE $VERSION ($RELEASE) $SUM"

# --------------------------------------------------------------------------- 1-2. source
SRC_STAMP="$VERSION $SUM $(sha256sum < "$PATCH_FILE" | cut -c1-16)"
if [[ -f $SRC/.lab-source && "$(cat "$SRC/.lab-source")" == "$SRC_STAMP" ]]; then
  echo "source: $SRC is $SRC_STAMP, reused"
else
  step "downloading $MODULE $VERSION from the Go module proxy"
  json="$(cd "$HERE" && go mod download -json "$MODULE@$VERSION")"
  dir="$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  got="$(sed -n 's/^\t"Sum": "\(.*\)",$/\1/p' <<<"$json")"
  [[ $got == "$SUM" ]] || die "$MODULE $VERSION has hash '$got', go.sum pins '$SUM': refusing to build"
  [[ -d $dir ]] || die "go mod download gave no source directory: $json"
  done_step

  step "copying the source to $SRC and patching the UI's lockfile"
  rm -rf "$SRC" "$SRC.tmp"
  cp -R "$dir" "$SRC.tmp"
  chmod -R u+w "$SRC.tmp"
  patch -p1 --batch --forward -d "$SRC.tmp" < "$PATCH_FILE"
  [[ "$(cat "$SRC.tmp/VERSION")" == "$RELEASE" ]] || die "the module's VERSION file says $(cat "$SRC.tmp/VERSION"), expected $RELEASE"
  echo "$SRC_STAMP" > "$SRC.tmp/.lab-source"
  mv "$SRC.tmp" "$SRC"
  done_step
fi

# --------------------------------------------------------------------------- 3-4. the UI
PNPM="$WORK/pnpm/node_modules/.bin/pnpm"
if [[ -x $PNPM && "$("$PNPM" --version 2>/dev/null)" == "$PNPM_VERSION" ]]; then
  echo "pnpm $PNPM_VERSION: reused"
else
  step "installing pnpm $PNPM_VERSION from npm"
  rm -rf "$WORK/pnpm"
  mkdir -p "$WORK/pnpm"
  npm install --prefix "$WORK/pnpm" --no-save --no-package-lock --no-audit --no-fund "pnpm@$PNPM_VERSION"
  [[ "$("$PNPM" --version)" == "$PNPM_VERSION" ]] || die "pnpm $PNPM_VERSION did not install into $WORK/pnpm"
  done_step
fi
export PATH="$(dirname "$PNPM"):$PATH"

if [[ -f $UI/static/mantine-ui/index.html ]]; then
  echo "UI: $UI/static/mantine-ui already built, reused"
else
  step "installing the UI's npm packages with pnpm (frozen lockfile)"
  # CI="" as in Prometheus's Makefile; --frozen-lockfile so nothing is resolved anew.
  (cd "$UI" && CI="" pnpm install --frozen-lockfile --reporter=append-only)
  done_step

  step "building the UI (make ui-build BUILD_UI=mantine)"
  (cd "$UI" && CI="" pnpm run build:mantine-ui)
  [[ -f $UI/static/mantine-ui/index.html ]] || die "the UI build left no $UI/static/mantine-ui/index.html"
  done_step
fi

step "compressing the UI's assets (make assets-compress)"
(cd "$SRC" && bash scripts/compress_assets.sh)  # the module zip keeps no exec bits
echo "embedded: $(find "$UI/static" -name '*.gz' | wc -l) files, $(du -sk "$UI/static" | cut -f1) KiB in static/"
done_step

# --------------------------------------------------------------------------- 5. the binary
step "go build -tags netgo,builtinassets ./cmd/prometheus ./cmd/promtool ($RELEASE)"
rm -rf "$OUT.tmpdir"
mkdir -p "$OUT.tmpdir"
(cd "$SRC" && go build -trimpath -tags netgo,builtinassets \
  -ldflags "-X github.com/prometheus/common/version.Version=$RELEASE" \
  -o "$OUT.tmpdir/" ./cmd/prometheus ./cmd/promtool)
"$OUT.tmpdir/prometheus" --version
"$OUT.tmpdir/promtool" --version
rm -f "$OUT.stamp"
mv -f "$OUT.tmpdir/promtool" "$PROMTOOL"
mv -f "$OUT.tmpdir/prometheus" "$OUT"
rmdir "$OUT.tmpdir"
echo "$INPUTS" > "$OUT.stamp"
done_step

echo "=== built $OUT and $PROMTOOL: Prometheus $RELEASE with its UI, $(du -m "$OUT" | cut -f1) MB, $((SECONDS - T0)) s in all"
echo "prometheus $RELEASE with its UI -> $OUT ($(du -m "$OUT" | cut -f1) MB), promtool -> $PROMTOOL, in $((SECONDS - T0)) s" >&3
