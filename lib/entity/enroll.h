/* Enrollment protocols behind one small vtable (as SQLite's VFS): each
 * protocol module (SCEP, CMP, EST) provides one certa_enroll_protocol and
 * lists itself in enroll.c's table; certa_enroll_online dispatches on the
 * trustpoint's `protocol`. */
#ifndef CERTA_ENTITY_ENROLL_H
#define CERTA_ENTITY_ENROLL_H

#include "certa/trustpoint.h"

struct certa_enroll_ctx {
    const char *state_dir;
    const struct certa_trustpoint *tp;
    EVP_PKEY *key;          /* the trustpoint's (signing) key, loaded or generated */
    X509_REQ *req;          /* the PKCS#10 built from the trustpoint */
    const char *challenge;  /* challenge password or NULL */
};

struct certa_enroll_protocol {
    const char *name;       /* "scep", "cmp", "est" */
    /* Obtains a certificate for ctx->req and installs it with
     * certa_trustpoint_import; CERTA_EPENDING while the CA decides. */
    int (*enroll)(const struct certa_enroll_ctx *ctx);
};

/* The protocol called name, or NULL when this build has none. */
const struct certa_enroll_protocol *certa_enroll_protocol_find(const char *name);
/* Loads the trustpoint's key (generating it when the label has none;
 * encr: the encryption half of usage keys) and builds its request; both
 * returned to the caller to free. */
int certa_enroll_prepare(const char *state_dir, const struct certa_trustpoint *tp, int encr, EVP_PKEY **key,
                         X509_REQ **req);

#endif
