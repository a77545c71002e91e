/* certa ca init: creates a CA directory (key, certificate, ca.conf with
 * profiles, database): a self-signed root, an intermediate signed by another
 * certa CA (--parent), a CSR for an outside parent (--external), or finishes
 * the latter with --import-cert. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "certa/ca.h"
#include "ca_cli.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca init",
    .usage = "--dir DIR (--subject DN [--key TYPE] [--days N] [--passphrase-file F] "
             "[--parent DIR [--parent-passphrase-file F]] [--external] [--path-len N] | "
             "--import-cert FILE [--chain FILE])",
    .summary = "create a CA: root, intermediate, or CSR for an external parent",
    .help = "  --dir DIR                  the CA state directory (created, mode 0700)\n"
            "  --subject DN               e.g. \"CN=Devices CA,O=Example\" or /CN=Devices CA/O=Example\n"
            "  --key TYPE                 ec:p256 (default), ec:p384, rsa:BITS (2048..4096), ed25519\n"
            "  --days N                   validity of the CA certificate (default 3650)\n"
            "  --passphrase-file F        encrypt ca.key under the first line of F\n"
            "  --parent DIR               sign by the certa CA in DIR (an intermediate)\n"
            "  --parent-passphrase-file F passphrase of the parent's key\n"
            "  --external                 write DIR/ca.csr for an outside parent instead\n"
            "  --path-len N               basicConstraints pathLenConstraint\n"
            "  --import-cert FILE         install the certificate the outside parent issued\n"
            "  --chain FILE               with --import-cert: the parent's chain (PEM)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "subject", required_argument, NULL, 's' },
        { "key", required_argument, NULL, 'k' },
        { "days", required_argument, NULL, 'n' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "parent", required_argument, NULL, 'P' },
        { "parent-passphrase-file", required_argument, NULL, 'q' },
        { "external", no_argument, NULL, 'e' },
        { "path-len", required_argument, NULL, 'l' },
        { "import-cert", required_argument, NULL, 'i' },
        { "chain", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    struct certa_ca_init_params p = { .key_spec = "ec:p256", .days = 3650, .path_len = -1 };
    const char *pass_file = NULL, *ppass_file = NULL, *import = NULL, *chain = NULL;
    char *end;
    int c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': p.dir = optarg; break;
        case 's': p.subject = optarg; break;
        case 'k': p.key_spec = optarg; break;
        case 'n':
            p.days = (int)strtol(optarg, &end, 10);
            if (*end || p.days < 1 || p.days > 36500)
                return cli_usage_error(&cmd, "--days wants a number of days in 1..36500");
            break;
        case 'p': pass_file = optarg; break;
        case 'P': p.parent_dir = optarg; break;
        case 'q': ppass_file = optarg; break;
        case 'e': p.external = 1; break;
        case 'l':
            p.path_len = (int)strtol(optarg, &end, 10);
            if (*end || p.path_len < 0 || p.path_len > 16)
                return cli_usage_error(&cmd, "--path-len wants a number in 0..16");
            break;
        case 'i': import = optarg; break;
        case 'c': chain = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    int usage = ca_cli_args_done(&cmd, argc, argv, p.dir);
    if (usage != 0)
        return usage;
    if (import != NULL) {
        if (p.subject || p.parent_dir || p.external)
            return cli_usage_error(&cmd, "--import-cert takes only --dir and --chain");
        if ((rc = certa_ca_import_cert(p.dir, import, chain)) < 0)
            return cli_fail("ca init", rc);
        printf("installed %s as the certificate of the CA in %s\n", import, p.dir);
        return EXIT_OK;
    }
    if (p.subject == NULL)
        return cli_usage_error(&cmd, "--subject is required");
    if (chain != NULL)
        return cli_usage_error(&cmd, "--chain goes with --import-cert");
    char *pass = NULL, *ppass = NULL;
    if (pass_file && (rc = key_cli_read_passphrase(pass_file, &pass)) < 0)
        return cli_fail("ca init", rc);
    if (ppass_file && (rc = key_cli_read_passphrase(ppass_file, &ppass)) < 0) {
        key_cli_passphrase_free(pass);
        return cli_fail("ca init", rc);
    }
    p.passphrase = pass;
    p.parent_passphrase = ppass;
    rc = certa_ca_init(&p);
    key_cli_passphrase_free(pass);
    key_cli_passphrase_free(ppass);
    if (rc < 0)
        return cli_fail("ca init", rc);
    if (p.external)
        printf("created CA key in %s; have %s/ca.csr signed, then run:\n"
               "  certa ca init --dir %s --import-cert CERT [--chain CHAIN]\n", p.dir, p.dir, p.dir);
    else
        printf("created %s CA \"%s\" in %s%s%s\n", p.parent_dir ? "intermediate" : "root", p.subject, p.dir,
               p.parent_dir ? ", signed by " : "", p.parent_dir ? p.parent_dir : "");
    return EXIT_OK;
}
