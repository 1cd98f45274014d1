/*
 * unit-util.h - scaffolding the unit tests share: a temporary directory under /tmp and a
 * store opened in it, as cmocka setup/teardown functions.
 *
 * Header-only: each tests/unit/test-<module>.c is its own program, so the helpers are
 * static (inline, so that a test using only some of them still builds without warnings).
 * Not thread-safe: call from the test's main thread, as cmocka does.
 */
#ifndef KAIFANG_TESTS_UNIT_UNIT_UTIL_H
#define KAIFANG_TESTS_UNIT_UNIT_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "core/util.h"

/* Removes dir and everything below it; best effort (a test's leftovers, nothing more). */
static inline void unit_remove_tree(const char *dir)
{
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d))) {
        struct stat st;
        char *p;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        p = xstrfmt("%s/%s", dir, e->d_name);
        if (!lstat(p, &st) && S_ISDIR(st.st_mode))
            unit_remove_tree(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Creates a new directory /tmp/kf-<name>-XXXXXX and writes its path into dir (size bytes,
 * 64 is plenty for a short name). Returns 0, or -1 with errno set by mkdtemp(). */
static inline int unit_tmpdir(char *dir, size_t size, const char *name)
{
    xsnprintf(dir, size, "/tmp/kf-%s-XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* A temporary directory with a store created in it at <dir>/kaifang.db. */
struct unit_store {
    char dir[64];
    char path[128];
    struct store *s;
};

/*
 * cmocka setup: a new struct unit_store in *state, its store freshly created (schema
 * migrated) in a new /tmp/kf-<name>-XXXXXX. Returns 0, or -1 (the reason on stderr) with
 * nothing left behind. Free with unit_store_teardown().
 */
static inline int unit_store_setup(void **state, const char *name)
{
    struct unit_store *u = xcalloc(1, sizeof(*u));
    struct err err = ERR_INIT;

    if (unit_tmpdir(u->dir, sizeof(u->dir), name)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        free(u);
        return -1;
    }
    xsnprintf(u->path, sizeof(u->path), "%s/kaifang.db", u->dir);
    if (store_open(&u->s, u->path, true, &err)) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        unit_remove_tree(u->dir);
        free(u);
        return -1;
    }
    *state = u;
    return 0;
}

/* cmocka teardown: frees the store (a test may have set s to NULL, or to another store it
 * opened on path) and removes the directory with everything in it. */
static inline int unit_store_teardown(void **state)
{
    struct unit_store *u = *state;

    store_free(u->s);
    unit_remove_tree(u->dir);
    free(u);
    return 0;
}

#endif
