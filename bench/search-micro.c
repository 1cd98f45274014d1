/*
 * bench/search-micro.c - times store_dataset_search() directly on a loaded portal's
 * database, without HTTP: the store's share of an uncached package_search.
 *
 *   cc -O2 -g -std=c17 -I src bench/search-micro.c -o build-perf/search-micro \
 *      build-perf/libkf_store.a build-perf/libkf_core.a \
 *      $(pkg-config --libs sqlite3 jansson libsodium libcrypto) -lpthread
 *   build-perf/search-micro PORTAL/kaifang.db [ROUNDS]
 *
 * For each word of bench/vary.lua's list (the Chinese ones as the bigram token the
 * catalog makes of them), anonymous, sorted by score, rows 10: the first search (ranks
 * every match), then ROUNDS searches at random pages (start 0..3000); then the same
 * word with a tags:year-N filter, rows 0, facets tags and organization (bench/vary.lua's
 * "facets" mode). Prints the median and 99th percentile in microseconds of each kind,
 * and how long serialising a page's documents takes (json_dumps), for comparison.
 * Opening the database may migrate it: use a copy.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "core/util.h"

static const char *const words[] = {
        "population", "census",  "traffic",    "transport", "road",   "rail",        "water",
        "river",      "quality", "weather",    "climate",   "budget", "revenue",     "school",
        "hospital",   "health",  "employment", "housing",   "energy", "electricity", "emissions",
        "forest",     "airport", "flight",     "accident",  "crime",  "trade",       "tourism",
        "museum",     "waste",   "人口",       "交通",      "水质",   "天气",        "预算",
        "学校",       "医院",    "能源",       "机场",      "旅游",
};

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, size_t n)
{
    qsort(t, n, sizeof(*t), cmp_double);
    printf("%-44s n=%-6zu p50 %9.1f us  p99 %9.1f us\n", what, n, t[n / 2], t[n * 99 / 100]);
}

int main(int argc, char **argv)
{
    size_t nwords = ARRAY_SIZE(words), rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
    double *cold = xcalloc(nwords, sizeof(*cold)), *warm = xcalloc(rounds, sizeof(*warm));
    double *facet = xcalloc(rounds, sizeof(*facet)), *dump = xcalloc(rounds, sizeof(*dump));
    const char *fields[] = {"tags", "organization"};
    struct err err = ERR_INIT;
    struct store *s = NULL;
    size_t i;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: search-micro DB [ROUNDS]\n");
        return 2;
    }
    if (store_open(&s, argv[1], false, &err)) {
        fprintf(stderr, "search-micro: %s\n", err.msg);
        return 1;
    }
    srand(20261129);
    for (i = 0; i < nwords + 2 * rounds; i++) {
        const char *word = words[i < nwords ? i : (size_t)rand() % nwords];
        char year[32];
        struct store_term t[2] = {
                {.tokens = &word, .ntokens = 1},
                {.is_filter = true, .filter = {"tags", year}},
        };
        struct store_clause cl[2] = {{&t[0], 1}, {&t[1], 1}};
        struct store_search q = {.clauses = cl, .nclauses = 1, .rows = 10};
        struct store_search_result res = {0};
        bool facets = i >= nwords + rounds;
        double t0, t1;

        xsnprintf(year, sizeof(year), "year-%d", 2000 + rand() % 24);
        if (facets) {
            q.nclauses = 2;
            q.rows = 0;
            q.facet_fields = fields;
            q.nfacet_fields = 2;
            q.facet_limit = 50;
        } else if (i >= nwords) {
            q.start = (size_t)(rand() % 301) * 10;
        }
        t0 = now_us();
        if (store_dataset_search(s, &q, &res, &err)) {
            fprintf(stderr, "search-micro: %s\n", err.msg);
            goto out;
        }
        t1 = now_us();
        if (i < nwords) {
            cold[i] = t1 - t0;
        } else if (!facets) {
            char *text;

            warm[i - nwords] = t1 - t0;
            t0 = now_us();
            text = json_dumps(res.docs, JSON_COMPACT);
            dump[i - nwords] = now_us() - t0;
            free(text);
        } else {
            facet[i - nwords - rounds] = t1 - t0;
        }
        store_search_result_release(&res);
    }
    report("first search of a word (ranks every match)", cold, nwords);
    report("word at a random page, rows 10", warm, rounds);
    report("  json_dumps of that page's documents", dump, rounds);
    report("word + tags:year-N, rows 0, 2 facet fields", facet, rounds);
    rc = 0;
out:
    store_free(s);
    free(cold);
    free(warm);
    free(facet);
    free(dump);
    return rc;
}
