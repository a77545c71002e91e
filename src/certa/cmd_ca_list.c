/* certa ca list: every certificate the CA issued, as a table or as a JSON
 * array with one object per certificate. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "certa/ca.h"
#include "ca_cli.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca list",
    .usage = "--dir DIR [--json] [--status valid|revoked] [--subject TEXT]",
    .summary = "list issued certificates",
    .help = "  --dir DIR          the CA state directory\n"
            "  --json             a JSON array: serial, subject, not_before, not_after,\n"
            "                     status (valid, revoked, on-hold, expired), reason, profile\n"
            "  --status S         only valid or only revoked certificates\n"
            "  --subject TEXT     only subjects containing TEXT\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int each(const struct certa_cert_row *r, void *arg)
{
    json_t *arr = arg;
    char nb[32], na[32];
    const char *status = ca_cli_status(r->status, r->reason, r->not_after);
    const char *reason = r->status == CERTA_CERT_REVOKED ? certa_reason_name(r->reason) : NULL;
    if (arr == NULL) {
        printf("%-34s %-8s %-20s %-12s %s\n", r->serial, status, ca_cli_time(r->not_after, na, sizeof(na)),
               r->profile ? r->profile : "", r->subject ? r->subject : "");
        return 0;
    }
    json_t *o = json_pack("{s:s,s:s?,s:s,s:s,s:s,s:s?,s:s?}", "serial", r->serial, "subject", r->subject,
                          "not_before", ca_cli_time(r->not_before, nb, sizeof(nb)),
                          "not_after", ca_cli_time(r->not_after, na, sizeof(na)), "status", status,
                          "reason", reason, "profile", r->profile);
    if (o == NULL || json_array_append_new(arr, o) != 0)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "status", required_argument, NULL, 's' },
        { "subject", required_argument, NULL, 'S' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL;
    struct certa_cert_filter f = { .status = -1 };
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'j': json = 1; break;
        case 's':
            if (strcmp(optarg, "valid") == 0)
                f.status = CERTA_CERT_VALID;
            else if (strcmp(optarg, "revoked") == 0)
                f.status = CERTA_CERT_REVOKED;
            else
                return cli_usage_error(&cmd, "--status is valid or revoked");
            break;
        case 'S': f.subject_like = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    int usage = ca_cli_args_done(&cmd, argc, argv, dir);
    if (usage != 0)
        return usage;
    certa_ca *ca = NULL;
    json_t *arr = json ? json_array() : NULL;
    int rc = certa_ca_open(dir, NULL, CERTA_CA_READONLY, &ca);
    if (rc == 0 && !json)
        printf("%-34s %-8s %-20s %-12s %s\n", "SERIAL", "STATUS", "NOT AFTER", "PROFILE", "SUBJECT");
    if (rc == 0)
        rc = certa_store_cert_list(certa_ca_store(ca), &f, each, arr);
    if (rc >= 0 && json) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        printf("\n");
    }
    json_decref(arr);
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca list", rc) : EXIT_OK;
}
