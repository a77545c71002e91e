/* The --label forms of the key commands: key pairs in the device keystore
 * under the state directory (--state DIR, CERTA_STATE, or /var/lib/certa). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "certa/keystore.h"
#include "cli.h"
#include "key_cli.h"

const char *cli_state_dir(void)
{
    return cli_globals.state_dir != NULL && *cli_globals.state_dir ? cli_globals.state_dir : CERTA_STATE_DEFAULT;
}

int key_cli_is_file(const char *name)
{
    struct stat st;
    return strchr(name, '/') != NULL || stat(name, &st) == 0;
}

int key_cli_label_generate(const char *label, const char *type, int usage_keys, int force)
{
    return certa_keystore_generate(cli_state_dir(), label, type, usage_keys, force);
}

static int show_one(FILE *f, const char *label, const char *usage, enum certa_keystore_role role, time_t created)
{
    EVP_PKEY *key = NULL;
    char when[64];
    int rc = certa_keystore_load(cli_state_dir(), label, role, &key);
    if (rc < 0)
        return rc;
    struct tm tm;
    gmtime_r(&created, &tm);
    strftime(when, sizeof(when), "%H:%M:%S UTC %a %b %d %Y", &tm);
    fprintf(f, "Key label:%s%s\n", label, role == CERTA_KEYROLE_SIGN ? "-sign" : role == CERTA_KEYROLE_ENCR ? "-encr" : "");
    fprintf(f, "Usage    :%s\n", usage);
    fprintf(f, "Created  :%s\n", when);
    rc = key_cli_print_public(f, key);
    EVP_PKEY_free(key);
    return rc;
}

int key_cli_label_show(FILE *f, const char *label)
{
    struct certa_keystore_entry e;
    int rc = certa_keystore_stat(cli_state_dir(), label, &e);
    if (rc == CERTA_ENOTFOUND)
        return certa_error_set(CERTA_ENOTFOUND, "no key file or keystore label '%s' (state %s)", label,
                               cli_state_dir());
    if (rc < 0)
        return rc;
    size_t n = strlen(label);
    int half = e.kind == CERTA_KEYSTORE_USAGE && strcmp(e.label, label) != 0 && n > 5;
    if (e.kind == CERTA_KEYSTORE_GENERAL)
        return show_one(f, e.label, "General purpose", CERTA_KEYROLE_ANY, e.created);
    if (!half || strcmp(label + n - 5, "-sign") == 0) {
        if ((rc = show_one(f, e.label, "Signature", CERTA_KEYROLE_SIGN, e.created)) < 0)
            return rc;
        if (half)
            return 0;
        fputc('\n', f);
    }
    return show_one(f, e.label, "Encryption", CERTA_KEYROLE_ENCR, e.created);
}

int key_cli_label_show_all(FILE *f)
{
    struct certa_keystore_entry *list = NULL;
    size_t n = 0;
    int rc = certa_keystore_list(cli_state_dir(), &list, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0)
            fputc('\n', f);
        rc = key_cli_label_show(f, list[i].label);
    }
    free(list);
    return rc;
}

int key_cli_label_zeroize(const char *label)
{
    int rc = certa_keystore_zeroize(cli_state_dir(), label);
    if (rc == CERTA_ENOTFOUND)
        return certa_error_set(CERTA_ENOTFOUND, "no key file or keystore label '%s' (state %s)", label,
                               cli_state_dir());
    return rc;
}

int key_cli_label_load(const char *label, EVP_PKEY **out)
{
    return certa_keystore_load(cli_state_dir(), label, CERTA_KEYROLE_ANY, out);
}
