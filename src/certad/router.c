/* Which started service answers a path: the longest matching prefix of any
 * service's `paths` (service.h). Pure, so it is unit-tested without sockets. */
#include <string.h>
#include "certad.h"

/* Length of the match of prefix against path, or 0 when it does not match. */
static size_t match(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    if (n == 0)
        return 0;
    if (prefix[n - 1] == '/')
        return strncmp(path, prefix, n) == 0 ? n : 0;
    return strcmp(path, prefix) == 0 ? n : 0;
}

int certad_route(const struct certa_service *const *svcs, size_t n, const char *path)
{
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        for (const char *const *p = svcs[i]->paths; p != NULL && *p != NULL; p++) {
            /* A prefix is a prefix of path in either form: most differ
             * from it in their second byte already (this runs per request). */
            if ((*p)[0] != '\0' && (*p)[1] != '\0' && ((*p)[0] != path[0] || (*p)[1] != path[1]))
                continue;
            size_t len = match(*p, path);
            if (len > best_len) {
                best_len = len;
                best = (int)i;
            }
        }
    }
    return best;
}
