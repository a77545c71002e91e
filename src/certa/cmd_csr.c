/* certa csr: a PKCS#10 request from a key file (or keystore label), with
 * subject, SANs, the seeds' key usages as an EKU request and an optional
 * challengePassword. PEM to stdout unless --out is given. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "certa/csr.h"
#include "certa/key.h"
#include "cli.h"
#include "key_cli.h"

#define MAX_SANS 64

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "csr",
    .usage = "(--key FILE | --label LABEL) --subject DN [--san TYPE:VALUE]... [--key-usage LIST] "
             "[--challenge PW | --challenge-file F] [--digest sha256] [--legacy] [--passphrase-file F] [--der] [--out FILE]",
    .summary = "create a PKCS#10 certificate request",
    .help = "  --key FILE             the private key (PEM or DER)\n"
            "  --label LABEL          or a key pair of the keystore under --state DIR\n"
            "  --subject DN           \"CN=r1.example.com,O=Example\" or \"/CN=r1.example.com/O=Example\"\n"
            "                         (a comma inside a value is written \\,)\n"
            "  --san TYPE:VALUE       dns:NAME, ip:ADDR (IPv4 or IPv6), email:ADDR, uri:URI; repeatable\n"
            "  --key-usage LIST       ike, ssl-client, ssl-server (comma-separated), requested as EKU\n"
            "  --challenge PW         challengePassword attribute (SCEP enrollment/revocation password)\n"
            "  --challenge-file F     the same, read from the first line of F\n"
            "  --digest ALG           sha256 (default), sha384, sha512 (sha1, md5 with --legacy)\n"
            "  --legacy               allow legacy digests for old CAs\n"
            "  --passphrase-file F    passphrase of an encrypted key file\n"
            "  --der                  write DER instead of PEM\n"
            "  --out FILE             write to FILE instead of standard output\n",
    .run = run,
};
CLI_COMMAND(cmd)

int key_cli_label_load(const char *label, EVP_PKEY **out);

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "label", required_argument, NULL, 'l' },
        { "subject", required_argument, NULL, 's' },
        { "san", required_argument, NULL, 'a' },
        { "key-usage", required_argument, NULL, 'u' },
        { "challenge", required_argument, NULL, 'c' },
        { "challenge-file", required_argument, NULL, 'C' },
        { "digest", required_argument, NULL, 'g' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "der", no_argument, NULL, 'd' },
        { "legacy", no_argument, NULL, 'L' },
        { "out", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    const char *key_file = NULL, *label = NULL, *out = "-", *pass_file = NULL, *challenge_file = NULL;
    const char *sans[MAX_SANS];
    struct certa_csr_params p = { .sans = sans };
    char *pass = NULL, *challenge = NULL;
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    int der = 0, c, rc = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key_file = optarg; break;
        case 'l': label = optarg; break;
        case 's': p.subject = optarg; break;
        case 'a':
            if (p.san_count == MAX_SANS)
                return cli_usage_error(&cmd, "at most %d --san options", MAX_SANS);
            sans[p.san_count++] = optarg;
            break;
        case 'u':
            if ((rc = certa_usage_parse(optarg, &p.usages)) < 0)
                return cli_fail(cmd.name, rc);
            break;
        case 'c': p.challenge = optarg; break;
        case 'C': challenge_file = optarg; break;
        case 'g': p.digest = optarg; break;
        case 'p': pass_file = optarg; break;
        case 'd': der = 1; break;
        case 'L': p.legacy = 1; break;
        case 'o': out = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    if ((key_file == NULL) == (label == NULL))
        return cli_usage_error(&cmd, "give one of --key FILE or --label LABEL");
    if (p.subject == NULL)
        return cli_usage_error(&cmd, "--subject is required");
    if (p.challenge != NULL && challenge_file != NULL)
        return cli_usage_error(&cmd, "give --challenge or --challenge-file, not both");

    if (challenge_file != NULL) {
        /* Same one-line, bounded format as passphrase files. */
        if ((rc = key_cli_read_passphrase(challenge_file, &challenge)) < 0)
            goto out;
        p.challenge = challenge;
    }
    if (pass_file != NULL && (rc = key_cli_read_passphrase(pass_file, &pass)) < 0)
        goto out;
    rc = key_file != NULL ? certa_key_load(key_file, pass, &key) : key_cli_label_load(label, &key);
    if (rc < 0)
        goto out;
    if ((rc = certa_csr_create(key, &p, &req)) < 0)
        goto out;
    rc = certa_csr_write(req, out, der);
out:
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    key_cli_passphrase_free(pass);
    key_cli_passphrase_free(challenge);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
