/* The sharded, bounded hash map behind the OCSP response cache and request
 * memo (see shard_map.h): chains per bucket, an insertion-order list per
 * shard for eviction, one rwlock and one generation counter per shard. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "certa/error.h"
#include "shard_map.h"

struct shard {
    pthread_rwlock_t lock;
    struct shard_map_node **buckets;
    size_t nbuckets;               /* power of two */
    size_t count, max;
    struct shard_map_node *oldest, *newest;
    uint64_t gen;
    char pad[64];                  /* keep shards' locks on separate lines */
};

struct shard_map {
    uint64_t seed;
    unsigned nshards, bits;        /* nshards == 1 << bits */
    shard_map_free_fn free_fn;
    struct shard shards[];
};

/* Eight bytes a step (the OCSP memo hashes each request's DER, about 80
 * bytes, on every request), seeded per map and mixed at the end. */
uint64_t shard_map_hash(const struct shard_map *m, const unsigned char *s, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ULL;
    uint64_t h = m->seed ^ (n * k), w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, s, n);
        h = (h ^ w ^ ((uint64_t)n << 56)) * k;
        h ^= h >> 32;
    }
    h ^= m->seed >> 7;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 29);
}

int shard_map_new(unsigned shards, size_t max_entries, shard_map_free_fn free_fn,
                  struct shard_map **out)
{
    if (shards == 0 || (shards & (shards - 1)) != 0)
        return certa_error_set(CERTA_EINVAL, "shard count %u is not a power of two", shards);
    struct shard_map *m = calloc(1, sizeof(*m) + shards * sizeof(m->shards[0]));
    size_t per = max_entries / shards + 1, nb = 16;
    if (m == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    while (nb < per)
        nb <<= 1;
    m->nshards = shards;
    while ((1u << m->bits) < shards)
        m->bits++;
    m->free_fn = free_fn;
    if (RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1)
        m->seed = (uint64_t)(uintptr_t)m;
    for (unsigned i = 0; i < shards; i++) {
        struct shard *s = &m->shards[i];
        s->max = per;
        s->nbuckets = nb;
        if ((s->buckets = calloc(nb, sizeof(*s->buckets))) == NULL ||
            pthread_rwlock_init(&s->lock, NULL) != 0) {
            free(s->buckets);
            s->buckets = NULL;
            shard_map_free(m);
            return certa_error_set(CERTA_ENOMEM, "out of memory for a lookup table");
        }
    }
    *out = m;
    return 0;
}

void shard_map_free(struct shard_map *m)
{
    if (m == NULL)
        return;
    for (unsigned i = 0; i < m->nshards; i++) {
        struct shard *s = &m->shards[i];
        if (s->buckets == NULL)
            continue;
        for (struct shard_map_node *e = s->oldest, *n; e != NULL; e = n) {
            n = e->newer;
            m->free_fn(e);
        }
        free(s->buckets);
        pthread_rwlock_destroy(&s->lock);
    }
    free(m);
}

static struct shard *shard_of(struct shard_map *m, uint64_t h)
{
    return &m->shards[h & (m->nshards - 1)];
}

static struct shard_map_node **bucket_of(const struct shard_map *m, struct shard *s, uint64_t h)
{
    return &s->buckets[(h >> m->bits) & (s->nbuckets - 1)];
}

static struct shard_map_node *find(const struct shard_map *m, struct shard *s, uint64_t h,
                                   const unsigned char *key, size_t klen)
{
    for (struct shard_map_node *e = *bucket_of(m, s, h); e != NULL; e = e->next)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

/* Unlinks e from its chain and the order list (write lock held). */
static void unlink_node(const struct shard_map *m, struct shard *s, struct shard_map_node *e)
{
    for (struct shard_map_node **pp = bucket_of(m, s, e->hash); *pp != NULL; pp = &(*pp)->next) {
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

int shard_map_get(struct shard_map *m, uint64_t hash, const unsigned char *key, size_t klen,
                  uint64_t *gen, shard_map_visit_fn fn, void *arg)
{
    struct shard *s = shard_of(m, hash);
    int rc = 0;
    pthread_rwlock_rdlock(&s->lock);
    if (gen != NULL)
        *gen = s->gen;
    struct shard_map_node *e = find(m, s, hash, key, klen);
    if (e != NULL)
        rc = fn(e, arg);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

uint64_t shard_map_gen(struct shard_map *m, uint64_t hash)
{
    struct shard *s = shard_of(m, hash);
    pthread_rwlock_rdlock(&s->lock);
    uint64_t g = s->gen;
    pthread_rwlock_unlock(&s->lock);
    return g;
}

int shard_map_put(struct shard_map *m, struct shard_map_node *n, int replace,
                  const uint64_t *gen)
{
    struct shard *s = shard_of(m, n->hash);
    struct shard_map_node *old = NULL, *evicted = NULL;
    pthread_rwlock_wrlock(&s->lock);
    if (gen != NULL && s->gen != *gen)
        goto drop;
    if ((old = find(m, s, n->hash, n->key, n->klen)) != NULL) {
        if (!replace) {
            old = NULL;    /* another writer was first */
            goto drop;
        }
        unlink_node(m, s, old);
    } else if (s->count >= s->max && (evicted = s->oldest) != NULL) {
        unlink_node(m, s, evicted);
    }
    struct shard_map_node **b = bucket_of(m, s, n->hash);
    n->next = *b;
    *b = n;
    n->older = s->newest;
    n->newer = NULL;
    if (s->newest)
        s->newest->newer = n;
    else
        s->oldest = n;
    s->newest = n;
    s->count++;
    pthread_rwlock_unlock(&s->lock);
    if (old != NULL)
        m->free_fn(old);
    if (evicted != NULL)
        m->free_fn(evicted);
    return 1;
drop:
    pthread_rwlock_unlock(&s->lock);
    m->free_fn(n);
    return 0;
}

void shard_map_remove(struct shard_map *m, uint64_t hash, const unsigned char *key, size_t klen)
{
    struct shard *s = shard_of(m, hash);
    pthread_rwlock_wrlock(&s->lock);
    struct shard_map_node *e = find(m, s, hash, key, klen);
    if (e != NULL)
        unlink_node(m, s, e);
    pthread_rwlock_unlock(&s->lock);
    if (e != NULL)
        m->free_fn(e);
}

void shard_map_bump(struct shard_map *m, uint64_t hash, shard_map_visit_fn fn, void *arg)
{
    struct shard *s = shard_of(m, hash);
    pthread_rwlock_wrlock(&s->lock);
    s->gen++;
    for (struct shard_map_node *e = *bucket_of(m, s, hash); e != NULL; e = e->next)
        if (fn(e, arg))
            break;
    pthread_rwlock_unlock(&s->lock);
}

void shard_map_walk(struct shard_map *m, int bump, shard_map_visit_fn fn, void *arg)
{
    int stop = 0;
    for (unsigned i = 0; i < m->nshards && !stop; i++) {
        struct shard *s = &m->shards[i];
        if (bump) {
            pthread_rwlock_wrlock(&s->lock);
            s->gen++;
        } else {
            pthread_rwlock_rdlock(&s->lock);
        }
        for (struct shard_map_node *e = s->oldest; e != NULL && !stop; e = e->newer)
            stop = fn(e, arg);
        pthread_rwlock_unlock(&s->lock);
    }
}

size_t shard_map_count(struct shard_map *m)
{
    size_t n = 0;
    for (unsigned i = 0; i < m->nshards; i++) {
        pthread_rwlock_rdlock(&m->shards[i].lock);
        n += m->shards[i].count;
        pthread_rwlock_unlock(&m->shards[i].lock);
    }
    return n;
}
