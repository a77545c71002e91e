/* certa ca reject: refuses a request that waits for manual approval; the
 * device learns it on its next poll. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "certa/ca.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca reject",
    .usage = "--dir DIR ID [--reason TEXT]",
    .summary = "reject a pending request",
    .help = "  --dir DIR      the CA state directory\n"
            "  ID             the request id (certa ca requests)\n"
            "  --reason TEXT  why, kept with the request (at most 200 characters)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "reason", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *reason = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'r': reason = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (dir == NULL || optind != argc - 1)
        return cli_usage_error(&cmd, "--dir and one request ID are required");
    if (reason && strlen(reason) > 200)
        return cli_usage_error(&cmd, "--reason is longer than 200 characters");
    char *end;
    long long id = strtoll(argv[optind], &end, 10);
    if (*end || id <= 0)
        return cli_usage_error(&cmd, "'%s' is not a request id", argv[optind]);
    certa_ca *ca = NULL;
    /* Rejecting signs nothing: the key (and its passphrase) is not needed. */
    int rc = certa_ca_open(dir, NULL, CERTA_CA_NOKEY, &ca);
    if (rc == 0)
        rc = certa_ca_reject(ca, (int64_t)id, reason);
    if (rc == 0)
        printf("rejected request %lld\n", id);
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca reject", rc) : EXIT_OK;
}
