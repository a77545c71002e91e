/* The --label forms of the key commands: key pairs in the device keystore
 * under the state directory. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include "certa/error.h"
#include "cli.h"

int key_cli_is_file(const char *name)
{
    struct stat st;
    return strchr(name, '/') != NULL || stat(name, &st) == 0;
}

int key_cli_label_generate(const char *label, const char *type, int usage_keys, int force)
{
    (void)type; (void)usage_keys; (void)force;
    return certa_error_set(CERTA_EUNSUPPORTED, "keystore labels are not available yet (%s)", label);
}

int key_cli_label_show(FILE *f, const char *label)
{
    (void)f;
    return certa_error_set(CERTA_ENOTFOUND, "no key file or keystore label '%s'", label);
}

int key_cli_label_show_all(FILE *f)
{
    (void)f;
    return certa_error_set(CERTA_EUNSUPPORTED, "keystore labels are not available yet");
}

int key_cli_label_zeroize(const char *label)
{
    return certa_error_set(CERTA_ENOTFOUND, "no key file or keystore label '%s'", label);
}

int key_cli_label_load(const char *label, EVP_PKEY **out)
{
    *out = NULL;
    return certa_error_set(CERTA_EUNSUPPORTED, "keystore labels are not available yet (%s)", label);
}
