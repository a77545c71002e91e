/* certa trustpoint set: changes settings of an existing trustpoint (or of
 * `default`, which always exists); fields not given keep their values. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "key_cli.h"
#include "trustpoint_cli.h"

static int run(int argc, char **argv);

static struct cli_command cmd = {
    .name = "trustpoint set",
    .usage = "NAME [OPTIONS]",
    .summary = "change a trustpoint's settings",
    .run = run,
};
CLI_COMMAND(cmd)
static void __attribute__((constructor)) init_help(void) { cmd.help = tp_cli_help(); }

static int run(int argc, char **argv)
{
    struct certa_trustpoint tp;
    struct tp_cli_edit edit = { 0 };
    const char *state = cli_state_dir();
    char name[65];
    int rc;
    /* First pass finds NAME (and checks every value); the second edits the
     * stored trustpoint, so that fields not given keep their values. */
    certa_trustpoint_init(&tp, "");
    rc = tp_cli_parse(&cmd, argc, argv, &tp, &edit);
    if (rc == 0 && strlen(edit.name) >= sizeof(name))
        rc = certa_trustpoint_name_check(edit.name);
    if (rc == 0) {
        snprintf(name, sizeof(name), "%s", edit.name);
        tp_cli_edit_free(&edit);
        memset(&edit, 0, sizeof(edit));
        if ((rc = certa_trustpoint_load(state, name, &tp)) == 0) {
            optind = 0;
            rc = tp_cli_parse(&cmd, argc, argv, &tp, &edit);
        }
    }
    if (rc == 0)
        rc = tp_cli_commit(state, &tp, &edit);
    if (rc > 0) {
        tp_cli_edit_free(&edit);
        return rc;
    }
    tp_cli_edit_free(&edit);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
