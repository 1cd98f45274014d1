/*
 * test-filecrypt.c - files encrypted at rest (src/crypto/filecrypt.c): round trips of
 * empty, short, chunk-sized and longer files; another key, an altered byte, a truncated
 * file and trailing bytes do not decrypt; the key file is made 0600 and a loose or
 * malformed one is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "crypto/filecrypt.h"
#include "crypto/secret.h"
#include "unit-util.h"

struct fx {
    char dir[256];
    char key_path[300], plain[300], enc[300], back[300];
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    secret_init();
    assert_int_equal(unit_tmpdir(f->dir, sizeof(f->dir), "filecrypt"), 0);
    xsnprintf(f->key_path, sizeof(f->key_path), "%s/restricted.key", f->dir);
    xsnprintf(f->plain, sizeof(f->plain), "%s/plain", f->dir);
    xsnprintf(f->enc, sizeof(f->enc), "%s/enc", f->dir);
    xsnprintf(f->back, sizeof(f->back), "%s/back", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    unit_remove_tree(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static size_t read_file(const char *path, uint8_t *out, size_t max)
{
    FILE *fp = fopen(path, "rb");
    size_t n;

    assert_non_null(fp);
    n = fread(out, 1, max, fp);
    fclose(fp);
    return n;
}

static void test_round_trips(void **state)
{
    struct fx *f = *state;
    static const size_t sizes[] = {0,
                                   1,
                                   100,
                                   FILECRYPT_CHUNK - 1,
                                   FILECRYPT_CHUNK,
                                   FILECRYPT_CHUNK + 1,
                                   3 * FILECRYPT_CHUNK + 17};
    size_t max = 3 * FILECRYPT_CHUNK + 100;
    uint8_t key[FILECRYPT_KEY_LEN], *in = xmalloc(max), *out = xmalloc(max + 4096);
    struct err err = ERR_INIT;
    struct stat st;

    assert_int_equal(filecrypt_key_load(f->key_path, false, key, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(filecrypt_key_load(f->key_path, true, key, &err), 0);
    assert_int_equal(stat(f->key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    secret_random(in, max);
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        size_t n = sizes[i], m;

        write_file(f->plain, in, n);
        assert_int_equal(filecrypt_encrypt_file(key, f->plain, f->enc, &err), 0);
        /* header + one authentication tag per chunk, the final (perhaps empty) included */
        m = read_file(f->enc, out, max + 4096);
        assert_int_equal(m, 24 + n + 17 * (n / FILECRYPT_CHUNK + 1));
        if (n >= 16)
            assert_null(memmem(out, m, in, 16)); /* no plaintext in the file */
        assert_int_equal(filecrypt_decrypt_file(key, f->enc, f->back, &err), 0);
        assert_int_equal(read_file(f->back, out, max + 4096), n);
        assert_memory_equal(out, in, n);
    }
    free(in);
    free(out);
    secret_wipe(key, sizeof(key));
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    uint8_t key[FILECRYPT_KEY_LEN], other[FILECRYPT_KEY_LEN], buf[FILECRYPT_CHUNK * 2 + 200];
    struct err err = ERR_INIT;
    size_t n;
    int fd;

    assert_int_equal(filecrypt_key_load(f->key_path, true, key, &err), 0);
    secret_random(other, sizeof(other));
    secret_random(buf, FILECRYPT_CHUNK + 50);
    write_file(f->plain, buf, FILECRYPT_CHUNK + 50);
    assert_int_equal(filecrypt_encrypt_file(key, f->plain, f->enc, &err), 0);
    n = read_file(f->enc, buf, sizeof(buf));

    /* Another key. */
    assert_int_equal(filecrypt_decrypt_file(other, f->enc, f->back, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "does not decrypt"));
    assert_int_equal(access(f->back, F_OK), -1);
    /* One byte altered, anywhere. */
    for (size_t at = 0; at < n; at += n / 7) {
        buf[at] ^= 1;
        write_file(f->enc, buf, n);
        err_clear(&err);
        assert_int_equal(filecrypt_decrypt_file(key, f->enc, f->back, &err), -ERR_VALIDATION);
        buf[at] ^= 1;
    }
    /* Truncated at a chunk boundary (the final chunk gone) or inside, and extended. */
    write_file(f->enc, buf, 24 + FILECRYPT_CHUNK + 17);
    err_clear(&err);
    assert_int_equal(filecrypt_decrypt_file(key, f->enc, f->back, &err), -ERR_VALIDATION);
    write_file(f->enc, buf, n - 1);
    err_clear(&err);
    assert_int_equal(filecrypt_decrypt_file(key, f->enc, f->back, &err), -ERR_VALIDATION);
    buf[n] = 'x';
    write_file(f->enc, buf, n + 1);
    err_clear(&err);
    assert_int_equal(filecrypt_decrypt_file(key, f->enc, f->back, &err), -ERR_VALIDATION);

    /* Key files: loose modes and bad contents are refused. */
    assert_int_equal(chmod(f->key_path, 0644), 0);
    err_clear(&err);
    assert_int_equal(filecrypt_key_load(f->key_path, false, key, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "chmod 600"));
    unlink(f->key_path);
    fd = open(f->key_path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc\n", 4), 4);
    close(fd);
    err_clear(&err);
    assert_int_equal(filecrypt_key_load(f->key_path, true, key, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "64 hex digits"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
