/* The certa command line: commands register themselves (one file each, as in
 * strongSwan's pki), main.c finds the longest matching command name. */
#ifndef CERTA_CLI_H
#define CERTA_CLI_H

#include <stdio.h>

/* Exit codes, documented in certa(1) and `certa --help`. */
enum cli_exit {
    EXIT_OK = 0,
    EXIT_ERROR = 1,     /* the operation failed: input, crypto, I/O, store */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_NOTFOUND = 3,  /* no such serial, request, profile, trustpoint */
    EXIT_REFUSED = 4,   /* refused by policy or by the peer */
    EXIT_PENDING = 5,   /* request is waiting for manual approval */
};

struct cli_command {
    const char *name;      /* words, e.g. "ca init" */
    const char *usage;     /* one line of arguments */
    const char *summary;   /* one line for the command list */
    const char *help;      /* the option list printed by --help (may be NULL) */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

void cli_register(const struct cli_command *cmd);

#define CLI_COMMAND(var) \
    static void __attribute__((constructor)) register_##var(void) { cli_register(&var); }

/* Global options given before the command. */
struct cli_globals {
    const char *state_dir;  /* --state or CERTA_STATE; NULL if neither */
    int verbose;
};
extern struct cli_globals cli_globals;

/* Prints "certa <cmd>: <certa_error_last()>" and maps the code to an exit code. */
int cli_fail(const char *cmd, int code);
/* Prints a usage error for cmd and returns EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the full help of cmd to f. */
void cli_print_help(const struct cli_command *cmd, FILE *f);
/* Maps a CERTA_E* code to an exit code. */
int cli_exit_code(int code);

#endif
