/* Temporary directories, shell and CA set-up helpers for unit tests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "testutil.h"
#include "certa/util.h"

char *test_tmpdir(const char *prefix)
{
    const char *base = getenv("CERTA_TEST_TMP");
    if (base == NULL || *base == '\0')
        base = "/tmp";
    certa_mkdir_p(base, 0700);
    char *path = malloc(strlen(base) + strlen(prefix) + 16);
    assert_non_null(path);
    sprintf(path, "%s/%s.XXXXXX", base, prefix);
    assert_non_null(mkdtemp(path));
    return path;
}

int test_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void test_tmpdir_remove(char *path)
{
    if (path == NULL)
        return;
    test_sh("rm -rf '%s'", path);
    free(path);
}

void test_ca_init(const char *dir, const char *subject)
{
    struct certa_ca_init_params p = { .dir = dir, .subject = subject, .path_len = -1 };
    assert_int_equal(certa_ca_init(&p), 0);
}

void test_store_add_cert(certa_store *s, const char *serial)
{
    static unsigned char der[] = { 0x30, 0x00 };
    struct certa_cert_row row = { .subject = (char *)"CN=dev", .der = der, .der_len = 2,
                                  .not_after = 4000000000LL };
    snprintf(row.serial, sizeof(row.serial), "%s", serial);
    assert_int_equal(certa_store_cert_insert(s, &row), 0);
}
