/* Shared code of the `certa ca ...` commands (see ca_cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/pem.h>
#include "ca_cli.h"
#include "cli.h"
#include "key_cli.h"

int ca_cli_args_done(const struct cli_command *cmd, int argc, char **argv, const char *dir)
{
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL)
        return cli_usage_error(cmd, "--dir is required");
    return 0;
}

int ca_cli_open(const char *dir, const char *pass_file, int flags, certa_ca **out)
{
    char *pass = NULL;
    int rc;
    if (pass_file != NULL && (rc = key_cli_read_passphrase(pass_file, &pass)) < 0)
        return rc;
    rc = certa_ca_open(dir, pass, flags, out);
    key_cli_passphrase_free(pass);
    return rc;
}

int ca_cli_write_pem(X509 *x, STACK_OF(X509) *chain, const char *path)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = 0;
    if (b == NULL || !PEM_write_bio_X509(b, x))
        rc = certa_error_ossl(CERTA_ENOMEM, "encoding the certificate");
    for (int i = 0; rc == 0 && chain && i < sk_X509_num(chain); i++)
        if (!PEM_write_bio_X509(b, sk_X509_value(chain, i)))
            rc = certa_error_ossl(CERTA_ENOMEM, "encoding the chain");
    if (rc == 0) {
        char *data;
        long len = BIO_get_mem_data(b, &data);
        if (path == NULL || strcmp(path, "-") == 0) {
            if (fwrite(data, 1, (size_t)len, stdout) != (size_t)len || fflush(stdout) != 0)
                rc = certa_error_set(CERTA_EIO, "writing to stdout failed");
        } else {
            rc = certa_file_write_atomic(path, data, (size_t)len, 0644);
        }
    }
    BIO_free(b);
    return rc;
}

const char *ca_cli_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

const char *ca_cli_status(int status, int reason, int64_t not_after)
{
    if (status == CERTA_CERT_REVOKED)
        return reason == CERTA_REASON_CERTIFICATE_HOLD ? "on-hold" : "revoked";
    if (not_after < (int64_t)time(NULL))
        return "expired";
    return "valid";
}

int ca_cli_parse_ttl(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    long long mul = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end || v > (long long)(100LL * 365 * 86400) / mul)
        return -1;
    *out = (int64_t)(v * mul);
    return 0;
}

int ca_cli_parse_uses(const char *s, long lo, long hi, int *out)
{
    if (strcmp(s, "unlimited") == 0) {
        *out = -1;
        return 0;
    }
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}
