/* certa key export: a keystore key pair out to a PKCS#8 file (optionally
 * encrypted), or its public key as SubjectPublicKeyInfo PEM. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <openssl/pem.h>
#include "certa/keystore.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "key export",
    .usage = "--label LABEL --out FILE [--der] [--passphrase-file F] [--public]",
    .summary = "export a keystore key pair (PKCS#8) or its public key",
    .help = "  --label LABEL          keystore label (LABEL-sign / LABEL-encr for usage keys)\n"
            "  --out FILE             destination (mode 0600 for private keys; '-' for stdout)\n"
            "  --der                  DER instead of PEM\n"
            "  --passphrase-file F    encrypt the private key with AES-256\n"
            "  --public               export only the public key (SubjectPublicKeyInfo)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int export_public(EVP_PKEY *key, const char *out, int der)
{
    certa_buf spki = { 0 };
    int rc = certa_key_public_der(key, &spki);
    if (rc < 0)
        return rc;
    if (der) {
        rc = certa_file_write_atomic(out, spki.data, spki.len, 0644);
    } else {
        BIO *mem = BIO_new(BIO_s_mem());
        char *p = NULL;
        if (mem == NULL || !PEM_write_bio_PUBKEY(mem, key)) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode the public key");
        } else {
            long n = BIO_get_mem_data(mem, &p);
            rc = certa_file_write_atomic(out, p, (size_t)n, 0644);
        }
        BIO_free(mem);
    }
    certa_buf_free(&spki);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "label", required_argument, NULL, 'l' },
        { "out", required_argument, NULL, 'o' },
        { "der", no_argument, NULL, 'd' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "public", no_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *label = NULL, *out = NULL, *pass_file = NULL;
    int der = 0, pub = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l': label = optarg; break;
        case 'o': out = optarg; break;
        case 'd': der = 1; break;
        case 'p': pass_file = optarg; break;
        case 'P': pub = 1; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (label == NULL || out == NULL || optind < argc)
        return cli_usage_error(&cmd, "give --label LABEL and --out FILE");
    if (pub && pass_file != NULL)
        return cli_usage_error(&cmd, "--passphrase-file applies to private keys only");
    char *pass = NULL;
    EVP_PKEY *key = NULL;
    if (pass_file != NULL && (rc = key_cli_read_passphrase(pass_file, &pass)) < 0)
        return cli_fail(cmd.name, rc);
    rc = certa_keystore_load(cli_state_dir(), label, CERTA_KEYROLE_ANY, &key);
    if (rc == 0)
        rc = pub ? export_public(key, out, der)
                 : certa_key_save(key, out, der ? CERTA_FORMAT_DER : CERTA_FORMAT_PEM, pass);
    EVP_PKEY_free(key);
    key_cli_passphrase_free(pass);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
