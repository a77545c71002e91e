/* Unit tests for lib/core: errors, buffers, files, hex and serials. */
#include "testutil.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "certa/error.h"
#include "certa/util.h"

static void test_error_message(void **state)
{
    (void)state;
    int rc = certa_error_set(CERTA_ENOTFOUND, "serial %s not found", "ab");
    assert_int_equal(rc, CERTA_ENOTFOUND);
    assert_string_equal(certa_error_last(), "serial ab not found");
    assert_int_equal(certa_error_last_code(), CERTA_ENOTFOUND);
    certa_error_clear();
    assert_string_equal(certa_error_last(), "");
}

static void test_serial_normalize(void **state)
{
    (void)state;
    char out[130];
    assert_int_equal(certa_serial_normalize("serial=00AB:cd:EF", out, sizeof(out)), 0);
    assert_string_equal(out, "abcdef");
    assert_int_equal(certa_serial_normalize("0x1F", out, sizeof(out)), 0);
    assert_string_equal(out, "1f");
    assert_int_equal(certa_serial_normalize("zz", out, sizeof(out)), CERTA_EINVAL);
    assert_int_equal(certa_serial_normalize("0000", out, sizeof(out)), CERTA_EINVAL);
    assert_int_equal(certa_serial_normalize("", out, sizeof(out)), CERTA_EINVAL);
}

static void test_hex(void **state)
{
    (void)state;
    const unsigned char in[] = { 0x00, 0xab, 0xff };
    char out[16];
    certa_hex_encode(in, 3, out);
    assert_string_equal(out, "00abff");
    certa_hex_colons(in, 3, out);
    assert_string_equal(out, "00:AB:FF");
}

/* certa_u64_decimal gives what printf's %llu gives, edges included. */
static void test_u64_decimal(void **state)
{
    (void)state;
    const uint64_t v[] = { 0, 9, 10, 99, 100, 4294967295u, 4294967296u, UINT64_MAX };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[CERTA_U64_DECIMAL_MAX], want[32];
        int n = snprintf(want, sizeof(want), "%llu", (unsigned long long)v[i]);
        assert_int_equal(certa_u64_decimal(v[i], out), (size_t)n);
        assert_string_equal(out, want);
    }
}

static void test_atomic_write_and_bounded_read(void **state)
{
    (void)state;
    char *dir = test_tmpdir("core");
    char path[512];
    snprintf(path, sizeof(path), "%s/secret", dir);
    assert_int_equal(certa_file_write_atomic(path, "hello", 5, 0600), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    certa_buf b = { 0 };
    assert_int_equal(certa_file_read(path, 100, &b), 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "hello", 5);
    certa_buf_free(&b);

    assert_int_equal(certa_file_read(path, 4, &b), CERTA_ETOOBIG);
    certa_buf_free(&b);
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(certa_file_read(path, 100, &b), CERTA_ENOTFOUND);
    certa_buf_free(&b);
    test_tmpdir_remove(dir);
}

/* Writing "to" a device must not replace it: /dev/null stays a character
 * device, and a FIFO receives the bytes. */
static void test_atomic_write_to_device(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(certa_file_write_atomic("/dev/null", "x", 1, 0644), 0);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));

    char *dir = test_tmpdir("fifo");
    char fifo[512];
    snprintf(fifo, sizeof(fifo), "%s/pipe", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(test_sh("cat %s > %s.out &", fifo, fifo), 0);
    assert_int_equal(certa_file_write_atomic(fifo, "hello", 5, 0600), 0);
    assert_int_equal(test_sh("sleep 0.2; test \"$(cat %s.out)\" = hello", fifo), 0);
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    test_tmpdir_remove(dir);
}

/* A passphrase file's first line, without its line end; a missing or too
 * large file is refused with nothing returned. */
static void test_read_first_line(void **state)
{
    (void)state;
    char *dir = test_tmpdir("line");
    char path[512], *line = (char *)"x";
    size_t len = 99;
    snprintf(path, sizeof(path), "%s/pass", dir);
    assert_int_equal(certa_file_write_atomic(path, "s3cret\r\nsecond\n", 15, 0600), 0);
    assert_int_equal(certa_file_read_first_line(path, 100, &line, &len), 0);
    assert_string_equal(line, "s3cret");
    assert_int_equal(len, 6);
    free(line);
    assert_int_equal(certa_file_read_first_line(path, 10, &line, &len), CERTA_ETOOBIG);
    assert_null(line);
    assert_int_equal(certa_file_write_atomic(path, "\nrest\n", 6, 0600), 0);
    assert_int_equal(certa_file_read_first_line(path, 100, &line, &len), 0);
    assert_string_equal(line, "");
    assert_int_equal(len, 0);
    free(line);
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(certa_file_read_first_line(path, 100, &line, &len), CERTA_ENOTFOUND);
    assert_null(line);
    test_tmpdir_remove(dir);
}

static void test_buf_appendf(void **state)
{
    (void)state;
    certa_buf b = { 0 };
    for (int i = 0; i < 1000; i++)
        assert_int_equal(certa_buf_appendf(&b, "%d,", i), 0);
    assert_true(b.len > 1000);
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_int_equal(b.data[b.len], '\0');
    certa_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_message),
        cmocka_unit_test(test_serial_normalize),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_u64_decimal),
        cmocka_unit_test(test_atomic_write_and_bounded_read),
        cmocka_unit_test(test_atomic_write_to_device),
        cmocka_unit_test(test_buf_appendf),
        cmocka_unit_test(test_read_first_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
