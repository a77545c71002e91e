/* certa ca ocsp-signer: issue a delegated OCSP-signing certificate (with
 * id-pkix-ocsp-nocheck) into the CA directory, where certad's responder
 * picks it up (restart or SIGHUP). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "certa/ca.h"
#include "certa/ca_ocsp.h"
#include "certa/key.h"
#include "ca_cli.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca ocsp-signer",
    .usage = "--dir DIR [--days N] [--key SPEC] [--out FILE] [--passphrase-file F]",
    .summary = "issue a delegated OCSP signing certificate",
    .help = "  --dir DIR    the CA state directory; writes DIR/ocsp.key (0600) and\n"
            "               DIR/ocsp.crt, replacing an older signer\n"
            "  --days N     validity in days (default 90; at most the profile's)\n"
            "  --key SPEC   ec:p256 (default), ec:p384, rsa:2048..4096, ed25519\n"
            "  --out FILE   also write the certificate (PEM) to FILE ('-' stdout)\n"
            "  --passphrase-file F  the CA key passphrase (or CERTA_CA_PASSPHRASE)\n"
            "  Issued under [profile ocsp-signer] (added to ca.conf when missing):\n"
            "  extended key usage OCSPSigning, id-pkix-ocsp-nocheck.\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "days", required_argument, NULL, 'n' },
        { "key", required_argument, NULL, 'k' },
        { "out", required_argument, NULL, 'o' },
        { "passphrase-file", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *key = "ec:p256", *out = NULL, *pass_file = NULL;
    int days = 90, c, rc;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'n':
            days = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || days < 1 || days > 36500)
                return cli_usage_error(&cmd, "--days '%s' is not a number of days", optarg);
            break;
        case 'k': key = optarg; break;
        case 'o': out = optarg; break;
        case 'P': pass_file = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    int usage = ca_cli_args_done(&cmd, argc, argv, dir);
    if (usage != 0)
        return usage;
    certa_ca *ca = NULL;
    X509 *cert = NULL;
    EVP_PKEY *pkey = NULL;
    /* The key first: a bad --key changes nothing, not even ca.conf. */
    if ((rc = certa_key_generate(key, &pkey)) < 0 || (rc = ca_cli_open(dir, pass_file, 0, &ca)) < 0)
        goto out;
    if (certa_ca_profile(ca, CERTA_OCSP_SIGNER_PROFILE) == NULL) {
        certa_ca_free(ca);
        ca = NULL;
        if ((rc = certa_ca_ocsp_signer_profile_add(dir)) < 0)
            goto out;
        fprintf(stderr, "added [profile %s] to %s/ca.conf\n", CERTA_OCSP_SIGNER_PROFILE, dir);
        if ((rc = ca_cli_open(dir, pass_file, 0, &ca)) < 0)
            goto out;
    }
    if ((rc = certa_ca_ocsp_signer_issue(ca, pkey, days, &cert)) < 0)
        goto out;
    if (out != NULL && (rc = ca_cli_write_pem(cert, NULL, out)) < 0)
        goto out;
    char serial[CERTA_SERIAL_HEX_MAX] = "?";
    ASN1_INTEGER *sn = (ASN1_INTEGER *)X509_get0_serialNumber(cert);
    BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex != NULL)
        snprintf(serial, sizeof(serial), "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    fprintf(stderr, "OCSP signer %s written to %s/ocsp.crt (key %s/ocsp.key)\n", serial, dir, dir);
out:
    EVP_PKEY_free(pkey);
    X509_free(cert);
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca ocsp-signer", rc) : EXIT_OK;
}
