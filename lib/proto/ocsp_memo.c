/* A memo of request bytes -> CertID for the OCSP hot path: the same request
 * DER always decodes to the same checked, nonce-less single CertID, so a
 * repeated request skips decoding and goes straight to the response cache.
 * Holds only facts about bytes (nothing to invalidate on revocation);
 * bounded, oldest out, sharded rwlocks (shard_map.c). */
#include <stdlib.h>
#include <string.h>
#include "ocsp_internal.h"
#include "shard_map.h"

#define SHARDS 32

struct memo {
    struct shard_map_node node;    /* first: key = the request bytes */
    size_t rlen, klen, slen;
    unsigned char serial[OCSP_SERIAL_MAX];
    unsigned char bytes[];         /* request, then CertID */
};

struct ocsp_memo {
    struct shard_map *map;
};

static void memo_free(struct shard_map_node *n)
{
    free(n);
}

int ocsp_memo_new(size_t max_entries, struct ocsp_memo **out)
{
    struct ocsp_memo *m = calloc(1, sizeof(*m));
    int rc;
    if (m == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if ((rc = shard_map_new(SHARDS, max_entries, memo_free, &m->map)) < 0) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void ocsp_memo_free(struct ocsp_memo *m)
{
    if (m == NULL)
        return;
    shard_map_free(m->map);
    free(m);
}

struct memo_out {
    unsigned char *key, *serial;
    size_t *klen, *slen;
};

static int copy_certid(struct shard_map_node *n, void *arg)
{
    const struct memo *e = (const struct memo *)n;
    const struct memo_out *o = arg;
    memcpy(o->key, e->bytes + e->rlen, e->klen);
    *o->klen = e->klen;
    memcpy(o->serial, e->serial, e->slen);
    *o->slen = e->slen;
    return 1;
}

int ocsp_memo_get(struct ocsp_memo *m, const unsigned char *req, size_t rlen,
                  unsigned char key[OCSP_CERTID_MAX], size_t *klen,
                  unsigned char serial[OCSP_SERIAL_MAX], size_t *slen)
{
    if (rlen > OCSP_MEMO_REQ_MAX)
        return 0;
    struct memo_out o = { key, serial, klen, slen };
    return shard_map_get(m->map, shard_map_hash(m->map, req, rlen), req, rlen, NULL,
                         copy_certid, &o);
}

void ocsp_memo_put(struct ocsp_memo *m, const unsigned char *req, size_t rlen,
                   const unsigned char *key, size_t klen, const unsigned char *serial, size_t slen)
{
    if (rlen > OCSP_MEMO_REQ_MAX || klen > OCSP_CERTID_MAX || slen > OCSP_SERIAL_MAX)
        return;
    struct memo *n = malloc(sizeof(*n) + rlen + klen);
    if (n == NULL)
        return;   /* a memo is an optimisation only */
    memset(n, 0, sizeof(*n));
    n->rlen = rlen;
    n->klen = klen;
    n->slen = slen;
    memcpy(n->serial, serial, slen);
    memcpy(n->bytes, req, rlen);
    memcpy(n->bytes + rlen, key, klen);
    n->node.hash = shard_map_hash(m->map, req, rlen);
    n->node.key = n->bytes;
    n->node.klen = rlen;
    shard_map_put(m->map, &n->node, 0, NULL);   /* another worker may have been first */
}
