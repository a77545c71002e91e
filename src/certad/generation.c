/* A generation: the config, the TLS context and the started services, made
 * together at startup and again by each successful reload. Workers hold
 * references; requests in flight keep using the generation they started on,
 * and the last worker to let go of an old one stops its services. */
#include <stdlib.h>
#include <string.h>
#include "certa/log.h"
#include "certad.h"

/* setting() for modules: certad's [NAME] section first, then ca.conf. The
 * CA fallback is there while start() runs (env.ca is valid only then). */
static const char *gen_setting(void *arg, const char *section, const char *key)
{
    struct certad_gen *g = arg;
    const char *v = certad_config_get(g->cfg, section, key);
    if (v == NULL && g->start_ca != NULL)
        v = certa_ca_setting(g->start_ca, section, key);
    return v;
}

static void gen_stop(struct certad_gen *g)
{
    for (size_t i = g->n; i-- > 0;)
        if (g->svc[i]->stop != NULL)
            g->svc[i]->stop(g->state[i]);
    g->n = 0;
}

int certad_gen_start(struct certad_config *cfg, certa_ca *ca, struct certad_gen **out)
{
    struct certad_gen *g = calloc(1, sizeof(*g));
    int rc = 0;
    *out = NULL;
    if (g == NULL) {
        certad_config_free(cfg);
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    }
    atomic_init(&g->refs, 1);
    g->cfg = cfg;
    for (size_t i = 0; i < cfg->n_listen; i++)
        if (cfg->listen[i].tls && g->tls == NULL && (rc = certad_tls_ctx_new(cfg, &g->tls)) < 0)
            goto fail;

    /* A misspelt name in [services] would silently leave a service on. */
    for (size_t i = 0; i < cfg->n_services; i++) {
        size_t k = 0;
        while (k < certad_n_services && strcmp(certad_services[k]->name, cfg->services[i].key) != 0)
            k++;
        if (k == certad_n_services) {
            char known[256] = "";
            for (size_t j = 0, off = 0; j < certad_n_services && off < sizeof(known); j++)
                off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s", j ? ", " : "",
                                        certad_services[j]->name);
            rc = certa_error_set(CERTA_EINVAL, "[services] %s: no such service (this certad has: %s)",
                                 cfg->services[i].key, known[0] ? known : "none");
            goto fail;
        }
    }

    struct certa_service_env env = { .ca = ca, .setting = gen_setting, .setting_arg = g };
    g->start_ca = ca;
    for (size_t i = 0; i < certad_n_services; i++) {
        const struct certa_service *s = certad_services[i];
        if (!certad_config_service_on(cfg, s->name))
            continue;
        if (g->n == CERTAD_MAX_SERVICES) {
            rc = certa_error_set(CERTA_ETOOBIG, "more than %d services", CERTAD_MAX_SERVICES);
            goto fail;
        }
        void *state = NULL;
        if (s->start != NULL && (rc = s->start(&env, &state)) < 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "%s", certa_error_last());
            rc = certa_error_set(rc, "service %s did not start: %s", s->name, msg);
            goto fail;
        }
        g->svc[g->n] = s;
        g->state[g->n] = state;
        g->n++;
    }
    g->start_ca = NULL;
    *out = g;
    return 0;
fail:
    g->start_ca = NULL;
    gen_stop(g);
    SSL_CTX_free(g->tls);
    certad_config_free(g->cfg);
    free(g);
    return rc;
}

struct certad_gen *certad_gen_ref(struct certad_gen *g)
{
    atomic_fetch_add(&g->refs, 1);
    return g;
}

void certad_gen_unref(struct certad_gen *g)
{
    if (g == NULL || atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    gen_stop(g);
    SSL_CTX_free(g->tls);
    certad_config_free(g->cfg);
    free(g);
}
