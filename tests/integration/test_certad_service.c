/* Test-only protocol services, linked with certad's own sources in place of
 * src/certad/services.c by test_certad_service.sh. They report what certad
 * handed them, so the test can check the contract of include/certa/service.h
 * over real HTTP: request fields, response headers, longest-prefix routing,
 * setting() with its ca.conf fallback, tick, revoked, stop, start failure. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "certa/csr.h"
#include "certad.h"

struct echo_state {
    char greeting[64], fallback[64], trace[512];
    atomic_int ticks, revoked;
    pthread_mutex_t lock;
    char last_serial[130];
};

static void trace(const struct echo_state *s, const char *what)
{
    if (s->trace[0] == '\0')
        return;
    FILE *f = fopen(s->trace, "a");
    if (f != NULL) {
        fprintf(f, "%s greeting=%s\n", what, s->greeting);
        fclose(f);
    }
}

static int echo_start(const struct certa_service_env *env, void **state)
{
    const char *fail = env->setting(env->setting_arg, "echo", "fail");
    if (fail != NULL && strcmp(fail, "yes") == 0)
        return certa_error_set(CERTA_EINVAL, "told to fail by [echo] fail");
    struct echo_state *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CERTA_ENOMEM;
    const char *g = env->setting(env->setting_arg, "echo", "greeting");
    const char *fb = env->setting(env->setting_arg, "echo", "from_ca_conf");
    const char *t = env->setting(env->setting_arg, "echo", "trace_file");
    snprintf(s->greeting, sizeof(s->greeting), "%s", g ? g : "-");
    snprintf(s->fallback, sizeof(s->fallback), "%s", fb ? fb : "-");
    snprintf(s->trace, sizeof(s->trace), "%s", t ? t : "");
    pthread_mutex_init(&s->lock, NULL);
    /* env->ca is there for start(): read the CA's name with it. */
    trace(s, certa_ca_name(env->ca) ? "start" : "start-noca");
    *state = s;
    return 0;
}

static int echo_handle(void *state, certa_ca *ca, const struct certa_http_request *req,
                       struct certa_http_response *res)
{
    struct echo_state *s = state;
    if (strcmp(req->path, "/echo/fail") == 0)
        return certa_error_set(CERTA_EIO, "the echo service failed on purpose");
    if (strcmp(req->path, "/echo/cached") == 0) {
        snprintf(res->etag, sizeof(res->etag), "\"v1\"");
        snprintf(res->cache_control, sizeof(res->cache_control), "max-age=60, public");
        res->last_modified = 1700000000;
        res->expires = 1900000000;
        snprintf(res->log_detail, sizeof(res->log_detail), "echo cached");
        if (req->if_none_match != NULL && strcmp(req->if_none_match, "\"v1\"") == 0) {
            res->status = 304;
            return 0;
        }
        return certa_http_respond(res, 200, "text/plain", "cached body\n", 12);
    }
    if (strcmp(req->path, "/echo/revoke") == 0) {
        unsigned char *serial = NULL;
        size_t len = 0;
        if (certa_http_query_param(req->query, "serial", &serial, &len) < 0)
            return certa_http_respond_error(res, 400, "serial missing");
        int rc = certa_ca_revoke(ca, (char *)serial, CERTA_REASON_KEY_COMPROMISE, 0);
        free(serial);
        if (rc < 0)
            return certa_http_respond_error(res, 409, "%s", certa_error_last());
        snprintf(res->log_detail, sizeof(res->log_detail), "echo revoked");
        return certa_http_respond(res, 200, "text/plain", "revoked\n", 8);
    }
    char *client = req->client_cert ? certa_name_text(X509_get_subject_name(req->client_cert)) : NULL;
    pthread_mutex_lock(&s->lock);
    char last[130];
    snprintf(last, sizeof(last), "%s", s->last_serial[0] ? s->last_serial : "-");
    pthread_mutex_unlock(&s->lock);
    certa_buf b = { 0 };
    certa_buf_appendf(&b, "service=echo\nmethod=%s\npath=%s\nquery=%s\ncontent_type=%s\n"
                      "if_none_match=%s\nbody_len=%zu\nbody=%.*s\nremote=%s\nclient=%s\n"
                      "greeting=%s\nfallback=%s\nticks=%d\nrevoked=%d\nlast_serial=%s\nca=%s\n",
                      req->method, req->path, req->query ? req->query : "-",
                      req->content_type ? req->content_type : "-",
                      req->if_none_match ? req->if_none_match : "-", req->body_len,
                      (int)(req->body_len > 64 ? 64 : req->body_len), req->body ? (const char *)req->body : "",
                      req->remote_addr, client ? client : "-", s->greeting, s->fallback,
                      atomic_load(&s->ticks), atomic_load(&s->revoked), last, certa_ca_name(ca));
    free(client);
    int rc = certa_http_respond(res, 200, "text/plain", b.data, b.len);
    certa_buf_free(&b);
    snprintf(res->log_detail, sizeof(res->log_detail), "echo %s", req->path);
    return rc;
}

static void echo_tick(void *state, certa_ca *ca)
{
    struct echo_state *s = state;
    if (ca != NULL)
        atomic_fetch_add(&s->ticks, 1);
}

static void echo_revoked(void *state, const char *serial)
{
    struct echo_state *s = state;
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_serial, sizeof(s->last_serial), "%s", serial);
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&s->revoked, 1);
}

static void echo_stop(void *state)
{
    struct echo_state *s = state;
    trace(s, "stop");
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int deep_handle(void *state, certa_ca *ca, const struct certa_http_request *req,
                       struct certa_http_response *res)
{
    (void)state;
    (void)ca;
    char text[300];
    int n = snprintf(text, sizeof(text), "service=deep\npath=%s\n", req->path);
    return certa_http_respond(res, 200, "text/plain", text, (size_t)n);
}

static const char *const echo_paths[] = { "/echo", "/echo/", NULL };
static const char *const deep_paths[] = { "/echo/deep/", NULL };
static const char *const off_paths[] = { "/off", NULL };

static const struct certa_service echo = {
    .name = "echo", .paths = echo_paths, .start = echo_start, .handle = echo_handle,
    .tick = echo_tick, .revoked = echo_revoked, .stop = echo_stop,
};
/* No state, no tick, no stop: the optional parts may be NULL. */
static const struct certa_service deep = { .name = "deep", .paths = deep_paths, .handle = deep_handle };
static const struct certa_service off = { .name = "off", .paths = off_paths, .handle = deep_handle };

const struct certa_service *const certad_services[] = { &echo, &deep, &off, NULL };
const size_t certad_n_services = 3;
