/* certa ca cmp-secret create: a reference value and shared secret for one
 * device's MAC-protected CMP enrollment (`openssl cmp -ref R -secret pass:S`),
 * stored encrypted in the CA, one-time by default. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "certa/cmp.h"
#include "ca_cli.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca cmp-secret create",
    .usage = "--dir DIR [--subject PATTERN] [--uses N|unlimited] [--ttl T] [--passphrase-file F]",
    .summary = "create a CMP reference value and secret (MAC protection) for a device",
    .help = "  --dir DIR              the CA state directory\n"
            "  --subject PATTERN      only for requests whose subject matches (fnmatch on the\n"
            "                         DN text, e.g. 'CN=router*')\n"
            "  --uses N|unlimited     number of enrollments it allows (default 1; 0 = unlimited)\n"
            "  --ttl T                lifetime: seconds or Ns/Nm/Nh/Nd (default 7d; 0 = none)\n"
            "  --passphrase-file F    the CA key passphrase (or CERTA_CA_PASSPHRASE)\n"
            "Prints two lines: reference=VALUE and secret=VALUE.\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "subject", required_argument, NULL, 's' },
        { "uses", required_argument, NULL, 'u' },
        { "ttl", required_argument, NULL, 't' },
        { "passphrase-file", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *pass_file = NULL;
    struct certa_cmp_secret_params p = { .uses = 1, .ttl = 7 * 86400 };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 's': p.subject_pattern = optarg; break;
        case 'u':
            if (ca_cli_parse_uses(optarg, 0, 1000000, &p.uses) < 0)
                return cli_usage_error(&cmd, "--uses is a count from 0 (unlimited) to 1000000, not '%s'", optarg);
            if (p.uses == 0)
                p.uses = -1;
            break;
        case 't':
            if (ca_cli_parse_ttl(optarg, &p.ttl) < 0)
                return cli_usage_error(&cmd, "--ttl is seconds or Ns/Nm/Nh/Nd, not '%s'", optarg);
            break;
        case 'P': pass_file = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (dir == NULL || optind != argc)
        return cli_usage_error(&cmd, "--dir is required");
    certa_ca *ca = NULL;
    char ref[CERTA_CMP_REF_MAX + 1], secret[CERTA_CMP_SECRET_MAX + 1];
    int rc = ca_cli_open(dir, pass_file, CERTA_CA_NOKEY, &ca);
    if (rc == 0)
        rc = certa_cmp_secret_create(ca, &p, ref, secret);
    if (rc == 0) {
        printf("reference=%s\nsecret=%s\n", ref, secret);
        fflush(stdout);
        certa_memzero(secret, sizeof(secret));
    }
    certa_ca_free(ca);
    return rc < 0 ? cli_fail(cmd.name, rc) : EXIT_OK;
}
