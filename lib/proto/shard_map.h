/* A bounded hash map split into rwlock-protected shards, for the lookup
 * tables of the protocol hot paths (the OCSP response cache and request
 * memo). Entries embed a struct shard_map_node as their first member, so a
 * lookup takes one read lock and no allocation; the map owns the entries
 * once put and frees them (evicted oldest first, replaced, or at the end)
 * with the owner's callback, outside the lock. The hash is seeded per map
 * so clients cannot aim requests at one chain. Not a public header. */
#ifndef CERTA_SHARD_MAP_H
#define CERTA_SHARD_MAP_H

#include <stddef.h>
#include <stdint.h>

struct shard_map;

struct shard_map_node {
    struct shard_map_node *next;           /* hash chain */
    struct shard_map_node *older, *newer;  /* insertion order, for eviction */
    uint64_t hash;                         /* chooses shard and bucket */
    const unsigned char *key;              /* the owner's bytes, compared whole */
    size_t klen;
};

typedef void (*shard_map_free_fn)(struct shard_map_node *n);
/* Called under the shard's lock: returns nonzero to stop a walk or, for
 * shard_map_get, the result to return. */
typedef int (*shard_map_visit_fn)(struct shard_map_node *n, void *arg);

/* shards must be a power of two; max_entries is shared out evenly between
 * them (each shard holds max_entries / shards + 1). */
int shard_map_new(unsigned shards, size_t max_entries, shard_map_free_fn free_fn,
                  struct shard_map **out);
void shard_map_free(struct shard_map *m);

/* The map's seeded hash of some bytes. An owner may hash other bytes than
 * the key (the OCSP cache hashes the serial) to keep related keys in one
 * shard and one bucket. */
uint64_t shard_map_hash(const struct shard_map *m, const unsigned char *s, size_t n);

/* Looks up key under the read lock of hash's shard; on a hit returns
 * fn(node, arg) (fn copies what it needs out), else 0. When gen is not
 * NULL it is set to the shard's generation, read under the same lock. */
int shard_map_get(struct shard_map *m, uint64_t hash, const unsigned char *key, size_t klen,
                  uint64_t *gen, shard_map_visit_fn fn, void *arg);
uint64_t shard_map_gen(struct shard_map *m, uint64_t hash);

/* Takes n (hash, key and klen set). An entry with the same key is replaced
 * when replace is nonzero, else n is dropped; when gen is not NULL and the
 * shard's generation moved past *gen, n is dropped too. The oldest entry
 * makes room when the shard is full. 1 when n was stored, 0 when dropped
 * (and freed). */
int shard_map_put(struct shard_map *m, struct shard_map_node *n, int replace,
                  const uint64_t *gen);
/* Unlinks and frees the entry with this key, if any. */
void shard_map_remove(struct shard_map *m, uint64_t hash, const unsigned char *key, size_t klen);

/* Bumps the generation of hash's shard and calls fn on each entry of
 * hash's bucket (every entry with this hash is there), write lock held. */
void shard_map_bump(struct shard_map *m, uint64_t hash, shard_map_visit_fn fn, void *arg);
/* Calls fn on every entry, shard by shard, oldest first, until fn returns
 * nonzero. With bump set each shard's generation moves on and the write
 * lock is held (fn may change the entry's own fields), else the read lock. */
void shard_map_walk(struct shard_map *m, int bump, shard_map_visit_fn fn, void *arg);
size_t shard_map_count(struct shard_map *m);

#endif
