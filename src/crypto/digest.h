/*
 * digest.h - SHA-256 (FIPS 180-4) through OpenSSL's libcrypto, the only user of it.
 * libcrypto uses the CPU's SHA extensions where present.
 */
#ifndef KAIFANG_CRYPTO_DIGEST_H
#define KAIFANG_CRYPTO_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN     32
#define SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

struct sha256_ctx {
    void *md; /* EVP_MD_CTX */
};

/* Streaming SHA-256. init allocates (aborts on failure); final writes 32 bytes and
 * frees; call sha256_release() instead of final to abandon a computation. */
void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_LEN]);
void sha256_release(struct sha256_ctx *ctx);

/* One-shot SHA-256 of data, through the fetched implementation and the calling thread's
 * context as sha256_prefixed() (not EVP_Digest(EVP_sha256()), which looks the
 * implementation up per call). Thread-safe. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/*
 * SHA-256(prefix || a || b) for the RFC 9162 §2.1.1 hashes: leaf = (0x00, entry, NULL),
 * node = (0x01, left, right). The hot path of the ledger: the SHA-256 EVP_MD is fetched
 * once per process and each thread reuses one EVP_MD_CTX (EVP_DigestInit_ex2 per hash),
 * about 3x the one-shot API under OpenSSL 3. b may be NULL when blen is 0. Thread-safe.
 */
void sha256_prefixed(uint8_t prefix, const void *a, size_t alen, const void *b, size_t blen,
                     uint8_t out[SHA256_LEN]);

/* Lower-case hex of n bytes; out has room for 2n+1. */
void hex_encode(const uint8_t *in, size_t n, char *out);

#endif
