/*
 * secret.h - randomness, identifiers, API tokens and passwords, through libsodium
 * (the only user of it besides the ledger signer).
 */
#ifndef KAIFANG_CRYPTO_SECRET_H
#define KAIFANG_CRYPTO_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN       37 /* 36 chars + NUL */
#define TOKEN_STR_MAX      80
#define TOKEN_HASH_HEX_LEN 65

/* Initialises libsodium; call once at start-up (idempotent, thread-safe). Dies if the
 * library cannot be initialised. */
void secret_init(void);

/* Fills buf with n bytes from the CSPRNG. */
void secret_random(void *buf, size_t n);

/* A random (version 4, RFC 9562 §5.4) UUID in lower-case canonical text form. */
void secret_uuid4(char out[UUID_STR_LEN]);

/* A new API token: "kf_" followed by the URL-safe base64 (no padding) of
 * LIMIT_TOKEN_BYTES random bytes. out: TOKEN_STR_MAX. */
void secret_token_new(char out[TOKEN_STR_MAX]);

/* The stored form of a token: hex of BLAKE2b-256 (libsodium crypto_generichash) over the
 * token text. Tokens carry 256 bits of entropy, so a fast hash suffices (unlike
 * passwords). out: TOKEN_HASH_HEX_LEN. */
void secret_token_hash(const char *token, char out[TOKEN_HASH_HEX_LEN]);

/* Constant-time comparison of two equal-length byte strings. */
bool secret_equal(const void *a, const void *b, size_t n);

/* The longest stored password hash, NUL included (libsodium's crypto_pwhash_STRBYTES). */
#define SECRET_PWHASH_MAX 128

/* Hashes a password for storage: argon2id (RFC 9106) through libsodium's
 * crypto_pwhash_str_alg with crypto_pwhash_ALG_ARGON2ID13 and the INTERACTIVE limits
 * (2 passes, 64 MiB), a random salt, in the PHC string form "$argon2id$v=19$m=…". out:
 * SECRET_PWHASH_MAX. Returns 0, or -1 when memory for the hash cannot be had. */
int secret_password_hash(const char *password, size_t len, char out[SECRET_PWHASH_MAX]);

/* True when password matches a string of secret_password_hash() (crypto_pwhash_str_verify,
 * constant time in the password). A malformed hash is false. */
bool secret_password_verify(const char *hash, const char *password, size_t len);

/* Wipes memory that held a secret (sodium_memzero). */
void secret_wipe(void *p, size_t n);

#endif
