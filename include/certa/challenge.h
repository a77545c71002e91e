/* Enrollment challenge passwords (SCEP challengePassword): random, stored
 * only as a salted PBKDF2 hash (store secrets, kind "scep-challenge"),
 * one-time by default, optionally bound to a subject pattern and a lifetime.
 *
 * A password is REF followed by SECRET (CERTA_CHALLENGE_LEN characters of
 * [0-9a-z] without i l o u, so it survives devices' prompts and PrintableString):
 * the first CERTA_CHALLENGE_REF_LEN characters name the stored row, so a
 * check costs one lookup and one hash, compared in constant time. */
#ifndef CERTA_CHALLENGE_H
#define CERTA_CHALLENGE_H

#include <stdint.h>
#include <openssl/x509.h>
#include "certa/store.h"

#define CERTA_CHALLENGE_KIND "scep-challenge"
#define CERTA_CHALLENGE_REF_LEN 8
#define CERTA_CHALLENGE_LEN 32
#define CERTA_CHALLENGE_MAX 255     /* longest password a check looks at */

struct certa_challenge_params {
    const char *subject_pattern; /* fnmatch pattern, NULL: any subject (see certa_challenge_check) */
    int uses;                    /* 0: one use (the default); -1: unlimited */
    int64_t ttl;                 /* seconds from now; 0: never expires */
};

/* Creates and records a fresh password. password receives
 * CERTA_CHALLENGE_LEN + 1 bytes, ref CERTA_CHALLENGE_REF_LEN + 1. */
CERTA_API int certa_challenge_create(certa_store *s, const struct certa_challenge_params *p,
                                     char password[CERTA_CHALLENGE_LEN + 1],
                                     char ref[CERTA_CHALLENGE_REF_LEN + 1]);

/* Checks a presented password for a request with this subject at time now,
 * without using it up. The subject pattern (when the password has one) is
 * matched with fnmatch against the CN values when it contains no '=', else
 * against the whole subject as certa_name_text prints it ("CN=a, O=b").
 * 0 with ref filled (and *uses_left, when non-NULL: -1 for unlimited) when
 * valid; CERTA_EPASS for an unknown or wrong password, CERTA_ESTATE when used
 * up or expired, CERTA_EPOLICY when the subject does not match. Takes about
 * the same time whether or not the REF exists. */
CERTA_API int certa_challenge_check(certa_store *s, const char *password, const X509_NAME *subject,
                                    int64_t now, char ref[CERTA_CHALLENGE_REF_LEN + 1], int *uses_left);

/* Uses up one use of a checked password (atomic in the store: of two
 * concurrent requests for the last use, one gets CERTA_ESTATE). */
CERTA_API int certa_challenge_consume(certa_store *s, const char *ref, int64_t now);

#endif
