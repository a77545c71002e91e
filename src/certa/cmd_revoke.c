/* certa revoke: asks the trustpoint's CA to revoke the device's certificate
 * (CMP rr, signed with that certificate). */
#include <getopt.h>
#include <stdio.h>
#include "certa/ca.h"
#include "certa/trustpoint.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "revoke",
    .usage = "NAME [--reason R]",
    .summary = "ask the CA to revoke a trustpoint's certificate (CMP)",
    .help = "  --reason R             keyCompromise, superseded, cessationOfOperation, affiliationChanged,\n"
            "                         privilegeWithdrawn, certificateHold or unspecified (default)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "reason", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    int reason = CERTA_REASON_UNSPECIFIED, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (certa_reason_parse(optarg, &reason) < 0 || reason == CERTA_REASON_REMOVE_FROM_CRL)
                return cli_usage_error(&cmd, "'%s' is not a revocation reason", optarg);
            break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(&cmd, "give one trustpoint NAME");
    rc = certa_enroll_revoke(cli_state_dir(), argv[optind], reason);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    printf("revoked: the CA accepted the revocation of %s's certificate\n", argv[optind]);
    return EXIT_OK;
}
