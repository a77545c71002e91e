/* A memo of request bytes -> CertID for the OCSP hot path: the same request
 * DER always decodes to the same checked, nonce-less single CertID, so a
 * repeated request skips decoding and goes straight to the response cache.
 * Holds only facts about bytes (nothing to invalidate on revocation);
 * bounded, oldest out, sharded rwlocks. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "ocsp_internal.h"

#define SHARDS 32

struct memo {
    struct memo *next, *newer;
    uint64_t hash;
    size_t rlen, klen, slen;
    unsigned char serial[OCSP_SERIAL_MAX];
    unsigned char bytes[];         /* request, then CertID */
};

struct mshard {
    pthread_rwlock_t lock;
    struct memo **buckets;
    size_t nbuckets, count, max;
    struct memo *oldest, *newest;
    char pad[64];
};

struct ocsp_memo {
    struct mshard shards[SHARDS];
    uint64_t seed;
};

static uint64_t hash_bytes(uint64_t seed, const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 31);
}

int ocsp_memo_new(size_t max_entries, struct ocsp_memo **out)
{
    struct ocsp_memo *m = calloc(1, sizeof(*m));
    size_t per = max_entries / SHARDS + 1, nb = 16;
    if (m == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    while (nb < per)
        nb <<= 1;
    if (RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1)
        m->seed = (uint64_t)(uintptr_t)m;
    for (int i = 0; i < SHARDS; i++) {
        struct mshard *s = &m->shards[i];
        s->max = per;
        s->nbuckets = nb;
        if ((s->buckets = calloc(nb, sizeof(*s->buckets))) == NULL ||
            pthread_rwlock_init(&s->lock, NULL) != 0) {
            free(s->buckets);
            s->buckets = NULL;
            ocsp_memo_free(m);
            return certa_error_set(CERTA_ENOMEM, "out of memory for the OCSP memo");
        }
    }
    *out = m;
    return 0;
}

void ocsp_memo_free(struct ocsp_memo *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < SHARDS; i++) {
        struct mshard *s = &m->shards[i];
        if (s->buckets == NULL)
            continue;
        for (struct memo *e = s->oldest, *n; e != NULL; e = n) {
            n = e->newer;
            free(e);
        }
        free(s->buckets);
        pthread_rwlock_destroy(&s->lock);
    }
    free(m);
}

static struct memo **bucket(struct mshard *s, uint64_t h)
{
    return &s->buckets[(h / SHARDS) & (s->nbuckets - 1)];
}

int ocsp_memo_get(struct ocsp_memo *m, const unsigned char *req, size_t rlen,
                  unsigned char key[OCSP_CERTID_MAX], size_t *klen,
                  unsigned char serial[OCSP_SERIAL_MAX], size_t *slen)
{
    if (rlen > OCSP_MEMO_REQ_MAX)
        return 0;
    uint64_t h = hash_bytes(m->seed, req, rlen);
    struct mshard *s = &m->shards[h % SHARDS];
    int hit = 0;
    pthread_rwlock_rdlock(&s->lock);
    for (struct memo *e = *bucket(s, h); e != NULL; e = e->next) {
        if (e->hash == h && e->rlen == rlen && memcmp(e->bytes, req, rlen) == 0) {
            memcpy(key, e->bytes + rlen, e->klen);
            *klen = e->klen;
            memcpy(serial, e->serial, e->slen);
            *slen = e->slen;
            hit = 1;
            break;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return hit;
}

void ocsp_memo_put(struct ocsp_memo *m, const unsigned char *req, size_t rlen,
                   const unsigned char *key, size_t klen, const unsigned char *serial, size_t slen)
{
    if (rlen > OCSP_MEMO_REQ_MAX || klen > OCSP_CERTID_MAX || slen > OCSP_SERIAL_MAX)
        return;
    uint64_t h = hash_bytes(m->seed, req, rlen);
    struct mshard *s = &m->shards[h % SHARDS];
    struct memo *n = malloc(sizeof(*n) + rlen + klen), *evicted = NULL;
    if (n == NULL)
        return;   /* a memo is an optimisation only */
    memset(n, 0, sizeof(*n));
    n->hash = h;
    n->rlen = rlen;
    n->klen = klen;
    n->slen = slen;
    memcpy(n->serial, serial, slen);
    memcpy(n->bytes, req, rlen);
    memcpy(n->bytes + rlen, key, klen);
    pthread_rwlock_wrlock(&s->lock);
    for (struct memo *e = *bucket(s, h); e != NULL; e = e->next) {
        if (e->hash == h && e->rlen == rlen && memcmp(e->bytes, req, rlen) == 0) {
            pthread_rwlock_unlock(&s->lock);   /* another worker was first */
            free(n);
            return;
        }
    }
    if (s->count >= s->max && (evicted = s->oldest) != NULL) {
        for (struct memo **pp = bucket(s, evicted->hash); *pp != NULL; pp = &(*pp)->next) {
            if (*pp == evicted) {
                *pp = evicted->next;
                break;
            }
        }
        s->oldest = evicted->newer;
        if (s->oldest == NULL)
            s->newest = NULL;
        s->count--;
    }
    struct memo **b = bucket(s, h);
    n->next = *b;
    *b = n;
    if (s->newest)
        s->newest->newer = n;
    else
        s->oldest = n;
    s->newest = n;
    s->count++;
    pthread_rwlock_unlock(&s->lock);
    free(evicted);
}
