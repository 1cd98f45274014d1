#include <sodium.h>

#include "crypto/secret.h"
#include "crypto/digest.h"
#include "core/limits.h"
#include "core/util.h"

void secret_init(void)
{
    if (sodium_init() < 0)
        die("libsodium: cannot initialise");
}

void secret_random(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

void secret_uuid4(char out[UUID_STR_LEN])
{
    uint8_t b[16];
    char hex[33];

    randombytes_buf(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    hex_encode(b, sizeof(b), hex);
    xsnprintf(out, UUID_STR_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
              hex + 20);
}

void secret_token_new(char out[TOKEN_STR_MAX])
{
    uint8_t b[LIMIT_TOKEN_BYTES];
    char enc[TOKEN_STR_MAX];

    randombytes_buf(b, sizeof(b));
    sodium_bin2base64(enc, sizeof(enc), b, sizeof(b), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(b, sizeof(b));
    xsnprintf(out, TOKEN_STR_MAX, "kf_%s", enc);
    sodium_memzero(enc, sizeof(enc));
}

void secret_token_hash(const char *token, char out[TOKEN_HASH_HEX_LEN])
{
    uint8_t h[32];

    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    hex_encode(h, sizeof(h), out);
}

bool secret_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void secret_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

int secret_password_hash(const char *password, size_t len, char out[SECRET_PWHASH_MAX])
{
    _Static_assert(crypto_pwhash_STRBYTES <= SECRET_PWHASH_MAX, "SECRET_PWHASH_MAX too small");
    return crypto_pwhash_str_alg(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE,
                                 crypto_pwhash_ALG_ARGON2ID13) == 0
                   ? 0
                   : -1;
}

bool secret_password_verify(const char *hash, const char *password, size_t len)
{
    if (!hash || strnlen(hash, SECRET_PWHASH_MAX) >= SECRET_PWHASH_MAX)
        return false;
    return crypto_pwhash_str_verify(hash, password, len) == 0;
}
