/* certa ca authenticate: fetches a trustpoint's CA certificate (and RA
 * certificates) from the CA, shows it as IOS's `crypto ca authenticate`
 * does, and stores it once the configured fingerprint matched or the
 * operator accepted it at the terminal (--yes for scripts). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bn.h>
#include "certa/csr.h"
#include "certa/trustpoint.h"
#include "cert_print.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca authenticate",
    .usage = "NAME [--yes]",
    .summary = "fetch, check and store a trustpoint's CA certificate",
    .help = "  --yes                  accept the CA certificate without asking (scripts); a configured\n"
            "                         --fingerprint must still match\n"
            "Without a configured fingerprint the certificate is shown and the operator is asked at\n"
            "the terminal; with no terminal and no --yes it is refused. A fingerprint mismatch exits 4.\n",
    .run = run,
};
CLI_COMMAND(cmd)

/* Asks at the controlling terminal, else on stdin when it is one. */
static int ask(void)
{
    FILE *tty = fopen("/dev/tty", "r+");
    FILE *in = tty, *out = tty;
    char line[16] = "";
    if (tty == NULL) {
        if (!isatty(STDIN_FILENO))
            return -1;
        in = stdin;
        out = stdout;
    }
    fprintf(out, "Do you accept this certificate? [yes/no]:");
    fflush(out);
    int yes = fgets(line, sizeof(line), in) != NULL &&
              (strcasecmp(line, "yes\n") == 0 || strcasecmp(line, "y\n") == 0);
    if (tty != NULL)
        fclose(tty);
    return yes;
}

static int confirm(const struct certa_ca_offer *offer, void *arg)
{
    int yes = *(int *)arg;
    cli_print_cert("CA certificate", offer->ca);
    for (int i = 0; i < sk_X509_num(offer->ra); i++) {
        printf("\n");
        cli_print_cert("RA certificate", sk_X509_value(offer->ra, i));
    }
    fflush(stdout);
    if (offer->pin != NULL) {
        printf("Fingerprint matches the configured %s\n", offer->pin);
        return 1;
    }
    if (yes)
        return 1;
    int answer = ask();
    if (answer < 0)
        return certa_error_set(CERTA_EPOLICY, "no terminal to confirm the CA certificate: configure "
                               "--fingerprint on trustpoint %s or pass --yes; nothing stored", offer->trustpoint);
    return answer;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = { { "yes", no_argument, NULL, 'y' }, { NULL, 0, NULL, 0 } };
    int yes = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'y')
            return cli_usage_error(&cmd, "unknown option");
        yes = 1;
    }
    if (optind + 1 != argc)
        return cli_usage_error(&cmd, "give one trustpoint NAME");
    rc = certa_ca_authenticate(cli_state_dir(), argv[optind], confirm, &yes);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    printf("CA certificate of trustpoint %s stored\n", argv[optind]);
    return EXIT_OK;
}
