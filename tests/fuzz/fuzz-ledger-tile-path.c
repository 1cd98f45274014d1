/*
 * Fuzz harness for the tlog-tiles path parser (ledger_tile_path_parse), which reads the
 * path of every /ledger/tile/... request: untrusted input.
 *
 * Invariants checked, beyond "no crash":
 * - a path that parses is canonical: formatting what it parsed to (ledger_tile_path)
 *   gives back the same bytes, so one tile has exactly one path (caches, CDNs);
 * - what parses is in range: level 0..63 (0 for entry bundles), width 1..256;
 * - for tile coordinates read from the input bytes, parse(format(x)) == x.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ledger/ledger.h"
#include "core/util.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant failed: %s\n", #cond);                                      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf b = BUF_INIT;
    unsigned level = 0, w = 0, l2 = 0, w2 = 0;
    uint64_t n = 0, n2 = 0;
    bool entries = false, e2 = false;
    char *path;

    if (size > 1024)
        return 0;
    path = xmalloc(size + 1);
    memcpy(path, data, size);
    path[size] = '\0';
    if (!ledger_tile_path_parse(path, &level, &n, &w, &entries)) {
        CHECK(level < 64 && w >= 1 && w <= LEDGER_TILE_WIDTH && (!entries || level == 0));
        ledger_tile_path(level, n, w, entries, &b);
        CHECK(!strcmp(b.buf, path));
    }
    /* Coordinates from the first 11 bytes. */
    if (size >= 11) {
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | data[i];
        level = data[8] % 64;
        w = (unsigned)data[9] + 1;
        entries = data[10] & 1;
        if (entries)
            level = 0;
        buf_reset(&b);
        ledger_tile_path(level, n, w, entries, &b);
        CHECK(!ledger_tile_path_parse(b.buf, &l2, &n2, &w2, &e2));
        CHECK(l2 == level && n2 == n && w2 == w && e2 == entries);
    }
    buf_release(&b);
    free(path);
    return 0;
}
