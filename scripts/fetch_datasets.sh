#!/usr/bin/env bash
# Fetches the emoji image sets Atelier trains and evaluates on (DESIGN.md s.10)
# with `npm pack` into a cache outside the repository, checks each tarball
# against the registry's published sha512, and unpacks emoji.json, the licence
# and the 64x64 PNGs. Safe to re-run: a verified, unpacked package is left alone.
# Cache: $ATELIER_DATASETS, else ~/.cache/atelier/datasets.
set -euo pipefail

CACHE=${ATELIER_DATASETS:-$HOME/.cache/atelier/datasets}
mkdir -p "$CACHE"

declare -A INTEGRITY=(
  [twitter]="sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ=="
  [google]="sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A=="
)

if ! command -v npm >/dev/null; then
  echo "fetch_datasets: installing npm"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

for style in twitter google; do
  pkg="emoji-datasource-$style"
  tgz="$CACHE/$pkg-16.0.0.tgz"
  dir="$CACHE/$pkg-16.0.0"
  want=${INTEGRITY[$style]}
  if [ -f "$dir/.verified" ] && [ "$(cat "$dir/.verified")" = "$want" ]; then
    continue
  fi
  if [ ! -f "$tgz" ]; then
    echo "fetch_datasets: npm pack $pkg@16.0.0"
    (cd "$CACHE" && npm pack --silent "$pkg@16.0.0" >/dev/null)
  fi
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$want" ]; then
    echo "fetch_datasets: $tgz: integrity $got does not match the registry's $want" >&2
    rm -f "$tgz"
    exit 1
  fi
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  tar xzf "$tgz" -C "$dir.tmp" --strip-components=1 \
    package/emoji.json package/LICENSE package/categories.json "package/img/$style/64"
  echo "$want" > "$dir.tmp/.verified"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  echo "fetch_datasets: $pkg@16.0.0 verified and unpacked in $dir"
done
