/* certa ca requests: the requests waiting for manual approval (or all with
 * --all), as a table or a JSON array. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include "certa/ca.h"
#include "ca_cli.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca requests",
    .usage = "--dir DIR [--all] [--json]",
    .summary = "list requests waiting for approval",
    .help = "  --dir DIR   the CA state directory\n"
            "  --all       also issued and rejected requests\n"
            "  --json      a JSON array, one object per request\n",
    .run = run,
};
CLI_COMMAND(cmd)

static const char *status_name(int s)
{
    return s == CERTA_REQ_PENDING ? "pending" : s == CERTA_REQ_ISSUED ? "issued" : "rejected";
}

static int each(const struct certa_request_row *r, void *arg)
{
    json_t *arr = arg;
    char t[32];
    if (arr == NULL) {
        printf("%-6lld %-8s %-5s %-12s %s  %s\n", (long long)r->id, status_name(r->status),
               r->protocol ? r->protocol : "", r->profile ? r->profile : "", ca_cli_time(r->created_at, t, sizeof(t)),
               r->subject ? r->subject : "");
        return 0;
    }
    json_t *o = json_pack("{s:I,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s}", "id", (json_int_t)r->id,
                          "status", status_name(r->status), "protocol", r->protocol, "profile", r->profile,
                          "subject", r->subject, "requester", r->requester, "transaction_id", r->transaction_id,
                          "serial", r->serial, "reason", r->reason, "created_at",
                          ca_cli_time(r->created_at, t, sizeof(t)));
    if (o == NULL || json_array_append_new(arr, o) != 0)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "all", no_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL;
    int json = 0, all = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'a': all = 1; break;
        case 'j': json = 1; break;
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
        printf("%-6s %-8s %-5s %-12s %-20s  %s\n", "ID", "STATUS", "PROTO", "PROFILE", "CREATED", "SUBJECT");
    if (rc == 0)
        rc = certa_store_request_list(certa_ca_store(ca), all ? -1 : CERTA_REQ_PENDING, each, arr);
    if (rc >= 0 && json) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        printf("\n");
    }
    json_decref(arr);
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca requests", rc) : EXIT_OK;
}
