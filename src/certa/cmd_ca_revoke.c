/* certa ca revoke: revoke one certificate by serial, or every serial listed
 * in a file in one transaction (mass revocation: all or nothing). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/asn1.h>
#include "certa/ca.h"
#include "cli.h"

#define SERIALS_FILE_MAX (64u * 1024 * 1024)
#define SERIALS_MAX 4000000

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca revoke",
    .usage = "--dir DIR (--serial HEX | --serials-from FILE) [--reason NAME] "
             "[--invalidity-date YYYYMMDDHHMMSSZ]",
    .summary = "revoke certificates (one, or a list in one transaction)",
    .help = "  --dir DIR            the CA state directory\n"
            "  --serial HEX         as openssl x509 -serial prints it (case, colons and\n"
            "                       'serial=' ignored)\n"
            "  --serials-from FILE  one serial per line ('-' for stdin); blank lines and\n"
            "                       lines starting with '#' are skipped; if any serial\n"
            "                       fails, none is revoked\n"
            "  --reason NAME        unspecified (default), keyCompromise, cACompromise,\n"
            "                       affiliationChanged, superseded, cessationOfOperation,\n"
            "                       certificateHold, privilegeWithdrawn, aACompromise\n"
            "  --invalidity-date T  when the key is known or suspected to have been\n"
            "                       compromised, as YYYYMMDDHHMMSSZ (UTC; --serial only)\n",
    .run = run,
};
CLI_COMMAND(cmd)

/* YYYYMMDDHHMMSSZ, checked and converted by OpenSSL's time parser. */
static int parse_gentime(const char *s, int64_t *out)
{
    struct tm tm;
    ASN1_GENERALIZEDTIME *t = ASN1_GENERALIZEDTIME_new();
    int ok = t != NULL && strlen(s) == 15 && s[14] == 'Z' &&
             ASN1_GENERALIZEDTIME_set_string(t, s) && ASN1_TIME_to_tm(t, &tm);
    ASN1_GENERALIZEDTIME_free(t);
    if (!ok)
        return certa_error_set(CERTA_EINVAL, "invalidity date '%s' is not YYYYMMDDHHMMSSZ", s);
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* Splits the file into serial strings in place (no copies). */
static int read_serials(const char *path, certa_buf *buf, char ***list, size_t *n)
{
    int rc = certa_file_read(path, SERIALS_FILE_MAX, buf);
    if (rc < 0)
        return rc;
    size_t cap = 0, count = 0;
    char **v = NULL;
    char *save = NULL;
    for (char *line = strtok_r((char *)buf->data, "\r\n", &save); line != NULL;
         line = strtok_r(NULL, "\r\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (count == SERIALS_MAX) {
            free(v);
            return certa_error_set(CERTA_ETOOBIG, "%s lists more than %d serials", path,
                                   SERIALS_MAX);
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 256;
            char **nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL) {
                free(v);
                return certa_error_set(CERTA_ENOMEM, "out of memory reading %s", path);
            }
            v = nv;
        }
        v[count++] = line;
    }
    if (count == 0) {
        free(v);
        return certa_error_set(CERTA_EINVAL, "%s lists no serial numbers", path);
    }
    *list = v;
    *n = count;
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "serial", required_argument, NULL, 's' },
        { "serials-from", required_argument, NULL, 'f' },
        { "reason", required_argument, NULL, 'r' },
        { "invalidity-date", required_argument, NULL, 'i' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *serial = NULL, *from = NULL, *reason_s = NULL, *inval_s = NULL;
    int c, reason = CERTA_REASON_UNSPECIFIED, rc;
    int64_t inval = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 's': serial = optarg; break;
        case 'f': from = optarg; break;
        case 'r': reason_s = optarg; break;
        case 'i': inval_s = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL || (serial == NULL) == (from == NULL))
        return cli_usage_error(&cmd, "--dir and one of --serial or --serials-from are required");
    if (inval_s != NULL && from != NULL)
        return cli_usage_error(&cmd, "--invalidity-date applies to --serial only");
    /* Every argument is checked before the CA is opened: bad input changes nothing. */
    if (reason_s != NULL && (rc = certa_reason_parse(reason_s, &reason)) < 0)
        return cli_fail("ca revoke", rc);
    if (reason == CERTA_REASON_REMOVE_FROM_CRL) {
        certa_error_set(CERTA_EINVAL, "removeFromCRL is not a revocation reason; use "
                        "`certa ca unhold` to release a hold");
        return cli_fail("ca revoke", CERTA_EINVAL);
    }
    if (inval_s != NULL && (rc = parse_gentime(inval_s, &inval)) < 0)
        return cli_fail("ca revoke", rc);

    certa_ca *ca = NULL;
    certa_buf buf = { 0 };
    char **list = NULL;
    size_t n = 0, failed = 0;
    if (from != NULL && (rc = read_serials(from, &buf, &list, &n)) < 0)
        goto out;
    /* Revocation signs nothing (the CRL does): the CA key stays locked. */
    if ((rc = certa_ca_open(dir, NULL, CERTA_CA_NOKEY, &ca)) < 0)
        goto out;
    if (serial != NULL) {
        char norm[CERTA_SERIAL_HEX_MAX];
        if ((rc = certa_serial_normalize(serial, norm, sizeof(norm))) < 0 ||
            (rc = certa_ca_revoke(ca, norm, reason, inval)) < 0)
            goto out;
        printf("revoked %s (%s)\n", norm, certa_reason_name(reason));
    } else {
        if ((rc = certa_ca_revoke_many(ca, (const char *const *)list, n, reason, &failed)) < 0)
            goto out;
        printf("revoked %zu certificate%s (%s)\n", n, n == 1 ? "" : "s",
               certa_reason_name(reason));
    }
out:
    certa_ca_free(ca);
    free(list);
    certa_buf_free(&buf);
    return rc < 0 ? cli_fail("ca revoke", rc) : EXIT_OK;
}
