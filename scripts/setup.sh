#!/usr/bin/env bash
# Installs every Debian package Atelier needs to build and test, then builds it
# into build/: the targets named on the command line (quickstart.sh: the two
# binaries the main job runs), else everything (test.sh: tests and benchmarks
# too). Safe to re-run: apt runs only when something is missing, and the build
# is incremental (ccache keeps rebuilds short).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  libsqlite3-dev sqlite3 libsqlitecpp-dev
  libpq-dev postgresql               # the PostgreSQL store; its server runs the store tests
  iproute2                           # network namespaces for the multi-host test
  libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libsodium-dev
  libhowardhinnant-date-dev tzdata   # cron schedules in IANA time zones
  libpoco-dev                        # the dashboard's HTTP server (atelier serve)
  chromium                           # the dashboard's browser tests (headless)
  libgtest-dev libgmock-dev
  libicu-dev zlib1g-dev              # CLIP's tokenizer: Unicode classes/NFC; its gzipped vocabulary
  libpng-dev libjpeg-dev libtorch-dev   # libjpeg: JPEG decoded at reduced size for hashing
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  # the video kind: FFmpeg 5.1 libraries, fontconfig and the CJK font its text
  # uses; the ffmpeg package's ffprobe checks videos in tests, its CLI is the
  # benchmark's peer
  libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev libswscale-dev libswresample-dev
  libfontconfig-dev fontconfig fonts-noto-cjk ffmpeg
  # libtorch calls BLAS through libblas.so.3: without OpenBLAS it gets the
  # reference BLAS, which makes every matrix product many times slower.
  libopenblas0-openmp
  openssl ca-certificates   # scripts/fetch_datasets.sh: sha512 check of the packs
)
# scripts/fetch_datasets.sh runs `npm pack`. A machine may already have Node.js
# and npm from another source (a nodejs package that bundles npm): Debian's npm
# conflicts with that, so it is installed only when no npm is on PATH.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
# Test-time extras test.sh asks for (never runtime dependencies).
# shellcheck disable=SC2206
PACKAGES+=(${ATELIER_EXTRA_PACKAGES:-})

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout, so a second clone (a fresh-clone check, a CI
# workspace) reuses what the first one compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if (($#)); then
  cmake --build "$BUILD_DIR" -j "$(nproc)" --target "$@"
else
  cmake --build "$BUILD_DIR" -j "$(nproc)"
fi
