/* certa: entry point. Parses global options, finds the command whose words
 * match the most leading arguments, and runs it. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "certa/error.h"
#include "certa/log.h"
#include "cli.h"

#define MAX_COMMANDS 128

static const struct cli_command *commands[MAX_COMMANDS];
static int command_count;
struct cli_globals cli_globals;

void cli_register(const struct cli_command *cmd)
{
    if (command_count < MAX_COMMANDS)
        commands[command_count++] = cmd;
}

int cli_exit_code(int code)
{
    switch (code) {
    case 0: return EXIT_OK;
    case CERTA_ENOTFOUND: return EXIT_NOTFOUND;
    case CERTA_EPOLICY: return EXIT_REFUSED;
    case CERTA_EPENDING: return EXIT_PENDING;
    default: return EXIT_ERROR;
    }
}

int cli_fail(const char *cmd, int code)
{
    const char *msg = certa_error_last();
    fprintf(stderr, "certa %s: %s\n", cmd, msg[0] ? msg : certa_error_name(code));
    return cli_exit_code(code);
}

void cli_print_help(const struct cli_command *cmd, FILE *f)
{
    fprintf(f, "usage: certa %s %s\n\n%s\n", cmd->name, cmd->usage ? cmd->usage : "", cmd->summary);
    if (cmd->help != NULL)
        fprintf(f, "\n%s", cmd->help);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "certa %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: certa %s %s\n", cmd->name, cmd->usage ? cmd->usage : "");
    return EXIT_USAGE;
}

static int word_count(const char *name)
{
    int n = 1;
    for (const char *p = name; *p; p++)
        n += *p == ' ';
    return n;
}

/* Does `name` ("ca init") equal the first words of argv? */
static int matches(const char *name, int argc, char **argv)
{
    int words = word_count(name);
    if (words > argc)
        return 0;
    const char *p = name;
    for (int i = 0; i < words; i++) {
        size_t n = strlen(argv[i]);
        if (strncmp(p, argv[i], n) != 0 || (p[n] != ' ' && p[n] != '\0'))
            return 0;
        p += n + (p[n] == ' ');
    }
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const struct cli_command *const *)a)->name,
                  (*(const struct cli_command *const *)b)->name);
}

static void print_usage(FILE *f, const char *prefix)
{
    fprintf(f, "usage: certa [--state DIR] [-v] COMMAND [ARGS]\n\ncommands:\n");
    qsort(commands, (size_t)command_count, sizeof(commands[0]), by_name);
    for (int i = 0; i < command_count; i++)
        if (prefix == NULL || strncmp(commands[i]->name, prefix, strlen(prefix)) == 0)
            fprintf(f, "  %-22s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n'certa COMMAND --help' describes a command.\n"
               "Exit codes: 0 success, 1 failure, 2 usage error, 3 not found,\n"
               "4 refused by policy or peer, 5 pending manual approval.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 's' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    cli_globals.state_dir = getenv("CERTA_STATE");
    int c;
    /* '+' stops at the first non-option: the command's own options follow. */
    while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
        switch (c) {
        case 's': cli_globals.state_dir = optarg; break;
        case 'v': cli_globals.verbose++; certa_log_set_level(CERTA_LOG_INFO + (cli_globals.verbose > 1)); break;
        case 'h': print_usage(stdout, NULL); return EXIT_OK;
        default: print_usage(stderr, NULL); return EXIT_USAGE;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc == 0) {
        print_usage(stderr, NULL);
        return EXIT_USAGE;
    }

    const struct cli_command *best = NULL;
    int best_words = 0;
    for (int i = 0; i < command_count; i++) {
        int w = word_count(commands[i]->name);
        if (w > best_words && matches(commands[i]->name, argc, argv)) {
            best = commands[i];
            best_words = w;
        }
    }
    if (best == NULL) {
        fprintf(stderr, "certa: unknown command '%s'\n\n", argv[0]);
        print_usage(stderr, argv[0]);
        return EXIT_USAGE;
    }
    for (int i = best_words; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_help(best, stdout);
            return EXIT_OK;
        }
    }
    /* The command sees itself as argv[0] and parses its own options. */
    optind = 0;
    return best->run(argc - best_words + 1, argv + best_words - 1);
}
