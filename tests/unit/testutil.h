/* Helpers shared by the cmocka unit tests. */
#ifndef CERTA_TESTUTIL_H
#define CERTA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* A fresh empty directory under CERTA_TEST_TMP (or /tmp), removed by
 * test_tmpdir_remove. Returns a malloc'd path. */
char *test_tmpdir(const char *prefix);
void test_tmpdir_remove(char *path);
/* Runs a shell command; returns its exit status. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
