/* Option handling shared by `certa trustpoint add` and `trustpoint set`,
 * generated from the library's field table so that every field has an
 * option, and help and validation never drift apart. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "key_cli.h"
#include "trustpoint_cli.h"

#define OPT_FIELD 1000
#define OPT_RESET 2000
enum { OPT_CHALLENGE = 3000, OPT_CHALLENGE_FILE, OPT_NO_CHALLENGE, OPT_CMP_SECRET, OPT_CMP_SECRET_FILE,
       OPT_NO_CMP_SECRET };

static int set_secret(struct tp_cli_secret *s, const char *value, int from_file)
{
    free(s->value);
    s->value = NULL;
    if (from_file)
        return key_cli_read_passphrase(value, &s->value) < 0 ? -1 : (s->given = 1, 0);
    s->value = strdup(value);
    s->given = 1;
    return s->value != NULL ? 0 : certa_error_set(CERTA_ENOMEM, "out of memory");
}

int tp_cli_parse(const struct cli_command *cmd, int argc, char **argv, struct certa_trustpoint *tp,
                 struct tp_cli_edit *edit)
{
    const struct certa_tp_field *f = certa_trustpoint_fields();
    struct option opts[2 * 64 + 8];
    char names[64][40];
    size_t n = 0, nf = 0;
    int san_replaced = 0, c, rc;
    for (; f[nf].name != NULL && nf < 64; nf++) {
        opts[n++] = (struct option){ f[nf].name, f[nf].kind == CERTA_TP_BOOL ? optional_argument : required_argument,
                                     NULL, OPT_FIELD + (int)nf };
        snprintf(names[nf], sizeof(names[nf]), "no-%s", f[nf].name);
        opts[n++] = (struct option){ names[nf], no_argument, NULL, OPT_RESET + (int)nf };
    }
    opts[n++] = (struct option){ "challenge", required_argument, NULL, OPT_CHALLENGE };
    opts[n++] = (struct option){ "challenge-file", required_argument, NULL, OPT_CHALLENGE_FILE };
    opts[n++] = (struct option){ "no-challenge", no_argument, NULL, OPT_NO_CHALLENGE };
    opts[n++] = (struct option){ "cmp-secret", required_argument, NULL, OPT_CMP_SECRET };
    opts[n++] = (struct option){ "cmp-secret-file", required_argument, NULL, OPT_CMP_SECRET_FILE };
    opts[n++] = (struct option){ "no-cmp-secret", no_argument, NULL, OPT_NO_CMP_SECRET };
    opts[n] = (struct option){ NULL, 0, NULL, 0 };

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c >= OPT_FIELD && c < OPT_FIELD + (int)nf) {
            const struct certa_tp_field *fd = &f[c - OPT_FIELD];
            const char *v = optarg;
            if (fd->kind == CERTA_TP_BOOL && v == NULL)
                v = "yes";
            if (fd->kind == CERTA_TP_LIST && !san_replaced) {
                /* On `set`, the first --san replaces the list. */
                certa_trustpoint_set(tp, fd->name, NULL);
                san_replaced = 1;
            }
            if ((rc = certa_trustpoint_set(tp, fd->name, v)) < 0)
                return rc;
            edit->set_protocol |= strcmp(fd->name, "protocol") == 0;
            edit->set_url |= strcmp(fd->name, "url") == 0;
        } else if (c >= OPT_RESET && c < OPT_RESET + (int)nf) {
            certa_trustpoint_set(tp, f[c - OPT_RESET].name, NULL);
        } else {
            switch (c) {
            case OPT_CHALLENGE: rc = set_secret(&edit->challenge, optarg, 0); break;
            case OPT_CHALLENGE_FILE: rc = set_secret(&edit->challenge, optarg, 1); break;
            case OPT_NO_CHALLENGE: edit->challenge.given = -1; rc = 0; break;
            case OPT_CMP_SECRET: rc = set_secret(&edit->cmp_secret, optarg, 0); break;
            case OPT_CMP_SECRET_FILE: rc = set_secret(&edit->cmp_secret, optarg, 1); break;
            case OPT_NO_CMP_SECRET: edit->cmp_secret.given = -1; rc = 0; break;
            default: return cli_usage_error(cmd, "unknown option (see --help)");
            }
            if (rc < 0)
                return certa_error_last_code() ? certa_error_last_code() : CERTA_EINVAL;
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(cmd, "give exactly one trustpoint NAME");
    edit->name = argv[optind];
    return 0;
}

static int check_secret(const char *which, const struct tp_cli_secret *s)
{
    if (s->given != 1)
        return 0;
    size_t n = strlen(s->value);
    if (n == 0 || n > 255)
        return certa_error_set(CERTA_EINVAL, "%s must have 1 to 255 characters", which);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s->value[i] < 0x20)
            return certa_error_set(CERTA_EINVAL, "%s contains a control character", which);
    return 0;
}

int tp_cli_commit(const char *state, const struct certa_trustpoint *tp, struct tp_cli_edit *edit)
{
    char dir[4096];
    int rc;
    /* Check everything before writing anything. */
    if ((rc = certa_trustpoint_validate(tp)) < 0 || (rc = check_secret("challenge", &edit->challenge)) < 0 ||
        (rc = check_secret("cmp-secret", &edit->cmp_secret)) < 0)
        return rc;
    if ((rc = certa_trustpoint_path(state, tp->name, NULL, dir, sizeof(dir))) < 0 ||
        (rc = certa_mkdir_p(dir, 0700)) < 0)
        return rc;
    if (edit->challenge.given &&
        (rc = certa_trustpoint_secret_set(state, tp->name, "challenge",
                                          edit->challenge.given > 0 ? edit->challenge.value : NULL)) < 0)
        return rc;
    if (edit->cmp_secret.given &&
        (rc = certa_trustpoint_secret_set(state, tp->name, "cmp_secret",
                                          edit->cmp_secret.given > 0 ? edit->cmp_secret.value : NULL)) < 0)
        return rc;
    return certa_trustpoint_save(state, tp);
}

void tp_cli_edit_free(struct tp_cli_edit *edit)
{
    key_cli_passphrase_free(edit->challenge.value);
    key_cli_passphrase_free(edit->cmp_secret.value);
    edit->challenge.value = edit->cmp_secret.value = NULL;
}

const char *tp_cli_help(void)
{
    static char help[6000];
    if (help[0])
        return help;
    size_t used = 0;
    for (const struct certa_tp_field *f = certa_trustpoint_fields(); f->name != NULL; f++) {
        char opt[64];
        if (f->kind == CERTA_TP_BOOL)
            snprintf(opt, sizeof(opt), "--%s[=no]", f->name);
        else
            snprintf(opt, sizeof(opt), "--%s %s", f->name, f->arg);
        used += (size_t)snprintf(help + used, sizeof(help) - used, "  %-31s %s\n", opt, f->help);
    }
    snprintf(help + used, sizeof(help) - used,
             "  %-31s %s\n  %-31s %s\n  %-31s %s\n  %-31s %s\n",
             "--challenge PW", "challenge password (stored mode 0600, never shown)",
             "--challenge-file F", "the same, from the first line of F",
             "--cmp-secret PW", "CMP shared secret (stored mode 0600); --cmp-secret-file F",
             "--no-FIELD", "reset a field to its default (--no-challenge, --no-san ...)");
    return help;
}
