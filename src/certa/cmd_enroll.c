/* certa enroll: obtains a certificate for a trustpoint. --offline writes
 * the PKCS#10 for cut-and-paste enrollment (`enrollment terminal`); without
 * it, the trustpoint's protocol module enrolls online; --resume picks an
 * interrupted poll of a pending request back up. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "certa/trustpoint.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "enroll",
    .usage = "NAME [--resume | --cr | --p10cr | --offline [--out FILE] [--usage sign|encr]]",
    .summary = "enroll a trustpoint's key pair (online, or offline as PKCS#10)",
    .help = "  --offline              write the PKCS#10 request (PEM) instead of contacting the CA;\n"
            "                         the key pair is generated if the trustpoint's label has none.\n"
            "                         Install the answer with `certa import NAME FILE`.\n"
            "  --out FILE             write the request to FILE (default: standard output)\n"
            "  --usage sign|encr      with usage keys: the request of the signing (default) or\n"
            "                         the encryption key pair\n"
            "  --resume               continue polling a request the CA left pending (after an\n"
            "                         interruption, or when the retry count ran out)\n"
            "  --cr                   CMP: send cr (a further certificate) instead of ir or kur\n"
            "  --p10cr                CMP: send the PKCS#10 request inside CMP (p10cr)\n"
            "Exit status 5: the request is still pending at the CA.\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "offline", no_argument, NULL, 'o' },
        { "out", required_argument, NULL, 'O' },
        { "usage", required_argument, NULL, 'u' },
        { "resume", no_argument, NULL, 'r' },
        { "cr", no_argument, NULL, 'c' },
        { "p10cr", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    const char *out = NULL;
    int offline = 0, encr = 0, resume = 0, flags = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': offline = 1; break;
        case 'r': resume = 1; break;
        case 'c': flags |= CERTA_ENROLL_CMP_CR; break;
        case 'p': flags |= CERTA_ENROLL_CMP_P10CR; break;
        case 'O': out = optarg; break;
        case 'u':
            if (strcmp(optarg, "sign") != 0 && strcmp(optarg, "encr") != 0)
                return cli_usage_error(&cmd, "--usage is sign or encr, not '%s'", optarg);
            encr = strcmp(optarg, "encr") == 0;
            break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(&cmd, "give one trustpoint NAME");
    if ((out != NULL || encr) && !offline)
        return cli_usage_error(&cmd, "--out and --usage apply to --offline");
    if (flags == (CERTA_ENROLL_CMP_CR | CERTA_ENROLL_CMP_P10CR))
        return cli_usage_error(&cmd, "--cr and --p10cr exclude each other");
    if (flags && (offline || resume))
        return cli_usage_error(&cmd, "--cr and --p10cr apply to a new online CMP enrollment");
    if (resume && offline)
        return cli_usage_error(&cmd, "--resume continues an online enrollment: not with --offline");
    const char *name = argv[optind];
    if (offline) {
        certa_buf pem = { 0 };
        rc = certa_enroll_offline(cli_state_dir(), name, encr, &pem);
        if (rc == 0)
            rc = certa_file_write_atomic(out != NULL ? out : "-", pem.data, pem.len, 0644);
        certa_buf_free(&pem);
    } else {
        rc = resume ? certa_enroll_resume(cli_state_dir(), name)
                    : certa_enroll_online_flags(cli_state_dir(), name, flags);
        if (rc == 0)
            printf("Certificate of trustpoint %s installed\n", name);
    }
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
