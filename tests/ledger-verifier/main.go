// Command ledger-verifier checks a running Kaifang portal's public ledger with Go's own
// checksum-database code (golang.org/x/mod/sumdb/note and sumdb/tlog), independently of
// Kaifang's C: the checkpoint's signature (C2SP signed-note, Ed25519), every entry's
// leaf hash, inclusion proofs of random entries (served by /api/ledger/proof/inclusion
// and computed here from the tiles with tlog.ProveRecord over a tlog.TileHashReader),
// the tiles' hashes against the signed root (TileHashReader checks them), and
// consistency proofs (served and computed with tlog.ProveTree) from every checkpoint
// saved by an earlier run to the current one (tlog.CheckTree).
//
// Build offline from Debian's golang-go and golang-golang-x-mod-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$PWD/.gocache go build -o ledger-verifier main.go
//
// Usage:
//
//	ledger-verifier -url http://127.0.0.1:8080 -key VKEY [-save DIR] [-samples N] [-seed S]
//
// Exit status 0 when everything verified, 1 on any failure (each printed on stderr).
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	baseURL  = flag.String("url", "", "the portal's base URL, e.g. http://127.0.0.1:8080")
	vkey     = flag.String("key", "", "the ledger's verifier key (kaifang ledger key)")
	saveDir  = flag.String("save", "", "directory of checkpoints seen before; this run's is added")
	samples  = flag.Int("samples", 20, "random entries whose inclusion is proven")
	seed     = flag.Int64("seed", 0, "random seed (0: from the clock)")
	allEntry = flag.Bool("all", true, "fetch every entry and check its leaf hash")

	client   = &http.Client{Timeout: 60 * time.Second}
	failures int
)

func fail(format string, args ...interface{}) {
	failures++
	fmt.Fprintf(os.Stderr, "ledger-verifier: FAIL: "+format+"\n", args...)
}

func get(path string) ([]byte, error) {
	resp, err := client.Get(strings.TrimRight(*baseURL, "/") + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: HTTP %d: %.200s", path, resp.StatusCode, body)
	}
	return body, nil
}

func getJSON(path string, v interface{}) error {
	body, err := get(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %v", path, err)
	}
	return nil
}

// checkpoint is an opened C2SP tlog-checkpoint: origin, size, root.
type checkpoint struct {
	origin string
	tree   tlog.Tree
	msg    []byte
}

// openCheckpoint verifies a signed note with the key and parses its checkpoint body.
func openCheckpoint(msg []byte, verifiers note.Verifiers) (*checkpoint, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return nil, fmt.Errorf("signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("checkpoint body %q is not origin, size, root", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return nil, fmt.Errorf("checkpoint size %q", lines[1])
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		return nil, fmt.Errorf("checkpoint root %q: %v", lines[2], err)
	}
	return &checkpoint{origin: lines[0], tree: tlog.Tree{N: size, Hash: h}, msg: msg}, nil
}

// tileReader reads C2SP tlog-tiles (height 8, no height in the path) over HTTP.
type tileReader struct{ fetched int }

func (r *tileReader) Height() int { return 8 }

func c2spPath(t tlog.Tile) string {
	// x/mod writes "tile/8/L/NNN[.p/W]"; C2SP drops the height: "tile/L/NNN[.p/W]".
	p := t.Path()
	return "/ledger/tile/" + strings.TrimPrefix(p, fmt.Sprintf("tile/%d/", t.H))
}

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := get(c2spPath(t))
		if err != nil {
			return nil, err
		}
		r.fetched++
		out[i] = data
	}
	return out, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

type entryJSON struct {
	Index    int64  `json:"index"`
	Entry    string `json:"entry"`
	LeafHash string `json:"leaf_hash"`
}

type inclusionJSON struct {
	Index    int64    `json:"index"`
	Size     int64    `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	RootHash string   `json:"root_hash"`
	Proof    []string `json:"proof"`
}

type consistencyJSON struct {
	First      int64    `json:"first"`
	Second     int64    `json:"second"`
	FirstRoot  string   `json:"first_root"`
	SecondRoot string   `json:"second_root"`
	Proof      []string `json:"proof"`
}

func parseHashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// bundle reads entry bundle n of width w: uint16-length-prefixed entries.
func bundle(n int64, w int) ([][]byte, error) {
	t := tlog.Tile{H: 8, L: 0, N: n, W: w}
	p := "/ledger/tile/entries/" + strings.TrimPrefix(t.Path(), "tile/8/0/")
	data, err := get(p)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("bundle %d: cut length", n)
		}
		l := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+l {
			return nil, fmt.Errorf("bundle %d: cut entry", n)
		}
		out = append(out, data[2:2+l])
		data = data[2+l:]
	}
	if len(out) != w {
		return nil, fmt.Errorf("bundle %d holds %d entries, want %d", n, len(out), w)
	}
	return out, nil
}

func loadSaved(verifiers note.Verifiers) []*checkpoint {
	if *saveDir == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(*saveDir, "*.note"))
	var out []*checkpoint
	for _, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			fail("%s: %v", f, err)
			continue
		}
		c, err := openCheckpoint(msg, verifiers)
		if err != nil {
			fail("saved checkpoint %s: %v", f, err)
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tree.N < out[j].tree.N })
	return out
}

func main() {
	flag.Parse()
	if *baseURL == "" || *vkey == "" {
		fmt.Fprintln(os.Stderr, "usage: ledger-verifier -url URL -key VKEY [-save DIR] [-samples N]")
		os.Exit(2)
	}
	v, err := note.NewVerifier(*vkey)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ledger-verifier: key: %v\n", err)
		os.Exit(2)
	}
	verifiers := note.VerifierList(v)
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewSource(*seed))

	// 1. The checkpoint.
	msg, err := get("/ledger/checkpoint")
	if err != nil {
		fail("%v", err)
		os.Exit(1)
	}
	cp, err := openCheckpoint(msg, verifiers)
	if err != nil {
		fail("checkpoint: %v", err)
		os.Exit(1)
	}
	if cp.origin != v.Name() {
		fail("checkpoint origin %q is not the key's name %q", cp.origin, v.Name())
	}
	N, root := cp.tree.N, cp.tree.Hash
	tr := &tileReader{}
	hr := tlog.TileHashReader(cp.tree, tr)

	// 2. The tiles reproduce the signed root (TileHashReader checks every tile it reads
	// against the tree hash); the tree hash recomputed over them must be the root.
	if N > 0 {
		th, err := tlog.TreeHash(N, hr)
		if err != nil {
			fail("tree hash from tiles: %v", err)
		} else if th != root {
			fail("tree hash from tiles %v is not the checkpoint's root %v", th, root)
		}
	}

	// 3. Entries: every leaf hash from the entry text, against the API's and the tiles'.
	leaf := make(map[int64]tlog.Hash)
	if *allEntry {
		for start := int64(0); start < N; start += 256 {
			end := start + 256
			if end > N {
				end = N
			}
			var list []entryJSON
			if err := getJSON(fmt.Sprintf("/api/ledger/entries?start=%d&end=%d", start, end), &list); err != nil {
				fail("%v", err)
				break
			}
			if int64(len(list)) != end-start {
				fail("/api/ledger/entries?start=%d&end=%d: %d entries", start, end, len(list))
			}
			for k, e := range list {
				if e.Index != start+int64(k) {
					fail("entries: index %d at position %d", e.Index, start+int64(k))
				}
				h := tlog.RecordHash([]byte(e.Entry))
				if got, err := tlog.ParseHash(e.LeafHash); err != nil || got != h {
					fail("entry %d: leaf_hash %q is not SHA-256(0x00 || entry)", e.Index, e.LeafHash)
				}
				leaf[e.Index] = h
			}
			// The entry bundle holds the same bytes.
			w := int(end - start)
			entries, err := bundle(start/256, w)
			if err != nil {
				fail("%v", err)
				continue
			}
			for k, b := range entries {
				if tlog.RecordHash(b) != leaf[start+int64(k)] {
					fail("entry %d: the bundle's bytes differ from /api/ledger/entries", start+int64(k))
				}
			}
		}
	}

	// 4. Inclusion of random entries (plus the first and the last).
	idx := []int64{}
	if N > 0 {
		idx = append(idx, 0, N-1)
		for i := 0; i < *samples; i++ {
			idx = append(idx, rng.Int63n(N))
		}
	}
	for _, i := range idx {
		var inc inclusionJSON
		if err := getJSON(fmt.Sprintf("/api/ledger/proof/inclusion?index=%d&size=%d", i, N), &inc); err != nil {
			fail("%v", err)
			continue
		}
		lh, err1 := tlog.ParseHash(inc.LeafHash)
		rh, err2 := tlog.ParseHash(inc.RootHash)
		proof, err3 := parseHashes(inc.Proof)
		if err1 != nil || err2 != nil || err3 != nil || inc.Index != i || inc.Size != N {
			fail("inclusion proof of %d: malformed %+v", i, inc)
			continue
		}
		if rh != root {
			fail("inclusion proof of %d: root_hash %v is not the checkpoint's %v", i, rh, root)
		}
		if want, ok := leaf[i]; ok && want != lh {
			fail("inclusion proof of %d: leaf_hash is not the entry's", i)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(proof), N, root, i, lh); err != nil {
			fail("served inclusion proof of entry %d in size %d: %v", i, N, err)
		}
		// The same proof computed here from the tiles.
		p2, err := tlog.ProveRecord(N, i, hr)
		if err != nil {
			fail("proof of %d from tiles: %v", i, err)
			continue
		}
		if err := tlog.CheckRecord(p2, N, root, i, lh); err != nil {
			fail("inclusion proof of entry %d computed from tiles: %v", i, err)
		}
	}

	// 5. Consistency with every checkpoint seen before.
	for _, old := range loadSaved(verifiers) {
		n0, h0 := old.tree.N, old.tree.Hash
		switch {
		case n0 > N:
			fail("rollback: size %d was seen before, the log now has %d", n0, N)
		case n0 == N:
			if h0 != root {
				fail("fork: two roots for size %d", N)
			}
		case n0 == 0:
			// x/mod refuses proofs from size 0; the empty tree is a prefix of any tree.
			if h0 != (tlog.Hash{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}) {
				fail("a size-0 checkpoint without the empty root")
			}
		default:
			var c consistencyJSON
			if err := getJSON(fmt.Sprintf("/api/ledger/proof/consistency?first=%d&second=%d", n0, N), &c); err != nil {
				fail("%v", err)
				continue
			}
			proof, err := parseHashes(c.Proof)
			if err != nil || c.First != n0 || c.Second != N {
				fail("consistency proof %d -> %d: malformed", n0, N)
				continue
			}
			if err := tlog.CheckTree(tlog.TreeProof(proof), N, root, n0, h0); err != nil {
				fail("served consistency proof %d -> %d: %v", n0, N, err)
			}
			p2, err := tlog.ProveTree(N, n0, hr)
			if err != nil {
				fail("consistency proof %d -> %d from tiles: %v", n0, N, err)
			} else if err := tlog.CheckTree(p2, N, root, n0, h0); err != nil {
				fail("consistency %d -> %d computed from tiles: %v", n0, N, err)
			}
		}
	}
	if *saveDir != "" && failures == 0 {
		if err := os.MkdirAll(*saveDir, 0o755); err == nil {
			err = os.WriteFile(filepath.Join(*saveDir, fmt.Sprintf("%d.note", N)), cp.msg, 0o644)
		}
		if err != nil {
			fail("saving the checkpoint: %v", err)
		}
	}
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "ledger-verifier: %d failures (seed %d)\n", failures, *seed)
		os.Exit(1)
	}
	fmt.Printf("ledger-verifier: ok: %s size %d root %s; %d entries, %d inclusion proofs, %d tiles (seed %d)\n",
		cp.origin, N, base64.StdEncoding.EncodeToString(root[:]), len(leaf), len(idx), tr.fetched, *seed)
	_ = errors.New
}
