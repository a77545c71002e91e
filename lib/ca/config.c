/* ca.conf: read once with inih into a flat (section, key, value) table so the
 * CA, its profiles and the protocol modules (certa_ca_setting) can look up
 * what they need. Later duplicates of a key replace earlier ones. */
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include "ca_internal.h"

static int add(void *user, const char *section, const char *key, const char *value)
{
    struct certa_conf *c = user;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->e[i].section, section) == 0 && strcmp(c->e[i].key, key) == 0) {
            char *v = strdup(value);
            if (v == NULL)
                return 0;
            free(c->e[i].value);
            c->e[i].value = v;
            return 1;
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        struct certa_conf_entry *e = realloc(c->e, cap * sizeof(*e));
        if (e == NULL)
            return 0;
        c->e = e;
        c->cap = cap;
    }
    struct certa_conf_entry *e = &c->e[c->n];
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        return 0;
    }
    c->n++;
    return 1;
}

int certa_conf_parse(const char *text, const char *origin, struct certa_conf *out)
{
    memset(out, 0, sizeof(*out));
    int line = ini_parse_string(text, add, out);
    if (line != 0) {
        certa_conf_clear(out);
        if (line < 0)
            return certa_error_set(CERTA_ENOMEM, "%s: out of memory", origin);
        return certa_error_set(CERTA_EINVAL, "%s: syntax error on line %d", origin, line);
    }
    return 0;
}

const char *certa_conf_get(const struct certa_conf *c, const char *section, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].section, section) == 0 && strcmp(c->e[i].key, key) == 0)
            return c->e[i].value;
    return NULL;
}

void certa_conf_clear(struct certa_conf *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].section);
        free(c->e[i].key);
        free(c->e[i].value);
    }
    free(c->e);
    memset(c, 0, sizeof(*c));
}
