/*
 * filecrypt.c - files encrypted at rest with crypto_secretstream_xchacha20poly1305
 * (filecrypt.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "crypto/filecrypt.h"
#include "crypto/secret.h"

#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

_Static_assert(FILECRYPT_KEY_LEN == crypto_secretstream_xchacha20poly1305_KEYBYTES,
               "the key is a secretstream key");

static int key_create(const char *path, struct err *err)
{
    uint8_t key[FILECRYPT_KEY_LEN];
    char hex[FILECRYPT_KEY_LEN * 2 + 2];
    int fd, ret = 0;
    size_t n;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0; /* made meanwhile by another process: load it */
        return err_set(err, ERR_INTERNAL, NULL, "cannot create key file \"%s\": %s", path,
                       strerror(errno));
    }
    crypto_secretstream_xchacha20poly1305_keygen(key);
    sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
    n = strlen(hex);
    hex[n++] = '\n';
    if (write(fd, hex, n) != (ssize_t)n || fsync(fd))
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write key file \"%s\"", path);
    close(fd);
    if (ret)
        unlink(path);
    secret_wipe(key, sizeof(key));
    secret_wipe(hex, sizeof(hex));
    return ret;
}

int filecrypt_key_load(const char *path, bool create, uint8_t key[FILECRYPT_KEY_LEN],
                       struct err *err)
{
    char hex[FILECRYPT_KEY_LEN * 2 + 8];
    struct stat st;
    size_t len = 0;
    ssize_t n;
    int fd = -1, ret = 0;

    if (create && access(path, F_OK)) {
        ret = key_create(path, err);
        if (ret)
            return ret;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(err, ERR_NOT_FOUND, NULL, "key file \"%s\" does not exist", path);
        return err_set(err, ERR_INTERNAL, NULL, "cannot open key file \"%s\": %s", path,
                       strerror(errno));
    }
    if (fstat(fd, &st) || (st.st_mode & 077)) {
        ret = err_set(err, ERR_VALIDATION, NULL,
                      "key file \"%s\" is readable by others: chmod 600 it", path);
        goto out;
    }
    while (len < sizeof(hex) && (n = read(fd, hex + len, sizeof(hex) - len)) > 0)
        len += (size_t)n;
    while (len && (hex[len - 1] == '\n' || hex[len - 1] == '\r'))
        len--;
    if (len != FILECRYPT_KEY_LEN * 2 ||
        sodium_hex2bin(key, FILECRYPT_KEY_LEN, hex, len, NULL, NULL, NULL)) {
        ret = err_set(err, ERR_VALIDATION, NULL, "key file \"%s\" does not hold 64 hex digits",
                      path);
        goto out;
    }
out:
    secret_wipe(hex, sizeof(hex));
    close(fd);
    return ret;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads up to n bytes (short only at the end of the file); -1 on error. */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int run(const uint8_t key[FILECRYPT_KEY_LEN], const char *in, const char *out, bool enc,
               struct err *err)
{
    crypto_secretstream_xchacha20poly1305_state st;
    uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    uint8_t *ib = xmalloc(FILECRYPT_CHUNK + ABYTES), *ob = xmalloc(FILECRYPT_CHUNK + ABYTES);
    int ifd = -1, ofd = -1, ret = 0;
    bool final = false;

    ifd = open(in, O_RDONLY | O_CLOEXEC);
    if (ifd < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot open \"%s\": %s", in, strerror(errno));
        goto out;
    }
    ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (ofd < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot create \"%s\": %s", out, strerror(errno));
        goto out;
    }
    if (enc) {
        crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
        if (write_all(ofd, header, sizeof(header)))
            goto io;
    } else if (read_full(ifd, header, sizeof(header)) != (ssize_t)sizeof(header) ||
               crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key)) {
        goto bad;
    }
    while (!final) {
        size_t want = enc ? FILECRYPT_CHUNK : FILECRYPT_CHUNK + ABYTES;
        ssize_t n = read_full(ifd, ib, want);
        unsigned long long olen = 0;
        unsigned char tag = 0;

        if (n < 0)
            goto io;
        if (enc) {
            /* A short read is the end: the last chunk, perhaps empty, is TAG_FINAL. */
            final = (size_t)n < want;
            crypto_secretstream_xchacha20poly1305_push(
                    &st, ob, &olen, ib, (unsigned long long)n, NULL, 0,
                    final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
        } else {
            if ((size_t)n < ABYTES ||
                crypto_secretstream_xchacha20poly1305_pull(&st, ob, &olen, &tag, ib,
                                                           (unsigned long long)n, NULL, 0))
                goto bad;
            final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
            if (!final && (size_t)n < want)
                goto bad; /* the stream ends without its final chunk: truncated */
        }
        if (write_all(ofd, ob, (size_t)olen))
            goto io;
    }
    if (!enc && read_full(ifd, ib, 1) != 0)
        goto bad; /* bytes after the final chunk */
    if (fsync(ofd))
        goto io;
    goto out;
io:
    ret = err_set(err, ERR_INTERNAL, NULL, "cannot %s \"%s\": %s", enc ? "encrypt" : "decrypt", in,
                  strerror(errno));
    goto out;
bad:
    ret = err_set(err, ERR_VALIDATION, NULL,
                  "\"%s\" does not decrypt: another key, or the file was altered or truncated", in);
out:
    if (ifd >= 0)
        close(ifd);
    if (ofd >= 0 && close(ofd) && !ret)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\"", out);
    if (ret && ofd >= 0)
        unlink(out);
    sodium_memzero(ob, FILECRYPT_CHUNK + ABYTES);
    sodium_memzero(&st, sizeof(st));
    free(ib);
    free(ob);
    return ret;
}

int filecrypt_encrypt_file(const uint8_t key[FILECRYPT_KEY_LEN], const char *in, const char *out,
                           struct err *err)
{
    return run(key, in, out, true, err);
}

int filecrypt_decrypt_file(const uint8_t key[FILECRYPT_KEY_LEN], const char *in, const char *out,
                           struct err *err)
{
    return run(key, in, out, false, err);
}
