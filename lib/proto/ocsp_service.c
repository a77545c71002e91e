/* certa_service_ocsp: the OCSP responder at /ocsp (POST) and /ocsp/BASE64
 * (GET, RFC 5019). Nonce-less single requests are answered from the cache of
 * pre-signed responses (no signing, no SQL); tick() re-signs them before
 * nextUpdate and after revocations made by any process. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "certa/log.h"
#include "ocsp_internal.h"
#include "publish_http.h"

#define REFRESH_PER_TICK 256
#define TICK_BUDGET_NS (100 * 1000000L)
#define CERTIDS_HARD_MAX 256

struct ocsp_state {
    struct ocsp_issuer issuer;
    struct ocsp_signer ca_signer, delegated;
    int have_ca_signer, have_delegated;
    struct ocsp_cache *cache;
    struct ocsp_memo *memo;
    int64_t life, margin;          /* seconds */
    int max_ids;
    certa_buf err_malformed, err_unauthorized, err_internal, err_try_later;
    struct ocsp_budget budget;     /* on-demand signing, all workers together */
    int have_budget;
    pthread_mutex_t tick_lock;     /* tick() state below */
    int64_t last_seq;
    unsigned char (*due_keys)[OCSP_CERTID_MAX];
    size_t due_lens[REFRESH_PER_TICK];
};

static const char *const paths[] = { "/ocsp", "/ocsp/", NULL };

static int64_t wall_clock(void)
{
    return (int64_t)time(NULL);
}
int64_t (*ocsp_clock)(void) = wall_clock;

static const char *setting(const struct certa_service_env *env, const char *key)
{
    if (env->setting != NULL)
        return env->setting(env->setting_arg, "ocsp", key);
    return env->ca ? certa_ca_setting(env->ca, "ocsp", key) : NULL;
}

static int setting_long(const struct certa_service_env *env, const char *key, long def,
                        long lo, long hi, long *out)
{
    const char *v = setting(env, key);
    char *end;
    *out = def;
    if (v == NULL || *v == '\0')
        return 0;
    long n = strtol(v, &end, 10);
    if (*end != '\0' || n < lo || n > hi)
        return certa_error_set(CERTA_EINVAL, "[ocsp] %s = '%s' is not a number in %ld..%ld",
                               key, v, lo, hi);
    *out = n;
    return 0;
}

static void state_free(struct ocsp_state *st)
{
    if (st == NULL)
        return;
    ocsp_cache_free(st->cache);
    ocsp_memo_free(st->memo);
    ocsp_signer_clear(&st->ca_signer);
    ocsp_signer_clear(&st->delegated);
    certa_buf_free(&st->err_malformed);
    certa_buf_free(&st->err_unauthorized);
    certa_buf_free(&st->err_internal);
    certa_buf_free(&st->err_try_later);
    if (st->have_budget)
        ocsp_budget_clear(&st->budget);
    free(st->due_keys);
    pthread_mutex_destroy(&st->tick_lock);
    free(st);
}

static int load_signers(const struct certa_service_env *env, struct ocsp_state *st)
{
    certa_ca *ca = env->ca;
    const char *mode = setting(env, "signer");
    if (mode == NULL || *mode == '\0')
        mode = "auto";
    if (strcmp(mode, "auto") && strcmp(mode, "ca") && strcmp(mode, "delegated"))
        return certa_error_set(CERTA_EINVAL, "[ocsp] signer = '%s' is not auto, ca or delegated",
                               mode);
    if (strcmp(mode, "ca") != 0) {
        int rc = ocsp_signer_delegated(certa_ca_dir(ca), certa_ca_cert(ca), &st->delegated);
        if (rc == 0) {
            st->have_delegated = 1;
        } else if (rc != CERTA_ENOTFOUND || !strcmp(mode, "delegated")) {
            if (!strcmp(mode, "delegated"))
                return rc;
            certa_log(CERTA_LOG_WARN, "ocsp: not using the delegated signer: %s; the CA signs",
                      certa_error_last());
        }
        certa_error_clear();
    }
    if (certa_ca_key(ca) != NULL) {
        int rc = ocsp_signer_ca(certa_ca_cert(ca), certa_ca_key(ca), &st->ca_signer);
        if (rc < 0)
            return rc;
        st->have_ca_signer = 1;
    }
    if (!st->have_ca_signer && !st->have_delegated)
        return certa_error_set(CERTA_ESTATE, "OCSP needs the CA key or a delegated signer "
                               "(certa ca ocsp-signer --dir %s)", certa_ca_dir(ca));
    return 0;
}

static int start(const struct certa_service_env *env, void **state)
{
    struct ocsp_state *st = calloc(1, sizeof(*st));
    long minutes, margin, entries, ids, budget_ms;
    int rc;
    if (st == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    pthread_mutex_init(&st->tick_lock, NULL);
    if ((rc = setting_long(env, "next_update_minutes", 60, 5, 7 * 24 * 60, &minutes)) < 0 ||
        (rc = setting_long(env, "refresh_margin_minutes", minutes / 4, 1, minutes - 1, &margin)) < 0 ||
        (rc = setting_long(env, "cache_entries", 65536, 64, 1L << 22, &entries)) < 0 ||
        (rc = setting_long(env, "max_certids", 16, 1, CERTIDS_HARD_MAX, &ids)) < 0 ||
        (rc = setting_long(env, "sign_budget_ms", 500, 0, 1000L * 1024 /* 1024 CPUs */, &budget_ms)) < 0)
        goto fail;
    ocsp_budget_init(&st->budget, budget_ms);
    st->have_budget = 1;
    st->life = minutes * 60;
    st->margin = margin * 60;
    st->max_ids = (int)ids;
    if ((rc = ocsp_issuer_init(certa_ca_cert(env->ca), &st->issuer)) < 0 ||
        (rc = load_signers(env, st)) < 0 ||
        (rc = ocsp_cache_new((size_t)entries, &st->cache)) < 0 ||
        (rc = ocsp_memo_new(entries < 16384 ? (size_t)entries : 16384, &st->memo)) < 0 ||
        (rc = ocsp_error_der(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, &st->err_malformed)) < 0 ||
        (rc = ocsp_error_der(OCSP_RESPONSE_STATUS_UNAUTHORIZED, &st->err_unauthorized)) < 0 ||
        (rc = ocsp_error_der(OCSP_RESPONSE_STATUS_INTERNALERROR, &st->err_internal)) < 0 ||
        (rc = ocsp_error_der(OCSP_RESPONSE_STATUS_TRYLATER, &st->err_try_later)) < 0)
        goto fail;
    if ((st->due_keys = calloc(REFRESH_PER_TICK, sizeof(*st->due_keys))) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto fail;
    }
    if (certa_store_counter_get(certa_ca_store(env->ca), "revocation", &st->last_seq) < 0)
        st->last_seq = -1;   /* the first tick then drops the whole cache: safe */
    certa_log(CERTA_LOG_INFO, "ocsp: signed by %s, nextUpdate %ld min, refresh %ld min before",
              st->have_delegated ? "the delegated signer" : "the CA", minutes, margin);
    *state = st;
    return 0;
fail:
    state_free(st);
    return rc;
}

static void stop(void *state)
{
    state_free(state);
}

static const struct ocsp_signer *signer_now(const struct ocsp_state *st, int64_t now)
{
    /* An expiring delegated signer hands over to the CA rather than sign
     * responses that outlive it. */
    if (st->have_delegated && (now + 300 < st->delegated.not_after || !st->have_ca_signer))
        return &st->delegated;
    return &st->ca_signer;
}

static const char *state_name(int state)
{
    return state == CERTA_STATE_GOOD ? "good" : state == CERTA_STATE_REVOKED ? "revoked" : "unknown";
}

static void serial_text(const unsigned char *s, size_t n, char *out)
{
    if (n == 0) {
        strcpy(out, "-");
        return;
    }
    certa_hex_encode(s, n > 20 ? 20 : n, out);
}

/* Everything about an answer that does not change until it is re-signed is
 * worked out here once, so serving it from the cache formats nothing but
 * the max-age. */
static void fill_meta(const struct ocsp_state *st, int64_t now, int64_t next, int state,
                      const unsigned char *serial, size_t slen, const certa_buf *der,
                      struct ocsp_meta *m)
{
    int64_t margin = st->margin < next - now ? st->margin : (next - now) / 2;
    char stext[2 * 20 + 1];
    m->this_update = now;
    m->next_update = next;
    m->refresh_at = next - margin;
    m->stale_at = next - margin / 2;
    m->state = state;
    if (publish_etag(der->data, der->len, m->etag, sizeof(m->etag)) < 0)
        m->etag[0] = '\0';
    serial_text(serial, slen, stext);
    snprintf(m->detail, sizeof(m->detail), "ocsp %s serial=%s", state_name(state), stext);
}

/* Appends s at *pos in buf (cap bytes, NUL kept in bounds). */
static void put_str(char *buf, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - 1 - *pos)
        n = cap - 1 - *pos;
    memcpy(buf + *pos, s, n);
    *pos += n;
    buf[*pos] = '\0';
}

static void put_num(char *buf, size_t cap, size_t *pos, uint64_t v)
{
    char digits[CERTA_U64_DECIMAL_MAX];
    certa_u64_decimal(v, digits);
    put_str(buf, cap, pos, digits);
}

/* RFC 5019 section 6.2: max-age until nextUpdate, the validators, and the
 * response's own times for Last-Modified and Expires. Formatted by hand:
 * this runs for every cached answer. */
static void cache_headers(struct certa_http_response *res, const struct ocsp_meta *m, int64_t now)
{
    int64_t age = m->next_update - now;
    size_t n = 0;
    memcpy(res->etag, m->etag, sizeof(m->etag));
    put_str(res->cache_control, sizeof(res->cache_control), &n, "max-age=");
    put_num(res->cache_control, sizeof(res->cache_control), &n, (uint64_t)(age > 0 ? age : 0));
    put_str(res->cache_control, sizeof(res->cache_control), &n,
            ", public, no-transform, must-revalidate");
    res->last_modified = m->this_update;
    res->expires = m->next_update;
}

static int respond_der(struct certa_http_response *res, const certa_buf *der)
{
    return certa_http_respond(res, 200, "application/ocsp-response", der->data, der->len);
}

/* Signs a fresh answer (the cache missed, or the request has a nonce or
 * several CertIDs), caching it when it is a nonce-less single answer. */
static int answer_signed(struct ocsp_state *st, certa_ca *ca, const struct certa_http_request *req,
                         struct ocsp_parsed *p, const unsigned char *key, size_t klen,
                         struct certa_http_response *res)
{
    struct ocsp_answer ans[CERTIDS_HARD_MAX];
    unsigned char serial[OCSP_SERIAL_MAX], first[OCSP_SERIAL_MAX];
    size_t slen = 0, first_len = 0;
    int64_t now = ocsp_clock();
    uint64_t gen = 0;
    certa_buf der = { 0 };
    int cacheable = !p->has_nonce && p->count == 1 && klen > 0, unknown = 0, rc;
    char stext[2 * 20 + 1];
    for (int i = 0; i < p->count; i++) {
        ans[i].id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(p->req, i));
        slen = ocsp_certid_serial(ans[i].id, serial);
        if (i == 0) {
            memcpy(first, serial, slen);
            first_len = slen;
            if (cacheable && slen > 0)
                gen = ocsp_cache_gen(st->cache, serial, slen);
        }
        if (slen == 0) {
            memset(&ans[i].st, 0, sizeof(ans[i].st));
            ans[i].st.state = CERTA_STATE_UNKNOWN;
        } else if ((rc = certa_ca_status(ca, serial, slen, &ans[i].st)) < 0) {
            certa_log(CERTA_LOG_ERROR, "ocsp: status lookup failed: %s", certa_error_last());
            snprintf(res->log_detail, sizeof(res->log_detail), "ocsp internalError (store)");
            return respond_der(res, &st->err_internal);
        }
        unknown |= ans[i].st.state == CERTA_STATE_UNKNOWN;
    }
    /* Answers anyone can ask for without end (an unknown serial, a nonce,
     * several CertIDs) draw on the signing budget; past it, tryLater. */
    int on_demand = p->has_nonce || unknown || p->count > 1;
    int64_t started = 0;
    if (on_demand && !ocsp_budget_take(&st->budget, &started)) {
        snprintf(res->log_detail, sizeof(res->log_detail),
                 "ocsp tryLater (on-demand signing over [ocsp] sign_budget_ms)");
        return respond_der(res, &st->err_try_later);
    }
    const struct ocsp_signer *s = signer_now(st, now);
    int64_t next = now + st->life;
    if (next > s->not_after)
        next = s->not_after;
    rc = ocsp_sign(s, ans, (size_t)p->count, p->has_nonce ? p->req : NULL, now, next, &der);
    if (on_demand)
        ocsp_budget_spend(&st->budget, started);
    if (rc < 0) {
        certa_log(CERTA_LOG_ERROR, "ocsp: %s", certa_error_last());
        snprintf(res->log_detail, sizeof(res->log_detail), "ocsp internalError (signing)");
        certa_buf_free(&der);
        return respond_der(res, &st->err_internal);
    }
    serial_text(first, first_len, stext);
    if (p->has_nonce || unknown) {
        snprintf(res->cache_control, sizeof(res->cache_control), "no-cache");
    } else {
        struct ocsp_meta m;
        fill_meta(st, now, next, ans[0].st.state, first, first_len, &der, &m);
        if (cacheable && first_len > 0)
            ocsp_cache_put(st->cache, key, klen, first, first_len, der.data, der.len, &m, gen);
        cache_headers(res, &m, now);
    }
    snprintf(res->log_detail, sizeof(res->log_detail), "ocsp %s serial=%s%s%s",
             state_name(ans[0].st.state), stext, p->count > 1 ? " (+more)" : "",
             p->has_nonce ? " nonce" : " signed");
    (void)req;
    rc = respond_der(res, &der);
    certa_buf_free(&der);
    return rc;
}

/* Answers from the cache: 1 when it held a fresh response. */
static int serve_cached(struct ocsp_state *st, const struct certa_http_request *req, int is_get,
                        const unsigned char *key, size_t klen, const unsigned char *serial,
                        size_t slen, struct certa_http_response *res)
{
    struct ocsp_meta m;
    uint64_t gen;
    int64_t now = ocsp_clock();
    size_t n = 0;
    if (!ocsp_cache_get(st->cache, key, klen, serial, slen, now, &res->body, &m, &gen))
        return 0;
    res->status = 200;
    memcpy(res->content_type, "application/ocsp-response", sizeof("application/ocsp-response"));
    cache_headers(res, &m, now);
    if (is_get && publish_not_modified(req, m.etag, m.this_update)) {
        res->status = 304;
        res->content_type[0] = '\0';
        res->body.len = 0;
    }
    put_str(res->log_detail, sizeof(res->log_detail), &n, m.detail);
    put_str(res->log_detail, sizeof(res->log_detail), &n,
            res->status == 304 ? " cached not-modified" : " cached");
    return 1;
}

static int handle(void *state, certa_ca *ca, const struct certa_http_request *req,
                  struct certa_http_response *res)
{
    struct ocsp_state *st = state;
    unsigned char getbuf[OCSP_GET_BUF], getkey[OCSP_MEMO_REQ_MAX];
    const unsigned char *der, *seen;    /* seen: the exact bytes the memo knows */
    size_t len = 0, seen_len = 0;
    struct ocsp_parsed p = { 0 };
    int is_get = 0, rc;
    unsigned char key[OCSP_CERTID_MAX], serial[OCSP_SERIAL_MAX];
    size_t klen = 0, slen = 0;
    if (strcmp(req->method, "POST") == 0) {
        der = seen = req->body;
        len = seen_len = req->body_len;
    } else if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
        const char *b64 = req->path + strlen("/ocsp");
        while (*b64 == '/')
            b64++;
        is_get = 1;
        /* A GET is remembered by its text, so a repeated one is not even
         * base64-decoded. A 0 octet first keeps texts and DER (which starts
         * with 0x30) apart in the one memo; longer texts are not kept. */
        size_t tlen = strlen(b64);
        seen = NULL;
        if (tlen + 1 <= sizeof(getkey)) {
            getkey[0] = 0;
            memcpy(getkey + 1, b64, tlen);
            seen = getkey;
            seen_len = tlen + 1;
            if (ocsp_memo_get(st->memo, seen, seen_len, key, &klen, serial, &slen) &&
                serve_cached(st, req, is_get, key, klen, serial, slen, res))
                return 0;
        }
        der = getbuf;
        if (ocsp_request_from_path(b64, getbuf, &len) < 0) {
            snprintf(res->log_detail, sizeof(res->log_detail), "ocsp malformedRequest (%s)",
                     certa_error_last());
            return respond_der(res, &st->err_malformed);
        }
    } else {
        snprintf(res->log_detail, sizeof(res->log_detail), "ocsp method not allowed");
        return certa_http_respond_error(res, 405, "OCSP takes GET or POST");
    }

    /* The hot path: bytes seen before, answered by a copy of the
     * pre-signed response (no decoding, no signing, no SQL). */
    if (!is_get && ocsp_memo_get(st->memo, seen, seen_len, key, &klen, serial, &slen) &&
        serve_cached(st, req, is_get, key, klen, serial, slen, res))
        return 0;
    klen = 0;

    int verdict = ocsp_request_parse(der, len, st->max_ids, &st->issuer, &p);
    if (verdict != OCSP_VERDICT_OK) {
        int bad = verdict == OCSP_VERDICT_MALFORMED;
        snprintf(res->log_detail, sizeof(res->log_detail), "ocsp %s (%s)",
                 bad ? "malformedRequest" : "unauthorized", p.why);
        ocsp_parsed_clear(&p);
        return respond_der(res, bad ? &st->err_malformed : &st->err_unauthorized);
    }

    /* Decoded and checked: remember the bytes for next time, then the cache. */
    if (!p.has_nonce && p.count == 1) {
        OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(p.req, 0));
        int n = i2d_OCSP_CERTID(id, NULL);
        slen = ocsp_certid_serial(id, serial);
        if (n > 0 && n <= OCSP_CERTID_MAX && slen > 0) {
            unsigned char *kp = key;
            klen = (size_t)i2d_OCSP_CERTID(id, &kp);
            if (seen != NULL)
                ocsp_memo_put(st->memo, seen, seen_len, key, klen, serial, slen);
            if (serve_cached(st, req, is_get, key, klen, serial, slen, res)) {
                ocsp_parsed_clear(&p);
                return 0;
            }
        }
    }
    rc = answer_signed(st, ca, req, &p, key, klen, res);
    ocsp_parsed_clear(&p);
    return rc;
}

static int invalidate_cb(const struct certa_revoked_row *row, void *arg)
{
    struct ocsp_state *st = arg;
    unsigned char serial[OCSP_SERIAL_MAX + 1];
    size_t n = strlen(row->serial), o = 0;
    char pair[3] = { 0 };
    if (n == 0 || n > 2 * OCSP_SERIAL_MAX)
        return 0;
    /* Lowercase hex without leading zeros: an odd length has a half octet. */
    for (size_t i = 0; i < n; o++) {
        if (o == 0 && n % 2) {
            pair[0] = '0';
            pair[1] = row->serial[i++];
        } else {
            pair[0] = row->serial[i++];
            pair[1] = row->serial[i++];
        }
        serial[o] = (unsigned char)strtoul(pair, NULL, 16);
    }
    ocsp_cache_invalidate(st->cache, serial, o);
    return 0;
}

static void revoked(void *state, const char *serial)
{
    struct certa_revoked_row row = { .serial = serial };
    if (state != NULL && serial != NULL)
        invalidate_cb(&row, state);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Re-signs one cached CertID (due, or invalidated by a revocation). */
static void refresh_one(struct ocsp_state *st, certa_ca *ca, const unsigned char *key, size_t klen)
{
    const unsigned char *p = key;
    OCSP_CERTID *id = d2i_OCSP_CERTID(NULL, &p, (long)klen);
    unsigned char serial[OCSP_SERIAL_MAX];
    size_t slen = id ? ocsp_certid_serial(id, serial) : 0;
    struct ocsp_answer a = { .id = id };
    certa_buf der = { 0 };
    if (slen == 0)
        goto out;
    uint64_t gen = ocsp_cache_gen(st->cache, serial, slen);
    if (certa_ca_status(ca, serial, slen, &a.st) < 0) {
        certa_log(CERTA_LOG_WARN, "ocsp: refresh: %s", certa_error_last());
        goto out;
    }
    if (a.st.state == CERTA_STATE_UNKNOWN) {
        ocsp_cache_remove(st->cache, key, klen, serial, slen);
        goto out;
    }
    int64_t now = ocsp_clock();
    const struct ocsp_signer *s = signer_now(st, now);
    int64_t next = now + st->life < s->not_after ? now + st->life : s->not_after;
    if (ocsp_sign(s, &a, 1, NULL, now, next, &der) < 0) {
        certa_log(CERTA_LOG_WARN, "ocsp: refresh: %s", certa_error_last());
        goto out;
    }
    struct ocsp_meta m;
    fill_meta(st, now, next, a.st.state, serial, slen, &der, &m);
    ocsp_cache_put(st->cache, key, klen, serial, slen, der.data, der.len, &m, gen);
out:
    certa_buf_free(&der);
    OCSP_CERTID_free(id);
}

static void tick(void *state, certa_ca *ca)
{
    struct ocsp_state *st = state;
    if (st == NULL || pthread_mutex_trylock(&st->tick_lock) != 0)
        return;
    certa_store *store = certa_ca_store(ca);
    int64_t seq = 0, max_seq = 0;
    /* Revocations by any process (certa ca revoke, another node) show in
     * the store's revocation sequence: one cheap read a tick. */
    if (certa_store_counter_get(store, "revocation", &seq) == 0 && seq != st->last_seq) {
        if (st->last_seq <= 0 || seq < st->last_seq ||
            certa_store_revoked_each(store, st->last_seq, invalidate_cb, st, &max_seq) < 0)
            ocsp_cache_invalidate_all(st->cache);
        st->last_seq = seq;
    }
    int64_t t0 = mono_ns(), now = ocsp_clock();
    size_t n = ocsp_cache_due(st->cache, now, st->due_keys, st->due_lens, REFRESH_PER_TICK);
    for (size_t i = 0; i < n && mono_ns() - t0 < TICK_BUDGET_NS; i++)
        refresh_one(st, ca, st->due_keys[i], st->due_lens[i]);
    pthread_mutex_unlock(&st->tick_lock);
}

CERTA_API const struct certa_service certa_service_ocsp = {
    .name = "ocsp",
    .paths = paths,
    .start = start,
    .handle = handle,
    .tick = tick,
    .revoked = revoked,
    .stop = stop,
};
