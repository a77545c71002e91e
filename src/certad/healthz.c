/* GET /healthz, answered by certad itself: 200 with the CA's name and the
 * started services when this worker's store answers a query, 503 when not
 * (a load balancer then stops sending traffic here). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "certad.h"

void certad_healthz(struct certad_worker *w, struct certa_http_response *res)
{
    int exists = 0;
    /* A cheap indexed read: proves the store is open and readable. */
    int rc = certa_store_cert_exists(certa_ca_store(w->ca), "1", &exists);
    json_t *services = json_array(), *o = NULL;
    for (size_t i = 0; services && i < w->gen->n; i++)
        json_array_append_new(services, json_string(w->gen->svc[i]->name));
    o = json_pack("{s:s, s:s, s:i, s:o}", "status", rc == 0 ? "ok" : "unavailable",
                  "ca", certa_ca_name(w->ca), "worker", w->id,
                  "services", services ? services : json_array());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text == NULL) {
        certa_http_respond_error(res, 500, "out of memory");
    } else {
        certa_http_respond(res, rc == 0 ? 200 : 503, "application/json", text, strlen(text));
        certa_buf_append(&res->body, "\n", 1);
    }
    snprintf(res->cache_control, sizeof(res->cache_control), "no-store");
    if (rc < 0)
        snprintf(res->log_detail, sizeof(res->log_detail), "store unavailable: %.150s", certa_error_last());
    free(text);
    json_decref(o);
}
