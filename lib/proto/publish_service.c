/* certa_service_publish: the CA's current full and delta CRL at
 * /crl/NAME.crl and /crl/NAME-delta.crl and its certificate at /ca/NAME.crt
 * (the URLs profiles put in CDP and AIA), with ETag/Last-Modified and 304s.
 * CRLs are signed by tick(): on a schedule before nextUpdate, and within a
 * tick of any revocation, by this process (revoked()) or another one (the
 * store's revocation sequence). Requests only copy bytes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "certa/log.h"
#include "certa/service.h"
#include "publish_http.h"

#define RETRY_SECONDS 30

struct doc {
    certa_buf der;
    char etag[48];
    int64_t modified, expires;     /* Last-Modified; nextUpdate (0: none) */
    int64_t number;                /* CRL number, for the log */
    int ok;
};

struct publish_state {
    char crl_path[300], delta_path[300], crt_path[300];
    struct doc cert;               /* immutable after start() */
    pthread_rwlock_t lock;         /* full and delta */
    struct doc full, delta;
    pthread_mutex_t tick_lock;     /* tick() state below */
    int64_t last_seq, retry_at, full_life, delta_life;
    long max_age;
    atomic_int dirty;              /* revoked() was called */
};

static const char *const paths[] = { "/crl/", "/ca/", NULL };

static int64_t wall_clock(void)
{
    return (int64_t)time(NULL);
}
int64_t (*publish_clock)(void) = wall_clock;

static const char *setting(const struct certa_service_env *env, const char *section, const char *key)
{
    if (env->setting != NULL)
        return env->setting(env->setting_arg, section, key);
    return certa_ca_setting(env->ca, section, key);
}

static int64_t hours(const char *v, long def)
{
    char *end;
    long h = v && *v ? strtol(v, &end, 10) : def;
    if (v && *v && (*end != '\0' || h < 1))
        h = def;   /* certa_ca_crl refuses it with a proper message */
    return (int64_t)h * 3600;
}

static void doc_clear(struct doc *d)
{
    certa_buf_free(&d->der);
    memset(d, 0, sizeof(*d));
}

static void state_free(struct publish_state *st)
{
    if (st == NULL)
        return;
    doc_clear(&st->cert);
    doc_clear(&st->full);
    doc_clear(&st->delta);
    pthread_rwlock_destroy(&st->lock);
    pthread_mutex_destroy(&st->tick_lock);
    free(st);
}

static int64_t margin_of(int64_t life)
{
    int64_t m = life / 4;
    return m > 3600 ? 3600 : m;
}

/* Signs a new full (when full) and delta CRL and swaps them in. */
static int regenerate(struct publish_state *st, certa_ca *ca, int full)
{
    struct doc f = { 0 }, d = { 0 };
    int64_t t0 = publish_clock();
    char num[32];
    int rc;
    if (full) {
        if ((rc = certa_ca_crl(ca, 0, &f.der)) < 0)
            goto out;
        if (certa_store_meta_get(certa_ca_store(ca), "crl.base_number", num, sizeof(num)) == 0)
            f.number = strtoll(num, NULL, 10);
    }
    if ((rc = certa_ca_crl(ca, 1, &d.der)) < 0)
        goto out;
    certa_store_counter_get(certa_ca_store(ca), "crl", &d.number);
    /* The CRLs' thisUpdate lies in [t0, t1]: Last-Modified never claims an
     * older version, and the expiry never outlasts nextUpdate. */
    int64_t t1 = publish_clock();
    f.modified = d.modified = t1;
    f.expires = t0 + st->full_life;
    d.expires = t0 + st->delta_life;
    if ((full && (rc = publish_etag(f.der.data, f.der.len, f.etag, sizeof(f.etag))) < 0) ||
        (rc = publish_etag(d.der.data, d.der.len, d.etag, sizeof(d.etag))) < 0)
        goto out;
    f.ok = full;
    d.ok = 1;
    pthread_rwlock_wrlock(&st->lock);
    if (full) {
        struct doc old = st->full;
        st->full = f;
        f = old;
    }
    struct doc old = st->delta;
    st->delta = d;
    d = old;
    pthread_rwlock_unlock(&st->lock);
out:
    doc_clear(&f);
    doc_clear(&d);
    return rc;
}

static int start(const struct certa_service_env *env, void **state)
{
    struct publish_state *st = calloc(1, sizeof(*st));
    certa_ca *ca = env->ca;
    const char *name = certa_ca_name(ca);
    unsigned char *der = NULL;
    int rc, len;
    if (st == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    pthread_rwlock_init(&st->lock, NULL);
    pthread_mutex_init(&st->tick_lock, NULL);
    snprintf(st->crl_path, sizeof(st->crl_path), "/crl/%s.crl", name);
    snprintf(st->delta_path, sizeof(st->delta_path), "/crl/%s-delta.crl", name);
    snprintf(st->crt_path, sizeof(st->crt_path), "/ca/%s.crt", name);
    st->full_life = hours(setting(env, "crl", "next_update_hours"), 168);
    st->delta_life = hours(setting(env, "crl", "delta_next_update_hours"), 24);
    const char *ma = setting(env, "publish", "max_age_seconds");
    char *end;
    st->max_age = ma && *ma ? strtol(ma, &end, 10) : 60;
    if (ma && *ma && (*end != '\0' || st->max_age < 0 || st->max_age > 86400 * 7)) {
        rc = certa_error_set(CERTA_EINVAL, "[publish] max_age_seconds = '%s' is not a number of "
                             "seconds in 0..604800", ma);
        goto fail;
    }
    if ((len = i2d_X509(certa_ca_cert(ca), &der)) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "encoding the CA certificate");
        goto fail;
    }
    struct tm tm;
    if ((rc = certa_buf_append(&st->cert.der, der, (size_t)len)) < 0 ||
        (rc = publish_etag(der, (size_t)len, st->cert.etag, sizeof(st->cert.etag))) < 0)
        goto fail;
    if (ASN1_TIME_to_tm(X509_get0_notBefore(certa_ca_cert(ca)), &tm))
        st->cert.modified = (int64_t)timegm(&tm);
    st->cert.ok = 1;
    if (certa_store_counter_get(certa_ca_store(ca), "revocation", &st->last_seq) < 0)
        st->last_seq = -1;
    if ((rc = regenerate(st, ca, 1)) < 0)
        goto fail;
    OPENSSL_free(der);
    *state = st;
    return 0;
fail:
    OPENSSL_free(der);
    state_free(st);
    return rc;
}

static void stop(void *state)
{
    state_free(state);
}

static int serve(const struct certa_http_request *req, const struct doc *d, const char *type,
                 long max_age, struct certa_http_response *res)
{
    int64_t now = publish_clock();
    int64_t expires = now + max_age;
    if (d->expires > 0 && d->expires < expires)
        expires = d->expires > now ? d->expires : now;
    snprintf(res->etag, sizeof(res->etag), "%s", d->etag);
    snprintf(res->cache_control, sizeof(res->cache_control), "public, no-transform, max-age=%lld",
             (long long)(expires - now));
    res->last_modified = d->modified;
    res->expires = expires;
    if (publish_not_modified(req, d->etag, d->modified)) {
        res->status = 304;
        res->content_type[0] = '\0';
        res->body.len = 0;
        return 0;
    }
    return certa_http_respond(res, 200, type, d->der.data, d->der.len);
}

static int handle(void *state, certa_ca *ca, const struct certa_http_request *req,
                  struct certa_http_response *res)
{
    struct publish_state *st = state;
    (void)ca;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        snprintf(res->log_detail, sizeof(res->log_detail), "publish method not allowed");
        return certa_http_respond_error(res, 405, "only GET and HEAD here");
    }
    if (strcmp(req->path, st->crt_path) == 0) {
        snprintf(res->log_detail, sizeof(res->log_detail), "ca certificate%s",
                 publish_not_modified(req, st->cert.etag, st->cert.modified) ? " not-modified" : "");
        return serve(req, &st->cert, "application/pkix-cert", 86400, res);
    }
    int full = strcmp(req->path, st->crl_path) == 0;
    if (!full && strcmp(req->path, st->delta_path) != 0) {
        snprintf(res->log_detail, sizeof(res->log_detail), "publish no such document");
        return certa_http_respond_error(res, 404, "no such CRL or certificate here");
    }
    pthread_rwlock_rdlock(&st->lock);
    const struct doc *d = full ? &st->full : &st->delta;
    int rc;
    if (!d->ok) {
        rc = certa_http_respond_error(res, 503, "the CRL is being generated; retry shortly");
    } else {
        snprintf(res->log_detail, sizeof(res->log_detail), "%s crl number=%lld%s",
                 full ? "full" : "delta", (long long)d->number,
                 publish_not_modified(req, d->etag, d->modified) ? " not-modified" : "");
        rc = serve(req, d, "application/pkix-crl", st->max_age, res);
    }
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

static void revoked(void *state, const char *serial)
{
    struct publish_state *st = state;
    (void)serial;
    if (st != NULL)
        atomic_store(&st->dirty, 1);
}

static void tick(void *state, certa_ca *ca)
{
    struct publish_state *st = state;
    if (st == NULL || pthread_mutex_trylock(&st->tick_lock) != 0)
        return;
    int64_t now = publish_clock(), seq = st->last_seq;
    if (now < st->retry_at)
        goto out;
    pthread_rwlock_rdlock(&st->lock);
    int64_t full_exp = st->full.expires, delta_exp = st->delta.expires;
    pthread_rwlock_unlock(&st->lock);
    /* Revocations by another process show in the revocation sequence. */
    int changed = atomic_exchange(&st->dirty, 0);
    if (certa_store_counter_get(certa_ca_store(ca), "revocation", &seq) == 0 && seq != st->last_seq)
        changed = 1;
    int full = changed || now >= full_exp - margin_of(st->full_life);
    int delta = full || now >= delta_exp - margin_of(st->delta_life);
    if (!delta)
        goto out;
    if (regenerate(st, ca, full) < 0) {
        certa_log(CERTA_LOG_WARN, "publish: CRL generation failed, retrying in %d s: %s",
                  RETRY_SECONDS, certa_error_last());
        st->retry_at = now + RETRY_SECONDS;
        if (changed)
            atomic_store(&st->dirty, 1);
        goto out;
    }
    st->last_seq = seq;
out:
    pthread_mutex_unlock(&st->tick_lock);
}

CERTA_API const struct certa_service certa_service_publish = {
    .name = "publish",
    .paths = paths,
    .start = start,
    .handle = handle,
    .tick = tick,
    .revoked = revoked,
    .stop = stop,
};
