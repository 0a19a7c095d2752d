#!/bin/sh
# Offline entry point of a rekor-airgap bundle: needs only Docker on this host.
#   ./install.sh --trust bundle-signing.pub [--hostname NAME] [--instance NAME] [...]
#   ./install.sh --help
#
# Before it runs anything from the bundle, this script checks the bundle's own installer with the
# host's tools: bundle.json.sig against the --trust key(s) with openssl, then the SHA-256 of the
# installer and the Node.js runtime against the signed bundle.json with sha256sum. The installer
# then verifies every other byte itself. Without openssl or sha256sum it stops and says how to
# verify otherwise; --unverified-installer goes on without this check.
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)

fail() { echo "install.sh: $*" >&2; exit 3; }

# --trust FILE / --trust=FILE (repeatable), and our own --unverified-installer (not passed on).
TRUST=''
UNVERIFIED=0
HELP=0
prev=''
for a in "$@"; do
  case "$prev" in --trust) TRUST="$TRUST
$a" ;; esac
  case "$a" in
    --trust=*) TRUST="$TRUST
${a#--trust=}" ;;
    --unverified-installer) UNVERIFIED=1 ;;
    --help|-h) HELP=1 ;;
  esac
  prev=$a
done

verify_installer() {
  for tool in openssl sha256sum base64 grep; do
    command -v "$tool" >/dev/null 2>&1 || fail "cannot check the installer: '$tool' is not on this host.
  Verify the bundle with a copy of rekor-airgap you trust by other means:
    rekor-airgap bundle verify $DIR --trust KEY.pub
  then run this script again with --unverified-installer."
  done
  [ -n "$TRUST" ] || fail "pass --trust KEY.pub (the bundle signing key, brought by a separate trusted channel)"
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  base64 -d <"$DIR/bundle.json.sig" >"$TMP/sig.der" 2>/dev/null || fail "$DIR/bundle.json.sig is not base64"
  ok=0
  OLDIFS=$IFS
  IFS='
'
  for key in $TRUST; do
    [ -n "$key" ] || continue
    if openssl dgst -sha256 -verify "$key" -signature "$TMP/sig.der" "$DIR/bundle.json" >/dev/null 2>&1; then ok=1; break; fi
  done
  IFS=$OLDIFS
  [ "$ok" = 1 ] || fail "bundle.json.sig does not verify with the trusted key(s):$(echo "$TRUST" | tr '\n' ' ')"
  # bundle.json is canonical JSON (sorted keys, one per line): in each file entry the "sha256"
  # line follows the "path" line. Its signature holds, so its text can be matched.
  for f in installer/rekor-airgap.mjs installer/node; do
    want=$(sed -n "\\#^ *\"path\": \"$f\",\$#{n;s/^ *\"sha256\": \"\([0-9a-f]\{64\}\)\",\$/\1/p;}" "$DIR/bundle.json" | head -n 1)
    [ -n "$want" ] || fail "$f is not listed in the signed bundle.json"
    got=$(sha256sum "$DIR/$f" | cut -c1-64)
    [ "$got" = "$want" ] || fail "$DIR/$f does not match the signed bundle.json (sha256 $got, expected $want); the bundle was altered"
  done
  rm -rf "$TMP"
  trap - EXIT
}

if [ "$HELP" = 0 ]; then
  if [ "$UNVERIFIED" = 1 ]; then
    echo "install.sh: --unverified-installer: running the bundle's installer without checking it first" >&2
  else
    verify_installer
  fi
fi

# Pass every argument on, except --unverified-installer.
n=$#
while [ "$n" -gt 0 ]; do
  a=$1
  shift
  n=$((n - 1))
  [ "$a" = --unverified-installer ] || set -- "$@" "$a"
done
exec "$DIR/installer/node" "$DIR/installer/rekor-airgap.mjs" bundle install "$DIR" "$@"
