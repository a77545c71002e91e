/* certa key import: a private key file (PEM, DER or PKCS#12) into the
 * device keystore under a label (`crypto key import rsa LABEL`). */
#include <getopt.h>
#include <string.h>
#include "certa/keystore.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "key import",
    .usage = "--label LABEL FILE [--passphrase-file F] [--usage sign|encr] [--force]",
    .summary = "import a private key (PEM, DER or PKCS#12) into the keystore",
    .help = "  --label LABEL          keystore label (letters, digits, '_' and '-')\n"
            "  FILE                   PEM or DER (PKCS#8 or traditional) or PKCS#12; '-' reads stdin\n"
            "  --passphrase-file F    passphrase of an encrypted key or PKCS#12 file\n"
            "  --usage sign|encr      import one half of usage keys (LABEL-sign or LABEL-encr)\n"
            "  --force                replace the label's existing keys (they are zeroized)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "label", required_argument, NULL, 'l' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "usage", required_argument, NULL, 'u' },
        { "force", no_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    const char *label = NULL, *pass_file = NULL;
    enum certa_keystore_role role = CERTA_KEYROLE_ANY;
    int force = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l': label = optarg; break;
        case 'p': pass_file = optarg; break;
        case 'f': force = 1; break;
        case 'u':
            if (strcmp(optarg, "sign") == 0)
                role = CERTA_KEYROLE_SIGN;
            else if (strcmp(optarg, "encr") == 0)
                role = CERTA_KEYROLE_ENCR;
            else
                return cli_usage_error(&cmd, "--usage is sign or encr, not '%s'", optarg);
            break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (label == NULL || optind + 1 != argc)
        return cli_usage_error(&cmd, "give --label LABEL and one FILE");
    certa_buf data = { 0 };
    char *pass = NULL;
    rc = certa_file_read(argv[optind], 256 * 1024, &data);
    if (rc == 0 && pass_file != NULL)
        rc = key_cli_read_passphrase(pass_file, &pass);
    if (rc == 0)
        rc = certa_keystore_import(cli_state_dir(), label, role, data.data, data.len, pass, force);
    certa_buf_free_secure(&data);
    key_cli_passphrase_free(pass);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
