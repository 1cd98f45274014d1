/*
 * cmd-ledger.c - `kaifang ledger key|integrate|verify`: the public ledger from the
 * command line. `verify` is a monitor in the manner of Certificate Transparency
 * monitors and Go's sumdb client: it checks a checkpoint's signature, recomputes the
 * whole tree from the entries (src/ledger/verify.c), checks the tree against the
 * checkpoint it saw last (kept in a state file) and reports any fork, rewrite,
 * reordering or missing entry with its index. Exit 0 good, 1 bad, 2 usage (for cron).
 */
#include <ctype.h>
#include <dirent.h>

#include "cli/cli-int.h"
#include "cli/fetch.h"
#include "core/timeutil.h"
#include "crypto/digest.h"
#include "ledger/ledger.h"
#include "ledger/verify.h"
#include "core/util.h"

#define ORIGIN_MAX 256
#define STATE_MAX  (64 * 1024)

static int ledger_key_cmd(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}};
    const struct ledger_key *k;
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    int ret;

    ret = cli_parse("ledger key", "ledger", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        portal_ledger_key(&p, &k, &err)) {
        ret = cli_fail("ledger key", &err);
        goto out;
    }
    /* Alone on stdout: VKEY=$(kaifang ledger key). */
    printf("%s\n", ledger_key_vkey(k));
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}

static int ledger_integrate_cmd(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}};
    const struct ledger_key *k;
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    uint64_t size = 0;
    int ret;

    ret = cli_parse("ledger integrate", "ledger", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "",
                    &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        portal_ledger_key(&p, &k, &err) || ledger_integrate(p.store, k, &size, &err)) {
        ret = cli_fail("ledger integrate", &err);
        goto out;
    }
    printf("ledger: tree size %" PRIu64 "\n", size);
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}

/* ---- verify ---------------------------------------------------------------------------- */

/* The page cache of the read-only store verify opens (KiB): the run streams the
 * database once, so a cache only has to hold the pages of one bundle and the tiles. */
#define VERIFY_CACHE_KIB 8192

/* The portal's store opened read-only (no migration, bounded cache); the key file is
 * read from the directory as portal_open would. */
static int portal_open_readonly(struct portal *p, const char *dir, struct err *err)
{
    int ret;

    memset(p, 0, sizeof(*p));
    config_defaults(&p->cfg, dir);
    if ((ret = config_load(&p->cfg, err)))
        return ret;
    ret = store_open_readonly(&p->store, p->cfg.store_url, VERIFY_CACHE_KIB, err);
    if (ret == -ERR_NOT_FOUND) {
        err_clear(err);
        ret = err_set(err, ERR_NOT_FOUND, "portal",
                      "no portal at \"%s\": run \"kaifang init --portal %s\" first",
                      p->cfg.portal_dir, p->cfg.portal_dir);
    }
    return ret;
}

/* Every checkpoint the portal stored: its signature, then (in checkpoints_check) its
 * consistency with the next one and its root against the entries. */
struct stored_points {
    struct monitor *m;
    const char *origin; /* the latest checkpoint's */
    struct ledger_verify_point *p;
    size_t n, alloc;
    size_t bad; /* signatures that did not verify */
};

/*
 * From a URL, entry bundles and their level-0 tiles are fetched ahead of the verifier,
 * VERIFY_AHEAD bundles at a time over VERIFY_CONNS keep-alive connections: the server
 * builds the next bundles while the monitor hashes this one, instead of one round trip
 * after another. Memory: at most VERIFY_AHEAD bundles and tiles held (a bundle is
 * ~56 KB for Kaifang's entries, at most 16 MiB).
 */
#define VERIFY_AHEAD 16
#define VERIFY_CONNS 6

/* Bundle k's two requests in flight (NULL once taken by the verifier). */
struct ahead {
    uint64_t k;
    struct fetch_req *tile0, *bundle;
};

/* What one verify run knows. */
struct monitor {
    const char *target;
    bool is_url;
    struct portal portal;
    struct fetch fetch;
    struct fetch_multi multi;
    struct ahead ahead[VERIFY_AHEAD];
    uint64_t next_k; /* the next bundle to request ahead */
    uint64_t size;   /* the tree size being verified */
    struct buf body;
    char *vkey;       /* the key checkpoints must be signed with */
    char *state_path; /* where the last checkpoint seen is kept */
    char *state_from; /* where it is read from when not state_path (legacy name) */
    bool gzip;        /* ask for gzip entry bundles */
    char *state_note; /* that checkpoint (the signed note), NULL on first use */
    size_t problems;
};

static void report_problem(void *ctx, enum ledger_problem kind, bool has_index, uint64_t index,
                           const char *msg)
{
    struct monitor *m = ctx;

    (void)kind;
    (void)has_index;
    (void)index;
    m->problems++;
    fprintf(stderr, "kaifang ledger verify: %s\n", msg);
}

static int fetch_json(struct monitor *m, const char *path, json_t **out, struct err *err);

/*
 * A bundle the server could not serve, rebuilt from /api/ledger/entries (which names each
 * entry's index): the entries that are there, in order, so that the verifier can place
 * a gap against the level-0 tile and name the missing index. The failure itself is a
 * problem too.
 */
static int entries_from_api(struct monitor *m, uint64_t n, unsigned w, struct buf *out,
                            struct err *err)
{
    uint64_t start = n * LEDGER_TILE_WIDTH;
    struct err e2 = ERR_INIT;
    json_t *doc = NULL, *item;
    char path[128], msg[ERR_MSG_MAX + 64];
    size_t i;
    int ret;

    xsnprintf(msg, sizeof(msg), "%s (reading the entries from /api/ledger/entries instead)",
              err->msg);
    report_problem(m, LEDGER_PROBLEM_MISSING, true, start, msg);
    xsnprintf(path, sizeof(path), "/api/ledger/entries?start=%" PRIu64 "&end=%" PRIu64, start,
              start + w);
    ret = fetch_json(m, path, &doc, &e2);
    if (ret || !json_is_array(doc))
        goto out; /* keep the first error */
    buf_reset(out);
    json_array_foreach (doc, i, item) {
        const char *text = json_string_value(json_object_get(item, "entry"));
        size_t len = text ? strlen(text) : 0;

        if (!text || len > LEDGER_ENTRY_MAX)
            continue;
        buf_addch(out, (int)(len >> 8));
        buf_addch(out, (int)(len & 0xff));
        buf_add(out, text, len);
    }
    ret = 0;
out:
    json_decref(doc);
    return ret ? -ERR_INTERNAL : 0;
}

/* Starts GET of tile (level, n, w) or of entry bundle n (gzip when m->gzip: entries
 * compress ~4×; hashes not at all, so tiles never ask). */
static struct fetch_req *tile_start(struct monitor *m, unsigned level, uint64_t n, unsigned w,
                                    bool entries)
{
    struct buf path = BUF_INIT;
    struct fetch_req *req;

    buf_addstr(&path, "/ledger/tile/");
    ledger_verify_tile_path(level, n, w, entries, &path);
    req = fetch_multi_start(&m->multi, path.buf, entries && m->gzip);
    buf_release(&path);
    return req;
}

/* The width of bundle k in the tree being verified. */
static unsigned bundle_width(const struct monitor *m, uint64_t k)
{
    uint64_t left = m->size - k * LEDGER_TILE_WIDTH;

    return left < LEDGER_TILE_WIDTH ? (unsigned)left : LEDGER_TILE_WIDTH;
}

/* Requests bundles k.. ahead (up to VERIFY_AHEAD past k, within the tree); slots of
 * bundles before k that the verifier skipped are cancelled. */
static void fetch_ahead(struct monitor *m, uint64_t k)
{
    if (m->next_k < k)
        m->next_k = k;
    for (size_t i = 0; i < VERIFY_AHEAD; i++) {
        struct ahead *a = &m->ahead[i];

        if ((a->tile0 || a->bundle) && a->k < k) {
            fetch_multi_cancel(&m->multi, a->tile0);
            fetch_multi_cancel(&m->multi, a->bundle);
            a->tile0 = a->bundle = NULL;
        }
    }
    while (m->next_k < k + VERIFY_AHEAD && m->next_k * LEDGER_TILE_WIDTH < m->size) {
        struct ahead *a = &m->ahead[m->next_k % VERIFY_AHEAD];
        unsigned w = bundle_width(m, m->next_k);

        if (a->tile0 || a->bundle)
            break; /* still held by an earlier bundle */
        a->k = m->next_k++;
        a->tile0 = tile_start(m, 0, a->k, w, false);
        a->bundle = tile_start(m, 0, a->k, w, true);
    }
}

static int url_tile(void *ctx, unsigned level, uint64_t n, unsigned w, bool entries,
                    struct buf *out, struct err *err)
{
    struct monitor *m = ctx;
    struct fetch_req *req = NULL;
    int ret;

    if (level == 0 && n * LEDGER_TILE_WIDTH < m->size && w == bundle_width(m, n)) {
        struct ahead *a = &m->ahead[n % VERIFY_AHEAD];

        fetch_ahead(m, n);
        if (a->k == n) {
            req = entries ? a->bundle : a->tile0;
            if (entries)
                a->bundle = NULL;
            else
                a->tile0 = NULL;
        }
    }
    /* Anything not requested ahead (higher levels; a tile asked twice): now, while the
     * bundles ahead keep arriving. */
    if (!req)
        req = tile_start(m, level, n, w, entries);
    ret = fetch_multi_finish(&m->multi, req, out, err);
    if (ret && entries)
        ret = entries_from_api(m, n, w, out, err);
    return ret;
}

/* ~/.kaifang, made if missing; NULL (and err set) without $HOME. Free the result. */
static char *state_dir(struct err *err)
{
    const char *home = getenv("HOME");
    char *dir;

    if (!home || !*home) {
        err_set(err, ERR_VALIDATION, NULL, "$HOME is not set: pass --state FILE");
        return NULL;
    }
    dir = xstrfmt("%s/.kaifang", home);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        err_set(err, ERR_INTERNAL, NULL, "cannot create \"%s\": %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

/* dir/ledger-<16 hex of SHA-256(name)>.state. name is the verifier key (a log is its
 * key: two portals that both sign as "127.0.0.1:8080/ledger" are two logs); before,
 * it was the origin, and such files are still read (legacy_state). Free the result. */
static char *state_path_of(const char *dir, const char *name)
{
    uint8_t h[SHA256_LEN];
    char hex[SHA256_HEX_LEN];

    sha256(name, strlen(name), h);
    hex_encode(h, 8, hex);
    return xstrfmt("%s/ledger-%s.state", dir, hex);
}

/* The verifier key on the first line of a state file ("key <vkey>"), or NULL. */
static char *state_key_of(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "rb");
    char *key = NULL;
    size_t n;

    if (!f)
        return NULL;
    if (fgets(line, sizeof(line), f) && starts_with(line, "key ") &&
        (n = strcspn(line, "\n")) < sizeof(line) - 1 && line[n] == '\n')
        key = xstrndup(line + 4, n - 4);
    fclose(f);
    return key;
}

/* The distinct verifier keys of origin held by the state files in dir (at most max). */
static size_t known_keys(const char *dir, const char *origin, char **keys, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0, olen = strlen(origin);

    if (!d)
        return 0;
    while ((de = readdir(d)) && n < max) {
        char *path, *key;
        bool dup = false;

        size_t len = strlen(de->d_name);

        if (!starts_with(de->d_name, "ledger-") || len < 6 ||
            strcmp(de->d_name + len - 6, ".state"))
            continue;
        path = xstrfmt("%s/%s", dir, de->d_name);
        key = state_key_of(path);
        free(path);
        if (!key || strncmp(key, origin, olen) || key[olen] != '+') {
            free(key);
            continue;
        }
        for (size_t i = 0; i < n && !dup; i++)
            dup = !strcmp(keys[i], key);
        if (dup)
            free(key);
        else
            keys[n++] = key;
    }
    closedir(d);
    return n;
}

/* Reads the whole file at path into out (at most max bytes). 1 when it does not exist. */
static int read_file(const char *path, size_t max, struct buf *out, struct err *err)
{
    char chunk[8192];
    FILE *f = fopen(path, "rb");
    size_t n;
    int ret = 0;

    if (!f) {
        if (errno == ENOENT)
            return 1;
        return err_set(err, ERR_INTERNAL, NULL, "cannot read \"%s\": %s", path, strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->len + n > max) {
            ret = err_set(err, ERR_VALIDATION, NULL, "\"%s\" is larger than %zu bytes", path, max);
            goto out;
        }
        buf_add(out, chunk, n);
    }
    if (ferror(f))
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read \"%s\": %s", path, strerror(errno));
out:
    fclose(f);
    return ret;
}

/* The state file: "key <vkey>\n" then the last checkpoint seen (a signed note). */
static int state_load(struct monitor *m, struct err *err)
{
    struct buf b = BUF_INIT;
    const char *nl;
    int ret;

    ret = read_file(m->state_from ? m->state_from : m->state_path, STATE_MAX, &b, err);
    if (ret) {
        if (ret == 1)
            ret = 0;
        goto out;
    }
    nl = strchr(b.buf, '\n');
    if (!starts_with(b.buf, "key ") || !nl || !nl[1]) {
        ret = err_set(err, ERR_VALIDATION, NULL, "state file \"%s\" is malformed", m->state_path);
        goto out;
    }
    if (!m->vkey)
        m->vkey = xstrndup(b.buf + 4, (size_t)(nl - b.buf - 4));
    else if (strncmp(m->vkey, b.buf + 4, (size_t)(nl - b.buf - 4)) ||
             strlen(m->vkey) != (size_t)(nl - b.buf - 4))
        fprintf(stderr,
                "kaifang ledger verify: warning: the key given differs from the one in \"%s\"; "
                "checking its checkpoint with the key given\n",
                m->state_path);
    m->state_note = xstrdup(nl + 1);
out:
    buf_release(&b);
    return ret;
}

/* Writes the state file atomically (temporary file, fsync, rename). */
static int state_save(struct monitor *m, const char *note, struct err *err)
{
    char *tmp = xstrfmt("%s.tmp-%ld", m->state_path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ret = 0;

    if (!f) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", tmp, strerror(errno));
        goto out;
    }
    fprintf(f, "key %s\n%s", m->vkey, note);
    if (fflush(f) || fsync(fileno(f)) || ferror(f)) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", tmp, strerror(errno));
        fclose(f);
        unlink(tmp);
        goto out;
    }
    fclose(f);
    if (rename(tmp, m->state_path) < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot rename \"%s\": %s", tmp, strerror(errno));
        unlink(tmp);
    }
out:
    free(tmp);
    return ret;
}

/* Opens a signed checkpoint with m->vkey: its size and root. */
static int open_checkpoint(struct monitor *m, const char *note, char *origin, uint64_t *size,
                           uint8_t root[LEDGER_HASH_LEN], struct err *err)
{
    struct buf text = BUF_INIT;
    int ret;

    ret = ledger_note_verify(m->vkey, note, strlen(note), &text, err);
    if (!ret)
        ret = ledger_checkpoint_parse(text.buf, origin, ORIGIN_MAX, size, root, err);
    buf_release(&text);
    return ret;
}

/* store_ledger_checkpoints() callback: checks one stored checkpoint's signature and
 * records its size and root. */
static int stored_point(void *ctx, uint64_t size, const uint8_t root[LEDGER_HASH_LEN],
                        const char *note, struct err *err)
{
    struct stored_points *sp = ctx;
    struct ledger_verify_point *pt;
    char origin[ORIGIN_MAX];
    uint8_t signed_root[LEDGER_HASH_LEN];
    uint64_t signed_size = 0;
    struct err e = ERR_INIT;

    (void)err;
    if (open_checkpoint(sp->m, note, origin, &signed_size, signed_root, &e) ||
        strcmp(origin, sp->origin) || signed_size != size ||
        memcmp(signed_root, root, LEDGER_HASH_LEN)) {
        sp->bad++;
        sp->m->problems++;
        fprintf(stderr, "kaifang ledger verify: stored checkpoint of size %" PRIu64 ": %s\n", size,
                e.msg[0] ? e.msg
                         : "its signed text does not match the stored size, root or origin");
        return 0;
    }
    if (sp->n == sp->alloc) {
        sp->alloc = sp->alloc ? 2 * sp->alloc : 64;
        sp->p = xrealloc(sp->p, sp->alloc * sizeof(*sp->p));
    }
    pt = &sp->p[sp->n++];
    pt->size = size;
    memcpy(pt->root, root, LEDGER_HASH_LEN);
    pt->what = "a checkpoint stored by the portal";
    return 0;
}

/*
 * Each stored checkpoint against the next: a consistency proof built from the stored
 * tiles (RFC 9162 §2.1.4.1) must verify between their signed roots (§2.1.4.2). The
 * roots are then also checked against the entries themselves by ledger_verify_tree
 * (as points), so a checkpoint that no prefix of the entries has is reported with its
 * size even when the tiles were rewritten to match it.
 */
static void checkpoints_consistent(struct monitor *m, const struct stored_points *sp)
{
    uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
    struct err e = ERR_INIT;
    size_t n = 0;

    for (size_t i = 0; i + 1 < sp->n; i++) {
        const struct ledger_verify_point *a = &sp->p[i], *b = &sp->p[i + 1];

        if (a->size == 0)
            continue; /* every tree is consistent with the empty one */
        err_clear(&e);
        if (ledger_consistency_proof(m->portal.store, a->size, b->size, proof, &n, &e) ||
            merkle_verify_consistency(a->size, b->size, a->root, b->root,
                                      (const uint8_t(*)[LEDGER_HASH_LEN])proof, n)) {
            m->problems++;
            fprintf(stderr,
                    "kaifang ledger verify: stored checkpoints of sizes %" PRIu64 " and %" PRIu64
                    " are not consistent (fork or rewrite)%s%s\n",
                    a->size, b->size, e.msg[0] ? ": " : "", e.msg);
        }
    }
}

/* The first line of a checkpoint (its origin), unverified: only to name the state file. */
static void note_origin(const char *note, char *origin)
{
    size_t n = strcspn(note, "\n");

    if (n >= ORIGIN_MAX)
        n = ORIGIN_MAX - 1;
    memcpy(origin, note, n);
    origin[n] = '\0';
}

/* A JSON document from the server: GET path, parse. */
static int fetch_json(struct monitor *m, const char *path, json_t **out, struct err *err)
{
    json_error_t jerr;
    int ret;

    *out = NULL;
    ret = fetch_get(&m->fetch, path, &m->body, err);
    if (ret)
        return ret;
    *out = json_loadb(m->body.buf, m->body.len, 0, &jerr);
    if (!*out)
        return err_set(err, ERR_VALIDATION, NULL, "GET %s: not JSON: %s", path, jerr.text);
    return 0;
}

/* The verifier key the server publishes (trust on first use). */
static int fetch_vkey(struct monitor *m, struct err *err)
{
    json_t *doc = NULL, *v = NULL;
    size_t len;
    int ret;

    ret = fetch_get(&m->fetch, "/api/ledger/key", &m->body, err);
    if (ret)
        goto out;
    if (m->body.len && m->body.buf[0] == '{') {
        ret = fetch_json(m, "/api/ledger/key", &doc, err);
        if (ret)
            goto out;
        /* {"origin": …, "vkey": …}; also inside a CKAN envelope's "result". */
        if (json_is_object(json_object_get(doc, "result")))
            v = json_object_get(doc, "result");
        else
            v = doc;
        v = json_is_string(json_object_get(v, "vkey")) ? json_object_get(v, "vkey")
                                                       : json_object_get(v, "key");
        if (!json_is_string(v)) {
            ret = err_set(err, ERR_VALIDATION, NULL, "/api/ledger/key holds no \"vkey\"");
            goto out;
        }
        m->vkey = xstrdup(json_string_value(v));
    } else {
        len = strcspn(m->body.buf, "\r\n");
        m->vkey = xstrndup(m->body.buf, len);
    }
    fprintf(stderr,
            "kaifang ledger verify: warning: no key given: trusting the key the server "
            "publishes, on first use: %s\n",
            m->vkey);
out:
    json_decref(doc);
    return ret;
}

/* Checks the server's consistency proof from the state's tree to the new one. */
static void check_proof(struct monitor *m, uint64_t first, const uint8_t first_root[],
                        uint64_t second, const uint8_t second_root[])
{
    uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
    struct err err = ERR_INIT;
    json_t *doc = NULL, *arr, *h;
    char path[128];
    size_t i, n = 0;

    xsnprintf(path, sizeof(path), "/api/ledger/proof/consistency?first=%" PRIu64 "&second=%" PRIu64,
              first, second);
    if (fetch_json(m, path, &doc, &err)) {
        report_problem(m, LEDGER_PROBLEM_PROOF, false, 0, err.msg);
        goto out;
    }
    arr = json_object_get(doc, "proof");
    if (!json_is_array(arr) && json_is_object(json_object_get(doc, "result")))
        arr = json_object_get(json_object_get(doc, "result"), "proof");
    if (!json_is_array(arr) || json_array_size(arr) > LEDGER_PROOF_MAX) {
        report_problem(m, LEDGER_PROBLEM_PROOF, false, 0,
                       "the consistency proof the server sent is malformed");
        goto out;
    }
    json_array_foreach (arr, i, h) {
        if (ledger_verify_hash_parse(json_string_value(h), proof[n++])) {
            report_problem(m, LEDGER_PROBLEM_PROOF, false, 0,
                           "the consistency proof the server sent holds a malformed hash");
            goto out;
        }
    }
    if (merkle_verify_consistency(first, second, first_root, second_root,
                                  (const uint8_t(*)[LEDGER_HASH_LEN])proof, n)) {
        char msg[256];

        xsnprintf(msg, sizeof(msg),
                  "the server's consistency proof from size %" PRIu64 " to %" PRIu64
                  " does not verify: the log forked or was rewritten before index %" PRIu64,
                  first, second, first);
        report_problem(m, LEDGER_PROBLEM_FORK, true, first, msg);
    }
out:
    json_decref(doc);
}

/*
 * The default state file of a URL, named by the verifier key: a log is its key, and
 * every default portal signs as "127.0.0.1:8080/ledger". Without --key, the key of the
 * state files already kept for the checkpoint's origin is pinned, as before; when
 * several logs of that origin were seen, the server's published key must be one of
 * them, or the monitor cannot tell a different log from a changed key (a problem).
 * With none, the server's key is trusted on first use (fetch_vkey, with a warning).
 * A state file of the former name (SHA-256 of the origin) with the same key is read.
 */
#define KNOWN_KEYS_MAX 16
static int url_state_choose(struct monitor *m, const char *origin, struct err *err)
{
    char *keys[KNOWN_KEYS_MAX];
    char *dir = state_dir(err), *legacy = NULL, *legacy_key = NULL;
    size_t n = 0;
    int ret = 0;

    if (!dir)
        return -ERR_VALIDATION;
    if (!m->vkey) {
        n = known_keys(dir, origin, keys, KNOWN_KEYS_MAX);
        if (n == 1) {
            m->vkey = xstrdup(keys[0]);
        } else if (n > 1) {
            bool found = false;

            if ((ret = fetch_vkey(m, err)))
                goto out;
            for (size_t i = 0; i < n && !found; i++)
                found = !strcmp(keys[i], m->vkey);
            if (!found) {
                ret = err_set(err, ERR_VALIDATION, NULL,
                              "the server's key \"%s\" is none of the %zu keys seen before for "
                              "\"%s\" (state files in %s): pass --key to say which log this is",
                              m->vkey, n, origin, dir);
                goto out;
            }
        }
    }
    if (m->vkey) {
        m->state_path = state_path_of(dir, m->vkey);
        legacy = state_path_of(dir, origin);
        if (access(m->state_path, F_OK) < 0 && (legacy_key = state_key_of(legacy)) &&
            !strcmp(legacy_key, m->vkey)) {
            m->state_from = legacy;
            legacy = NULL;
        }
    } else {
        /* First use: the key comes from the server (fetch_vkey); the state file is
         * named after it once known. */
        if ((ret = fetch_vkey(m, err)))
            goto out;
        m->state_path = state_path_of(dir, m->vkey);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(legacy);
    free(legacy_key);
    free(dir);
    return ret;
}

static int verify_run(struct monitor *m, const char *key_opt, const char *state_opt)
{
    struct ledger_verify_report rep = {0};
    struct stored_points sp = {0};
    struct ledger_source src;
    struct err err = ERR_INIT;
    struct buf note = BUF_INIT;
    char origin[ORIGIN_MAX], old_origin[ORIGIN_MAX];
    uint8_t root[LEDGER_HASH_LEN], old_root[LEDGER_HASH_LEN];
    uint64_t size = 0, old_size = 0, stored = 0;
    bool have_old = false;
    uint64_t t0 = time_mono_us();
    char b64[45];
    int ret;

    if (key_opt)
        m->vkey = xstrdup(key_opt);
    /* 1. The checkpoint. */
    if (m->is_url) {
        if ((ret = fetch_init(&m->fetch, m->target, &err)) ||
            (ret = fetch_multi_init(&m->multi, m->target, VERIFY_CONNS, &err)) ||
            (ret = fetch_get(&m->fetch, "/ledger/checkpoint", &note, &err)))
            goto fail;
    } else {
        if ((ret = portal_open_readonly(&m->portal, m->target, &err)))
            goto fail;
        ret = ledger_checkpoint(m->portal.store, &note, &size, &err);
        if (ret == -ERR_NOT_FOUND) {
            err_clear(&err);
            ret = err_set(&err, ERR_NOT_FOUND, NULL,
                          "the portal has no signed checkpoint yet: run \"kaifang ledger "
                          "integrate --portal %s\"",
                          m->portal.cfg.portal_dir);
        }
        if (ret)
            goto fail;
    }
    /* 2. The state file and the key. */
    if (state_opt) {
        m->state_path = xstrdup(state_opt);
    } else if (m->is_url) {
        note_origin(note.buf, origin);
        if ((ret = url_state_choose(m, origin, &err)))
            goto fail;
    } else {
        m->state_path = xstrfmt("%s.ledger-state", m->portal.cfg.portal_dir);
    }
    if ((ret = state_load(m, &err)))
        goto fail;
    if (!m->vkey) {
        if (m->is_url) {
            if ((ret = fetch_vkey(m, &err)))
                goto fail;
        } else {
            const struct ledger_key *k;

            if ((ret = portal_ledger_key(&m->portal, &k, &err)))
                goto fail;
            m->vkey = xstrdup(ledger_key_vkey(k));
            fprintf(stderr,
                    "kaifang ledger verify: warning: no key given: using the portal's own key "
                    "file (pass --key to check against a key published elsewhere)\n");
        }
    }
    /* 3. Signatures. */
    if (open_checkpoint(m, note.buf, origin, &size, root, &err)) {
        fprintf(stderr, "kaifang ledger verify: the checkpoint's signature does not verify: %s\n",
                err.msg);
        ret = -ERR_VALIDATION;
        goto bad;
    }
    if (m->state_note) {
        err_clear(&err);
        if (open_checkpoint(m, m->state_note, old_origin, &old_size, old_root, &err)) {
            fprintf(stderr,
                    "kaifang ledger verify: the checkpoint in \"%s\" does not verify with the "
                    "key: %s\n",
                    m->state_path, err.msg);
            ret = -ERR_VALIDATION;
            goto bad;
        }
        if (strcmp(origin, old_origin)) {
            fprintf(stderr,
                    "kaifang ledger verify: the checkpoint is for \"%s\", the state file for "
                    "\"%s\"\n",
                    origin, old_origin);
            ret = -ERR_VALIDATION;
            goto bad;
        }
        have_old = true;
    }
    if (!m->is_url) {
        err_clear(&err);
        if ((ret = store_ledger_count(m->portal.store, &stored, &err)))
            goto fail;
        if (stored < size)
            m->problems++;
        if (stored < size)
            fprintf(stderr,
                    "kaifang ledger verify: the store holds %" PRIu64 " entries, the checkpoint "
                    "covers %" PRIu64 ": entries %" PRIu64 "..%" PRIu64 " are missing\n",
                    stored, size, stored, size - 1);
    }
    /* 4. Consistency with the tree seen before: the server's proof, then recomputed.
     * A portal's own store: every checkpoint it stored, signature and consistency. */
    if (have_old && m->is_url && old_size > 0 && old_size < size)
        check_proof(m, old_size, old_root, size, root);
    if (!m->is_url) {
        sp.m = m;
        sp.origin = origin;
        err_clear(&err);
        if ((ret = store_ledger_checkpoints(m->portal.store, stored_point, &sp, &err)))
            goto fail;
        checkpoints_consistent(m, &sp);
    }
    sp.p = xrealloc(sp.p, (sp.n + 1) * sizeof(*sp.p));
    if (have_old) {
        sp.p[sp.n].size = old_size;
        memcpy(sp.p[sp.n].root, old_root, LEDGER_HASH_LEN);
        sp.p[sp.n++].what = "the checkpoint seen before";
    }
    if (m->is_url) {
        m->size = size;
        src.ctx = m;
        src.tile = url_tile;
    } else {
        ledger_verify_store_source(m->portal.store, &src);
    }
    rep.problem = report_problem;
    rep.ctx = m;
    err_clear(&err);
    if ((ret = ledger_verify_tree(&src, size, root, sp.p, sp.n, &rep, &err)))
        goto fail;
    if (m->problems || (!m->is_url && stored < size)) {
        ret = -ERR_VALIDATION;
        goto bad;
    }
    /* 5. Good: remember this checkpoint. A state file that cannot be written is no fault
     * of the log, so it is not reported as BAD; it still fails the command, as the next
     * run could not detect a rollback to before this checkpoint. */
    err_clear(&err);
    ret = state_save(m, note.buf, &err);
    ledger_verify_hash_b64(root, b64);
    printf("ledger ok: %s size %" PRIu64 " root %s; %" PRIu64 " entries (%" PRIu64
           " bytes) recomputed from %" PRIu64 " tiles",
           origin, size, b64, rep.entries, rep.entry_bytes, rep.tiles);
    if (have_old)
        printf("; consistent with size %" PRIu64 " seen before", old_size);
    if (!m->is_url) {
        size_t n = sp.n - (have_old ? 1 : 0);

        printf("; %zu stored checkpoint%s signed and consistent", n, n == 1 ? "" : "s");
    }
    printf("; %.2f s\n", (double)(time_mono_us() - t0) / 1e6);
    if (ret) {
        fflush(stdout);
        fprintf(stderr,
                "kaifang ledger verify: %s: the log verified, but the state file \"%s\" could "
                "not be written, so this checkpoint is not remembered: %s\n",
                m->target, m->state_path, err.msg[0] ? err.msg : "failed");
        ret = CLI_ERROR;
        goto out;
    }
    ret = CLI_OK;
    goto out;
fail:
    fprintf(stderr, "kaifang ledger verify: %s\n", err.msg[0] ? err.msg : "failed");
bad:
    fprintf(stderr, "kaifang ledger verify: %s: BAD (%zu problem%s)\n", m->target,
            m->problems ? m->problems : 1, m->problems > 1 ? "s" : "");
    ret = CLI_ERROR;
out:
    free(sp.p);
    buf_release(&note);
    return ret;
}

/* Whether vkey is a well-formed C2SP verifier key: the ledger's own parser, asked
 * through ledger_note_verify(), which checks the key before the note. */
static bool vkey_ok(const char *vkey)
{
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT;

    ledger_note_verify(vkey, "", 0, &text, &err);
    buf_release(&text);
    return strcmp(err.field, "vkey") != 0;
}

/* The scheme of a "scheme://…" target (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" /
 * "-" / "." )), into out; false when target has none (a directory path). */
static bool url_scheme(const char *target, char *out, size_t size)
{
    size_t n = 0;

    if (!((target[0] >= 'a' && target[0] <= 'z') || (target[0] >= 'A' && target[0] <= 'Z')))
        return false;
    while (target[n] && (isalnum((unsigned char)target[n]) || strchr("+-.", target[n])))
        n++;
    if (!starts_with(target + n, "://"))
        return false;
    xsnprintf(out, size, "%.*s", (int)(n < 32 ? n : 32), target);
    return true;
}

/* Whether the URL's host is a loopback one (localhost, 127.0.0.0/8, [::1]): there
 * bandwidth is free and gzip only costs both sides CPU. */
static bool url_loopback(const char *url)
{
    const char *host = strstr(url, "://") + 3;

    return starts_with(host, "127.") || starts_with(host, "localhost") ||
           starts_with(host, "[::1]");
}

static int ledger_verify_cmd(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"key", true}, {"state", true}, {"gzip", true}};
    const char *key, *gzip;
    struct monitor m;
    struct cli_args args;
    char scheme[40];
    int ret;

    memset(&m, 0, sizeof(m));
    buf_init(&m.body, FETCH_BODY_MAX);
    ret = cli_parse("ledger verify", "ledger", opts, ARRAY_SIZE(opts), argc, argv, 1, 1,
                    "URL|PORTAL_DIR", &args);
    if (ret)
        goto out;
    m.target = args.pos[0];
    key = cli_opt(opts, ARRAY_SIZE(opts), &args, "key");
    gzip = cli_opt(opts, ARRAY_SIZE(opts), &args, "gzip");
    if (url_scheme(m.target, scheme, sizeof(scheme))) {
        if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) {
            ret = cli_usage("ledger verify", "ledger",
                            "unsupported URL scheme \"%s\": use http:// or https:// (or give a "
                            "portal directory)",
                            scheme);
            goto out;
        }
        m.is_url = true;
    }
    /* A key that cannot be parsed is the caller's mistake, not a bad log. */
    if (key && !vkey_ok(key)) {
        ret = cli_usage("ledger verify", "ledger",
                        "option \"--key\": \"%.64s\" is not a verifier key "
                        "(<origin>+<8 hex key id>+<base64 key>, as \"kaifang ledger key\" prints)",
                        key);
        goto out;
    }
    if (gzip && strcmp(gzip, "yes") && strcmp(gzip, "no") && strcmp(gzip, "auto")) {
        ret = cli_usage("ledger verify", "ledger",
                        "option \"--gzip\" takes yes, no or auto, not \"%.32s\"", gzip);
        goto out;
    }
    if (m.is_url)
        m.gzip = gzip && strcmp(gzip, "auto") ? !strcmp(gzip, "yes") : !url_loopback(m.target);
    ret = verify_run(&m, key, cli_opt(opts, ARRAY_SIZE(opts), &args, "state"));
out:
    if (m.is_url) {
        fetch_multi_release(&m.multi);
        fetch_release(&m.fetch);
    }
    portal_close(&m.portal);
    buf_release(&m.body);
    free(m.vkey);
    free(m.state_path);
    free(m.state_from);
    free(m.state_note);
    return ret;
}

int cmd_ledger(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("ledger", "ledger", "missing sub-command: key, integrate or verify");
    if (!strcmp(argv[1], "key"))
        return ledger_key_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[1], "integrate"))
        return ledger_integrate_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[1], "verify"))
        return ledger_verify_cmd(argc - 1, argv + 1);
    return cli_usage("ledger", "ledger",
                     "unknown sub-command \"%s\" (expected key, integrate or verify)", argv[1]);
}
