#include <openssl/evp.h>

#include "crypto/digest.h"
#include "core/util.h"

void sha256_init(struct sha256_ctx *ctx)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        die("libcrypto: cannot initialise SHA-256");
    ctx->md = md;
}

void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
    if (len && EVP_DigestUpdate(ctx->md, data, len) != 1)
        die("libcrypto: SHA-256 update failed");
}

void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_LEN])
{
    unsigned n = 0;

    if (EVP_DigestFinal_ex(ctx->md, out, &n) != 1 || n != SHA256_LEN)
        die("libcrypto: SHA-256 final failed");
    sha256_release(ctx);
}

void sha256_release(struct sha256_ctx *ctx)
{
    EVP_MD_CTX_free(ctx->md);
    ctx->md = NULL;
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned n = 0;

    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != SHA256_LEN)
        die("libcrypto: SHA-256 failed");
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}
