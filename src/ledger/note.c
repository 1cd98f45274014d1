/*
 * note.c - signed notes (c2sp.org/signed-note@v1.0.0), checkpoints
 * (c2sp.org/tlog-checkpoint@v1.0.0) and the log's key, with libsodium's Ed25519.
 *
 * The key file <portal>/ledger.key holds one line in the private-key format of
 * golang.org/x/mod/sumdb/note (so that Go's note.NewSigner reads it too):
 *     PRIVATE+KEY+<origin>+<8 hex key id>+<base64(0x01 || 32-byte Ed25519 seed)>
 * followed by the verifier key line "<origin>+<8 hex>+<base64(0x01 || pk)>" for people
 * reading the file. Mode 0600, created with O_EXCL; the loader refuses a file that group
 * or others may read. The secret key lives in sodium_malloc'ed memory (guard pages,
 * mlock) inside struct ledger_key and is wiped when the key is freed; every buffer that
 * held the seed is wiped with sodium_memzero.
 */
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

#include "crypto/digest.h"
#include "crypto/secret.h"
#include "ledger/ledger-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

#define SIG_ED25519       0x01
#define SIG_COSIGNATURE   0x04 /* c2sp.org/tlog-cosignature@v1.0.1, verification only */
#define NOTE_MAX_SIGS     100  /* as golang.org/x/mod/sumdb/note */
#define NAME_MAX_LEN      255
#define KEY_FILE_MAX      4096
#define KEY_PREFIX        "PRIVATE+KEY+"
#define EM_DASH_SPACE     "\xe2\x80\x94 "
#define EM_DASH_SPACE_LEN 4

struct ledger_key {
    char origin[NAME_MAX_LEN + 1];
    char vkey[NAME_MAX_LEN + 64];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint32_t id;
    uint8_t *sk; /* crypto_sign_SECRETKEYBYTES, sodium_malloc'ed */
};

/* ---- Base64 (RFC 4648 §4) ---------------------------------------------------------- */
int note_b64_decode(const char *in, size_t len, uint8_t *out, size_t n)
{
    size_t got = 0;

    if (len != 4 * ((n + 2) / 3))
        return -1;
    char canon[128];

    if (sodium_base642bin(out, n, in, len, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) ||
        got != n)
        return -1;
    /* Only the canonical text of those bytes: the decoder lets some other bytes through
     * (found by fuzz-ledger-note), and a note must have one spelling. */
    if (len >= sizeof(canon))
        return -1;
    sodium_bin2base64(canon, sizeof(canon), out, n, sodium_base64_VARIANT_ORIGINAL);
    if (memcmp(canon, in, len) || canon[len])
        return -1;
    return 0;
}

void note_b64_encode(const uint8_t *in, size_t n, char *out, size_t size)
{
    BUG_ON(size < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(out, size, in, n, sodium_base64_VARIANT_ORIGINAL);
}

void ledger_hash_b64(const uint8_t hash[LEDGER_HASH_LEN], char out[LEDGER_HASH_B64_LEN])
{
    note_b64_encode(hash, LEDGER_HASH_LEN, out, LEDGER_HASH_B64_LEN);
}

/* Decodes base64 of unknown length (at most max bytes) into out; *n gets the length. */
static int b64_decode_var(const char *in, size_t len, uint8_t *out, size_t max, size_t *n)
{
    if (len == 0 || len % 4 || len / 4 * 3 > max + 2)
        return -1;
    return sodium_base642bin(out, max, in, len, NULL, n, NULL, sodium_base64_VARIANT_ORIGINAL) ? -1
                                                                                               : 0;
}

/* ---- UTF-8 and names ----------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at p (n bytes left); returns its length and the code point
 * in *cp, or 0 when invalid (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len, i;
    uint32_t c;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2;
        c = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3;
        c = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4;
        c = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
        c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Go's unicode.IsControl: C0, DEL and C1. */
static bool is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Go's unicode.IsSpace (White_Space property). */
static bool is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

/* Valid UTF-8 with no control character other than "\n" (signed-note §Format). */
static bool text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;
    uint32_t c;

    while (i < len) {
        k = utf8_next(p + i, len - i, &c);
        if (!k || (is_control(c) && c != '\n'))
            return false;
        i += k;
    }
    return true;
}

/* A key name: non-empty UTF-8 with no Unicode space, no control character and no "+"
 * (signed-note §Format, "Key names"). */
static bool name_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;
    uint32_t c;

    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    while (i < len) {
        k = utf8_next(p + i, len - i, &c);
        if (!k || is_space(c) || is_control(c) || c == '+')
            return false;
        i += k;
    }
    return true;
}

/* signed-note §"Verifier keys": SHA-256(name || 0x0A || type || key)[:4], big-endian. */
static uint32_t key_id(const char *name, size_t len, uint8_t type, const uint8_t *key, size_t n)
{
    struct sha256_ctx ctx;
    uint8_t h[SHA256_LEN];
    uint8_t nl = '\n';

    sha256_init(&ctx);
    sha256_update(&ctx, name, len);
    sha256_update(&ctx, &nl, 1);
    sha256_update(&ctx, &type, 1);
    sha256_update(&ctx, key, n);
    sha256_final(&ctx, h);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* ---- Keys -------------------------------------------------------------------------- */
void ledger_key_free(struct ledger_key *k)
{
    if (!k)
        return;
    sodium_free(k->sk); /* wipes */
    sodium_memzero(k, sizeof(*k));
    free(k);
}

int ledger_key_from_seed(const char *origin, const uint8_t seed[32], struct ledger_key **out,
                         struct err *err)
{
    struct ledger_key *k = NULL;
    uint8_t typed[1 + crypto_sign_PUBLICKEYBYTES];
    char b64[64];
    int rc = 0;

    *out = NULL;
    secret_init();
    if (!name_ok(origin, strlen(origin))) {
        rc = err_set(err, ERR_VALIDATION, "origin",
                     "ledger origin \"%s\" must be a non-empty name without spaces or '+'", origin);
        goto out;
    }
    k = xcalloc(1, sizeof(*k));
    k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (!k->sk)
        die("libsodium: cannot allocate secure memory");
    if (crypto_sign_seed_keypair(k->pk, k->sk, seed))
        die("libsodium: cannot derive an Ed25519 key pair");
    xsnprintf(k->origin, sizeof(k->origin), "%s", origin);
    k->id = key_id(origin, strlen(origin), SIG_ED25519, k->pk, sizeof(k->pk));
    typed[0] = SIG_ED25519;
    memcpy(typed + 1, k->pk, sizeof(k->pk));
    note_b64_encode(typed, sizeof(typed), b64, sizeof(b64));
    xsnprintf(k->vkey, sizeof(k->vkey), "%s+%08" PRIx32 "+%s", origin, k->id, b64);
    *out = k;
    k = NULL;
out:
    ledger_key_free(k);
    return rc;
}

const char *ledger_key_vkey(const struct ledger_key *k)
{
    return k->vkey;
}

const char *ledger_key_origin(const struct ledger_key *k)
{
    return k->origin;
}

int ledger_key_create(const char *path, const char *origin, struct err *err)
{
    struct ledger_key *k = NULL;
    uint8_t typed[33];
    char b64[64];
    char *text = NULL;
    size_t len = 0, off = 0;
    int fd = -1;
    int rc;

    secret_init();
    typed[0] = SIG_ED25519;
    secret_random(typed + 1, 32);
    rc = ledger_key_from_seed(origin, typed + 1, &k, err);
    if (rc)
        goto out;
    note_b64_encode(typed, sizeof(typed), b64, sizeof(b64));
    text = xstrfmt(KEY_PREFIX "%s+%08" PRIx32 "+%s\n%s\n", origin, k->id, b64, k->vkey);
    len = strlen(text);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = err_set(err, errno == EEXIST ? ERR_CONFLICT : ERR_INTERNAL, NULL,
                     "cannot create ledger key \"%s\": %s", path, strerror(errno));
        goto out;
    }
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = err_set(err, ERR_INTERNAL, NULL, "cannot write ledger key \"%s\": %s", path,
                         strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd)) {
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot write ledger key \"%s\": %s", path,
                     strerror(errno));
        goto out;
    }
out:
    if (fd >= 0 && close(fd) && !rc)
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot write ledger key \"%s\"", path);
    if (rc && fd >= 0)
        unlink(path);
    sodium_memzero(typed, sizeof(typed));
    sodium_memzero(b64, sizeof(b64));
    if (text)
        sodium_memzero(text, len);
    free(text);
    ledger_key_free(k);
    return rc;
}

/* Parses the key file's first line into origin (NAME_MAX_LEN + 1), seed and key id. */
static int key_parse(const char *text, size_t len, char *origin, uint8_t seed[32], uint32_t *id)
{
    const char *p, *end, *name, *hex, *b64;
    uint8_t typed[33];
    size_t nlen;
    int rc = -1;

    *id = 0;
    end = memchr(text, '\n', len);
    if (!end || !starts_with(text, KEY_PREFIX))
        goto out;
    name = text + strlen(KEY_PREFIX);
    p = memchr(name, '+', (size_t)(end - name));
    if (!p)
        goto out;
    nlen = (size_t)(p - name);
    hex = p + 1;
    if (end - hex < 10 || hex[8] != '+')
        goto out;
    for (int i = 0; i < 8; i++) {
        char c = hex[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            goto out;
        *id = *id << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    b64 = hex + 9;
    if (!name_ok(name, nlen) || note_b64_decode(b64, (size_t)(end - b64), typed, 33) ||
        typed[0] != SIG_ED25519)
        goto out;
    memcpy(origin, name, nlen);
    origin[nlen] = '\0';
    memcpy(seed, typed + 1, 32);
    rc = 0;
out:
    sodium_memzero(typed, sizeof(typed));
    return rc;
}

int ledger_key_load(const char *path, struct ledger_key **out, struct err *err)
{
    char origin[NAME_MAX_LEN + 1];
    char text[KEY_FILE_MAX];
    uint8_t seed[32];
    struct stat st;
    uint32_t id = 0;
    size_t len = 0;
    int fd = -1;
    int rc = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rc = err_set(err, errno == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL, NULL,
                     "cannot open ledger key \"%s\": %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        rc = err_set(err, ERR_INTERNAL, NULL, "ledger key \"%s\" is not a regular file", path);
        goto out;
    }
    if (st.st_mode & 077) {
        rc = err_set(err, ERR_AUTH, NULL,
                     "ledger key \"%s\" may be read by others (mode %03o); chmod 600 it", path,
                     (unsigned)(st.st_mode & 0777));
        goto out;
    }
    while (len < sizeof(text) - 1) {
        ssize_t r = read(fd, text + len, sizeof(text) - 1 - len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = err_set(err, ERR_INTERNAL, NULL, "cannot read ledger key \"%s\": %s", path,
                         strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (key_parse(text, len, origin, seed, &id)) {
        rc = err_set(err, ERR_VALIDATION, NULL, "ledger key \"%s\" is malformed", path);
        goto out;
    }
    rc = ledger_key_from_seed(origin, seed, out, err);
    if (!rc && (*out)->id != id) {
        ledger_key_free(*out);
        *out = NULL;
        rc = err_set(err, ERR_VALIDATION, NULL, "ledger key \"%s\" has a wrong key id", path);
    }
out:
    if (fd >= 0)
        close(fd);
    sodium_memzero(text, sizeof(text));
    sodium_memzero(seed, sizeof(seed));
    return rc;
}

/* ---- Signing ------------------------------------------------------------------------- */
int ledger_note_sign(const struct ledger_key *k, const char *text, struct buf *out, struct err *err)
{
    uint8_t blob[4 + crypto_sign_BYTES];
    char b64[sodium_base64_ENCODED_LEN(sizeof(blob), sodium_base64_VARIANT_ORIGINAL)];
    size_t len = strlen(text);

    /* signed-note §Format: the text is UTF-8 ending in "\n" with no other control
     * character; it must not end in a blank line, or a verifier would split the note
     * there. */
    if (!len || text[len - 1] != '\n' || !text_ok(text, len) || (len >= 2 && text[len - 2] == '\n'))
        return err_set(err, ERR_VALIDATION, NULL, "note text is malformed");
    blob[0] = (uint8_t)(k->id >> 24);
    blob[1] = (uint8_t)(k->id >> 16);
    blob[2] = (uint8_t)(k->id >> 8);
    blob[3] = (uint8_t)k->id;
    if (crypto_sign_detached(blob + 4, NULL, (const unsigned char *)text, len, k->sk))
        return err_set(err, ERR_INTERNAL, NULL, "signing the note failed");
    note_b64_encode(blob, sizeof(blob), b64, sizeof(b64));
    buf_add(out, text, len);
    buf_addf(out, "\n" EM_DASH_SPACE "%s %s\n", k->origin, b64);
    if (buf_failed(out))
        return err_set(err, ERR_INTERNAL, NULL, "signed note does not fit");
    return 0;
}

/* ---- Verification -------------------------------------------------------------------- */
struct verifier {
    char name[NAME_MAX_LEN + 1];
    size_t name_len;
    uint32_t id;
    uint8_t type;
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

/* signed-note §"Verifier keys": "<name>+<8 hex>+<base64(type || key)>"; the id must
 * match the key. Types 0x01 (Ed25519) and 0x04 (tlog-cosignature Ed25519). */
static int verifier_parse(const char *vkey, struct verifier *v)
{
    const char *p1, *p2;
    uint8_t typed[1 + crypto_sign_PUBLICKEYBYTES];
    size_t len = strlen(vkey);

    memset(v, 0, sizeof(*v));
    p1 = strchr(vkey, '+');
    if (!p1)
        return -1;
    p2 = strchr(p1 + 1, '+');
    if (!p2 || p2 - p1 != 9 || !name_ok(vkey, (size_t)(p1 - vkey)))
        return -1;
    for (const char *h = p1 + 1; h < p2; h++) {
        char c = *h;

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        v->id = v->id << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    if (note_b64_decode(p2 + 1, len - (size_t)(p2 + 1 - vkey), typed, sizeof(typed)))
        return -1;
    if (typed[0] != SIG_ED25519 && typed[0] != SIG_COSIGNATURE)
        return -1;
    v->type = typed[0];
    memcpy(v->pk, typed + 1, sizeof(v->pk));
    v->name_len = (size_t)(p1 - vkey);
    memcpy(v->name, vkey, v->name_len);
    if (key_id(v->name, v->name_len, v->type, v->pk, sizeof(v->pk)) != v->id)
        return -1;
    return 0;
}

/* Checks one signature blob by the verifier over text: 0 good, -1 bad. */
static int verify_blob(const struct verifier *v, const uint8_t *blob, size_t n, const char *text,
                       size_t len)
{
    struct buf msg = BUF_INIT;
    uint64_t t = 0;
    int rc = -1;

    if (v->type == SIG_ED25519) {
        if (n != 4 + crypto_sign_BYTES)
            return -1;
        return crypto_sign_verify_detached(blob + 4, (const unsigned char *)text, len, v->pk) ? -1
                                                                                              : 0;
    }
    /* tlog-cosignature v1.0.1: keyID || uint64 timestamp || Ed25519 signature over
     * "cosignature/v1\ntime <t>\n" || checkpoint body. */
    if (n != 4 + 8 + crypto_sign_BYTES)
        return -1;
    for (int i = 0; i < 8; i++)
        t = t << 8 | blob[4 + i];
    buf_addf(&msg, "cosignature/v1\ntime %" PRIu64 "\n", t);
    buf_add(&msg, text, len);
    if (!buf_failed(&msg) &&
        !crypto_sign_verify_detached(blob + 12, (const unsigned char *)msg.buf, msg.len, v->pk))
        rc = 0;
    buf_release(&msg);
    return rc;
}

int ledger_note_verify(const char *vkey, const char *note, size_t len, struct buf *text,
                       struct err *err)
{
    uint8_t blob[128];
    struct verifier v;
    const char *sigs, *p, *end;
    size_t tlen, nsigs = 0, n;
    bool verified = false;

    secret_init();
    if (verifier_parse(vkey, &v))
        return err_set(err, ERR_VALIDATION, "vkey", "verifier key is malformed");
    if (!len || note[len - 1] != '\n' || !text_ok(note, len))
        return err_set(err, ERR_VALIDATION, "note", "note is malformed");
    /* The last blank line separates the text from the signatures. */
    for (p = note + len - 1; p > note; p--)
        if (p[-1] == '\n' && p[0] == '\n')
            break;
    if (p == note)
        return err_set(err, ERR_VALIDATION, "note", "note is malformed: no signatures");
    tlen = (size_t)(p - note); /* through the text's last "\n" */
    sigs = p + 1;
    end = note + len;
    if (sigs == end)
        return err_set(err, ERR_VALIDATION, "note", "note is malformed: no signatures");
    for (p = sigs; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *name, *sp;
        uint32_t id;

        if (++nsigs > NOTE_MAX_SIGS)
            return err_set(err, ERR_VALIDATION, "note", "note has too many signatures");
        if ((size_t)(nl - p) < EM_DASH_SPACE_LEN || memcmp(p, EM_DASH_SPACE, EM_DASH_SPACE_LEN))
            return err_set(err, ERR_VALIDATION, "note", "note has a malformed signature line");
        name = p + EM_DASH_SPACE_LEN;
        sp = memchr(name, ' ', (size_t)(nl - name));
        if (!sp || !name_ok(name, (size_t)(sp - name)) ||
            b64_decode_var(sp + 1, (size_t)(nl - sp - 1), blob, sizeof(blob), &n) || n < 5)
            return err_set(err, ERR_VALIDATION, "note", "note has a malformed signature line");
        id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
        /* Unknown keys are ignored; a known key's bad signature rejects the note. */
        if ((size_t)(sp - name) == v.name_len && !memcmp(name, v.name, v.name_len) && id == v.id) {
            if (verify_blob(&v, blob, n, note, tlen))
                return err_set(err, ERR_VALIDATION, "note", "invalid signature for key \"%s\"",
                               v.name);
            verified = true;
        }
        p = nl + 1;
    }
    if (!verified)
        return err_set(err, ERR_VALIDATION, "note", "note has no signature by key \"%s\"", v.name);
    if (text) {
        buf_add(text, note, tlen);
        if (buf_failed(text))
            return err_set(err, ERR_INTERNAL, NULL, "note text does not fit");
    }
    return 0;
}

/* ---- Checkpoints (c2sp.org/tlog-checkpoint) ------------------------------------------ */
void ledger_checkpoint_text(const char *origin, uint64_t size, const uint8_t root[LEDGER_HASH_LEN],
                            struct buf *out)
{
    char b64[sodium_base64_ENCODED_LEN(LEDGER_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)];

    note_b64_encode(root, LEDGER_HASH_LEN, b64, sizeof(b64));
    buf_addf(out, "%s\n%" PRIu64 "\n%s\n", origin, size, b64);
}

int ledger_checkpoint_parse(const char *text, char *origin, size_t origin_size, uint64_t *size,
                            uint8_t root[LEDGER_HASH_LEN], struct err *err)
{
    const char *line[3], *nl[3], *p;
    size_t len = strlen(text), olen;
    uint64_t v = 0;
    int i;

    if (!len || text[len - 1] != '\n' || !text_ok(text, len))
        return err_set(err, ERR_VALIDATION, "checkpoint", "checkpoint is malformed");
    p = text;
    for (i = 0; i < 3; i++) {
        line[i] = p;
        nl[i] = memchr(p, '\n', len - (size_t)(p - text));
        if (!nl[i] || nl[i] == p)
            return err_set(err, ERR_VALIDATION, "checkpoint",
                           "checkpoint needs an origin, a size and a root hash");
        p = nl[i] + 1;
    }
    /* Extension lines: optional, each non-empty. */
    for (; p < text + len; p++)
        if (*p == '\n' && p[-1] == '\n')
            return err_set(err, ERR_VALIDATION, "checkpoint", "checkpoint has an empty line");
    olen = (size_t)(nl[0] - line[0]);
    if (olen + 1 > origin_size)
        return err_set(err, ERR_VALIDATION, "checkpoint", "checkpoint origin is too long");
    /* Size: ASCII decimal without leading zeros, within uint64. */
    if (nl[1] - line[1] > 1 && line[1][0] == '0')
        return err_set(err, ERR_VALIDATION, "checkpoint", "checkpoint size is malformed");
    for (p = line[1]; p < nl[1]; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return err_set(err, ERR_VALIDATION, "checkpoint", "checkpoint size is malformed");
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (note_b64_decode(line[2], (size_t)(nl[2] - line[2]), root, LEDGER_HASH_LEN))
        return err_set(err, ERR_VALIDATION, "checkpoint", "checkpoint root hash is malformed");
    memcpy(origin, line[0], olen);
    origin[olen] = '\0';
    *size = v;
    return 0;
}
