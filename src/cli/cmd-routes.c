/*
 * cmd-routes.c - `kaifang routes`: every URL pattern the server answers and every CKAN
 * action, as JSON on stdout (http_endpoints()). The authorization matrix test compares
 * it with its rows, so that a new endpoint cannot land without its row.
 */
#include "cli/cli-int.h"
#include "core/util.h"
#include "http/server.h"

int cmd_routes(int argc, char **argv)
{
    struct cli_args args;
    json_t *doc;
    char *s;
    int ret;

    ret = cli_parse("routes", "routes", NULL, 0, argc, argv, 0, 0, "", &args);
    if (ret)
        return ret;
    doc = http_endpoints();
    s = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc);
    BUG_ON(!s);
    printf("%s\n", s);
    free(s);
    return CLI_OK;
}
