# Pinned versions of the upstream software the rig builds. Change here, and the cache rebuilds.
REKOR_TILES_VERSION=v2.4.2            # what bundles/rekor-v2.yaml pins (needs Go 1.27)
# The module proxy here refuses two of v2.4.2's dependencies (fulcio v1.9.1: 403; goa v3.34.0,
# which fulcio's log package needs: 403). The rig builds v2.4.2 in a throwaway module that
# replaces them with the newest versions it serves. Both sit on the identity (Fulcio certificate)
# path only; key-signed entries, storage (Tessera v1.0.4) and checkpoints are v2.4.2's own code.
REKOR_TILES_REPLACES="github.com/sigstore/fulcio=github.com/sigstore/fulcio@v1.8.8 goa.design/goa/v3=goa.design/goa/v3@v3.30.0"
REKOR_TILES_PREVIOUS_VERSION=v2.3.0   # upgrade tests start from it
REKOR_V1_VERSION=v1.6.1               # what bundles/rekor-v1.yaml pins (needs Go 1.27)
REKOR_V1_PREVIOUS_VERSION=v1.5.4      # upgrade tests start from it; its rekor-cli reads v1 logs in tests
TRILLIAN_VERSION=v1.7.3
TESSERA_VERSION=v1.0.4                # cmd/fsck: an independent check of a restored v2 log
COSIGN_VERSION=v2.6.4                 # checks bundle signatures (verify-blob --key)
COSIGN3_VERSION=v3.1.2                # the reference client against the installed log
HELM_VERSION=v3.22.0                  # publishes the test chart (helm push) and renders it (helm template)
TSA_VERSION=v2.1.5                    # sigstore timestamp-authority (needs Go 1.27)
# transparency-dev/witness publishes no release tags: a pseudo-version pins the commit. The image
# tag is the same string, so the tag names exactly the source the binary was built from.
WITNESS_VERSION=v0.0.0-20260720115447-2e1c6971d19e   # omniwitness, what bundles/witness.yaml pins
# Modules whose go.mod says go 1.27: the go command fetches this toolchain from the module proxy.
GO127_TOOLCHAIN=go1.27.3
DEBIAN_SUITE=bookworm # the suite of the rig's own tools
# The stand-ins of the profiles' nginx and MariaDB, from Debian packages (debootstrap), published
# under the tags the profiles pin.
MARIADB_TAG=11.8      # what the profiles pin (the MariaDB LTS line); Debian trixie ships 11.8: same line
MARIADB_SUITE=trixie
NGINX_TAG=1.30        # what the profiles pin (nginx's stable line); no Debian suite ships 1.30
NGINX_SUITE=trixie    # so the stand-in is trixie's nginx 1.26 (the newest Debian has), labelled as such
NGINX_STANDIN="Debian trixie nginx 1.26 under the tag 1.30: a stand-in, not upstream nginx 1.30"
