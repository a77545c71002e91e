/* certa trustpoint show: every setting of one trustpoint (secrets only as
 * set/unset), the effective subject and key label; --json for scripts. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include "certa/trustpoint.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "trustpoint show",
    .usage = "NAME [--json]",
    .summary = "show a trustpoint's settings",
    .help = "  --json                 one object: every field, plus subject_effective, key_effective,\n"
            "                         challenge and cmp_secret (true when set; never the secret)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static json_t *to_json(const struct certa_trustpoint *tp, const char *subject)
{
    json_t *o = json_object();
    char val[CERTA_TP_VALUE_MAX * CERTA_TP_MAX_SANS + 64];
    json_object_set_new(o, "name", json_string(tp->name));
    for (const struct certa_tp_field *f = certa_trustpoint_fields(); f->name != NULL; f++) {
        certa_trustpoint_get(tp, f->name, val, sizeof(val));
        json_t *v;
        if (f->kind == CERTA_TP_BOOL) {
            v = json_boolean(val[0] == 'y');
        } else if (f->kind == CERTA_TP_INT) {
            v = json_integer(atoi(val));
        } else if (f->kind == CERTA_TP_LIST) {
            v = json_array();
            for (size_t i = 0; i < tp->san_count; i++)
                json_array_append_new(v, json_string(tp->sans[i]));
        } else {
            v = val[0] ? json_string(val) : json_null();
        }
        json_object_set_new(o, f->name, v);
    }
    json_object_set_new(o, "subject_effective", json_string(subject));
    json_object_set_new(o, "key_effective", json_string(certa_trustpoint_key_label(tp)));
    json_object_set_new(o, "challenge", json_boolean(tp->has_challenge));
    json_object_set_new(o, "cmp_secret", json_boolean(tp->has_cmp_secret));
    return o;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    struct certa_trustpoint tp;
    char subject[512], val[CERTA_TP_VALUE_MAX * CERTA_TP_MAX_SANS + 64];
    int json = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'j')
            return cli_usage_error(&cmd, "unknown option");
        json = 1;
    }
    if (optind + 1 != argc)
        return cli_usage_error(&cmd, "give one trustpoint NAME");
    if ((rc = certa_trustpoint_load(cli_state_dir(), argv[optind], &tp)) < 0)
        return cli_fail(cmd.name, rc);
    certa_trustpoint_subject(&tp, subject, sizeof(subject));
    if (json) {
        json_t *o = to_json(&tp, subject);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
        return EXIT_OK;
    }
    printf("Trustpoint       :%s\n", tp.name);
    for (const struct certa_tp_field *f = certa_trustpoint_fields(); f->name != NULL; f++) {
        certa_trustpoint_get(&tp, f->name, val, sizeof(val));
        if (f->kind == CERTA_TP_STRING && val[0] == '\0') {
            if (f->name[0] == 's' && f->name[1] == 'u') /* subject */
                snprintf(val, sizeof(val), "%s (default)", subject);
            else if (f->name[0] == 'k' && f->name[1] == 'e' && f->name[2] == 'y' && f->name[3] == '\0')
                snprintf(val, sizeof(val), "%s (default)", certa_trustpoint_key_label(&tp));
            else
                snprintf(val, sizeof(val), "-");
        }
        printf("  %-17s:%s\n", f->name, val[0] ? val : "-");
    }
    printf("  %-17s:%s\n", "challenge", tp.has_challenge ? "set" : "-");
    printf("  %-17s:%s\n", "cmp-secret", tp.has_cmp_secret ? "set" : "-");
    return EXIT_OK;
}
