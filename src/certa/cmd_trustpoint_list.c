/* certa trustpoint list: every trustpoint (always including `default`)
 * with its protocol and URL; --json gives an array of objects. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include "certa/trustpoint.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "trustpoint list",
    .usage = "[--json]",
    .summary = "list trustpoints",
    .help = "  --json                 an array of {name, protocol, url, certificate}\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    int json = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'j')
            return cli_usage_error(&cmd, "unknown option");
        json = 1;
    }
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    const char *state = cli_state_dir();
    char **names = NULL;
    size_t n = 0;
    if ((rc = certa_trustpoint_list(state, &names, &n)) < 0)
        return cli_fail(cmd.name, rc);
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-20s %-8s %-12s %s\n", "NAME", "PROTOCOL", "CERTIFICATE", "URL");
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct certa_trustpoint tp;
        STACK_OF(X509) *certs = NULL;
        if ((rc = certa_trustpoint_load(state, names[i], &tp)) < 0)
            break;
        int have = certa_trustpoint_read_certs(state, names[i], "cert.pem", &certs) == 0 && sk_X509_num(certs) > 0;
        sk_X509_pop_free(certs, X509_free);
        certa_error_clear();
        if (json)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b}", "name", tp.name, "protocol", tp.protocol,
                                                 "url", tp.url, "certificate", have));
        else
            printf("%-20s %-8s %-12s %s\n", tp.name, tp.protocol, have ? "Available" : "-", tp.url[0] ? tp.url : "-");
    }
    if (json && rc == 0) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    json_decref(arr);
    certa_trustpoint_names_free(names, n);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
