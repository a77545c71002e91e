/* Enrollment protocols behind one small vtable (as SQLite's VFS): each
 * protocol module (SCEP, CMP, EST) provides one certa_enroll_protocol and
 * lists itself in enroll.c's table; certa_enroll_online dispatches on the
 * trustpoint's `protocol`. */
#ifndef CERTA_ENTITY_ENROLL_H
#define CERTA_ENTITY_ENROLL_H

#include "certa/http_client.h"
#include "certa/trustpoint.h"

struct certa_enroll_ctx {
    const char *state_dir;
    const struct certa_trustpoint *tp;
    EVP_PKEY *key;          /* the trustpoint's (signing) key, loaded or generated */
    X509_REQ *req;          /* the PKCS#10 built from the trustpoint */
    struct certa_http_route route; /* how to reach the CA (from the trustpoint) */
    int resume;             /* pick an interrupted poll back up */
    int flags;              /* protocol-specific (CMP: cr instead of ir/kur, p10cr) */
};

struct certa_enroll_protocol {
    const char *name;       /* "scep", "cmp", "est" */
    /* Obtains a certificate for ctx->req and installs it with
     * certa_trustpoint_import; CERTA_EPENDING while the CA decides. */
    int (*enroll)(const struct certa_enroll_ctx *ctx);
    /* Fetches the CA's certificates for `certa ca authenticate` (SCEP
     * GetCACert, CMP genm): *certs gets the CA certificate and any RA or
     * intermediate certificates, owned by the caller. ctx->key and ctx->req
     * are NULL here. */
    int (*fetch_ca)(const struct certa_enroll_ctx *ctx, STACK_OF(X509) **certs);
    /* Asks the CA to revoke the trustpoint's certificate (CMP rr); NULL
     * when the protocol cannot. */
    int (*revoke)(const struct certa_enroll_ctx *ctx, int reason);
};

extern const struct certa_enroll_protocol certa_enroll_scep;
extern const struct certa_enroll_protocol certa_enroll_cmp;

/* Fills route from the trustpoint's source-ip, interface, vrf, netns and
 * proxy settings (pointers into tp). */
void certa_enroll_route(const struct certa_trustpoint *tp, struct certa_http_route *route);

/* The protocol called name, or NULL when this build has none. */
const struct certa_enroll_protocol *certa_enroll_protocol_find(const char *name);
/* Loads the trustpoint's key (generating it when the label has none;
 * encr: the encryption half of usage keys) and builds its request, with
 * challenge (NULL: none) as its challengePassword; both returned to the
 * caller to free. */
int certa_enroll_prepare(const char *state_dir, const struct certa_trustpoint *tp, int encr, const char *challenge,
                         EVP_PKEY **key, X509_REQ **req);

/* What an online enrollment already holds when it installs its answer, so
 * that nothing is read from the state or decoded a second time: the key the
 * certificate must carry (key NULL: any key of the trustpoint's label, as
 * `certa import` finds it) with its keystore role, and the trustpoint's CA
 * certificates (cas NULL: read from ca.pem). */
struct certa_install_known {
    EVP_PKEY *key;
    int role;
    STACK_OF(X509) *cas;
};
/* certa_trustpoint_import for certificates already decoded (borrowed):
 * finds the one carrying our key, checks it chains to the trustpoint's CA,
 * writes chain.pem and cert.pem. Changes nothing on failure. */
int certa_trustpoint_install(const char *state_dir, const struct certa_trustpoint *tp, STACK_OF(X509) *certs,
                             const struct certa_install_known *known);

/* CMP root CA update (RFC 9483 4.3.2, cmp_client.c): asks the CA for the
 * root that follows the trustpoint's ca.pem. *new_with_new (and
 * *new_with_old when the CA sent it) are set and checked when an update
 * is available; both stay NULL, returning 0, when none is. */
int certa_enroll_cmp_root_update(const struct certa_enroll_ctx *ctx, X509 **new_with_new, X509 **new_with_old);

#endif
