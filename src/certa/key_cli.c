/* Helpers shared by the key, csr, trustpoint and enroll commands: passphrase
 * files and the Cisco-style public key display. */
#include <stdlib.h>
#include <string.h>
#include "certa/key.h"
#include "key_cli.h"

#define PASSPHRASE_MAX 1023

int key_cli_read_passphrase(const char *path, char **out)
{
    size_t n;
    int rc = certa_file_read_first_line(path, 4096, out, &n);
    if (rc < 0)
        return rc;
    if (n == 0 || n > PASSPHRASE_MAX) {
        key_cli_passphrase_free(*out);
        *out = NULL;
        if (n == 0)
            return certa_error_set(CERTA_EINVAL, "passphrase file %s is empty", path);
        return certa_error_set(CERTA_ETOOBIG, "passphrase in %s is longer than %d bytes", path, PASSPHRASE_MAX);
    }
    return 0;
}

void key_cli_passphrase_free(char *pass)
{
    if (pass == NULL)
        return;
    certa_memzero(pass, strlen(pass));
    free(pass);
}

const char *key_cli_type_text(const EVP_PKEY *key, char *buf, size_t len)
{
    char spec[64];
    if (certa_key_spec(key, spec, sizeof(spec)) < 0)
        snprintf(spec, sizeof(spec), "unknown");
    if (strncmp(spec, "rsa:", 4) == 0)
        snprintf(buf, len, "RSA");
    else if (strcmp(spec, "ec:p256") == 0)
        snprintf(buf, len, "EC P-256");
    else if (strcmp(spec, "ec:p384") == 0)
        snprintf(buf, len, "EC P-384");
    else if (strcmp(spec, "ec:p521") == 0)
        snprintf(buf, len, "EC P-521");
    else if (strcmp(spec, "ed25519") == 0)
        snprintf(buf, len, "Ed25519");
    else
        snprintf(buf, len, "%s", spec);
    return buf;
}

int key_cli_print_public(FILE *f, const EVP_PKEY *key)
{
    certa_buf spki = { 0 };
    char fp[200], type[64];
    int rc = certa_key_public_der(key, &spki);
    if (rc < 0)
        return rc;
    if ((rc = certa_key_fingerprint(key, "sha256", fp, sizeof(fp))) < 0)
        goto out;
    fprintf(f, "Type     :%s\n", key_cli_type_text(key, type, sizeof(type)));
    fprintf(f, "Size     :%d\n", EVP_PKEY_get_bits(key));
    fprintf(f, "Data     :\n");
    /* Rows of eight 4-byte groups, as IOS prints mypubkey. */
    for (size_t i = 0; i < spki.len; i++) {
        if (i % 32 == 0)
            fputc(' ', f);
        fprintf(f, "%02X", spki.data[i]);
        if (i % 4 == 3 && i % 32 != 31 && i + 1 < spki.len)
            fputc(' ', f);
        if (i % 32 == 31 || i + 1 == spki.len)
            fputc('\n', f);
    }
    fprintf(f, "SHA-256 fingerprint:\n %s\n", fp);
out:
    certa_buf_free(&spki);
    return rc;
}
