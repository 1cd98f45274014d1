/*
 * ingest-opts.c - the reading options `kaifang ingest` and `kaifang scan` share
 * (--format, --encoding, --delimiter, --sheet, --skip-rows, --lenient).
 */
#include <strings.h>

#include "cli/cli-int.h"
#include "core/parse.h"
#include "core/util.h"
#include "ingest/ingest.h"

int cli_ingest_options(const char *cmd, const struct cli_option *opts, size_t nopts,
                       const struct cli_args *args, struct ingest_options *o)
{
    const char *format = cli_opt(opts, nopts, args, "format");
    const char *delim = cli_opt(opts, nopts, args, "delimiter");
    const char *skip = cli_opt(opts, nopts, args, "skip-rows");
    int64_t n;

    if (format && !ingest_format_parse(format, &o->format))
        return cli_usage(cmd, cmd,
                         "option \"--format\": \"%s\" is not csv, tsv, json, ndjson, xlsx or xls",
                         format);
    o->encoding = cli_opt(opts, nopts, args, "encoding");
    if (delim) {
        if (!strcasecmp(delim, "tab") || !strcmp(delim, "\\t"))
            o->delimiter = '\t';
        else if (strlen(delim) == 1 && strchr(",;\t|", delim[0]))
            o->delimiter = delim[0];
        else
            return cli_usage(cmd, cmd, "option \"--delimiter\": \"%s\" is not one of , ; | tab",
                             delim);
    }
    o->sheet = cli_opt(opts, nopts, args, "sheet");
    if (skip) {
        if (parse_i64(skip, -1, 1048576, &n))
            return cli_usage(cmd, cmd,
                             "option \"--skip-rows\": \"%s\" is not an integer from -1 to 1048576",
                             skip);
        o->skip_rows = (int)n;
    }
    o->lenient = cli_opt(opts, nopts, args, "lenient") != NULL;
    return 0;
}
