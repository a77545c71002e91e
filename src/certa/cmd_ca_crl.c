/* certa ca crl: build, sign and write the CA's next full or delta CRL, as
 * PEM (default) or DER. The PEM is encoded while it is written, so a large
 * CRL is held in memory once, as DER. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include "certa/ca.h"
#include "ca_cli.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca crl",
    .usage = "--dir DIR [--delta] [--der] [--out FILE] [--passphrase-file F]",
    .summary = "issue the next full or delta CRL",
    .help = "  --dir DIR    the CA state directory\n"
            "  --delta      a delta CRL against the last full CRL\n"
            "  --der        DER instead of PEM\n"
            "  --out FILE   write atomically to FILE instead of stdout\n"
            "  --passphrase-file F  the CA key passphrase (or CERTA_CA_PASSPHRASE)\n"
            "  Settings ([crl] in ca.conf): next_update_hours (168),\n"
            "  delta_next_update_hours (24), idp_url, digest (sha256).\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int pem_to_bio(BIO *b, const certa_buf *der)
{
    if (PEM_write_bio(b, PEM_STRING_X509_CRL, "", der->data, (long)der->len) <= 0 ||
        BIO_flush(b) <= 0)
        return certa_error_ossl(CERTA_EIO, "writing the CRL");
    return 0;
}

/* PEM straight to a temporary file next to path, then fsync and rename, the
 * same guarantees as certa_file_write_atomic without a second copy. */
static int write_pem_atomic(const char *path, const certa_buf *der)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16), *dcopy = strdup(path);
    int fd = -1, rc;
    BIO *b = NULL;
    if (tmp == NULL || dcopy == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        rc = certa_error_set(CERTA_EIO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    fchmod(fd, 0644);
    BIO *fdb = BIO_new_fd(fd, BIO_NOCLOSE);
    b = fdb ? BIO_push(BIO_new(BIO_f_buffer()), fdb) : NULL;
    if (b == NULL) {
        BIO_free(fdb);
        rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = pem_to_bio(b, der)) < 0)
        goto out;
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = certa_error_set(CERTA_EIO, "writing %s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = certa_error_set(CERTA_EIO, "cannot rename to %s: %s", path, strerror(errno));
        goto out;
    }
    int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    BIO_free_all(b);
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp != NULL)
        unlink(tmp);
    free(tmp);
    free(dcopy);
    return rc;
}

static int write_crl(const certa_buf *der, int as_der, const char *out)
{
    int to_stdout = out == NULL || strcmp(out, "-") == 0;
    if (as_der)
        return certa_file_write_atomic(to_stdout ? "-" : out, der->data, der->len, 0644);
    if (!to_stdout)
        return write_pem_atomic(out, der);
    BIO *b = BIO_new_fp(stdout, BIO_NOCLOSE);
    if (b == NULL)
        return certa_error_ossl(CERTA_ENOMEM, "out of memory");
    int rc = pem_to_bio(b, der);
    BIO_free(b);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "delta", no_argument, NULL, 'D' },
        { "der", no_argument, NULL, 'r' },
        { "out", required_argument, NULL, 'o' },
        { "passphrase-file", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *out = NULL, *pass_file = NULL;
    int delta = 0, as_der = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'D': delta = 1; break;
        case 'r': as_der = 1; break;
        case 'o': out = optarg; break;
        case 'P': pass_file = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    int usage = ca_cli_args_done(&cmd, argc, argv, dir);
    if (usage != 0)
        return usage;
    certa_ca *ca = NULL;
    certa_buf der = { 0 };
    if ((rc = ca_cli_open(dir, pass_file, 0, &ca)) == 0 &&
        (rc = certa_ca_crl(ca, delta, &der)) == 0)
        rc = write_crl(&der, as_der, out);
    certa_buf_free(&der);
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca crl", rc) : EXIT_OK;
}
