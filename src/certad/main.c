/* certad, the CA server: reads its options and config, opens one CA handle
 * per worker, starts the protocol services, runs the worker threads, and
 * then waits for signals: SIGHUP reloads, SIGTERM/SIGINT stop gracefully.
 * Runs in the foreground and logs to stderr (systemd-friendly). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <event2/event.h>
#include <event2/thread.h>
#include "certa/log.h"
#include "certad.h"

static const char usage[] =
    "usage: certad --config FILE\n"
    "       certad --dir CA_DIR [--listen ADDR:PORT]... [options]\n"
    "\n"
    "The CA server: serves the CA made by `certa ca init` over HTTP(S) with the\n"
    "protocol services built in (SCEP, OCSP, CRL and certificate publishing, CMP).\n"
    "Runs in the foreground and logs one line per request to stderr.\n"
    "\n"
    "  --config FILE           INI file: [server] [ca] [services] and module sections\n"
    "  --dir DIR               CA state directory (overrides [ca] dir)\n"
    "  --listen ADDR:PORT      HTTP listener, repeatable; [::1]:PORT for IPv6\n"
    "                          (overrides [server] listen; default 127.0.0.1:8080)\n"
    "  --workers N             event-loop threads (default: one per CPU)\n"
    "  --cpu-affinity on|off   keep each worker to a CPU and give it the connections\n"
    "                          that CPU receives (default off; docs/certad.md)\n"
    "  --passphrase-file FILE  first line decrypts ca.key (or CERTA_CA_PASSPHRASE)\n"
    "  --check                 check the configuration and the CA, then exit\n"
    "  -h, --help              this text\n"
    "\n"
    "Signals: SIGHUP reloads the config file and the CA (ca.conf, certificates,\n"
    "key) without closing the listeners; SIGTERM or SIGINT stop accepting, let\n"
    "requests in flight finish, and exit 0. See docs/certad.md.\n";

struct options {
    const char *config, *dir, *passphrase_file;
    const char *listen[CERTAD_MAX_LISTEN];
    size_t n_listen;
    int workers;
    int cpu_affinity;       /* -1: as the config file says */
    int check;
};

static void die(const char *what)
{
    fprintf(stderr, "certad: %s\n", what);
    exit(1);
}

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "dir", required_argument, NULL, 'd' },
        { "listen", required_argument, NULL, 'l' },
        { "workers", required_argument, NULL, 'w' },
        { "cpu-affinity", required_argument, NULL, 'a' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "check", no_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'd': o->dir = optarg; break;
        case 'p': o->passphrase_file = optarg; break;
        case 'a':
            if ((o->cpu_affinity = certad_parse_bool(optarg)) < 0) {
                fprintf(stderr, "certad: --cpu-affinity %s: want on or off\n", optarg);
                exit(2);
            }
            break;
        case 'C': o->check = 1; break;
        case 'l':
            if (o->n_listen == CERTAD_MAX_LISTEN)
                die("too many --listen addresses");
            o->listen[o->n_listen++] = optarg;
            break;
        case 'w':
            o->workers = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || o->workers < 1 || o->workers > CERTAD_MAX_WORKERS) {
                fprintf(stderr, "certad: --workers %s: want a number from 1 to %d\n", optarg, CERTAD_MAX_WORKERS);
                exit(2);
            }
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        case ':':
            fprintf(stderr, "certad: option '%s' needs a value (see certad --help)\n", argv[optind - 1]);
            exit(2);
        default:
            fprintf(stderr, "certad: unknown option '%s' (see certad --help)\n", argv[optind - 1]);
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "certad: unexpected argument '%s' (see certad --help)\n", argv[optind]);
        exit(2);
    }
    if (o->config == NULL && o->dir == NULL) {
        fprintf(stderr, "certad: give --config FILE or --dir CA_DIR (see certad --help)\n");
        exit(2);
    }
}

/* The config as the file says, with the command line on top. Used at
 * startup and again by every reload. */
static int build_config(const struct options *o, struct certad_config **out)
{
    struct certad_config *c = certad_config_new();
    int rc = 0;
    *out = NULL;
    if (c == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if (o->config != NULL && (rc = certad_config_load(c, o->config)) < 0)
        goto fail;
    if (o->dir != NULL) {
        free(c->ca_dir);
        if ((c->ca_dir = strdup(o->dir)) == NULL)
            goto nomem;
    }
    if (o->passphrase_file != NULL) {
        free(c->passphrase_file);
        if ((c->passphrase_file = strdup(o->passphrase_file)) == NULL)
            goto nomem;
    }
    if (o->n_listen > 0) {
        size_t k = 0;
        for (size_t i = 0; i < c->n_listen; i++)
            if (c->listen[i].tls)
                c->listen[k++] = c->listen[i];
        c->n_listen = k;
        for (size_t i = 0; i < o->n_listen; i++)
            if ((rc = certad_config_add_listen(c, o->listen[i], 0)) < 0)
                goto fail;
    }
    if (o->workers > 0)
        c->workers = o->workers;
    if (o->cpu_affinity >= 0)
        c->cpu_affinity = o->cpu_affinity ? CERTAD_CPU_ON : CERTAD_CPU_OFF;
    if ((rc = certad_config_finish(c)) < 0)
        goto fail;
    *out = c;
    return 0;
nomem:
    rc = certa_error_set(CERTA_ENOMEM, "out of memory");
fail:
    certad_config_free(c);
    return rc;
}

/* One CA handle per worker (a handle belongs to one thread). */
static int open_handles(const struct certad_config *c, certa_ca **h, int n)
{
    char *pass = NULL;
    int rc = certad_config_passphrase(c, &pass);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = certa_ca_open(c->ca_dir, pass, 0, &h[i]);
    certad_passphrase_free(pass);
    if (rc < 0)
        for (int i = 0; i < n; i++) {
            certa_ca_free(h[i]);
            h[i] = NULL;
        }
    return rc;
}

static int same_listeners(const struct certad_config *a, const struct certad_config *b)
{
    if (a->n_listen != b->n_listen || a->workers != b->workers || a->cpu_affinity != b->cpu_affinity)
        return 0;
    for (size_t i = 0; i < a->n_listen; i++)
        if (strcmp(a->listen[i].host, b->listen[i].host) || strcmp(a->listen[i].port, b->listen[i].port) ||
            a->listen[i].tls != b->listen[i].tls)
            return 0;
    return 1;
}

/* SIGHUP: build everything new first; only when all of it worked do the
 * workers switch over. A failure leaves the running state untouched. */
static void reload(const struct options *o, struct certad_worker *workers, int n,
                   const struct certad_config *running)
{
    struct certad_config *c = NULL;
    struct certad_gen *gen = NULL;
    certa_ca *h[CERTAD_MAX_WORKERS] = { 0 };
    int rc = build_config(o, &c);
    /* The listening sockets stay as they are: their TLS context and the
     * worker count must match what was bound. */
    if (rc == 0 && !same_listeners(running, c))
        rc = certa_error_set(CERTA_EINVAL, "listen, tls_listen, workers and cpu_affinity change only on restart");
    if (rc == 0)
        rc = open_handles(c, h, n);
    if (rc == 0) {
        rc = certad_gen_start(c, h[0], &gen);
        c = NULL;
    }
    if (rc < 0) {
        certad_log("error", "reload failed, still serving the previous configuration: %s", certa_error_last());
        certad_config_free(c);
        for (int i = 0; i < n; i++)
            certa_ca_free(h[i]);
        return;
    }
    for (int i = 0; i < n; i++)
        certad_worker_swap(&workers[i], h[i], certad_gen_ref(gen));
    certad_log("info", "reloaded: CA %s, %zu services", certa_ca_name(h[0]), gen->n);
    certad_gen_unref(gen);
}

static void log_cpus(const struct certad_cpu_plan *p, int asked)
{
    if (asked != CERTAD_CPU_ON)
        return;
    if (!p->active) {
        certad_log("warn", "cpu_affinity: on, but not one worker on each of 2 to 64 CPUs; "
                           "the kernel spreads connections over the workers");
        return;
    }
    char list[512] = "";
    size_t off = 0;
    for (int i = 0; i < p->n && off < sizeof(list); i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", i ? "," : "", p->cpus[i]);
    certad_log("info", "cpu_affinity: one worker on each of CPUs %s; a new connection goes to the worker of the CPU that received it",
               list);
}

static void log_started(const struct certad_gen *g, certa_ca *ca)
{
    char names[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < g->n && off < sizeof(names); i++)
        off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? "," : "", g->svc[i]->name);
    for (size_t i = 0; i < g->cfg->n_listen; i++) {
        const struct certad_listen *l = &g->cfg->listen[i];
        certad_log("info", "listening on %s://%s%s%s:%s", l->tls ? "https" : "http",
                   strchr(l->host, ':') ? "[" : "", l->host, strchr(l->host, ':') ? "]" : "", l->port);
    }
    certad_log("info", "serving CA %s from %s with %d workers, services: %s", certa_ca_name(ca),
               g->cfg->ca_dir, g->cfg->workers, names[0] ? names : "none");
}

int main(int argc, char **argv)
{
    struct options o = { .cpu_affinity = -1 };
    struct certad_config *cfg = NULL;
    struct certad_gen *gen = NULL;
    static struct certad_worker workers[CERTAD_MAX_WORKERS];
    static certa_ca *h[CERTAD_MAX_WORKERS];
    char err[600];

    parse_options(argc, argv, &o);
    /* Signals wait for the main loop's sigwait (also while starting up), and
     * go to the main thread only: the workers inherit this mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* As many connections as the system lets this process have. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (evthread_use_pthreads() < 0)
        die("libevent has no thread support");
    certad_log_init();

    /* Startup: config, CA handles, services, listeners. Any failure is one
     * line on stderr and exit status 1. */
    if (build_config(&o, &cfg) < 0)
        goto fail;
    int n = cfg->workers;
    if (open_handles(cfg, h, n) < 0)
        goto fail;
    if (certad_listen_probe(cfg) < 0)
        goto fail;
    struct certad_config *owned = cfg;
    cfg = NULL;     /* certad_gen_start owns it from here, also on failure */
    if (certad_gen_start(owned, h[0], &gen) < 0)
        goto fail;
    if (o.check) {
        printf("certad: configuration OK (CA %s, %zu services)\n", certa_ca_name(h[0]), gen->n);
        for (int i = 0; i < n; i++)
            certa_ca_free(h[i]);
        certad_gen_unref(gen);
        return 0;
    }

    static struct certad_cpu_plan cpus;
    certad_cpu_plan(&cpus, (enum certad_cpu_affinity)gen->cfg->cpu_affinity, n);
    for (int i = 0; i < n; i++) {
        if (certad_worker_init(&workers[i], i, h[i], gen, &cpus) < 0) {
            h[i] = NULL;
            for (int k = i + 1; k < n; k++)
                certa_ca_free(h[k]);
            snprintf(err, sizeof(err), "%s", certa_error_last());
            for (int k = 0; k <= i; k++)
                certad_worker_join(&workers[k]);
            certad_gen_unref(gen);
            die(err);
        }
        h[i] = NULL;
    }
    log_started(gen, workers[0].ca);
    log_cpus(&cpus, gen->cfg->cpu_affinity);
    /* What the listeners were made from: a reload cannot change it. */
    struct certad_config bound = { .n_listen = gen->cfg->n_listen, .workers = n,
                                   .cpu_affinity = gen->cfg->cpu_affinity };
    memcpy(bound.listen, gen->cfg->listen, sizeof(bound.listen));
    certad_gen_unref(gen);      /* the workers hold it from here on */
    gen = NULL;
    for (int i = 0; i < n; i++)
        if (certad_worker_start(&workers[i]) < 0)
            die(certa_error_last());

    /* The main loop: wait for signals. */
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(&o, workers, n, &bound);
            continue;
        }
        certad_log("info", "%s: stopping (requests in flight may finish)", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    for (int i = 0; i < n; i++)
        certad_worker_stop(&workers[i]);
    for (int i = 0; i < n; i++)
        certad_worker_join(&workers[i]);
    certad_log("info", "stopped");
    return 0;

fail:
    snprintf(err, sizeof(err), "%s", certa_error_last());
    for (int i = 0; i < CERTAD_MAX_WORKERS; i++)
        certa_ca_free(h[i]);
    certad_config_free(cfg);
    die(err);
}
