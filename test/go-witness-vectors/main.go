// Command go-witness-vectors checks rekor-airgap's witness formats against the Go code witnesses
// and logs run: golang.org/x/mod/sumdb/note (keys, signed notes) and
// github.com/transparency-dev/formats/note (cosignature/v1, as omniwitness and Tessera use it).
//
//	go-witness-vectors vectors -out FILE   keys, a log-signed checkpoint and cosignatures made by the Go code
//	go-witness-vectors check -in FILE -out FILE
//	                                       verifies notes cosigned and signer keys made by rekor-airgap
//	                                       (test/unit/witness writes FILE) and records the verdicts
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// The formats version in go.mod, recorded with the vectors.
const formatsVersion = "v0.1.1"

type witnessVector struct {
	Name            string `json:"name"`
	SignerKey       string `json:"signerKey"`
	NoteVkey        string `json:"noteVkey"`
	CosignatureVkey string `json:"cosignatureVkey"`
}

type noteVector struct {
	Description string           `json:"description"`
	Note        string           `json:"note"`
	CosignedBy  map[string]int64 `json:"cosignedBy"`
}

type vectors struct {
	Generator string          `json:"generator"`
	LogVkey   string          `json:"logVkey"`
	Witnesses []witnessVector `json:"witnesses"`
	Notes     []noteVector    `json:"notes"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-witness-vectors: "+format+"\n", args...)
	os.Exit(1)
}

func must[T any](v T, err error) T {
	if err != nil {
		fail("%v", err)
	}
	return v
}

func writeJSON(path string, v any) {
	b := must(json.MarshalIndent(v, "", "  "))
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		fail("%v", err)
	}
}

func newWitness(name string) (witnessVector, note.Signer) {
	skey, vkey := must2(note.GenerateKey(rand.Reader, name))
	return witnessVector{
		Name:            name,
		SignerKey:       skey,
		NoteVkey:        vkey,
		CosignatureVkey: must(f_note.VKeyToCosignatureV1(vkey)),
	}, must(f_note.NewSignerForCosignatureV1(skey))
}

func must2(a, b string, err error) (string, string) {
	if err != nil {
		fail("%v", err)
	}
	return a, b
}

// cosignTimes opens a note with the log and witness verifiers and returns each witness's timestamp.
func cosignTimes(msg []byte, logV note.Verifier, ws []witnessVector) map[string]int64 {
	vs := []note.Verifier{logV}
	for _, w := range ws {
		vs = append(vs, must(f_note.NewVerifierForCosignatureV1(w.CosignatureVkey)))
	}
	n := must(note.Open(msg, note.VerifierList(vs...)))
	out := map[string]int64{}
	for _, s := range n.Sigs {
		if s.Name != logV.Name() {
			out[s.Name] = must(f_note.CoSigV1Timestamp(s)).Unix()
		}
	}
	return out
}

func genVectors(out string) {
	const origin = "log.example.internal/rekor"
	logSkey, logVkey := must2(note.GenerateKey(rand.Reader, origin))
	logSigner := must(note.NewSigner(logSkey))
	logV := must(note.NewVerifier(logVkey))
	w1, s1 := newWitness("witness-1.example.internal")
	w2, s2 := newWitness("witness-2.example.internal")
	root := sha256.Sum256([]byte("go-witness-vectors"))
	body := fmt.Sprintf("%s\n42\n%s\n", origin, b64(root[:]))
	withExt := body + "extension line\n"
	v := vectors{
		Generator: "test/go-witness-vectors (golang.org/x/mod/sumdb/note, github.com/transparency-dev/formats/note " + formatsVersion + ")",
		LogVkey:   logVkey,
		Witnesses: []witnessVector{w1, w2},
	}
	add := func(desc, text string, signers ...note.Signer) {
		msg := must(note.Sign(&note.Note{Text: text}, append([]note.Signer{logSigner}, signers...)...))
		v.Notes = append(v.Notes, noteVector{desc, string(msg), cosignTimes(msg, logV, v.Witnesses)})
	}
	add("log signature only", body)
	add("cosigned by witness 1", body, s1)
	add("cosigned by witnesses 1 and 2", body, s1, s2)
	add("checkpoint with an extension line, cosigned by witness 2", withExt, s2)
	writeJSON(out, v)
}

type ours struct {
	LogVkey string `json:"logVkey"`
	Notes   []struct {
		Note      string   `json:"note"`
		Witnesses []string `json:"witnesses"`
	} `json:"notes"`
	Signers []struct {
		SignerKey string `json:"signerKey"`
		Vkey      string `json:"vkey"`
	} `json:"signers"`
}

type verdict struct {
	Item string `json:"item"`
	OK   bool   `json:"ok"`
	Why  string `json:"why,omitempty"`
}

func checkNote(logV note.Verifier, text string, vkeys []string) error {
	vs := []note.Verifier{logV}
	for _, k := range vkeys {
		v, err := f_note.NewVerifierForCosignatureV1(k)
		if err != nil {
			return fmt.Errorf("NewVerifierForCosignatureV1(%q): %v", k, err)
		}
		vs = append(vs, v)
	}
	n, err := note.Open([]byte(text), note.VerifierList(vs...))
	if err != nil {
		return fmt.Errorf("note.Open: %v", err)
	}
	if len(n.Sigs) != len(vs) {
		return fmt.Errorf("%d of %d signatures verified", len(n.Sigs), len(vs))
	}
	return nil
}

// checkSigner reads a signer key as omniwitness does, then cosigns a checkpoint that the vkey verifies.
func checkSigner(skey, vkey string) error {
	s, err := f_note.NewSignerForCosignatureV1(skey)
	if err != nil {
		return fmt.Errorf("NewSignerForCosignatureV1: %v", err)
	}
	v, err := f_note.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return fmt.Errorf("NewVerifierForCosignatureV1: %v", err)
	}
	if s.Name() != v.Name() || s.KeyHash() != v.KeyHash() {
		return fmt.Errorf("signer %s/%08x, vkey %s/%08x", s.Name(), s.KeyHash(), v.Name(), v.KeyHash())
	}
	if _, err := note.NewSigner(skey); err != nil {
		return fmt.Errorf("sumdb note.NewSigner: %v", err)
	}
	msg, err := note.Sign(&note.Note{Text: "o\n1\n" + b64(make([]byte, 32)) + "\n"}, s)
	if err != nil {
		return err
	}
	_, err = note.Open(msg, note.VerifierList(v))
	return err
}

func check(in, out string) {
	raw := must(os.ReadFile(in))
	var o ours
	if err := json.Unmarshal(raw, &o); err != nil {
		fail("%s: %v", in, err)
	}
	logV := must(note.NewVerifier(o.LogVkey))
	var vs []verdict
	record := func(item string, err error) {
		v := verdict{Item: item, OK: err == nil}
		if err != nil {
			v.Why = err.Error()
		}
		vs = append(vs, v)
	}
	for i, n := range o.Notes {
		record(fmt.Sprintf("note %d (%s)", i, strings.Join(n.Witnesses, ", ")), checkNote(logV, n.Note, n.Witnesses))
	}
	for i, s := range o.Signers {
		record(fmt.Sprintf("signer %d (%s)", i, s.Vkey), checkSigner(s.SignerKey, s.Vkey))
	}
	sum := sha256.Sum256(raw)
	writeJSON(out, map[string]any{
		"checker":     "test/go-witness-vectors check (github.com/transparency-dev/formats/note " + formatsVersion + ")",
		"inputSha256": hex.EncodeToString(sum[:]),
		"verdicts":    vs,
	})
	for _, v := range vs {
		if !v.OK {
			fail("%s: %s", v.Item, v.Why)
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func main() {
	if len(os.Args) < 2 {
		fail("usage: go-witness-vectors vectors -out FILE | check -in FILE -out FILE")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	in := fs.String("in", "", "vectors made by rekor-airgap")
	out := fs.String("out", "", "output file")
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "vectors":
		genVectors(*out)
	case "check":
		check(*in, *out)
	default:
		fail("unknown mode %q", os.Args[1])
	}
}
