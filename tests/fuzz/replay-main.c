/*
 * Replays a fuzz corpus through a harness without libFuzzer, so ctest can run every
 * corpus under the sanitizer build with any compiler. Usage: replay DIR|FILE…
 * Exits non-zero if an argument cannot be read or holds no input (an empty corpus is a
 * mistake, not a pass).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0, cap = 0, n;
    uint8_t chunk[4096];

    if (!f) {
        fprintf(stderr, "replay: cannot open \"%s\"\n", path);
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            data = xrealloc(data, cap);
        }
        memcpy(data + len, chunk, n);
        len += n;
    }
    fclose(f);
    /* Copy into an exact-size allocation so ASan catches reads past the end. */
    {
        uint8_t *exact = xmalloc(len ? len : 1);

        if (len)
            memcpy(exact, data, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    free(data);
    (*count)++;
    return 0;
}

static int replay_path(const char *path, size_t *count)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (stat(path, &st)) {
        fprintf(stderr, "replay: cannot stat \"%s\"\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path, count);
    d = opendir(path);
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        char *child;

        if (e->d_name[0] == '.')
            continue;
        child = xstrfmt("%s/%s", path, e->d_name);
        if (replay_path(child, count))
            rc = -1;
        free(child);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;

    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], &count))
            rc = 1;
    if (!count) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    printf("replayed %zu inputs\n", count);
    return rc;
}
