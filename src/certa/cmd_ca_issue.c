/* certa ca issue: offline PKCS#10 enrollment. The CSR goes through the same
 * pipeline as SCEP/CMP/EST: profile policy, then issue, pending (exit 5, the
 * request id printed) or refuse (exit 4). */
#include <getopt.h>
#include <stdio.h>
#include "certa/ca.h"
#include "certa/csr.h"
#include "ca_cli.h"
#include "cli.h"

#define CSR_MAX (64 * 1024)

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca issue",
    .usage = "--dir DIR --csr FILE [--profile NAME] [--out FILE] [--passphrase-file F]",
    .summary = "issue a certificate from a PKCS#10 request",
    .help = "  --dir DIR              the CA state directory\n"
            "  --csr FILE             the request, PEM or DER (- for stdin; at most 64 KiB)\n"
            "  --profile NAME         profile of ca.conf (default: [ca] default_profile)\n"
            "  --out FILE             write the certificate there (default: PEM on stdout)\n"
            "  --passphrase-file F    the CA key passphrase (or CERTA_CA_PASSPHRASE)\n"
            "Exit 5 when the profile needs manual approval: prints request_id=ID.\n"
            "Exit 4 when the profile refuses the request.\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int issue(const char *dir, const char *csr_path, const char *profile, const char *out,
                 const char *pass_file, int *exit_code)
{
    certa_buf buf = { 0 };
    X509_REQ *csr = NULL;
    certa_ca *ca = NULL;
    struct certa_csr_request cr = { 0 };
    struct certa_issue_result res = { 0 };
    int rc = certa_file_read(csr_path, CSR_MAX, &buf);
    if (rc < 0)
        goto out;
    if ((rc = certa_csr_parse(buf.data, buf.len, &csr)) < 0) {
        char msg[400];
        snprintf(msg, sizeof(msg), "%s", certa_error_last());
        certa_error_set(rc, "%s: %s", csr_path, msg);
        goto out;
    }
    if ((rc = ca_cli_open(dir, pass_file, 0, &ca)) < 0)
        goto out;
    if ((rc = certa_request_from_csr(csr, &cr)) < 0)
        goto out;
    cr.req.profile = profile;
    cr.req.protocol = "cli";
    cr.req.requester = "operator";
    if ((rc = certa_ca_submit(ca, &cr.req, &res)) < 0)
        goto out;
    switch (res.decision) {
    case CERTA_DECISION_ISSUED: {
        char serial[CERTA_SERIAL_HEX_MAX] = "";
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(res.cert), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        snprintf(serial, sizeof(serial), "%s", hex ? hex : "?");
        OPENSSL_free(hex);
        BN_free(bn);
        if ((rc = ca_cli_write_pem(res.cert, NULL, out)) < 0)
            goto out;
        if (out != NULL)
            printf("issued serial=%s to %s\n", serial, out);
        else
            fprintf(stderr, "issued serial=%s\n", serial);
        break;
    }
    case CERTA_DECISION_PENDING:
        printf("request_id=%lld\n", (long long)res.request_id);
        fprintf(stderr, "certa ca issue: request %lld waits for approval: certa ca approve --dir %s %lld\n",
                (long long)res.request_id, dir, (long long)res.request_id);
        *exit_code = EXIT_PENDING;
        break;
    default:
        fprintf(stderr, "certa ca issue: refused: %s\n", res.reason);
        *exit_code = EXIT_REFUSED;
        break;
    }
out:
    certa_issue_result_clear(&res);
    certa_csr_request_clear(&cr);
    certa_ca_free(ca);
    X509_REQ_free(csr);
    certa_buf_free(&buf);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "csr", required_argument, NULL, 'c' },
        { "profile", required_argument, NULL, 'p' },
        { "out", required_argument, NULL, 'o' },
        { "passphrase-file", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *csr = NULL, *profile = NULL, *out = NULL, *pass_file = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'c': csr = optarg; break;
        case 'p': profile = optarg; break;
        case 'o': out = optarg; break;
        case 'P': pass_file = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL || csr == NULL)
        return cli_usage_error(&cmd, "--dir and --csr are required");
    int exit_code = EXIT_OK;
    int rc = issue(dir, csr, profile, out, pass_file, &exit_code);
    return rc < 0 ? cli_fail("ca issue", rc) : exit_code;
}
