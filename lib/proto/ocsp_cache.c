/* The OCSP responder's cache of pre-signed, nonce-less responses, keyed by
 * the request's CertID DER. Bounded (oldest first out), sharded by serial with
 * one rwlock per shard: workers read concurrently, revocation and refresh
 * write one shard. A per-shard generation keeps a status read before a
 * revocation from being cached after it. The map itself is shard_map.c. */
#include <stdlib.h>
#include <string.h>
#include "ocsp_internal.h"
#include "shard_map.h"

#define SHARDS 64

struct entry {
    struct shard_map_node node;    /* first: hash of the serial, key = CertID */
    unsigned char serial[OCSP_SERIAL_MAX];
    size_t slen;
    unsigned char key[OCSP_CERTID_MAX];
    unsigned char *der;
    size_t dlen;
    struct ocsp_meta meta;
    int stale;
};

struct ocsp_cache {
    struct shard_map *map;
};

static void entry_free(struct shard_map_node *n)
{
    struct entry *e = (struct entry *)n;
    free(e->der);
    free(e);
}

int ocsp_cache_new(size_t max_entries, struct ocsp_cache **out)
{
    struct ocsp_cache *c = calloc(1, sizeof(*c));
    int rc;
    if (c == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if ((rc = shard_map_new(SHARDS, max_entries, entry_free, &c->map)) < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ocsp_cache_free(struct ocsp_cache *c)
{
    if (c == NULL)
        return;
    shard_map_free(c->map);
    free(c);
}

struct get_arg {
    int64_t now;
    certa_buf *body;
    struct ocsp_meta *meta;
};

static int copy_fresh(struct shard_map_node *n, void *arg)
{
    const struct entry *e = (const struct entry *)n;
    struct get_arg *a = arg;
    if (e->stale || a->now >= e->meta.stale_at)
        return 0;
    a->body->len = 0;
    if (certa_buf_append(a->body, e->der, e->dlen) != 0)
        return 0;
    *a->meta = e->meta;
    return 1;
}

int ocsp_cache_get(struct ocsp_cache *c, const unsigned char *key, size_t klen,
                   const unsigned char *serial, size_t slen, int64_t now,
                   certa_buf *body, struct ocsp_meta *meta, uint64_t *gen)
{
    struct get_arg a = { now, body, meta };
    return shard_map_get(c->map, shard_map_hash(c->map, serial, slen), key, klen, gen,
                         copy_fresh, &a);
}

uint64_t ocsp_cache_gen(struct ocsp_cache *c, const unsigned char *serial, size_t slen)
{
    return shard_map_gen(c->map, shard_map_hash(c->map, serial, slen));
}

int ocsp_cache_put(struct ocsp_cache *c, const unsigned char *key, size_t klen,
                   const unsigned char *serial, size_t slen, const unsigned char *der,
                   size_t dlen, const struct ocsp_meta *meta, uint64_t gen)
{
    if (klen > OCSP_CERTID_MAX || slen > OCSP_SERIAL_MAX || slen == 0)
        return 0;   /* not cacheable; the answer was still given */
    struct entry *n = calloc(1, sizeof(*n));
    unsigned char *copy = malloc(dlen);
    if (n == NULL || copy == NULL) {
        free(n);
        free(copy);
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    }
    memcpy(copy, der, dlen);
    n->node.hash = shard_map_hash(c->map, serial, slen);
    memcpy(n->key, key, klen);
    n->node.key = n->key;
    n->node.klen = klen;
    memcpy(n->serial, serial, slen);
    n->slen = slen;
    n->der = copy;
    n->dlen = dlen;
    n->meta = *meta;
    shard_map_put(c->map, &n->node, 1, &gen);   /* dropped if invalidated since gen */
    return 0;
}

struct serial_arg {
    const unsigned char *serial;
    size_t slen;
};

static int mark_serial_stale(struct shard_map_node *n, void *arg)
{
    struct entry *e = (struct entry *)n;
    const struct serial_arg *a = arg;
    if (e->slen == a->slen && memcmp(e->serial, a->serial, a->slen) == 0)
        e->stale = 1;
    return 0;
}

void ocsp_cache_invalidate(struct ocsp_cache *c, const unsigned char *serial, size_t slen)
{
    struct serial_arg a = { serial, slen };
    shard_map_bump(c->map, shard_map_hash(c->map, serial, slen), mark_serial_stale, &a);
}

void ocsp_cache_remove(struct ocsp_cache *c, const unsigned char *key, size_t klen,
                       const unsigned char *serial, size_t slen)
{
    shard_map_remove(c->map, shard_map_hash(c->map, serial, slen), key, klen);
}

static int mark_stale(struct shard_map_node *n, void *arg)
{
    (void)arg;
    ((struct entry *)n)->stale = 1;
    return 0;
}

void ocsp_cache_invalidate_all(struct ocsp_cache *c)
{
    shard_map_walk(c->map, 1, mark_stale, NULL);
}

struct due_arg {
    int64_t now;
    unsigned char (*keys)[OCSP_CERTID_MAX];
    size_t *lens, n, max;
};

static int collect_due(struct shard_map_node *n, void *arg)
{
    const struct entry *e = (const struct entry *)n;
    struct due_arg *a = arg;
    if (e->stale || a->now >= e->meta.refresh_at) {
        memcpy(a->keys[a->n], e->key, e->node.klen);
        a->lens[a->n++] = e->node.klen;
    }
    return a->n >= a->max;
}

size_t ocsp_cache_due(struct ocsp_cache *c, int64_t now, unsigned char (*keys)[OCSP_CERTID_MAX],
                      size_t *lens, size_t max)
{
    struct due_arg a = { now, keys, lens, 0, max };
    if (max > 0)
        shard_map_walk(c->map, 0, collect_due, &a);
    return a.n;
}

size_t ocsp_cache_count(struct ocsp_cache *c)
{
    return shard_map_count(c->map);
}
