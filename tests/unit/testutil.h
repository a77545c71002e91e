/* Helpers shared by the cmocka unit tests. */
#ifndef CERTA_TESTUTIL_H
#define CERTA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "certa/ca.h"

/* A fresh empty directory under CERTA_TEST_TMP (or /tmp), removed by
 * test_tmpdir_remove. Returns a malloc'd path. */
char *test_tmpdir(const char *prefix);
void test_tmpdir_remove(char *path);
/* Runs a shell command; returns its exit status. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A new CA in dir (the default key) with this subject; asserts it was made. */
void test_ca_init(const char *dir, const char *subject);
/* Inserts a placeholder certificate row (DER 30 00, subject CN=dev, valid
 * until 2096) with this serial; asserts it was stored. */
void test_store_add_cert(certa_store *s, const char *serial);

#endif
