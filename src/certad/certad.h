/* certad's internal interfaces, one block per file. The server reads top to
 * bottom in main.c: options and config (config.c), the started services
 * (generation.c, services.c), the worker threads with their event loops
 * (worker.c), and per request: limits.c -> http.c -> router.c -> a module. */
#ifndef CERTAD_H
#define CERTAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>
#include <openssl/ssl.h>
#include "certa/ca.h"
#include "certa/service.h"

struct event_base;
struct event;
struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct bufferevent;

#define CERTAD_MAX_LISTEN 16
#define CERTAD_MAX_SERVICES 32
#define CERTAD_MAX_WORKERS 256

/* ---- config.c: the INI file and the command line --------------------- */

enum certad_verify { CERTAD_VERIFY_NONE = 0, CERTAD_VERIFY_OPTIONAL, CERTAD_VERIFY_REQUIRE };
/* on: workers keep to CPUs and take the connections those CPUs receive
 * (cpu.c), where the CPUs allow it; off: the kernel spreads connections. */
enum certad_cpu_affinity { CERTAD_CPU_OFF = 0, CERTAD_CPU_ON };

struct certad_listen {
    char host[64];      /* numeric address, without brackets */
    char port[8];
    int tls;
};

struct certad_kv {
    char *section, *key, *value;
};

struct certad_config {
    char *path;                         /* config file, or NULL (--dir form) */
    struct certad_listen listen[CERTAD_MAX_LISTEN];
    size_t n_listen;
    char *tls_cert, *tls_key, *tls_client_ca;
    int tls_verify;                     /* CERTAD_VERIFY_* */
    int workers;                        /* 0: one per CPU */
    int cpu_affinity;                   /* CERTAD_CPU_* */
    size_t max_body;
    int header_timeout;                 /* seconds to receive one whole request */
    int idle_timeout;                   /* seconds of silence on a connection */
    int shutdown_grace;                 /* seconds in-flight requests get on SIGTERM */
    int max_connections;                /* open connections, all workers together */
    char *ca_dir, *passphrase_file;
    struct certad_kv *services;         /* [services] NAME = on|off */
    size_t n_services;
    struct certad_kv *sections;         /* module sections, passed to setting() */
    size_t n_sections;
};

struct certad_config *certad_config_new(void);
void certad_config_free(struct certad_config *c);
/* Reads an INI file into c (over the defaults). One-line error on failure. */
int certad_config_load(struct certad_config *c, const char *path);
/* "127.0.0.1:8080", "[::1]:8443", ":8080" (all addresses). */
int certad_config_add_listen(struct certad_config *c, const char *text, int tls);
/* Fills what is still unset (workers, a default listener) and checks that
 * the whole makes sense (TLS files for a TLS listener, a CA directory). */
int certad_config_finish(struct certad_config *c);
/* 1 when [services] does not turn the service off. */
int certad_config_service_on(const struct certad_config *c, const char *name);
/* "on"/"off" (yes/no, true/false, 1/0): 1, 0, or -1 for anything else. */
int certad_parse_bool(const char *v);
const char *certad_config_get(const struct certad_config *c, const char *section, const char *key);
/* The passphrase for the CA key: the configured file's first line, or NULL
 * (certa_ca_open then reads CERTA_CA_PASSPHRASE). Free with certad_passphrase_free. */
int certad_config_passphrase(const struct certad_config *c, char **out);
void certad_passphrase_free(char *p);

/* ---- services.c / router.c: the modules and who serves which path ---- */

extern const struct certa_service *const certad_services[];
extern const size_t certad_n_services;

/* Index into svcs of the service whose path prefix matches path longest
 * (service.h: a prefix ending in '/' matches below it, others exactly), or
 * -1 when none does. */
int certad_route(const struct certa_service *const *svcs, size_t n, const char *path);

/* ---- generation.c: what a reload replaces as one piece ---------------
 * The config, the started services with their states and the TLS context.
 * Each worker holds a reference; the last one to let go stops the services. */
struct certad_gen {
    atomic_int refs;
    struct certad_config *cfg;
    SSL_CTX *tls;                       /* NULL without TLS listeners */
    size_t n;
    const struct certa_service *svc[CERTAD_MAX_SERVICES];
    void *state[CERTAD_MAX_SERVICES];
    certa_ca *start_ca;                 /* only while the services start */
};

/* Takes ownership of cfg (also on failure). ca serves start() only. */
int certad_gen_start(struct certad_config *cfg, certa_ca *ca, struct certad_gen **out);
struct certad_gen *certad_gen_ref(struct certad_gen *g);
void certad_gen_unref(struct certad_gen *g);

/* ---- tls.c ------------------------------------------------------------ */

int certad_tls_ctx_new(const struct certad_config *c, SSL_CTX **out);

/* ---- worker.c: one thread, one event loop, one CA handle ------------- */

struct certad_conn;
struct certad_worker;

/* ---- cpu.c: CPU locality of workers and connections --------------- */

struct certad_cpu_plan {
    int active;         /* 0: no pinning, the kernel's hash spreads connections */
    int n;              /* usable CPUs, one worker each */
    int cpus[65];       /* their numbers */
};

/* Decides from the CPUs this process may use: active when there are 2 to
 * 64 of them and one worker for each. */
int certad_cpu_plan(struct certad_cpu_plan *p, enum certad_cpu_affinity mode, int workers);
/* On a listening socket of the SO_REUSEPORT group (worker 0's): a new
 * connection goes to the worker of the CPU that received it. */
int certad_cpu_steer(const struct certad_cpu_plan *p, int fd);
/* From the worker's own thread. */
void certad_cpu_pin(const struct certad_cpu_plan *p, int id);

/* Where a connection came in: which worker and whether over TLS. */
struct certad_front {
    struct certad_worker *w;
    int tls;
};

struct certad_worker {
    int id;
    const struct certad_cpu_plan *cpu;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;                /* plain listeners */
    struct evhttp *https;               /* TLS listeners, or NULL */
    struct certad_front front_http, front_https;
    certa_ca *ca;
    struct certad_gen *gen;
    struct event *tick_ev, *wake_ev, *drain_ev, *bind_ev;
    /* The main thread wakes the loop through this eventfd (swap, stop):
     * nothing else reaches into the loop from another thread, so it runs
     * without libevent's locks. */
    int wake_fd;
    atomic_int stop_asked;
    struct certad_logbuf *logbuf;
    /* Handed over by the main thread on reload, under lock. */
    pthread_mutex_t lock;
    certa_ca *next_ca;
    struct certad_gen *next_gen;
    /* limits.c: connections of this worker */
    struct certad_conn *conns;          /* every open connection */
    struct certad_conn *fresh;          /* accepted, not yet bound to evhttp */
    struct certad_conn **by_fd;         /* fd -> connection */
    size_t n_by_fd;
    int busy;                           /* connections with a request in flight */
    int n_conns;                        /* open connections */
    time_t refused_logged;              /* last "connection limit" message */
    int stopping;
    struct timeval drain_until;
    /* listening sockets */
    struct evhttp_bound_socket *bound[CERTAD_MAX_LISTEN];
    struct evhttp *bound_http[CERTAD_MAX_LISTEN];
    size_t n_bound;
    int started;
};


/* Creates the worker's loop, its listening sockets (SO_REUSEPORT) and
 * evhttp instances; takes ownership of ca and a reference to gen. */
int certad_worker_init(struct certad_worker *w, int id, certa_ca *ca, struct certad_gen *gen,
                       const struct certad_cpu_plan *cpu);
int certad_worker_start(struct certad_worker *w);
/* Fails when an address cannot be bound or another process listens there. */
int certad_listen_probe(const struct certad_config *c);
/* From the main thread: hand over a new CA handle and generation. */
void certad_worker_swap(struct certad_worker *w, certa_ca *ca, struct certad_gen *gen);
void certad_worker_stop(struct certad_worker *w);
void certad_worker_join(struct certad_worker *w);

/* ---- http.c: evhttp request <-> certa_http_request/response --------- */

struct evhttp_connection;
void certad_http_request_cb(struct evhttp_request *req, void *arg);
/* "ADDR:PORT" or "[ADDR6]:PORT" of the peer. */
void certad_remote(struct evhttp_connection *evcon, char *buf, size_t len);

/* ---- evfast.c: libevent's evbuffer_add_printf and evutil_ascii_strcasecmp,
 * faster, for evhttp's per-request calls. Counts, per thread, the calls
 * that took them (tests see that libevent's own calls arrive there). */
extern _Thread_local unsigned long certad_evfast_hits;

/* ---- healthz.c -------------------------------------------------------- */

void certad_healthz(struct certad_worker *w, struct certa_http_response *res);

/* ---- limits.c: per-connection deadline, in-flight tracking ----------- */

/* evhttp_set_bevcb callback: makes the connection's bufferevent (TLS or
 * not) and starts its deadline. */
struct bufferevent *certad_limits_bevcb(struct event_base *base, void *arg);
/* Binds connections accepted in this loop turn to their evhttp connection. */
void certad_limits_bind(struct certad_worker *w);
/* The request on evcon was read completely: stop its deadline; the
 * connection stays busy until the response is written. */
struct certad_conn *certad_limits_dispatched(struct certad_worker *w, struct evhttp_request *req);
/* The peer of the connection (certad_remote), formatted once per connection;
 * c may be NULL (a connection certad does not track). */
void certad_limits_remote(struct certad_conn *c, struct evhttp_connection *evcon, char *buf,
                          size_t len);
void certad_limits_free_all(struct certad_worker *w);

/* ---- log.c: one line per request, and certad's own messages --------- */

struct certad_logrec {
    int worker;
    const char *remote, *method, *path;
    int status;
    size_t bytes;
    double ms;
    const char *detail;
    const char *client;         /* verified TLS client subject, or NULL */
    int tls;
};
void certad_log_request(const struct certad_logrec *r);
/* A worker's line buffer, flushed by its loop (see log.c). attach makes
 * the calling thread's lines go there. */
#define CERTAD_PRIORITIES 3
struct certad_logbuf;
struct certad_logbuf *certad_logbuf_new(struct event_base *base);
void certad_logbuf_free(struct certad_logbuf *b);
void certad_logbuf_attach(struct certad_logbuf *b);
/* Writes what the buffer holds now (reload; the end of the worker frees it). */
void certad_logbuf_flush(struct certad_logbuf *b);
void certad_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Routes libcerta's certa_log() lines into the same format. */
void certad_log_init(void);

#endif
