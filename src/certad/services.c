/* The protocol modules certad serves. Each is a `struct certa_service`
 * (include/certa/service.h) defined in libcerta; adding one is adding its
 * line here. [services] NAME = off in the config file leaves it unstarted. */
#include <stddef.h>
#include "certad.h"
#include "certa/cmp.h"

extern const struct certa_service certa_service_scep;
extern const struct certa_service certa_service_ocsp;
extern const struct certa_service certa_service_publish;

const struct certa_service *const certad_services[] = {
    &certa_service_scep,
    &certa_service_ocsp,
    &certa_service_publish,
    &certa_service_cmp,
    NULL,
};

const size_t certad_n_services = sizeof(certad_services) / sizeof(certad_services[0]) - 1;
