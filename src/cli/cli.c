#include "cli/cli.h"
#include "core/util.h"

int cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("kaifang: not yet\n", stderr);
    return 2;
}
