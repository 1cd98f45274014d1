/*
 * ledger.c - the ledger over a store: staging entries (ledger_record), integrating them
 * into the tree and signing checkpoints (ledger_integrate), and reading entries and
 * checkpoints. See ledger.h and docs/internals/ledger.md.
 */
#include "crypto/digest.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "ledger/ledger-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

/* Canonical JSON (ledger.h): sorted keys, compact, UTF-8 not \u-escaped. */
#define CANONICAL (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)

/* json_dumpb into buf (size bytes) when it fits, else into a new allocation in *heap.
 * Returns the text (NUL-terminated) and its length in *len, or NULL. */
static const char *dump(json_t *v, char *buf, size_t size, char **heap, size_t *len)
{
    size_t n = json_dumpb(v, buf, size - 1, CANONICAL);

    if (n == 0)
        return NULL;
    if (n < size) {
        buf[n] = '\0';
        *len = n;
        return buf;
    }
    *heap = xmalloc(n + 1);
    if (json_dumpb(v, *heap, n, CANONICAL) != n)
        return NULL;
    (*heap)[n] = '\0';
    *len = n;
    return *heap;
}

/* An entry being built: its canonical text (in ebuf when it fits, else in heap) and leaf
 * hash. */
struct entry_text {
    char ebuf[1024]; /* most entries fit: no allocation for their text */
    char *heap;
    const char *text;
    size_t len;
    uint8_t leaf[LEDGER_HASH_LEN];
};

/* Builds the canonical text of an entry (ledger_record's arguments) and its leaf hash
 * into t; release with entry_text_release(). */
static int entry_build(const char *type, const char *actor, const char *org, json_t *objects,
                       json_t *digest, struct entry_text *t, struct err *err)
{
    char now[TIME_ISO_MAX];
    uint8_t h[SHA256_LEN];
    char dig[sizeof("sha256:") + SHA256_HEX_LEN];
    char dbuf[512];
    json_t *entry = NULL;
    char *dheap = NULL;
    const char *dtext;
    size_t dlen = 0;
    int rc = 0;

    BUG_ON(!type || !*type || !actor || !*actor);
    BUG_ON(objects && !json_is_object(objects));
    t->heap = NULL;
    t->text = NULL;
    t->len = 0;
    time_now_rfc3339(now);
    /* Keys added in sorted order: the sort at dump time then finds them in place. */
    entry = json_object();
    if (json_object_set_new(entry, "actor", json_string(actor)) ||
        json_object_set_new(entry, "objects", objects ? json_incref(objects) : json_object()) ||
        (org && json_object_set_new(entry, "org", json_string(org))) ||
        json_object_set_new(entry, "time", json_string(now)) ||
        json_object_set_new(entry, "type", json_string(type))) {
        rc = err_set(err, ERR_VALIDATION, NULL, "ledger entry fields are not valid UTF-8");
        goto out;
    }
    if (digest) {
        dtext = dump(digest, dbuf, sizeof(dbuf), &dheap, &dlen);
        if (!dtext) {
            rc = err_set(err, ERR_INTERNAL, NULL, "cannot encode the ledger digest");
            goto out;
        }
        sha256(dtext, dlen, h);
        memcpy(dig, "sha256:", 7);
        hex_encode(h, sizeof(h), dig + 7);
        json_object_set_new(entry, "digest", json_string_nocheck(dig));
    }
    t->text = dump(entry, t->ebuf, sizeof(t->ebuf), &t->heap, &t->len);
    if (!t->text) {
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot encode the ledger entry");
        goto out;
    }
    /* tlog-tiles entry bundles prefix each entry with a uint16 length. */
    if (t->len > LEDGER_ENTRY_MAX) {
        rc = err_set(err, ERR_TOO_LARGE, NULL,
                     "ledger entry of type \"%s\" is too large (%zu bytes, at most %u)", type,
                     t->len, LEDGER_ENTRY_MAX);
        goto out;
    }
    merkle_leaf_hash(t->text, t->len, t->leaf);
out:
    free(dheap);
    json_decref(entry);
    return rc;
}

static void entry_text_release(struct entry_text *t)
{
    free(t->heap);
    t->heap = NULL;
}

int ledger_record(struct store *s, const char *type, const char *actor, const char *org,
                  json_t *objects, json_t *digest, uint64_t *index, struct err *err)
{
    struct entry_text t;
    uint64_t idx = 0;
    int rc = entry_build(type, actor, org, objects, digest, &t, err);

    /* store_ledger_stage is a write: BUG_ON outside the caller's transaction. */
    if (!rc)
        rc = store_ledger_stage(s, t.text, t.len, t.leaf, &idx, err);
    if (!rc && index)
        *index = idx;
    entry_text_release(&t);
    return rc;
}

int ledger_append(struct store *s, const char *type, const char *actor, const char *org,
                  json_t *objects, json_t *digest, uint64_t *index, struct err *err)
{
    struct entry_text t;
    uint64_t idx = 0;
    bool journaled = false;
    int rc = entry_build(type, actor, org, objects, digest, &t, err);

    if (!rc)
        rc = journal_append(s, t.text, t.len, t.leaf, &journaled, err);
    if (!rc && journaled)
        idx = LEDGER_INDEX_PENDING;
    else if (!rc)
        rc = store_ledger_append(s, t.text, t.len, t.leaf, &idx, err);
    if (!rc && index)
        *index = idx;
    entry_text_release(&t);
    return rc;
}

/*
 * One batch inside the write transaction: tiles for [old, new), the new root from the
 * stored tiles, the checkpoint signed and stored. The old root is recomputed from the
 * tiles first: if it differs from the last checkpoint's, the stored tree is damaged and
 * signing would publish a fork, so nothing is signed.
 */
static int integrate_locked(struct store *s, const struct ledger_key *key, uint64_t *size,
                            struct err *err)
{
    uint8_t old_root[LEDGER_HASH_LEN], check[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
    char now[TIME_ISO_MAX];
    struct tree_reader *r = NULL;
    struct buf text = BUF_INIT, note = BUF_INIT;
    struct err e = ERR_INIT;
    uint64_t old = 0, count = 0;
    bool first = false;
    int rc;

    rc = store_ledger_checkpoint_get(s, &old, old_root, NULL, &e);
    if (rc == -ERR_NOT_FOUND) {
        first = true;
        old = 0;
        rc = 0;
    } else if (rc) {
        err_set(err, e.kind, NULL, "%s", e.msg);
        goto out;
    }
    if (!rc)
        rc = store_ledger_count(s, &count, err);
    if (rc)
        goto out;
    *size = old;
    if (count < old) {
        rc = err_set(err, ERR_INTERNAL, NULL, "ledger has fewer entries than its checkpoint");
        goto out;
    }
    if (count == old && !first)
        goto out; /* nothing staged: nothing to sign */
    if (!first) {
        r = tree_reader_new(s, old);
        rc = tree_range_hash(r, 0, old, check, err);
        tree_reader_free(r);
        r = NULL;
        if (rc)
            goto out;
        if (memcmp(check, old_root, LEDGER_HASH_LEN)) {
            log_error("ledger: the stored tiles do not match checkpoint %" PRIu64
                      "; refusing to sign",
                      old);
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "ledger tree does not match its last checkpoint; nothing signed");
            goto out;
        }
    }
    rc = tiles_append(s, old, count, err);
    if (rc)
        goto out;
    r = tree_reader_new(s, count);
    rc = tree_range_hash(r, 0, count, root, err);
    if (rc)
        goto out;
    ledger_checkpoint_text(ledger_key_origin(key), count, root, &text);
    rc = ledger_note_sign(key, text.buf, &note, err);
    if (rc)
        goto out;
    time_now_rfc3339(now);
    rc = store_ledger_checkpoint_put(s, count, root, note.buf, now, err);
    if (!rc)
        *size = count;
out:
    tree_reader_free(r);
    buf_release(&text);
    buf_release(&note);
    return rc;
}

int ledger_integrate(struct store *s, const struct ledger_key *key, uint64_t *size, struct err *err)
{
    uint8_t root[LEDGER_HASH_LEN];
    uint64_t have = 0, count = 0, n = 0;
    struct journal_drain d;
    struct err e = ERR_INIT;
    int rc;

    /* Cheap reads first: most calls find nothing staged and need no write lock. */
    rc = store_ledger_checkpoint_get(s, &have, root, NULL, &e);
    if (!rc)
        rc = store_ledger_count(s, &count, &e);
    if (!rc && count == have && !journal_pending(s)) {
        if (size)
            *size = have;
        return 0;
    }
    if (rc && rc != -ERR_NOT_FOUND)
        return err_set(err, e.kind, NULL, "%s", e.msg);
    rc = store_begin(s, err);
    if (rc)
        return rc;
    /* The journal's records first, integrated in the same transaction. */
    rc = journal_stage(s, &d, err);
    if (!rc)
        rc = integrate_locked(s, key, &n, err);
    if (rc) {
        store_rollback(s);
        journal_finish(s, &d, false);
        return rc;
    }
    rc = store_commit(s, err);
    journal_finish(s, &d, !rc);
    if (!rc && size)
        *size = n;
    return rc;
}

int ledger_checkpoint(struct store *s, struct buf *out, uint64_t *size, struct err *err)
{
    uint8_t root[LEDGER_HASH_LEN];
    char *note = NULL;
    uint64_t n = 0;
    int rc;

    rc = store_ledger_checkpoint_get(s, &n, root, &note, err);
    if (rc)
        return rc;
    buf_addstr(out, note);
    free(note);
    if (size)
        *size = n;
    return buf_failed(out) ? err_set(err, ERR_INTERNAL, NULL, "checkpoint does not fit") : 0;
}

int ledger_entries(struct store *s, uint64_t start, uint64_t end, json_t **out, struct err *err)
{
    struct store_ledger_entry *e = NULL;
    char b64[64];
    uint64_t size = 0;
    size_t n = 0;
    json_t *list = NULL;
    int rc;

    *out = NULL;
    rc = ledger_integrated_size(s, &size, err);
    if (rc)
        return rc;
    if (end > size)
        end = size;
    if (start >= end) {
        *out = json_array();
        return 0;
    }
    if (end - start > LEDGER_TILE_WIDTH)
        end = start + LEDGER_TILE_WIDTH;
    rc = store_ledger_entries(s, start, end, &e, &n, err);
    if (rc)
        goto out;
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        ledger_hash_b64(e[i].leaf_hash, b64);
        json_array_append_new(list, json_pack("{s:I, s:s%, s:s}", "index", (json_int_t)e[i].index,
                                              "entry", e[i].entry, e[i].len, "leaf_hash", b64));
    }
    *out = list;
    list = NULL;
out:
    json_decref(list);
    store_ledger_entries_free(e, n);
    return rc;
}

int ledger_find_leaf(struct store *s, const uint8_t leaf[LEDGER_HASH_LEN], uint64_t *index,
                     struct err *err)
{
    uint64_t size = 0;
    int rc = ledger_integrated_size(s, &size, err);

    return rc ? rc : store_ledger_find_leaf(s, leaf, size, index, err);
}
