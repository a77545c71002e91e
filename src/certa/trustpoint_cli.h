/* Option handling shared by `certa trustpoint add` and `trustpoint set`:
 * one --FIELD option per trustpoint field (and --no-FIELD to reset it),
 * generated from the library's field table, plus the secrets. */
#ifndef CERTA_TRUSTPOINT_CLI_H
#define CERTA_TRUSTPOINT_CLI_H

#include "certa/trustpoint.h"
#include "cli.h"

struct tp_cli_secret {
    int given;          /* 1: set value, -1: remove */
    char *value;        /* malloc'd */
};

struct tp_cli_edit {
    const char *name;   /* the NAME argument */
    struct tp_cli_secret challenge, cmp_secret;
    int set_protocol;   /* --protocol was given */
    int set_url;
};

/* Parses argv into edits applied to tp (which the caller has loaded or
 * initialised). Returns 0, a usage exit code (> 0) after printing, or a
 * negative CERTA_E* with the message set. */
int tp_cli_parse(const struct cli_command *cmd, int argc, char **argv, struct certa_trustpoint *tp,
                 struct tp_cli_edit *edit);
/* Writes secrets, then the trustpoint. */
int tp_cli_commit(const char *state, const struct certa_trustpoint *tp, struct tp_cli_edit *edit);
void tp_cli_edit_free(struct tp_cli_edit *edit);
/* The --help text listing every field option. */
const char *tp_cli_help(void);

#endif
