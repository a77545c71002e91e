/* certa key zeroize: destroys a private key file (overwrite, fsync, unlink)
 * or a keystore label's key pair(s) (`crypto key zeroize rsa LABEL`). */
#include <getopt.h>
#include <stdio.h>
#include "certa/key.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "key zeroize",
    .usage = "FILE | [--label] LABEL",
    .summary = "overwrite and delete a private key file or keystore key pair",
    .help = "  FILE                   a private key file: overwritten (random, then zeros), then removed\n"
            "  --label LABEL          a key pair in the keystore of --state DIR (with usage keys,\n"
            "                         both LABEL-sign and LABEL-encr); a NAME that is not an\n"
            "                         existing file is taken as a label too\n",
    .run = run,
};
CLI_COMMAND(cmd)

int key_cli_label_zeroize(const char *label);
int key_cli_is_file(const char *name);

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "label", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    const char *label = NULL, *name = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l': label = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind < argc)
        name = argv[optind++];
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    if ((name != NULL) == (label != NULL))
        return cli_usage_error(&cmd, "give one FILE or LABEL");
    if (name != NULL && key_cli_is_file(name))
        rc = certa_key_zeroize_file(name);
    else
        rc = key_cli_label_zeroize(label != NULL ? label : name);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
