/* The CPU time OCSP may spend signing on demand: a token bucket of
 * nanoseconds, refilled at sign_budget_ms per second and holding at most
 * one second's worth. Answers that sign on demand are the ones an outsider
 * can ask for without end: serials this CA never issued, nonces, several
 * CertIDs. Pre-signed answers for its own serials do not draw on it, so a
 * flood of those requests cannot starve the cache's refreshes, and it never
 * touches the cached hot path. Each signature is charged what it cost the
 * signing thread (CPU time, not wall time, so preemption is not billed). */
#include <time.h>
#include "ocsp_internal.h"

#define NS 1000000000LL

static int64_t now_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * NS + t.tv_nsec;
}

void ocsp_budget_init(struct ocsp_budget *b, long ms_per_second)
{
    pthread_mutex_init(&b->lock, NULL);
    b->cap_ns = (int64_t)ms_per_second * 1000000LL;
    b->tokens_ns = b->cap_ns;
    b->last_ns = now_ns(CLOCK_MONOTONIC);
}

void ocsp_budget_clear(struct ocsp_budget *b)
{
    pthread_mutex_destroy(&b->lock);
}

int ocsp_budget_take(struct ocsp_budget *b, int64_t *started)
{
    int64_t now = now_ns(CLOCK_MONOTONIC);
    pthread_mutex_lock(&b->lock);
    int64_t elapsed = now - b->last_ns;
    b->last_ns = now;
    /* cap per second: elapsed * cap / 1 s, without overflow for long pauses */
    if (elapsed >= NS || b->cap_ns == 0)
        b->tokens_ns = b->cap_ns;
    else if (elapsed > 0)
        b->tokens_ns += elapsed / 1000 * (b->cap_ns / 1000000);
    if (b->tokens_ns > b->cap_ns)
        b->tokens_ns = b->cap_ns;
    int ok = b->tokens_ns > 0;
    pthread_mutex_unlock(&b->lock);
    *started = now_ns(CLOCK_THREAD_CPUTIME_ID);
    return ok;
}

void ocsp_budget_spend(struct ocsp_budget *b, int64_t started)
{
    int64_t cost = now_ns(CLOCK_THREAD_CPUTIME_ID) - started;
    pthread_mutex_lock(&b->lock);
    b->tokens_ns -= cost > 0 ? cost : 0;
    pthread_mutex_unlock(&b->lock);
}
