/* certad's configuration: defaults, the INI file (inih) and the checks that
 * make a bad file fail at startup with one line naming what is wrong.
 * [server] and [ca] are certad's own and strict; [services] turns modules
 * on or off; every other section belongs to a module (setting()). */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>
#include "certa/util.h"
#include "certad.h"

#define CONF_MAX (256 * 1024)
#define PASSPHRASE_MAX 1024

struct certad_config *certad_config_new(void)
{
    struct certad_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->max_body = 64 * 1024;
    c->header_timeout = 10;
    c->idle_timeout = 75;   /* nginx's keepalive default; SCEP clients resend after 30 s */
    c->shutdown_grace = 10;
    c->tls_verify = CERTAD_VERIFY_NONE;
    return c;
}

static void kv_free(struct certad_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].section);
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void certad_config_free(struct certad_config *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tls_client_ca);
    free(c->ca_dir);
    free(c->passphrase_file);
    kv_free(c->services, c->n_services);
    kv_free(c->sections, c->n_sections);
    free(c);
}

/* Adds or replaces (section, key) in a table: later lines win, as in ca.conf. */
static int kv_set(struct certad_kv **tab, size_t *n, const char *section, const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*tab)[i].section, section) == 0 && strcmp((*tab)[i].key, key) == 0) {
            char *v = strdup(value);
            if (v == NULL)
                return CERTA_ENOMEM;
            free((*tab)[i].value);
            (*tab)[i].value = v;
            return 0;
        }
    }
    struct certad_kv *t = realloc(*tab, (*n + 1) * sizeof(**tab));
    if (t == NULL)
        return CERTA_ENOMEM;
    *tab = t;
    struct certad_kv *e = &t[*n];
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        return CERTA_ENOMEM;
    }
    (*n)++;
    return 0;
}

int certad_config_add_listen(struct certad_config *c, const char *text, int tls)
{
    const char *colon, *host = text;
    size_t hlen;
    if (c->n_listen == CERTAD_MAX_LISTEN)
        return certa_error_set(CERTA_ETOOBIG, "more than %d listen addresses", CERTAD_MAX_LISTEN);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return certa_error_set(CERTA_EINVAL, "bad listen address '%s' (want [ADDR]:PORT)", text);
        host = text + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
            return certa_error_set(CERTA_EINVAL, "bad listen address '%s' (want ADDR:PORT or [ADDR]:PORT)", text);
        hlen = (size_t)(colon - text);
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno || port < 1 || port > 65535)
        return certa_error_set(CERTA_EINVAL, "bad port in listen address '%s'", text);
    struct certad_listen *l = &c->listen[c->n_listen];
    if (hlen >= sizeof(l->host))
        return certa_error_set(CERTA_EINVAL, "listen address '%s' is too long", text);
    memcpy(l->host, host, hlen);
    l->host[hlen] = '\0';
    if (hlen == 0)
        strcpy(l->host, "0.0.0.0");
    snprintf(l->port, sizeof(l->port), "%ld", port);
    l->tls = tls;
    c->n_listen++;
    return 0;
}

/* Several addresses may share one line, separated by commas or spaces. */
static int add_listen_list(struct certad_config *c, const char *value, int tls)
{
    char buf[1024];
    if (strlen(value) >= sizeof(buf))
        return certa_error_set(CERTA_ETOOBIG, "listen list too long");
    strcpy(buf, value);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        int rc = certad_config_add_listen(c, t, tls);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_int(const char *key, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    long mul = 1;
    if (end != v && (*end == 'k' || *end == 'K') && end[1] == '\0')
        mul = 1024, end++;
    else if (end != v && (*end == 'm' || *end == 'M') && end[1] == '\0')
        mul = 1024 * 1024, end++;
    if (end == v || *end != '\0' || errno || n > hi / mul || n * mul < lo || n * mul > hi)
        return certa_error_set(CERTA_EINVAL, "%s = %s: want a number from %ld to %ld", key, v, lo, hi);
    *out = n * mul;
    return 0;
}

int certad_parse_bool(const char *v)
{
    static const char *const yes[] = { "on", "yes", "true", "1", "enabled" };
    static const char *const no[] = { "off", "no", "false", "0", "disabled" };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* A path from the file, relative to the file's directory. */
static int set_path(char **dst, const char *base, const char *v)
{
    free(*dst);
    *dst = NULL;
    if (v[0] == '/' || base == NULL) {
        *dst = strdup(v);
    } else {
        const char *slash = strrchr(base, '/');
        size_t dlen = slash ? (size_t)(slash - base) : 0;
        size_t n = dlen + strlen(v) + 2;
        if ((*dst = malloc(n)) != NULL) {
            if (slash)
                snprintf(*dst, n, "%.*s/%s", (int)dlen, base, v);
            else
                snprintf(*dst, n, "%s", v);
        }
    }
    return *dst ? 0 : certa_error_set(CERTA_ENOMEM, "out of memory");
}

struct load_ctx {
    struct certad_config *c;
    const char *path;
    const char *next;       /* the text still to read */
    int line;               /* lines handed to inih so far */
    int rc, rc_line;        /* first error of ours, and its line */
    int listen_seen, tls_listen_seen;
};

/* inih's reader over the file's text, counting lines so that an error
 * found in a handler can name its line. */
static char *read_line(char *str, int num, void *stream)
{
    struct load_ctx *x = stream;
    if (*x->next == '\0' || num < 2)
        return NULL;
    const char *nl = strchr(x->next, '\n');
    size_t n = nl ? (size_t)(nl - x->next) + 1 : strlen(x->next);
    if (n > (size_t)num - 1)
        n = (size_t)num - 1;
    memcpy(str, x->next, n);
    str[n] = '\0';
    x->next += n;
    if (n > 0 && str[n - 1] == '\n')
        x->line++;
    else if (*x->next == '\0')
        x->line++;
    return str;
}

static int server_key(struct load_ctx *x, const char *key, const char *v)
{
    struct certad_config *c = x->c;
    long n;
    int rc = 0;
    if (strcmp(key, "listen") == 0 || strcmp(key, "tls_listen") == 0) {
        int tls = key[0] == 't';
        /* The file's listeners replace the built-in default. */
        if (tls ? !x->tls_listen_seen : !x->listen_seen) {
            size_t k = 0;
            for (size_t i = 0; i < c->n_listen; i++)
                if (c->listen[i].tls != tls)
                    c->listen[k++] = c->listen[i];
            c->n_listen = k;
            if (tls)
                x->tls_listen_seen = 1;
            else
                x->listen_seen = 1;
        }
        rc = add_listen_list(c, v, tls);
    } else if (strcmp(key, "tls_cert") == 0) {
        rc = set_path(&c->tls_cert, x->path, v);
    } else if (strcmp(key, "tls_key") == 0) {
        rc = set_path(&c->tls_key, x->path, v);
    } else if (strcmp(key, "tls_client_ca") == 0) {
        rc = set_path(&c->tls_client_ca, x->path, v);
    } else if (strcmp(key, "tls_verify_client") == 0) {
        if (strcmp(v, "none") == 0)
            c->tls_verify = CERTAD_VERIFY_NONE;
        else if (strcmp(v, "optional") == 0)
            c->tls_verify = CERTAD_VERIFY_OPTIONAL;
        else if (strcmp(v, "require") == 0)
            c->tls_verify = CERTAD_VERIFY_REQUIRE;
        else
            rc = certa_error_set(CERTA_EINVAL, "tls_verify_client = %s: want none, optional or require", v);
    } else if (strcmp(key, "workers") == 0) {
        if ((rc = parse_int(key, v, 1, CERTAD_MAX_WORKERS, &n)) == 0)
            c->workers = (int)n;
    } else if (strcmp(key, "cpu_affinity") == 0) {
        int on = certad_parse_bool(v);
        if (on < 0)
            rc = certa_error_set(CERTA_EINVAL, "cpu_affinity = %s: want on or off", v);
        else
            c->cpu_affinity = on ? CERTAD_CPU_ON : CERTAD_CPU_OFF;
    } else if (strcmp(key, "max_body") == 0) {
        if ((rc = parse_int(key, v, 1, 64L * 1024 * 1024, &n)) == 0)
            c->max_body = (size_t)n;
    } else if (strcmp(key, "header_timeout") == 0) {
        if ((rc = parse_int(key, v, 1, 3600, &n)) == 0)
            c->header_timeout = (int)n;
    } else if (strcmp(key, "idle_timeout") == 0) {
        if ((rc = parse_int(key, v, 1, 86400, &n)) == 0)
            c->idle_timeout = (int)n;
    } else if (strcmp(key, "max_connections") == 0) {
        if ((rc = parse_int(key, v, 1, 1000000, &n)) == 0)
            c->max_connections = (int)n;
    } else if (strcmp(key, "shutdown_grace") == 0) {
        if ((rc = parse_int(key, v, 0, 3600, &n)) == 0)
            c->shutdown_grace = (int)n;
    } else {
        rc = certa_error_set(CERTA_EINVAL, "unknown key '%s' in [server]", key);
    }
    return rc;
}

static int ini_cb(void *user, const char *section, const char *key, const char *value)
{
    struct load_ctx *x = user;
    struct certad_config *c = x->c;
    int rc;
    if (strcmp(section, "server") == 0) {
        rc = server_key(x, key, value);
    } else if (strcmp(section, "ca") == 0) {
        if (strcmp(key, "dir") == 0)
            rc = set_path(&c->ca_dir, x->path, value);
        else if (strcmp(key, "passphrase_file") == 0)
            rc = set_path(&c->passphrase_file, x->path, value);
        else
            rc = certa_error_set(CERTA_EINVAL, "unknown key '%s' in [ca]", key);
    } else if (strcmp(section, "services") == 0) {
        if (certad_parse_bool(value) < 0)
            rc = certa_error_set(CERTA_EINVAL, "[services] %s = %s: want on or off", key, value);
        else
            rc = kv_set(&c->services, &c->n_services, section, key, value);
    } else if (section[0] == '\0') {
        rc = certa_error_set(CERTA_EINVAL, "'%s' outside any section", key);
    } else {
        rc = kv_set(&c->sections, &c->n_sections, section, key, value);
    }
    if (rc < 0) {
        if (x->rc == 0) {
            x->rc = rc;
            x->rc_line = x->line;
        }
        return 0;
    }
    return 1;
}

int certad_config_load(struct certad_config *c, const char *path)
{
    certa_buf b = { 0 };
    int rc = certa_file_read(path, CONF_MAX, &b);
    if (rc < 0)
        return rc;
    free(c->path);
    if ((c->path = strdup(path)) == NULL) {
        certa_buf_free(&b);
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    }
    struct load_ctx x = { .c = c, .path = path, .next = (const char *)b.data };
    int line = ini_parse_stream(read_line, &x, ini_cb, &x);
    certa_buf_free(&b);
    if (line == 0)
        return 0;
    if (line < 0)
        return certa_error_set(CERTA_ENOMEM, "%s: out of memory", path);
    if (x.rc < 0 && x.rc_line <= line) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", certa_error_last());
        return certa_error_set(x.rc, "%s:%d: %s", path, line, msg);
    }
    return certa_error_set(CERTA_EINVAL, "%s:%d: syntax error", path, line);
}

int certad_config_finish(struct certad_config *c)
{
    if (c->ca_dir == NULL)
        return certa_error_set(CERTA_EINVAL, "no CA directory: give --dir DIR or [ca] dir in --config FILE");
    if (c->n_listen == 0) {
        int rc = certad_config_add_listen(c, "127.0.0.1:8080", 0);
        if (rc < 0)
            return rc;
    }
    int tls = 0;
    for (size_t i = 0; i < c->n_listen; i++)
        tls |= c->listen[i].tls;
    if (tls && (c->tls_cert == NULL || c->tls_key == NULL))
        return certa_error_set(CERTA_EINVAL, "tls_listen needs tls_cert and tls_key in [server]");
    if (c->tls_verify != CERTAD_VERIFY_NONE && c->tls_client_ca == NULL)
        return certa_error_set(CERTA_EINVAL, "tls_verify_client needs tls_client_ca in [server]");
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n < 1 ? 1 : n > CERTAD_MAX_WORKERS ? CERTAD_MAX_WORKERS : (int)n;
    }
    /* Stay below the file descriptor limit (main.c raises it to the hard
     * one): past it accept() fails, and libevent would retry a listener
     * that stays readable, in a loop. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        long room = rl.rlim_cur == RLIM_INFINITY ? 1000000 : (long)rl.rlim_cur - 64 - 8L * c->workers;
        if (room < 16)
            room = 16;
        if (c->max_connections == 0 || c->max_connections > room)
            c->max_connections = (int)(room > 1000000 ? 1000000 : room);
    } else if (c->max_connections == 0) {
        c->max_connections = 1000;
    }
    return 0;
}

const char *certad_config_get(const struct certad_config *c, const char *section, const char *key)
{
    for (size_t i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].section, section) == 0 && strcmp(c->sections[i].key, key) == 0)
            return c->sections[i].value;
    return NULL;
}

int certad_config_service_on(const struct certad_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_services; i++)
        if (strcmp(c->services[i].key, name) == 0)
            return certad_parse_bool(c->services[i].value) != 0;
    return 1;
}

int certad_config_passphrase(const struct certad_config *c, char **out)
{
    *out = NULL;
    if (c->passphrase_file == NULL)
        return 0;
    size_t n;
    int rc = certa_file_read_first_line(c->passphrase_file, 4096, out, &n);
    if (rc < 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", certa_error_last());
        return certa_error_set(rc, "passphrase file: %s", msg);
    }
    if (n == 0 || n > PASSPHRASE_MAX) {
        certad_passphrase_free(*out);
        *out = NULL;
        return certa_error_set(CERTA_EINVAL, "passphrase file %s is empty or longer than %d bytes",
                               c->passphrase_file, PASSPHRASE_MAX);
    }
    return 0;
}

void certad_passphrase_free(char *p)
{
    if (p != NULL) {
        certa_memzero(p, strlen(p));
        free(p);
    }
}
