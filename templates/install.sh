#!/bin/sh
# Offline entry point of a rekor-airgap bundle: needs only Docker on this host.
#   ./install.sh --trust bundle-signing.pub [--hostname NAME] [--instance NAME] [...]
#   ./install.sh --help
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
exec "$DIR/installer/node" "$DIR/installer/rekor-airgap.mjs" bundle install "$DIR" "$@"
