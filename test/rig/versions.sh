# Pinned versions of the upstream software the rig builds. Change here, and the cache rebuilds.
REKOR_TILES_VERSION=v2.3.0
REKOR_V1_VERSION=v1.5.4
TRILLIAN_VERSION=v1.7.3
COSIGN_VERSION=v2.6.4
DEBIAN_SUITE=bookworm
NGINX_TAG=1.22.1      # the nginx version Debian bookworm ships
MARIADB_TAG=10.11     # the MariaDB series Debian bookworm ships
