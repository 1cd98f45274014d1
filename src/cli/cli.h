/*
 * cli.h - the `kaifang` command line: one file per sub-command (cmd-<name>.c).
 */
#ifndef KAIFANG_CLI_CLI_H
#define KAIFANG_CLI_CLI_H

/* Runs the command line; returns the process exit status (0 ok, 1 error, 2 usage). */
int cli_main(int argc, char **argv);

#endif
