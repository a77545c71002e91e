/* certa show certificates: the CA and local certificates of every
 * trustpoint (or of one), as IOS's `show crypto ca certificates`: status
 * Available or Pending, serial, subject, issuer, validity, key usage and
 * CRL distribution points; --json gives one object per certificate. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "certa/csr.h"
#include "certa/keystore.h"
#include "certa/trustpoint.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "show certificates",
    .usage = "[NAME] [--json]",
    .summary = "show trustpoints' CA and local certificates",
    .help = "  NAME                   only this trustpoint\n"
            "  --json                 an array with one object per certificate: trustpoint, role\n"
            "                         (ca/local), status (Available/Pending), serial, subject,\n"
            "                         issuer, not_before, not_after, key_usage, extended_key_usage,\n"
            "                         crl_distribution_points, fingerprint_sha256\n",
    .run = run,
};
CLI_COMMAND(cmd)

/* One certificate, or a pending request (cert NULL). */
struct entry {
    const char *trustpoint;
    const char *role;       /* "ca" | "local" */
    const char *usage;      /* local: General Purpose | Signature | Encryption */
    X509 *cert;
    X509_REQ *req;
};

static void time_text(const ASN1_TIME *t, int iso, char *out, size_t len)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
        snprintf(out, len, "?");
        return;
    }
    strftime(out, len, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%H:%M:%S UTC %a %b %d %Y", &tm);
}

static char *serial_text(const X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    return hex;
}

static json_t *key_usage(const X509 *x)
{
    static const struct { uint32_t bit; const char *name; } kus[] = {
        { KU_DIGITAL_SIGNATURE, "digitalSignature" }, { KU_NON_REPUDIATION, "nonRepudiation" },
        { KU_KEY_ENCIPHERMENT, "keyEncipherment" },   { KU_DATA_ENCIPHERMENT, "dataEncipherment" },
        { KU_KEY_AGREEMENT, "keyAgreement" },         { KU_KEY_CERT_SIGN, "keyCertSign" },
        { KU_CRL_SIGN, "cRLSign" },
    };
    json_t *a = json_array();
    uint32_t ku = X509_get_key_usage((X509 *)x);
    if (ku == UINT32_MAX)
        return a;
    for (size_t i = 0; i < sizeof(kus) / sizeof(kus[0]); i++)
        if (ku & kus[i].bit)
            json_array_append_new(a, json_string(kus[i].name));
    return a;
}

static json_t *ext_key_usage(const X509 *x)
{
    json_t *a = json_array();
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++) {
        char buf[80];
        OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(eku, i), 0);
        json_array_append_new(a, json_string(buf));
    }
    EXTENDED_KEY_USAGE_free(eku);
    return a;
}

static json_t *crl_dps(const X509 *x)
{
    json_t *a = json_array();
    CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        GENERAL_NAMES *names = dp->distpoint->name.fullname;
        for (int j = 0; j < sk_GENERAL_NAME_num(names); j++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, j);
            if (gn->type == GEN_URI)
                json_array_append_new(a, json_stringn((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                                                      (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier)));
        }
    }
    CRL_DIST_POINTS_free(dps);
    return a;
}

static json_t *entry_json(const struct entry *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "trustpoint", json_string(e->trustpoint));
    json_object_set_new(o, "role", json_string(e->role));
    json_object_set_new(o, "status", json_string(e->cert ? "Available" : "Pending"));
    if (e->usage)
        json_object_set_new(o, "usage", json_string(e->usage));
    if (e->cert == NULL) {
        char *subj = certa_name_text(X509_REQ_get_subject_name(e->req));
        json_object_set_new(o, "serial", json_null());
        json_object_set_new(o, "subject", subj ? json_string(subj) : json_null());
        json_object_set_new(o, "issuer", json_null());
        json_object_set_new(o, "not_before", json_null());
        json_object_set_new(o, "not_after", json_null());
        free(subj);
        return o;
    }
    char *serial = serial_text(e->cert), t[64], fp[200];
    char *subj = certa_name_text(X509_get_subject_name(e->cert));
    char *iss = certa_name_text(X509_get_issuer_name(e->cert));
    json_object_set_new(o, "serial", serial ? json_string(serial) : json_null());
    json_object_set_new(o, "subject", subj ? json_string(subj) : json_null());
    json_object_set_new(o, "issuer", iss ? json_string(iss) : json_null());
    time_text(X509_get0_notBefore(e->cert), 1, t, sizeof(t));
    json_object_set_new(o, "not_before", json_string(t));
    time_text(X509_get0_notAfter(e->cert), 1, t, sizeof(t));
    json_object_set_new(o, "not_after", json_string(t));
    json_object_set_new(o, "key_usage", key_usage(e->cert));
    json_object_set_new(o, "extended_key_usage", ext_key_usage(e->cert));
    json_object_set_new(o, "crl_distribution_points", crl_dps(e->cert));
    if (certa_cert_fingerprint(e->cert, "sha256", fp, sizeof(fp)) == 0)
        json_object_set_new(o, "fingerprint_sha256", json_string(fp));
    OPENSSL_free(serial);
    free(subj);
    free(iss);
    return o;
}

static void print_list(const char *title, json_t *a)
{
    if (json_array_size(a) == 0)
        return;
    printf("  %-15s:", title);
    for (size_t i = 0; i < json_array_size(a); i++)
        printf("%s%s", i ? ", " : "", json_string_value(json_array_get(a, i)));
    printf("\n");
}

static void entry_print(const struct entry *e)
{
    json_t *o = entry_json(e);
    const char *ca = strcmp(e->role, "ca") == 0 ? "CA certificate" : "Router certificate";
    printf("%s\n", ca);
    if (e->usage)
        printf("  Key usage      :%s\n", e->usage);
    printf("  Status         :%s\n", json_string_value(json_object_get(o, "status")));
    if (e->cert != NULL)
        printf("  Serial Number  :%s\n", json_string_value(json_object_get(o, "serial")));
    printf("  Subject Name   :\n        %s\n", json_string_value(json_object_get(o, "subject")));
    if (e->cert != NULL) {
        char t[64];
        printf("  Issued By      :\n        %s\n", json_string_value(json_object_get(o, "issuer")));
        time_text(X509_get0_notBefore(e->cert), 0, t, sizeof(t));
        printf("  Validity Start :%s\n", t);
        time_text(X509_get0_notAfter(e->cert), 0, t, sizeof(t));
        printf("  Validity End   :%s\n", t);
        print_list("Usage", json_object_get(o, "key_usage"));
        print_list("Extended usage", json_object_get(o, "extended_key_usage"));
        json_t *cdp = json_object_get(o, "crl_distribution_points");
        if (json_array_size(cdp) > 0) {
            printf("  CRL Distribution Point\n");
            for (size_t i = 0; i < json_array_size(cdp); i++)
                printf("        %s\n", json_string_value(json_array_get(cdp, i)));
        }
        printf("  SHA256 Fingerprint:\n        %s\n", json_string_value(json_object_get(o, "fingerprint_sha256")));
    }
    json_decref(o);
}

static X509_REQ *read_request(const char *state, const char *name, const char *file)
{
    char path[4096];
    certa_buf b = { 0 };
    X509_REQ *req = NULL;
    if (certa_trustpoint_path(state, name, file, path, sizeof(path)) == 0 &&
        certa_file_read(path, 65536, &b) == 0)
        certa_csr_parse(b.data, b.len, &req);
    certa_buf_free(&b);
    certa_error_clear();
    return req;
}

/* Collects and shows (or appends to arr) one trustpoint's entries. */
static int show_one(const char *state, const char *name, json_t *arr, int always)
{
    struct certa_trustpoint tp;
    struct certa_keystore_entry ke;
    STACK_OF(X509) *ca = NULL, *local = NULL, *encr = NULL;
    int rc = certa_trustpoint_load(state, name, &tp);
    if (rc < 0)
        return rc;
    int usage = certa_keystore_stat(state, certa_trustpoint_key_label(&tp), &ke) == 0 && ke.kind == CERTA_KEYSTORE_USAGE;
    certa_error_clear();
    if ((rc = certa_trustpoint_read_certs(state, name, "ca.pem", &ca)) < 0 ||
        (rc = certa_trustpoint_read_certs(state, name, "cert.pem", &local)) < 0 ||
        (rc = certa_trustpoint_read_certs(state, name, "cert-encr.pem", &encr)) < 0)
        goto out;
    X509_REQ *req = sk_X509_num(local) == 0 ? read_request(state, name, "request.pem") : NULL;
    X509_REQ *req_encr = sk_X509_num(encr) == 0 ? read_request(state, name, "request-encr.pem") : NULL;
    struct entry es[4];
    int n = 0;
    if (sk_X509_num(ca) > 0)
        es[n++] = (struct entry){ name, "ca", NULL, sk_X509_value(ca, 0), NULL };
    if (sk_X509_num(local) > 0 || req != NULL)
        es[n++] = (struct entry){ name, "local", usage ? "Signature" : "General Purpose",
                                  sk_X509_num(local) > 0 ? sk_X509_value(local, 0) : NULL, req };
    if (sk_X509_num(encr) > 0 || req_encr != NULL)
        es[n++] = (struct entry){ name, "local", "Encryption", sk_X509_num(encr) > 0 ? sk_X509_value(encr, 0) : NULL,
                                  req_encr };
    if (arr != NULL) {
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, entry_json(&es[i]));
    } else if (n > 0 || always) {
        printf("Trustpoint       :%s\n==========================================================\n", name);
        for (int i = 0; i < n; i++)
            entry_print(&es[i]);
        if (n == 0)
            printf("  (no certificates: authenticate the CA, then enroll)\n");
        printf("\n");
    }
    X509_REQ_free(req);
    X509_REQ_free(req_encr);
out:
    sk_X509_pop_free(ca, X509_free);
    sk_X509_pop_free(local, X509_free);
    sk_X509_pop_free(encr, X509_free);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    const char *state = cli_state_dir();
    int json = 0, c, rc = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'j')
            return cli_usage_error(&cmd, "unknown option");
        json = 1;
    }
    if (optind + 1 < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind + 1]);
    json_t *arr = json ? json_array() : NULL;
    if (optind < argc) {
        rc = show_one(state, argv[optind], arr, 1);
    } else {
        char **names = NULL;
        size_t n = 0;
        rc = certa_trustpoint_list(state, &names, &n);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = show_one(state, names[i], arr, 0);
        certa_trustpoint_names_free(names, n);
    }
    if (rc == 0 && json) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    json_decref(arr);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
