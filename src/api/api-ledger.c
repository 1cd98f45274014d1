/*
 * api-ledger.c - the ledger's JSON API: entries, inclusion and consistency proofs, the
 * verifier key. Plain JSON documents, not CKAN envelopes: these are read by ledger
 * clients and monitors, not by CKAN tools. Hashes are standard base64 (RFC 4648 §4,
 * with padding), as in C2SP checkpoints.
 *
 * Proofs are bounded by the latest signed checkpoint, not by the integrated tree: a
 * client can only check a proof against a root it holds a signature for.
 */
#include <jansson.h>

#include "api/api.h"
#include "ledger/ledger.h"
#include "core/parse.h"
#include "core/util.h"

/* The value of a base64 digit, -1 for anything else. The URL-safe digits are taken as
 * well, and a space as '+': a client that forgot to percent-encode '+' in a query
 * string sends it as a space (application/x-www-form-urlencoded). */
static int b64_digit(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-' || c == ' ')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes exactly one hash: 43 digits and '=' (or 43 digits alone), with the unused low
 * bits of the last digit zero, so that every hash has one accepted spelling (less
 * the alphabet variants above). Returns 0 or -1. */
static int b64_decode_hash(const char *s, uint8_t out[LEDGER_HASH_LEN])
{
    size_t len = strlen(s), i, o = 0;
    uint32_t acc = 0;
    int bits = 0, d;

    if (len == 44 && s[43] == '=')
        len = 43;
    if (len != 43)
        return -1;
    for (i = 0; i < len; i++) {
        if ((d = b64_digit(s[i])) < 0)
            return -1;
        acc = acc << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* 43 digits carry 258 bits: 256 of hash and 2 that must be zero */
    return o == LEDGER_HASH_LEN && acc == 0 ? 0 : -1;
}

static json_t *hash_json(const uint8_t h[LEDGER_HASH_LEN])
{
    char s[LEDGER_HASH_B64_LEN];

    ledger_hash_b64(h, s);
    return json_string(s);
}

static json_t *proof_json(const uint8_t (*proof)[LEDGER_HASH_LEN], size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, hash_json(proof[i]));
    return a;
}

/* The error document: {"error": message, "parameter": name} ("parameter" only when one
 * parameter is to blame). New reference. */
static json_t *error_doc(const char *parameter, const char *msg)
{
    json_t *doc = json_pack("{s:s}", "error", msg);

    if (parameter)
        json_object_set_new(doc, "parameter", json_string(parameter));
    return doc;
}

/* Sets *doc and *status from err (a kind and a message). */
static void fail_doc(const struct err *err, json_t **doc, unsigned *status)
{
    *doc = error_doc(err->field[0] ? err->field : NULL, err->msg);
    *status = err_kind_status(err->kind);
}

/* Reads the query parameter name as a decimal in 0..INT64_MAX (JSON integers hold no
 * more). Absent: dflt, or 400 naming it when required; present but not such a decimal
 * string (query values are strings): 400 naming it. */
static int param_u64(const json_t *params, const char *name, bool required, uint64_t dflt,
                     uint64_t *out, struct err *err)
{
    json_t *v = json_object_get(params, name);
    const char *s = json_string_value(v);

    if (!v) {
        if (required)
            return err_set(err, ERR_BAD_REQUEST, name, "missing parameter \"%s\"", name);
        *out = dflt;
        return 0;
    }
    if (!s || parse_u64(s, INT64_MAX, out))
        return err_set(err, ERR_BAD_REQUEST, name,
                       "parameter \"%s\" must be a non-negative decimal integer", name);
    return 0;
}

/* The size of the latest signed checkpoint: the largest tree a proof may refer to. An
 * empty log before the first integration has none: size 0. */
static int signed_size(struct store *s, uint64_t *size, struct err *err)
{
    return ledger_signed_size(s, size, err);
}

void api_ledger_entries(struct store *s, const json_t *params, json_t **doc, unsigned *status)
{
    struct err err = ERR_INIT;
    uint64_t size, start, end;
    json_t *list = NULL;

    if (param_u64(params, "start", false, 0, &start, &err) < 0)
        goto fail;
    if (param_u64(params, "end", false, start + LEDGER_TILE_WIDTH, &end, &err) < 0)
        goto fail;
    if (end <= start) {
        err_set(&err, ERR_BAD_REQUEST, "end",
                "parameter \"end\" (%" PRIu64 ") must be greater than \"start\" (%" PRIu64 ")", end,
                start);
        goto fail;
    }
    if (signed_size(s, &size, &err) < 0)
        goto fail;
    if (start > size) {
        err_set(&err, ERR_BAD_REQUEST, "start",
                "parameter \"start\" (%" PRIu64 ") is past the end of the log (size %" PRIu64 ")",
                start, size);
        goto fail;
    }
    /* At most one tile's worth per call, and nothing past the signed tree. */
    if (end - start > LEDGER_TILE_WIDTH)
        end = start + LEDGER_TILE_WIDTH;
    if (end > size)
        end = size;
    if (end == start) {
        *doc = json_array();
        *status = 200;
        return;
    }
    if (ledger_entries(s, start, end, &list, &err) < 0)
        goto fail;
    *doc = list;
    *status = 200;
    return;
fail:
    fail_doc(&err, doc, status);
}

void api_ledger_inclusion(struct store *s, const json_t *params, json_t **doc, unsigned *status)
{
    struct err err = ERR_INIT;
    uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN], leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
    const char *leaf_s = json_string_value(json_object_get(params, "leaf_hash"));
    bool by_index = json_object_get(params, "index") != NULL;
    uint64_t latest, size, index;
    size_t n = 0;

    if (by_index == (json_object_get(params, "leaf_hash") != NULL)) {
        err_set(&err, ERR_BAD_REQUEST, "index", "give exactly one of \"index\" and \"leaf_hash\"");
        goto fail;
    }
    if (signed_size(s, &latest, &err) < 0)
        goto fail;
    if (param_u64(params, "size", false, latest, &size, &err) < 0)
        goto fail;
    if (size == 0 || size > latest) {
        err_set(&err, ERR_BAD_REQUEST, "size",
                "parameter \"size\" (%" PRIu64 ") must be between 1 and the size of the latest "
                "checkpoint (%" PRIu64 ")",
                size, latest);
        goto fail;
    }
    if (by_index) {
        if (param_u64(params, "index", true, 0, &index, &err) < 0)
            goto fail;
        if (index >= size) {
            err_set(&err, ERR_BAD_REQUEST, "index",
                    "parameter \"index\" (%" PRIu64 ") must be less than \"size\" (%" PRIu64 ")",
                    index, size);
            goto fail;
        }
        if (ledger_leaf(s, index, leaf, &err) < 0)
            goto fail;
    } else {
        if (!leaf_s || b64_decode_hash(leaf_s, leaf)) {
            err_set(&err, ERR_BAD_REQUEST, "leaf_hash",
                    "parameter \"leaf_hash\" must be a SHA-256 hash in base64 (44 characters)");
            goto fail;
        }
        if (ledger_find_leaf(s, leaf, &index, &err) < 0) {
            if (err.kind == ERR_NOT_FOUND) {
                err_clear(&err);
                err_set(&err, ERR_NOT_FOUND, "leaf_hash",
                        "no ledger entry has the \"leaf_hash\" given");
            }
            goto fail;
        }
        if (index >= size) {
            err_set(&err, ERR_BAD_REQUEST, "size",
                    "the entry with this leaf hash has index %" PRIu64
                    ", not within \"size\" (%" PRIu64 ")",
                    index, size);
            goto fail;
        }
    }
    if (ledger_inclusion_proof(s, index, size, proof, &n, &err) < 0 ||
        ledger_root(s, size, root, &err) < 0)
        goto fail;
    *doc = json_pack("{s:I, s:I, s:o, s:o, s:o}", "index", (json_int_t)index, "size",
                     (json_int_t)size, "leaf_hash", hash_json(leaf), "root_hash", hash_json(root),
                     "proof", proof_json((const uint8_t(*)[LEDGER_HASH_LEN])proof, n));
    *status = 200;
    return;
fail:
    fail_doc(&err, doc, status);
}

void api_ledger_consistency(struct store *s, const json_t *params, json_t **doc, unsigned *status)
{
    struct err err = ERR_INIT;
    uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN], r1[LEDGER_HASH_LEN], r2[LEDGER_HASH_LEN];
    uint64_t latest, first, second;
    size_t n = 0;

    if (param_u64(params, "first", true, 0, &first, &err) < 0 ||
        param_u64(params, "second", true, 0, &second, &err) < 0 ||
        signed_size(s, &latest, &err) < 0)
        goto fail;
    if (first == 0) {
        /* RFC 9162 §2.1.4 starts from a non-empty tree; both reference libraries refuse
         * size 0 (../notes/ledger.md §1.3). */
        err_set(&err, ERR_BAD_REQUEST, "first",
                "parameter \"first\" must be at least 1: every tree is consistent with the "
                "empty one");
        goto fail;
    }
    if (second > latest) {
        err_set(&err, ERR_BAD_REQUEST, "second",
                "parameter \"second\" (%" PRIu64 ") is larger than the latest checkpoint (%" PRIu64
                ")",
                second, latest);
        goto fail;
    }
    if (first > second) {
        err_set(&err, ERR_BAD_REQUEST, "first",
                "parameter \"first\" (%" PRIu64 ") must not be larger than \"second\" (%" PRIu64
                ")",
                first, second);
        goto fail;
    }
    if (ledger_consistency_proof(s, first, second, proof, &n, &err) < 0 ||
        ledger_root(s, first, r1, &err) < 0 || ledger_root(s, second, r2, &err) < 0)
        goto fail;
    *doc = json_pack("{s:I, s:I, s:o, s:o, s:o}", "first", (json_int_t)first, "second",
                     (json_int_t)second, "first_root", hash_json(r1), "second_root", hash_json(r2),
                     "proof", proof_json((const uint8_t(*)[LEDGER_HASH_LEN])proof, n));
    *status = 200;
    return;
fail:
    fail_doc(&err, doc, status);
}

void api_ledger_key(const struct ledger_key *key, json_t **doc, unsigned *status)
{
    if (!key) {
        *doc = error_doc(NULL, "the ledger has no key on this server");
        *status = 503;
        return;
    }
    *doc = json_pack("{s:s, s:s}", "origin", ledger_key_origin(key), "vkey", ledger_key_vkey(key));
    *status = 200;
}

json_t *api_ledger_error(const char *parameter, const char *msg)
{
    return error_doc(parameter, msg);
}
