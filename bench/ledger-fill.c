/*
 * ledger-fill.c - bench/ledger.sh's writer: appends N ledger entries to a portal's
 * store in batches (ledger_record inside one store transaction per batch, as the
 * catalog does per change) and integrates each batch (ledger_integrate: tiles and one
 * signed checkpoint per batch). Prints the append and integrate rates. Not a test.
 *
 *   ledger-fill DB KEY N BATCH
 */
#include <jansson.h>

#include "core/timeutil.h"
#include "ledger/ledger.h"
#include "store/store.h"
#include "core/util.h"

int main(int argc, char **argv)
{
    struct err err = ERR_INIT;
    struct store *s = NULL;
    struct ledger_key *k = NULL;
    uint64_t n, batch, done = 0, t_append = 0, t_integrate = 0, t0, size = 0;
    char *url;

    if (argc != 5)
        die("usage: ledger-fill DB KEY N BATCH");
    n = strtoull(argv[3], NULL, 10);
    batch = strtoull(argv[4], NULL, 10);
    url = xstrfmt("sqlite:%s", argv[1]);
    if (store_open(&s, url, false, &err) || ledger_key_load(argv[2], &k, &err))
        die("%s", err.msg);
    while (done < n) {
        uint64_t m = n - done < batch ? n - done : batch;

        t0 = time_mono_us();
        if (store_begin(s, &err))
            die("%s", err.msg);
        for (uint64_t i = 0; i < m; i++) {
            json_t *obj = json_pack("{s:s, s:I}", "dataset", "bench-dataset", "n",
                                    (json_int_t)(done + i));
            json_t *dig = json_pack("{s:I}", "n", (json_int_t)(done + i));

            if (ledger_record(s, "dataset_update", "bench", "bench-org", obj, dig, NULL, &err))
                die("%s", err.msg);
            json_decref(obj);
            json_decref(dig);
        }
        if (store_commit(s, &err))
            die("%s", err.msg);
        t_append += time_mono_us() - t0;
        t0 = time_mono_us();
        if (ledger_integrate(s, k, &size, &err))
            die("%s", err.msg);
        t_integrate += time_mono_us() - t0;
        done += m;
    }
    printf("entries %" PRIu64 " batch %" PRIu64 " tree_size %" PRIu64 "\n", n, batch, size);
    printf("append_per_s %.0f integrate_per_s %.0f both_per_s %.0f\n",
           (double)n / ((double)t_append / 1e6), (double)n / ((double)t_integrate / 1e6),
           (double)n / ((double)(t_append + t_integrate) / 1e6));
    ledger_key_free(k);
    store_free(s);
    free(url);
    return 0;
}
