/* certa trustpoint add: declares a CA the device trusts (`crypto ca
 * trustpoint NAME`), with every setting given as an option. */
#include <string.h>
#include "key_cli.h"
#include "trustpoint_cli.h"

static int run(int argc, char **argv);

static struct cli_command cmd = {
    .name = "trustpoint add",
    .usage = "NAME [--protocol scep|cmp|est|manual] [--url URL] [--fingerprint ALG:HEX] [--challenge PW] "
             "[--subject DN] [--key LABEL] [--legacy] [OPTIONS]",
    .summary = "declare a trustpoint (CA, enrollment settings)",
    .run = run,
};
CLI_COMMAND(cmd)
static void __attribute__((constructor)) init_help(void) { cmd.help = tp_cli_help(); }

static int run(int argc, char **argv)
{
    struct certa_trustpoint tp;
    struct tp_cli_edit edit = { 0 };
    const char *state = cli_state_dir();
    int rc;
    certa_trustpoint_init(&tp, "");
    rc = tp_cli_parse(&cmd, argc, argv, &tp, &edit);
    if (rc > 0) {
        tp_cli_edit_free(&edit);
        return rc;
    }
    if (rc == 0 && (rc = certa_trustpoint_name_check(edit.name)) == 0) {
        if (certa_trustpoint_exists(state, edit.name))
            rc = certa_error_set(CERTA_EEXIST, "trustpoint %s already exists (change it with `certa trustpoint set`)",
                                 edit.name);
    }
    if (rc == 0) {
        snprintf(tp.name, sizeof(tp.name), "%s", edit.name);
        /* A URL without a protocol means SCEP, the seeds' default. */
        if (edit.set_url && !edit.set_protocol)
            certa_trustpoint_set(&tp, "protocol", "scep");
        rc = tp_cli_commit(state, &tp, &edit);
    }
    tp_cli_edit_free(&edit);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
