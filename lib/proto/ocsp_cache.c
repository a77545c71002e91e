/* The OCSP responder's cache of pre-signed, nonce-less responses, keyed by
 * the request's CertID DER. Bounded (oldest first out), sharded by serial with
 * one rwlock per shard: workers read concurrently, revocation and refresh
 * write one shard. A per-shard generation keeps a status read before a
 * revocation from being cached after it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "ocsp_internal.h"

#define SHARDS 64

struct entry {
    struct entry *next;            /* hash chain */
    struct entry *older, *newer;   /* insertion order, for eviction */
    uint64_t hash;                 /* of the serial */
    unsigned char serial[OCSP_SERIAL_MAX];
    size_t slen;
    unsigned char key[OCSP_CERTID_MAX];
    size_t klen;
    unsigned char *der;
    size_t dlen;
    struct ocsp_meta meta;
    int stale;
};

struct shard {
    pthread_rwlock_t lock;
    struct entry **buckets;
    size_t nbuckets;               /* power of two */
    size_t count, max;
    struct entry *oldest, *newest;
    uint64_t gen;
    char pad[64];                  /* keep shards' locks on separate lines */
};

struct ocsp_cache {
    struct shard shards[SHARDS];
    uint64_t seed;
};

static uint64_t hash_serial(const struct ocsp_cache *c, const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ c->seed;   /* FNV-1a, seeded */
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

int ocsp_cache_new(size_t max_entries, struct ocsp_cache **out)
{
    struct ocsp_cache *c = calloc(1, sizeof(*c));
    size_t per = max_entries / SHARDS + 1, nb = 16;
    if (c == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    while (nb < per)
        nb <<= 1;
    if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1)
        c->seed = (uint64_t)(uintptr_t)c;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        s->max = per;
        s->nbuckets = nb;
        s->buckets = calloc(nb, sizeof(*s->buckets));
        if (s->buckets == NULL || pthread_rwlock_init(&s->lock, NULL) != 0) {
            free(s->buckets);
            s->buckets = NULL;
            ocsp_cache_free(c);
            return certa_error_set(CERTA_ENOMEM, "out of memory for the OCSP cache");
        }
    }
    *out = c;
    return 0;
}

static void entry_free(struct entry *e)
{
    if (e != NULL) {
        free(e->der);
        free(e);
    }
}

void ocsp_cache_free(struct ocsp_cache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        if (s->buckets == NULL)
            continue;
        for (struct entry *e = s->oldest, *n; e != NULL; e = n) {
            n = e->newer;
            entry_free(e);
        }
        free(s->buckets);
        pthread_rwlock_destroy(&s->lock);
    }
    free(c);
}

static struct shard *shard_of(struct ocsp_cache *c, uint64_t h)
{
    return &c->shards[h % SHARDS];
}

static struct entry **bucket_of(struct shard *s, uint64_t h)
{
    return &s->buckets[(h / SHARDS) & (s->nbuckets - 1)];
}

static struct entry *find(struct shard *s, uint64_t h, const unsigned char *key, size_t klen)
{
    for (struct entry *e = *bucket_of(s, h); e != NULL; e = e->next)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

/* Unlinks e from its chain and the order list (write lock held). */
static void unlink_entry(struct shard *s, struct entry *e)
{
    for (struct entry **pp = bucket_of(s, e->hash); *pp != NULL; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    if (e->older)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    s->count--;
}

int ocsp_cache_get(struct ocsp_cache *c, const unsigned char *key, size_t klen,
                   const unsigned char *serial, size_t slen, int64_t now,
                   certa_buf *body, struct ocsp_meta *meta, uint64_t *gen)
{
    uint64_t h = hash_serial(c, serial, slen);
    struct shard *s = shard_of(c, h);
    int hit = 0;
    pthread_rwlock_rdlock(&s->lock);
    *gen = s->gen;
    struct entry *e = find(s, h, key, klen);
    if (e != NULL && !e->stale && now < e->meta.stale_at) {
        body->len = 0;
        if (certa_buf_append(body, e->der, e->dlen) == 0) {
            *meta = e->meta;
            hit = 1;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return hit;
}

uint64_t ocsp_cache_gen(struct ocsp_cache *c, const unsigned char *serial, size_t slen)
{
    struct shard *s = shard_of(c, hash_serial(c, serial, slen));
    pthread_rwlock_rdlock(&s->lock);
    uint64_t g = s->gen;
    pthread_rwlock_unlock(&s->lock);
    return g;
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
    uint64_t h = hash_serial(c, serial, slen);
    memcpy(copy, der, dlen);
    n->hash = h;
    memcpy(n->serial, serial, slen);
    n->slen = slen;
    memcpy(n->key, key, klen);
    n->klen = klen;
    n->der = copy;
    n->dlen = dlen;
    n->meta = *meta;
    struct shard *s = shard_of(c, h);
    struct entry *old = NULL, *evicted = NULL;
    pthread_rwlock_wrlock(&s->lock);
    if (s->gen != gen) {
        pthread_rwlock_unlock(&s->lock);
        entry_free(n);
        return 0;
    }
    if ((old = find(s, h, key, klen)) != NULL)
        unlink_entry(s, old);
    else if (s->count >= s->max && (evicted = s->oldest) != NULL)
        unlink_entry(s, evicted);
    struct entry **b = bucket_of(s, h);
    n->next = *b;
    *b = n;
    n->older = s->newest;
    if (s->newest)
        s->newest->newer = n;
    else
        s->oldest = n;
    s->newest = n;
    s->count++;
    pthread_rwlock_unlock(&s->lock);
    entry_free(old);
    entry_free(evicted);
    return 0;
}

void ocsp_cache_invalidate(struct ocsp_cache *c, const unsigned char *serial, size_t slen)
{
    uint64_t h = hash_serial(c, serial, slen);
    struct shard *s = shard_of(c, h);
    pthread_rwlock_wrlock(&s->lock);
    s->gen++;
    for (struct entry *e = *bucket_of(s, h); e != NULL; e = e->next)
        if (e->slen == slen && memcmp(e->serial, serial, slen) == 0)
            e->stale = 1;
    pthread_rwlock_unlock(&s->lock);
}

void ocsp_cache_remove(struct ocsp_cache *c, const unsigned char *key, size_t klen,
                       const unsigned char *serial, size_t slen)
{
    uint64_t h = hash_serial(c, serial, slen);
    struct shard *s = shard_of(c, h);
    pthread_rwlock_wrlock(&s->lock);
    struct entry *e = find(s, h, key, klen);
    if (e != NULL)
        unlink_entry(s, e);
    pthread_rwlock_unlock(&s->lock);
    entry_free(e);
}

void ocsp_cache_invalidate_all(struct ocsp_cache *c)
{
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        pthread_rwlock_wrlock(&s->lock);
        s->gen++;
        for (struct entry *e = s->oldest; e != NULL; e = e->newer)
            e->stale = 1;
        pthread_rwlock_unlock(&s->lock);
    }
}

size_t ocsp_cache_due(struct ocsp_cache *c, int64_t now, unsigned char (*keys)[OCSP_CERTID_MAX],
                      size_t *lens, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS && n < max; i++) {
        struct shard *s = &c->shards[i];
        pthread_rwlock_rdlock(&s->lock);
        for (struct entry *e = s->oldest; e != NULL && n < max; e = e->newer) {
            if (e->stale || now >= e->meta.refresh_at) {
                memcpy(keys[n], e->key, e->klen);
                lens[n++] = e->klen;
            }
        }
        pthread_rwlock_unlock(&s->lock);
    }
    return n;
}

size_t ocsp_cache_count(struct ocsp_cache *c)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        pthread_rwlock_rdlock(&c->shards[i].lock);
        n += c->shards[i].count;
        pthread_rwlock_unlock(&c->shards[i].lock);
    }
    return n;
}
