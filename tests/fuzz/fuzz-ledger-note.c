/*
 * Fuzz harness for the signed-note verifier and the checkpoint parser (src/ledger/
 * note.c), which read notes fetched from logs and witnesses: untrusted input.
 *
 * The input is a note, verified against a fixed test key and against the vkey its own
 * first signature line would need, then parsed as checkpoint text. Invariants checked,
 * beyond "no crash":
 * - a note that verifies returns as text a prefix of the note ending in "\n", and
 *   verifies again with the same result (verification is deterministic);
 * - a note signed by the test key (ledger_note_sign over any text it accepts) verifies
 *   and gives back exactly that text; one flipped signature byte then fails;
 * - a checkpoint that parses formats back (ledger_checkpoint_text) to text that parses
 *   to the same origin, size and root; without extension lines the text is identical.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ledger/ledger-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant failed: %s\n", #cond);                                      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static struct ledger_key *key;

static void check_checkpoint(const char *text, size_t len)
{
    char origin[256], origin2[256];
    uint8_t root[LEDGER_HASH_LEN], root2[LEDGER_HASH_LEN];
    uint64_t size = 0, size2 = 0;
    struct buf b = BUF_INIT;

    /* The parser reads a C string: the text ends at the first NUL byte of the input. */
    len = strnlen(text, len);
    if (ledger_checkpoint_parse(text, origin, sizeof(origin), &size, root, NULL))
        return;
    ledger_checkpoint_text(origin, size, root, &b);
    CHECK(!ledger_checkpoint_parse(b.buf, origin2, sizeof(origin2), &size2, root2, NULL));
    CHECK(!strcmp(origin, origin2) && size == size2 && !memcmp(root, root2, sizeof(root)));
    /* Three lines and nothing else: formatting gives back the same bytes (the size has
     * no leading zeros and the strict base64 decoder accepts only canonical text). */
    {
        size_t lines = 0;

        for (size_t i = 0; i < len; i++)
            lines += text[i] == '\n';
        if (lines == 3)
            CHECK(b.len == len && !memcmp(b.buf, text, len));
    }
    buf_release(&b);
}

static void check_verify(const char *vkey, const char *note, size_t len)
{
    struct buf t1 = BUF_INIT, t2 = BUF_INIT;
    int rc1, rc2;

    rc1 = ledger_note_verify(vkey, note, len, &t1, NULL);
    rc2 = ledger_note_verify(vkey, note, len, &t2, NULL);
    CHECK(rc1 == rc2);
    if (!rc1) {
        CHECK(t1.len > 0 && t1.len < len && t1.buf[t1.len - 1] == '\n');
        CHECK(!memcmp(t1.buf, note, t1.len));
        CHECK(t1.len == t2.len && !memcmp(t1.buf, t2.buf, t1.len));
    }
    buf_release(&t1);
    buf_release(&t2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf signed_note = BUF_INIT, text = BUF_INIT;
    char *note;

    if (size > 16384)
        return 0;
    if (!key) {
        uint8_t seed[32];

        for (int i = 0; i < 32; i++)
            seed[i] = (uint8_t)i;
        if (ledger_key_from_seed("example.com/fuzz", seed, &key, NULL))
            abort();
    }
    note = xmalloc(size + 1);
    memcpy(note, data, size);
    note[size] = '\0';
    check_verify(ledger_key_vkey(key), note, size);
    check_verify("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", note, size);
    /* The input's own first line as a verifier key. */
    {
        char *nl = memchr(note, '\n', size);

        if (nl) {
            char *vkey = xstrndup(note, (size_t)(nl - note));

            check_verify(vkey, nl + 1, size - (size_t)(nl + 1 - note));
            free(vkey);
        }
    }
    check_checkpoint(note, strlen(note));
    /* Sign whatever the signer accepts; it must verify to the same text. */
    if (strlen(note) == size && !ledger_note_sign(key, note, &signed_note, NULL)) {
        CHECK(!ledger_note_verify(ledger_key_vkey(key), signed_note.buf, signed_note.len, &text,
                                  NULL));
        CHECK(text.len == size && !memcmp(text.buf, note, size));
        signed_note.buf[signed_note.len - 20] ^= 1; /* a base64 digit of the signature */
        CHECK(ledger_note_verify(ledger_key_vkey(key), signed_note.buf, signed_note.len, NULL,
                                 NULL));
    }
    buf_release(&signed_note);
    buf_release(&text);
    free(note);
    return 0;
}
