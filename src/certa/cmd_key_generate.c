/* certa key generate: a new private key, either into a PKCS#8 file (--out)
 * or, with --label, into the device keystore under --state DIR. */
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include "certa/key.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "key generate",
    .usage = "--type TYPE (--out FILE [--der] [--passphrase-file F] [--force] | --label LABEL [--usage-keys])",
    .summary = "generate a private key (PKCS#8 file, mode 0600, or keystore label)",
    .help = "  --type TYPE            ec:p256 (default), ec:p384, rsa:2048..4096, ed25519\n"
            "  --out FILE             write the key as PKCS#8 to FILE (mode 0600)\n"
            "  --der                  DER instead of PEM\n"
            "  --passphrase-file F    encrypt with AES-256 under the first line of F\n"
            "  --force                replace an existing FILE\n"
            "  --label LABEL          store the key pair in the keystore of --state DIR\n"
            "  --usage-keys           with --label: two key pairs, LABEL-sign and LABEL-encr\n",
    .run = run,
};
CLI_COMMAND(cmd)

/* Implemented with the keystore (key_cli_label.c). */
int key_cli_label_generate(const char *label, const char *type, int usage_keys, int force);

static int generate_file(const char *type, const char *out, int der, const char *pass_file, int force)
{
    EVP_PKEY *key = NULL;
    char *pass = NULL;
    struct stat st;
    int rc;
    if (!force && strcmp(out, "-") != 0 && stat(out, &st) == 0)
        return certa_error_set(CERTA_EEXIST, "%s already exists (zeroize it first, or give --force)", out);
    if (pass_file != NULL && (rc = key_cli_read_passphrase(pass_file, &pass)) < 0)
        return rc;
    if ((rc = certa_key_generate(type, &key)) < 0)
        goto out;
    rc = certa_key_save(key, out, der ? CERTA_FORMAT_DER : CERTA_FORMAT_PEM, pass);
out:
    key_cli_passphrase_free(pass);
    EVP_PKEY_free(key);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "type", required_argument, NULL, 't' },
        { "out", required_argument, NULL, 'o' },
        { "der", no_argument, NULL, 'd' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "force", no_argument, NULL, 'f' },
        { "label", required_argument, NULL, 'l' },
        { "usage-keys", no_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 },
    };
    const char *type = "ec:p256", *out = NULL, *pass_file = NULL, *label = NULL;
    int der = 0, force = 0, usage_keys = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': type = optarg; break;
        case 'o': out = optarg; break;
        case 'd': der = 1; break;
        case 'p': pass_file = optarg; break;
        case 'f': force = 1; break;
        case 'l': label = optarg; break;
        case 'u': usage_keys = 1; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    if ((out == NULL) == (label == NULL))
        return cli_usage_error(&cmd, "give exactly one of --out FILE or --label LABEL");
    if (label != NULL && (der || pass_file != NULL))
        return cli_usage_error(&cmd, "--der and --passphrase-file apply to --out files only");
    if (out != NULL && usage_keys)
        return cli_usage_error(&cmd, "--usage-keys needs --label");
    if (label != NULL)
        rc = key_cli_label_generate(label, type, usage_keys, force);
    else
        rc = generate_file(type, out, der, pass_file, force);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
