/* Trustpoints (Cisco trustpoint, Huawei PKI realm, H3C PKI domain): one
 * directory per CA the device trusts, STATE/trustpoints/NAME/, holding
 * trustpoint.conf (INI), ca.pem, ra.pem, cert.pem, chain.pem, request.pem and
 * the secrets (challenge, cmp_secret) with mode 0600. Every write is atomic.
 * A trustpoint named "default" always exists and cannot be deleted. */
#ifndef CERTA_TRUSTPOINT_H
#define CERTA_TRUSTPOINT_H

#include <stddef.h>
#include <openssl/x509.h>
#include "certa/util.h"

#define CERTA_TP_DEFAULT "default"
#define CERTA_TP_MAX_SANS 16
/* inih reads lines of at most 200 bytes: values stay well below. */
#define CERTA_TP_VALUE_MAX 180

struct certa_trustpoint {
    char name[65];
    char protocol[8];        /* scep | cmp | est | manual */
    char url[CERTA_TP_VALUE_MAX + 1];
    int ra;                  /* the URL is an RA (SCEP "enrollment mode ra") */
    char key_label[65];      /* keystore label; "" = the trustpoint's name */
    int usage_keys;          /* enroll LABEL-sign and LABEL-encr */
    char key_type[16];       /* spec used when the key must be generated */
    int key_size;            /* RSA bits for regeneration, 0 = from key_type */
    char subject[CERTA_TP_VALUE_MAX + 1]; /* "" = CN=hostname.domain */
    char sans[CERTA_TP_MAX_SANS][CERTA_TP_VALUE_MAX + 1];
    size_t san_count;
    char key_usage[48];      /* "ike,ssl-client,ssl-server" subset */
    char digest[8];          /* sha256 | sha384 | sha512 (md5, sha1 with legacy) */
    char fingerprint[80];    /* "sha256:hex" (md5:, sha1:), lowercase, no colons */
    int retry_period;        /* minutes, 1-60 */
    int retry_count;         /* 1-100 */
    char source_ip[48];
    char interface[16];
    char netns[65];
    char vrf[16];
    char proxy[CERTA_TP_VALUE_MAX + 1];
    int auto_enroll;         /* renew at this percent of validity, 0 = off */
    int regenerate;          /* new key on renewal */
    int updated_effective;   /* the new certificate takes effect at once */
    char revocation[16];     /* crl | ocsp | crl,ocsp | ocsp,crl | none */
    int legacy;              /* allow md5/sha1/des3 for old CAs */
    char cmp_ref[129];       /* CMP reference number (PBM sender KID) */
    char cmp_cert[CERTA_TP_VALUE_MAX + 1]; /* CMP: external identity certificate (PEM file) */
    char cmp_key[65];        /* CMP: keystore label of that certificate's key */
    /* Filled in by load, never stored in trustpoint.conf. */
    int has_challenge;
    int has_cmp_secret;
};

/* The descriptor of one settable field, as the CLI and JSON see it. */
enum certa_tp_kind { CERTA_TP_STRING, CERTA_TP_INT, CERTA_TP_BOOL, CERTA_TP_LIST };
struct certa_tp_field {
    const char *name;        /* option and INI name, e.g. "retry-period" */
    enum certa_tp_kind kind;
    const char *arg;         /* the option's argument, e.g. "MINUTES"; NULL for booleans */
    const char *help;
};
/* The settable fields, NULL-terminated by name. */
CERTA_API const struct certa_tp_field *certa_trustpoint_fields(void);

/* Names: 1-64 of [A-Za-z0-9_-], not starting with '-' (as key labels). */
CERTA_API int certa_trustpoint_name_check(const char *name);
/* Fills tp with defaults for name (protocol manual, retry 1 min x 10 ...). */
CERTA_API void certa_trustpoint_init(struct certa_trustpoint *tp, const char *name);
/* Sets one field from text, validating it ("retry-period", "5"). value NULL
 * resets the field to its default ("san" NULL clears the list; "san" with a
 * value appends). Errors name the field and the accepted range. */
CERTA_API int certa_trustpoint_set(struct certa_trustpoint *tp, const char *field, const char *value);
/* The text of one field into out ("" when unset). */
CERTA_API int certa_trustpoint_get(const struct certa_trustpoint *tp, const char *field, char *out, size_t len);
/* Cross-field checks (e.g. not both netns and vrf). */
CERTA_API int certa_trustpoint_validate(const struct certa_trustpoint *tp);

CERTA_API int certa_trustpoint_exists(const char *state_dir, const char *name);
/* Loads NAME; "default" loads defaults when it was never saved.
 * CERTA_ENOTFOUND for another missing name; CERTA_EINVAL for a corrupt file. */
CERTA_API int certa_trustpoint_load(const char *state_dir, const char *name, struct certa_trustpoint *tp);
/* Validates and writes trustpoint.conf atomically (creating the directory). */
CERTA_API int certa_trustpoint_save(const char *state_dir, const struct certa_trustpoint *tp);
/* Removes NAME and its files; "default" is CERTA_EPOLICY. */
CERTA_API int certa_trustpoint_delete(const char *state_dir, const char *name);
/* Sorted names, "default" always among them; free with certa_trustpoint_names_free. */
CERTA_API int certa_trustpoint_list(const char *state_dir, char ***names, size_t *count);
CERTA_API void certa_trustpoint_names_free(char **names, size_t count);

/* Secrets ("challenge", "cmp_secret"), stored mode 0600; value NULL removes. */
CERTA_API int certa_trustpoint_secret_set(const char *state_dir, const char *name, const char *which,
                                          const char *value);
/* The secret or NULL when unset (*out malloc'd, wipe and free it). */
CERTA_API int certa_trustpoint_secret_get(const char *state_dir, const char *name, const char *which, char **out);

/* Path of a file in the trustpoint's directory ("ca.pem", "cert.pem" ...). */
CERTA_API int certa_trustpoint_path(const char *state_dir, const char *name, const char *file, char *out,
                                    size_t len);
/* The subject to request: tp->subject, or "CN=<hostname>.<domain>". */
CERTA_API int certa_trustpoint_subject(const struct certa_trustpoint *tp, char *out, size_t len);
/* The key label to use: tp->key_label, or the trustpoint's name. */
CERTA_API const char *certa_trustpoint_key_label(const struct certa_trustpoint *tp);

/* Reads every certificate of a PEM file (one or more) in the trustpoint;
 * an absent file gives an empty stack. */
CERTA_API int certa_trustpoint_read_certs(const char *state_dir, const char *name, const char *file,
                                          STACK_OF(X509) **out);

/* Offline enrollment (`enrollment terminal`): a PKCS#10 PEM from the
 * trustpoint's key (generated when the label has none) and subject, kept
 * as request.pem so that `show certificates` reports it Pending. With usage
 * keys, encr selects the encryption key's request (request-encr.pem)
 * instead of the signing key's. */
CERTA_API int certa_enroll_offline(const char *state_dir, const char *name, int encr, certa_buf *pem);
/* Online enrollment over the trustpoint's protocol (enroll.h vtable). */
CERTA_API int certa_enroll_online(const char *state_dir, const char *name);
/* Flags for online enrollment: CMP cr instead of ir/kur; a PKCS#10 inside
 * CMP (p10cr). Protocols without such a choice refuse them. */
enum certa_enroll_flags { CERTA_ENROLL_CMP_CR = 1, CERTA_ENROLL_CMP_P10CR = 2 };
/* Online enrollment with CERTA_ENROLL_* flags. */
CERTA_API int certa_enroll_online_flags(const char *state_dir, const char *name, int flags);
/* Continues an interrupted online enrollment (a SCEP request left PENDING):
 * polls again instead of sending a new request. */
CERTA_API int certa_enroll_resume(const char *state_dir, const char *name);

/* What `certa ca authenticate` found, for the operator to judge. */
struct certa_ca_offer {
    const char *trustpoint;
    X509 *ca;                 /* the CA certificate */
    STACK_OF(X509) *ra;       /* RA certificates the CA sent (may be empty) */
    const char *pin;          /* the configured fingerprint, or NULL */
};
/* Returns 1 to accept the offer, 0 to decline, or a negative CERTA_E*. */
typedef int (*certa_ca_confirm_fn)(const struct certa_ca_offer *offer, void *arg);
/* `crypto ca authenticate`: fetches the CA's certificates over the
 * trustpoint's protocol (SCEP GetCACert, CMP genm), refuses a CA whose
 * fingerprint differs from the configured one (CERTA_EPOLICY naming both),
 * asks confirm (called after a pin matched too: it may just report), then
 * installs ca.pem and ra.pem atomically. Declined: CERTA_EPOLICY, nothing
 * stored. */
CERTA_API int certa_ca_authenticate(const char *state_dir, const char *name, certa_ca_confirm_fn confirm,
                                    void *arg);
/* `certa ca rollover`: asks the CA (CMP genm, root CA update) for the root
 * that will follow the trustpoint's CA (signed with the trustpoint's valid
 * certificate when it has one); when one is available, checks it
 * (self-signed CA certificate; newWithOld, when sent, signed by the
 * current CA key and carrying the new key) and stores it as next-ca.pem
 * atomically, never touching ca.pem. No update: 0 with *next NULL, nothing
 * stored. *next and *new_with_old belong to the caller. */
CERTA_API int certa_ca_rollover(const char *state_dir, const char *name, X509 **next, X509 **new_with_old);
/* Asks the CA to revoke the trustpoint's certificate (CMP rr) with an
 * RFC 5280 reason code. */
CERTA_API int certa_enroll_revoke(const char *state_dir, const char *name, int reason);
/* Installs an issued certificate (PEM, DER or PKCS#7 certs-only): one
 * certificate must carry the public key of a key we hold for the
 * trustpoint; when a CA certificate is installed, it must chain to it.
 * Other certificates in the input become chain.pem. With as_ca, installs
 * the input's CA certificate as ca.pem instead (checked against the
 * configured fingerprint, if any). Changes nothing on failure. */
CERTA_API int certa_trustpoint_import(const char *state_dir, const char *name, const unsigned char *data,
                                      size_t len, int as_ca);

/* Certificate fingerprint as "AB:CD:.." with md "md5", "sha1", "sha256". */
CERTA_API int certa_cert_fingerprint(const X509 *cert, const char *md, char *out, size_t len);

#endif
