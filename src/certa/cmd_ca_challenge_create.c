/* certa ca challenge create: a fresh SCEP challenge password for one device
 * (or N), printed once on stdout and kept only as a salted hash; certad
 * issues automatically to a request that carries it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "certa/ca.h"
#include "certa/challenge.h"
#include "ca_cli.h"
#include "cli.h"

#define DEFAULT_TTL (7 * 86400)

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca challenge create",
    .usage = "--dir DIR [--subject PATTERN] [--uses N|unlimited] [--ttl T]",
    .summary = "create a challenge password for SCEP enrollment",
    .help = "  --dir DIR              the CA state directory\n"
            "  --subject PATTERN      only for requests whose subject matches (fnmatch):\n"
            "                         a pattern without '=' is matched against the CN,\n"
            "                         e.g. 'rtr-*.example.net'; with '=' against the whole\n"
            "                         subject as certa ca list shows it, e.g. 'CN=rtr1, O=*'\n"
            "  --uses N|unlimited     how many enrollments it allows (default 1)\n"
            "  --ttl T                lifetime: seconds or Ns Nm Nh Nd (default 7d; 0: never expires)\n"
            "Prints the password on stdout (only now: it is stored hashed) and its\n"
            "reference, uses and expiry on stderr. A request refused by the profile\n"
            "still uses up its use.\n",
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
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL;
    struct certa_challenge_params p = { .ttl = DEFAULT_TTL };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 's': p.subject_pattern = optarg; break;
        case 'u':
            if (ca_cli_parse_uses(optarg, 1, 1000000000, &p.uses) < 0)
                return cli_usage_error(&cmd, "--uses wants a number from 1 or 'unlimited', not '%s'", optarg);
            break;
        case 't':
            if (ca_cli_parse_ttl(optarg, &p.ttl) < 0)
                return cli_usage_error(&cmd, "--ttl wants seconds or Ns, Nm, Nh, Nd, not '%s'", optarg);
            break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    int usage = ca_cli_args_done(&cmd, argc, argv, dir);
    if (usage != 0)
        return usage;
    certa_ca *ca = NULL;
    char password[CERTA_CHALLENGE_LEN + 1], ref[CERTA_CHALLENGE_REF_LEN + 1];
    /* No key needed: nothing is signed. */
    int rc = ca_cli_open(dir, NULL, CERTA_CA_NOKEY, &ca);
    if (rc == 0)
        rc = certa_challenge_create(certa_ca_store(ca), &p, password, ref);
    if (rc == 0) {
        char when[32] = "never";
        if (p.ttl > 0)
            ca_cli_time((int64_t)time(NULL) + p.ttl, when, sizeof(when));
        char uses[16];
        snprintf(uses, sizeof(uses), p.uses < 0 ? "unlimited" : "%d", p.uses == 0 ? 1 : p.uses);
        printf("%s\n", password);
        fflush(stdout);
        fprintf(stderr, "challenge ref=%s uses=%s expires=%s%s%s\n", ref, uses, when,
                p.subject_pattern ? " subject=" : "", p.subject_pattern ? p.subject_pattern : "");
        memset(password, 0, sizeof(password));
    }
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca challenge create", rc) : EXIT_OK;
}
