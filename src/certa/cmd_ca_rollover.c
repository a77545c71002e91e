/* certa ca rollover: asks a CMP trustpoint's CA for the root that will
 * follow the current one (RFC 9483 root CA update), shows it and keeps it
 * as next-ca.pem; ca.pem is never replaced by this command. */
#include <stdio.h>
#include <string.h>
#include "certa/trustpoint.h"
#include "cert_print.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca rollover",
    .usage = "NAME",
    .summary = "fetch a CMP trustpoint's next root CA certificate (root CA update)",
    .help = "Sends a CMP genm root CA update with the trustpoint's current CA certificate. When the CA\n"
            "has a rollover CA, checks it (a self-signed CA certificate; the newWithOld certificate,\n"
            "when sent, must be signed by the current CA key and carry the new key), prints it and\n"
            "stores it as next-ca.pem in the trustpoint; ca.pem stays as it is. When no update is\n"
            "available, says so, stores nothing and exits 0.\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    X509 *next = NULL, *cross = NULL;
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage_error(&cmd, "give one trustpoint NAME");
    int rc = certa_ca_rollover(cli_state_dir(), argv[1], &next, &cross);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    if (next == NULL) {
        printf("No root CA update available for trustpoint %s; nothing stored\n", argv[1]);
        return EXIT_OK;
    }
    cli_print_cert("New root CA certificate (newWithNew)", next);
    if (cross != NULL) {
        printf("\n");
        cli_print_cert("Link certificate (newWithOld), verified with the current CA key", cross);
    }
    printf("Next CA certificate of trustpoint %s stored as next-ca.pem; ca.pem unchanged\n", argv[1]);
    X509_free(next);
    X509_free(cross);
    return EXIT_OK;
}
