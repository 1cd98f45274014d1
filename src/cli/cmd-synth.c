/*
 * cmd-synth.c - `kaifang synth people --rows N --seed S [-o FILE]`: writes a table of
 * synthetic people (privacy/synth.h) as CSV, to FILE or stdout. The same seed gives the
 * same table. For tests, benchmarks and demos; no real person's data.
 */
#include "cli/cli-int.h"
#include "core/parse.h"
#include "privacy/synth.h"
#include "core/util.h"

static const struct cli_option opts[] = {
        {"rows", true},
        {"seed", true},
        {"output", true},
};

#define OPT(name) cli_opt(opts, ARRAY_SIZE(opts), &args, name)

/* Largest table: 100 million rows (about 13 GB of CSV). */
#define SYNTH_ROWS_MAX 100000000ull

int cmd_synth(int argc, char **argv)
{
    struct cli_args args;
    struct err err = ERR_INIT;
    const char *rows_s, *seed_s, *output;
    uint64_t rows = 1000, seed = 1;
    char **av = xcalloc((size_t)argc + 1, sizeof(*av));
    FILE *f = NULL;
    int ret;

    /* "-o FILE" is "--output FILE" */
    for (int i = 0; i < argc; i++)
        av[i] = !strcmp(argv[i], "-o") ? (char *)"--output" : argv[i];
    ret = cli_parse("synth", "synth", opts, ARRAY_SIZE(opts), argc, av, 1, 1, "KIND", &args);
    if (ret)
        goto out;
    if (strcmp(args.pos[0], "people")) {
        ret = cli_usage("synth", "synth", "unknown kind \"%s\" (only \"people\")", args.pos[0]);
        goto out;
    }
    rows_s = OPT("rows");
    seed_s = OPT("seed");
    output = OPT("output");
    if (rows_s && parse_u64(rows_s, SYNTH_ROWS_MAX, &rows)) {
        ret = cli_usage("synth", "synth",
                        "option \"--rows\": \"%s\" is not an integer from 0 to %llu", rows_s,
                        SYNTH_ROWS_MAX);
        goto out;
    }
    if (seed_s && parse_u64(seed_s, UINT64_MAX, &seed)) {
        ret = cli_usage("synth", "synth", "option \"--seed\": \"%s\" is not a non-negative integer",
                        seed_s);
        goto out;
    }
    if (output && strcmp(output, "-")) {
        f = fopen(output, "w");
        if (!f) {
            fprintf(stderr, "kaifang synth: cannot create \"%s\": %s\n", output, strerror(errno));
            ret = CLI_ERROR;
            goto out;
        }
    }
    if (synth_people_write(f ? f : stdout, rows, seed, &err)) {
        ret = cli_fail("synth", &err);
        goto out;
    }
    if (f) {
        ret = fclose(f);
        f = NULL;
        if (ret) {
            fprintf(stderr, "kaifang synth: cannot write \"%s\": %s\n", output, strerror(errno));
            ret = CLI_ERROR;
            goto out;
        }
    }
    ret = CLI_OK;
out:
    if (f)
        fclose(f);
    free(av);
    return ret;
}
