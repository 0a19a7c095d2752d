// Command go-checker verifies a rekor-airgap smoke record with code this project did not write:
// golang.org/x/mod/sumdb/note for the signed checkpoint and github.com/transparency-dev/merkle for
// the RFC 6962 inclusion proof. It exits non-zero, saying why, when anything fails.
//
//	go-checker -record smoke.json -key log-public.pem -origin rekor.example
package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

type record struct {
	Payload struct {
		LogIndex       uint64 `json:"rekor_log_index"`
		InclusionProof struct {
			LogIndex   uint64   `json:"log_index"`
			TreeSize   uint64   `json:"tree_size"`
			RootHash   string   `json:"root_hash"`
			Hashes     []string `json:"hashes"`
			Checkpoint string   `json:"checkpoint"`
		} `json:"inclusion_proof"`
	} `json:"payload"`
	Entries []struct {
		LogIndex          uint64 `json:"logIndex"`
		CanonicalizedBody string `json:"canonicalizedBody"`
	} `json:"entries"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-checker: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	recordPath := flag.String("record", "", "smoke JSON output")
	keyPath := flag.String("key", "", "log public key (PEM, Ed25519)")
	origin := flag.String("origin", "", "checkpoint origin")
	flag.Parse()

	raw, err := os.ReadFile(*recordPath)
	if err != nil {
		fail("%v", err)
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		fail("record: %v", err)
	}
	keyPEM, err := os.ReadFile(*keyPath)
	if err != nil {
		fail("%v", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		fail("key: not PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		fail("key: %v", err)
	}
	edKey, ok := pub.(ed25519.PublicKey)
	if !ok {
		fail("key: not Ed25519")
	}
	vkey, err := note.NewEd25519VerifierKey(*origin, edKey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier: %v", err)
	}
	ip := rec.Payload.InclusionProof
	n, err := note.Open([]byte(ip.Checkpoint), note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != *origin {
		fail("checkpoint origin %q, expected %q", lines[0], *origin)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}
	var body []byte
	for _, e := range rec.Entries {
		if e.LogIndex == rec.Payload.LogIndex {
			body, err = base64.StdEncoding.DecodeString(e.CanonicalizedBody)
			if err != nil {
				fail("body: %v", err)
			}
		}
	}
	if body == nil {
		fail("no entry body for log index %d", rec.Payload.LogIndex)
	}
	hashes := make([][]byte, len(ip.Hashes))
	for i, h := range ip.Hashes {
		if hashes[i], err = hex.DecodeString(h); err != nil {
			fail("hash %d: %v", i, err)
		}
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(body)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, ip.LogIndex, size, leaf, hashes, root); err != nil {
		fail("inclusion: %v", err)
	}
	fmt.Printf("OK: entry %d is in the tree of size %d signed by %s\n", ip.LogIndex, size, *origin)
}
