/* Temporary directories and shell helpers for unit tests. */
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
