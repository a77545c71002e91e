/* certa key show: type, size, public key DER (hex rows) and SHA-256
 * fingerprint of a key file, or of a keystore label (`show crypto key
 * mypubkey`). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "certa/key.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "key show",
    .usage = "FILE [--passphrase-file F] | [--label] LABEL | --all",
    .summary = "show a key's type, size, public key and fingerprint",
    .help = "  FILE                   a private key file (PEM or DER, PKCS#8 or traditional)\n"
            "  --passphrase-file F    passphrase of an encrypted FILE\n"
            "  --label LABEL          a key pair in the keystore of --state DIR (a NAME that is\n"
            "                         not an existing file is taken as a label too)\n"
            "  --all                  every key pair in the keystore\n",
    .run = run,
};
CLI_COMMAND(cmd)

int key_cli_label_show(FILE *f, const char *label);
int key_cli_label_show_all(FILE *f);
int key_cli_is_file(const char *name);

static int show_file(const char *path, const char *pass_file)
{
    EVP_PKEY *key = NULL;
    char *pass = NULL;
    char spec[64];
    int rc;
    if (pass_file != NULL && (rc = key_cli_read_passphrase(pass_file, &pass)) < 0)
        return rc;
    if ((rc = certa_key_load(path, pass, &key)) < 0)
        goto out;
    if ((rc = certa_key_spec(key, spec, sizeof(spec))) < 0)
        goto out;
    printf("Key file :%s\n", path);
    printf("Spec     :%s\n", spec);
    rc = key_cli_print_public(stdout, key);
out:
    key_cli_passphrase_free(pass);
    EVP_PKEY_free(key);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "passphrase-file", required_argument, NULL, 'p' },
        { "label", required_argument, NULL, 'l' },
        { "all", no_argument, NULL, 'a' },
        { NULL, 0, NULL, 0 },
    };
    const char *pass_file = NULL, *label = NULL, *name = NULL;
    int all = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pass_file = optarg; break;
        case 'l': label = optarg; break;
        case 'a': all = 1; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind < argc)
        name = argv[optind++];
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    if ((name != NULL) + (label != NULL) + all != 1)
        return cli_usage_error(&cmd, "give one FILE, LABEL or --all");
    if (name != NULL && key_cli_is_file(name))
        rc = show_file(name, pass_file);
    else if (all)
        rc = key_cli_label_show_all(stdout);
    else
        rc = key_cli_label_show(stdout, label != NULL ? label : name);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
