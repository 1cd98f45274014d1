/*
 * filecrypt.h - files encrypted at rest: libsodium's crypto_secretstream_xchacha20poly1305
 * (XChaCha20-Poly1305 in a stream of authenticated chunks; libsodium docs, "Encrypted
 * streams and file encryption"), for the raw files of restricted resources
 * (docs/internals/access.md, "Encryption at rest").
 *
 * File format: the 24-byte secretstream header, then chunks of FILECRYPT_CHUNK plaintext
 * bytes (the last one shorter, possibly empty), each followed by its 17 bytes of
 * authentication (crypto_secretstream_xchacha20poly1305_ABYTES); the last chunk carries
 * TAG_FINAL, so a truncated file does not decrypt. The key (32 bytes) lives in a key file
 * outside the database, hex on one line, mode 0600.
 */
#ifndef KAIFANG_CRYPTO_FILECRYPT_H
#define KAIFANG_CRYPTO_FILECRYPT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define FILECRYPT_KEY_LEN 32u
#define FILECRYPT_CHUNK   (64u * 1024)

/*
 * Loads the key from path, creating it first (32 random bytes, hex, O_EXCL, mode 0600)
 * when create is true and the file does not exist. A key file readable or writable by
 * group or others, or not 64 hex digits, is refused (-ERR_VALIDATION naming the path);
 * a missing one without create is -ERR_NOT_FOUND. Wipe key with secret_wipe() after use.
 */
int filecrypt_key_load(const char *path, bool create, uint8_t key[FILECRYPT_KEY_LEN],
                       struct err *err);

/* Encrypts the file in to out (created with mode 0600, replaced when it exists; written
 * whole or removed). -ERR_INTERNAL naming the file on any I/O failure. */
int filecrypt_encrypt_file(const uint8_t key[FILECRYPT_KEY_LEN], const char *in, const char *out,
                           struct err *err);

/* Decrypts in to out (mode 0600). A file that does not authenticate (another key,
 * altered, truncated) is -ERR_VALIDATION ("... does not decrypt") and out is removed. */
int filecrypt_decrypt_file(const uint8_t key[FILECRYPT_KEY_LEN], const char *in, const char *out,
                           struct err *err);

#endif
