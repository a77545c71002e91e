/* certa trustpoint delete: removes a trustpoint and its files (secrets are
 * overwritten first). The `default` trustpoint cannot be deleted. Key
 * pairs stay in the keystore. */
#include <getopt.h>
#include "certa/trustpoint.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "trustpoint delete",
    .usage = "NAME",
    .summary = "delete a trustpoint (its keys stay in the keystore)",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    if (getopt_long(argc, argv, "", opts, NULL) != -1)
        return cli_usage_error(&cmd, "unknown option");
    if (optind + 1 != argc)
        return cli_usage_error(&cmd, "give one trustpoint NAME");
    int rc = certa_trustpoint_delete(cli_state_dir(), argv[optind]);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
