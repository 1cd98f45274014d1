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

/* One-shot SHA-256 of data. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Lower-case hex of n bytes; out has room for 2n+1. */
void hex_encode(const uint8_t *in, size_t n, char *out);

#endif
