/* Unit tests for lib/store: the SQLite store through the public interface,
 * including every error path the contract names. */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "certa/store.h"

struct fixture {
    char *dir;
    char path[512];
    certa_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = test_tmpdir("store");
    snprintf(f->path, sizeof(f->path), "%s/ca.db", f->dir);
    assert_int_equal(certa_store_open(f->path, CERTA_STORE_CREATE, &f->s), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    certa_store_close(f->s);
    test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void add_cert(certa_store *s, const char *serial, const char *subject, int64_t not_after)
{
    static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    struct certa_cert_row row = { 0 };
    snprintf(row.serial, sizeof(row.serial), "%s", serial);
    row.subject = (char *)subject;
    row.profile = (char *)"default";
    row.issued_at = 1000;
    row.not_before = 1000;
    row.not_after = not_after;
    row.der = der;
    row.der_len = sizeof(der);
    assert_int_equal(certa_store_cert_insert(s, &row), 0);
}

static void add_cert_rc(certa_store *s, const char *serial, int want)
{
    static unsigned char der[] = { 0x30, 0x00 };
    struct certa_cert_row row = { .subject = (char *)"CN=x", .der = der, .der_len = 2 };
    snprintf(row.serial, sizeof(row.serial), "%s", serial);
    assert_int_equal(certa_store_cert_insert(s, &row), want);
}

static void test_cert_insert_get(void **state)
{
    struct fixture *f = *state;
    add_cert(f->s, "a1", "CN=one", 5000);
    struct certa_cert_row row;
    assert_int_equal(certa_store_cert_get(f->s, "a1", &row), 0);
    assert_string_equal(row.serial, "a1");
    assert_string_equal(row.subject, "CN=one");
    assert_string_equal(row.profile, "default");
    assert_int_equal(row.not_after, 5000);
    assert_int_equal(row.status, CERTA_CERT_VALID);
    assert_int_equal(row.reason, CERTA_REASON_NONE);
    assert_int_equal(row.der_len, 5);
    certa_cert_row_clear(&row);
    int exists = -1;
    assert_int_equal(certa_store_cert_exists(f->s, "a1", &exists), 0);
    assert_int_equal(exists, 1);
    assert_int_equal(certa_store_cert_exists(f->s, "b2", &exists), 0);
    assert_int_equal(exists, 0);
    assert_int_equal(certa_store_cert_get(f->s, "b2", &row), CERTA_ENOTFOUND);
}

static void test_cert_duplicate(void **state)
{
    struct fixture *f = *state;
    add_cert(f->s, "a1", "CN=one", 5000);
    static unsigned char der[] = { 0x30, 0x00 };
    struct certa_cert_row row = { .serial = "a1", .subject = (char *)"CN=two",
                                  .der = der, .der_len = 2 };
    assert_int_equal(certa_store_cert_insert(f->s, &row), CERTA_EEXIST);
    struct certa_store_stats st;
    assert_int_equal(certa_store_stats_get(f->s, &st), 0);
    assert_int_equal(st.certificates, 1);
    /* No DER at all is refused before the store. */
    struct certa_cert_row bad = { .serial = "b1" };
    assert_int_equal(certa_store_cert_insert(f->s, &bad), CERTA_EINVAL);
}

struct list_acc { int n; char seen[8][CERTA_SERIAL_HEX_MAX]; };

static int list_cb(const struct certa_cert_row *row, void *arg)
{
    struct list_acc *a = arg;
    if (a->n < 8)
        snprintf(a->seen[a->n], CERTA_SERIAL_HEX_MAX, "%s", row->serial);
    a->n++;
    return 0;
}

static int stop_cb(const struct certa_cert_row *row, void *arg)
{
    (void)row;
    (*(int *)arg)++;
    return 1;
}

static void test_cert_list(void **state)
{
    struct fixture *f = *state;
    add_cert(f->s, "01", "CN=router1,O=net", 100);
    add_cert(f->s, "02", "CN=router2,O=net", 200);
    add_cert(f->s, "03", "CN=switch1,O=net", 300);
    assert_int_equal(certa_store_cert_revoke(f->s, "02", 1, 50, 0, NULL, 0), 0);
    struct list_acc a = { 0 };
    assert_int_equal(certa_store_cert_list(f->s, NULL, list_cb, &a), 0);
    assert_int_equal(a.n, 3);
    struct certa_cert_filter fl = { .status = CERTA_CERT_REVOKED };
    memset(&a, 0, sizeof(a));
    assert_int_equal(certa_store_cert_list(f->s, &fl, list_cb, &a), 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.seen[0], "02");
    struct certa_cert_filter f2 = { .status = -1, .subject_like = "router" };
    memset(&a, 0, sizeof(a));
    assert_int_equal(certa_store_cert_list(f->s, &f2, list_cb, &a), 0);
    assert_int_equal(a.n, 2);
    struct certa_cert_filter f3 = { .status = -1, .expires_before = 250 };
    memset(&a, 0, sizeof(a));
    assert_int_equal(certa_store_cert_list(f->s, &f3, list_cb, &a), 0);
    assert_int_equal(a.n, 2);
    struct certa_cert_filter f4 = { .status = -1, .limit = 1, .offset = 1 };
    memset(&a, 0, sizeof(a));
    assert_int_equal(certa_store_cert_list(f->s, &f4, list_cb, &a), 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.seen[0], "02");
    int calls = 0;
    assert_int_equal(certa_store_cert_list(f->s, NULL, stop_cb, &calls), 0);
    assert_int_equal(calls, 1);
}

struct rev_acc { int n; int reasons[8]; int64_t seqs[8]; size_t lens[8]; };

static int rev_cb(const struct certa_revoked_row *row, void *arg)
{
    struct rev_acc *a = arg;
    if (a->n < 8) {
        a->reasons[a->n] = row->reason;
        a->seqs[a->n] = row->change_seq;
        a->lens[a->n] = row->entry_len;
    }
    a->n++;
    return 0;
}

static int abort_cb(const struct certa_revoked_row *row, void *arg)
{
    (void)row;
    (void)arg;
    return CERTA_EIO;
}

static void test_revoke(void **state)
{
    struct fixture *f = *state;
    add_cert(f->s, "0a", "CN=a", 100);
    add_cert(f->s, "0b", "CN=b", 100);
    const unsigned char entry[] = { 0x30, 0x01, 0x00 };
    assert_int_equal(certa_store_cert_revoke(f->s, "0a", CERTA_REASON_KEY_COMPROMISE, 10, 5,
                                             entry, sizeof(entry)), 0);
    /* unknown serial, double revoke */
    assert_int_equal(certa_store_cert_revoke(f->s, "ff", 1, 10, 0, NULL, 0), CERTA_ENOTFOUND);
    assert_int_equal(certa_store_cert_revoke(f->s, "0a", 1, 11, 0, NULL, 0), CERTA_ESTATE);
    /* removeFromCRL and 7 are not revocation reasons */
    assert_int_equal(certa_store_cert_revoke(f->s, "0b", 8, 11, 0, NULL, 0), CERTA_EINVAL);
    assert_int_equal(certa_store_cert_revoke(f->s, "0b", 7, 11, 0, NULL, 0), CERTA_EINVAL);
    int64_t seq = 0;
    assert_int_equal(certa_store_counter_get(f->s, "revocation", &seq), 0);
    assert_int_equal(seq, 1);
    struct certa_cert_row row;
    assert_int_equal(certa_store_cert_get(f->s, "0a", &row), 0);
    assert_int_equal(row.status, CERTA_CERT_REVOKED);
    assert_int_equal(row.reason, CERTA_REASON_KEY_COMPROMISE);
    assert_int_equal(row.revoked_at, 10);
    assert_int_equal(row.invalidity_date, 5);
    certa_cert_row_clear(&row);
    struct rev_acc a = { 0 };
    int64_t max = 0;
    assert_int_equal(certa_store_revoked_each(f->s, 0, rev_cb, &a, &max), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.lens[0], sizeof(entry));
    assert_int_equal(max, 1);
    assert_int_equal(certa_store_revoked_each(f->s, 0, abort_cb, NULL, &max), CERTA_EIO);
}

static void test_hold_release(void **state)
{
    struct fixture *f = *state;
    add_cert(f->s, "0a", "CN=a", 100);
    add_cert(f->s, "0b", "CN=b", 100);
    add_cert(f->s, "0c", "CN=c", 100);
    assert_int_equal(certa_store_cert_revoke(f->s, "0a", CERTA_REASON_CERTIFICATE_HOLD, 10, 0,
                                             NULL, 0), 0);                        /* seq 1 */
    assert_int_equal(certa_store_cert_revoke(f->s, "0b", CERTA_REASON_CERTIFICATE_HOLD, 10, 0,
                                             NULL, 0), 0);                        /* seq 2 */
    /* release of a certificate not on hold */
    assert_int_equal(certa_store_cert_release_hold(f->s, "0c", 20), CERTA_ESTATE);
    assert_int_equal(certa_store_cert_release_hold(f->s, "ff", 20), CERTA_ENOTFOUND);
    /* hold, then final revocation: allowed */
    assert_int_equal(certa_store_cert_revoke(f->s, "0a", CERTA_REASON_SUPERSEDED, 30, 0,
                                             NULL, 0), 0);                        /* seq 3 */
    assert_int_equal(certa_store_cert_release_hold(f->s, "0a", 40), CERTA_ESTATE);
    assert_int_equal(certa_store_cert_release_hold(f->s, "0b", 40), 0);           /* seq 4 */
    struct certa_cert_row row;
    assert_int_equal(certa_store_cert_get(f->s, "0b", &row), 0);
    assert_int_equal(row.status, CERTA_CERT_VALID);
    assert_int_equal(row.reason, CERTA_REASON_NONE);
    certa_cert_row_clear(&row);
    /* Full: only 0a. Delta since 2: 0a (superseded, seq 3) and 0b (removeFromCRL, seq 4). */
    struct rev_acc a = { 0 };
    int64_t max = 0;
    assert_int_equal(certa_store_revoked_each(f->s, 0, rev_cb, &a, &max), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.reasons[0], CERTA_REASON_SUPERSEDED);
    assert_int_equal(max, 4);
    memset(&a, 0, sizeof(a));
    assert_int_equal(certa_store_revoked_each(f->s, 2, rev_cb, &a, &max), 0);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.reasons[0], CERTA_REASON_SUPERSEDED);
    assert_int_equal(a.seqs[0], 3);
    assert_int_equal(a.reasons[1], CERTA_REASON_REMOVE_FROM_CRL);
    assert_int_equal(a.seqs[1], 4);
    /* Held again after release: back on the CRL. */
    assert_int_equal(certa_store_cert_revoke(f->s, "0b", CERTA_REASON_CERTIFICATE_HOLD, 50, 0,
                                             NULL, 0), 0);
    memset(&a, 0, sizeof(a));
    assert_int_equal(certa_store_revoked_each(f->s, 0, rev_cb, &a, &max), 0);
    assert_int_equal(a.n, 2);
}

static void test_transactions(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(certa_store_begin(f->s), 0);
    assert_int_equal(certa_store_begin(f->s), CERTA_ESTATE);
    add_cert(f->s, "0a", "CN=a", 100);
    assert_int_equal(certa_store_cert_revoke(f->s, "0a", 1, 10, 0, NULL, 0), 0);
    /* A failed call inside the transaction leaves earlier work in place. */
    assert_int_equal(certa_store_cert_revoke(f->s, "0a", 1, 10, 0, NULL, 0), CERTA_ESTATE);
    assert_int_equal(certa_store_rollback(f->s), 0);
    int exists = 1;
    assert_int_equal(certa_store_cert_exists(f->s, "0a", &exists), 0);
    assert_int_equal(exists, 0);
    int64_t seq = -1;
    assert_int_equal(certa_store_counter_get(f->s, "revocation", &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(certa_store_commit(f->s), CERTA_ESTATE);
    assert_int_equal(certa_store_rollback(f->s), CERTA_ESTATE);
    assert_int_equal(certa_store_begin(f->s), 0);
    add_cert(f->s, "0b", "CN=b", 100);
    assert_int_equal(certa_store_commit(f->s), 0);
    /* Durable: visible from another handle. */
    certa_store *other;
    assert_int_equal(certa_store_open(f->path, 0, &other), 0);
    assert_int_equal(certa_store_cert_exists(other, "0b", &exists), 0);
    assert_int_equal(exists, 1);
    certa_store_close(other);
}

/* WAL: a reader on another handle neither blocks on nor sees an open write
 * transaction, and sees it once committed. */
static void test_concurrent_reader(void **state)
{
    struct fixture *f = *state;
    certa_store *reader;
    int exists = -1;
    assert_int_equal(certa_store_open(f->path, CERTA_STORE_READONLY, &reader), 0);
    assert_int_equal(certa_store_begin(f->s), 0);
    add_cert(f->s, "0c", "CN=c", 100);
    assert_int_equal(certa_store_cert_exists(reader, "0c", &exists), 0);
    assert_int_equal(exists, 0);
    assert_int_equal(certa_store_commit(f->s), 0);
    assert_int_equal(certa_store_cert_exists(reader, "0c", &exists), 0);
    assert_int_equal(exists, 1);
    certa_store_close(reader);
}

static void test_counters_meta(void **state)
{
    struct fixture *f = *state;
    int64_t v = -1;
    assert_int_equal(certa_store_counter_get(f->s, "crl", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(certa_store_counter_next(f->s, "crl", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(certa_store_counter_next(f->s, "crl", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(certa_store_counter_get(f->s, "crl", &v), 0);
    assert_int_equal(v, 2);
    char buf[16];
    assert_int_equal(certa_store_meta_get(f->s, "k", buf, sizeof(buf)), CERTA_ENOTFOUND);
    assert_int_equal(certa_store_meta_set(f->s, "k", "v1"), 0);
    assert_int_equal(certa_store_meta_set(f->s, "k", "v2"), 0);
    assert_int_equal(certa_store_meta_get(f->s, "k", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "v2");
    assert_int_equal(certa_store_meta_set(f->s, "long", "0123456789abcdefXYZ"), 0);
    assert_int_equal(certa_store_meta_get(f->s, "long", buf, sizeof(buf)), CERTA_ETOOBIG);
}

static int req_count_cb(const struct certa_request_row *row, void *arg)
{
    (void)row;
    (*(int *)arg)++;
    return 0;
}

static void test_requests(void **state)
{
    struct fixture *f = *state;
    unsigned char body[] = { 1, 2, 3 };
    struct certa_request_row r = { .status = CERTA_REQ_PENDING, .protocol = (char *)"scep",
                                   .profile = (char *)"default", .subject = (char *)"CN=r1",
                                   .requester = (char *)"challenge:x",
                                   .transaction_id = (char *)"tx1", .body = body,
                                   .body_len = 3 };
    assert_int_equal(certa_store_request_insert(f->s, &r), 0);
    assert_true(r.id > 0);
    int64_t id = r.id;
    struct certa_request_row r2 = { .status = CERTA_REQ_PENDING, .protocol = (char *)"cli" };
    assert_int_equal(certa_store_request_insert(f->s, &r2), 0);
    struct certa_request_row got;
    assert_int_equal(certa_store_request_get(f->s, id, &got), 0);
    assert_string_equal(got.protocol, "scep");
    assert_string_equal(got.subject, "CN=r1");
    assert_int_equal(got.body_len, 3);
    assert_int_equal(got.status, CERTA_REQ_PENDING);
    certa_request_row_clear(&got);
    assert_int_equal(certa_store_request_find_txn(f->s, "scep", "tx1", &got), 0);
    assert_int_equal(got.id, id);
    certa_request_row_clear(&got);
    assert_int_equal(certa_store_request_find_txn(f->s, "cmp", "tx1", &got), CERTA_ENOTFOUND);
    assert_int_equal(certa_store_request_get(f->s, 9999, &got), CERTA_ENOTFOUND);
    int n = 0;
    assert_int_equal(certa_store_request_list(f->s, CERTA_REQ_PENDING, req_count_cb, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(certa_store_request_finish(f->s, id, CERTA_REQ_ISSUED, "abc", NULL), 0);
    assert_int_equal(certa_store_request_finish(f->s, id, CERTA_REQ_REJECTED, NULL, "no"),
                     CERTA_ESTATE);
    assert_int_equal(certa_store_request_finish(f->s, 9999, CERTA_REQ_REJECTED, NULL, "no"),
                     CERTA_ENOTFOUND);
    assert_int_equal(certa_store_request_finish(f->s, r2.id, CERTA_REQ_PENDING, NULL, NULL),
                     CERTA_EINVAL);
    assert_int_equal(certa_store_request_finish(f->s, r2.id, CERTA_REQ_REJECTED, NULL, "bad"), 0);
    assert_int_equal(certa_store_request_get(f->s, id, &got), 0);
    assert_int_equal(got.status, CERTA_REQ_ISSUED);
    assert_string_equal(got.serial, "abc");
    certa_request_row_clear(&got);
    n = 0;
    assert_int_equal(certa_store_request_list(f->s, CERTA_REQ_PENDING, req_count_cb, &n), 0);
    assert_int_equal(n, 0);
    n = 0;
    assert_int_equal(certa_store_request_list(f->s, -1, req_count_cb, &n), 0);
    assert_int_equal(n, 2);
    struct certa_store_stats st;
    assert_int_equal(certa_store_stats_get(f->s, &st), 0);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.requests_pending, 0);
}

static void test_txn_nonce(void **state)
{
    struct fixture *f = *state;
    int64_t req = -1;
    assert_int_equal(certa_store_txn_bind(f->s, "scep", "t1", "key1", 0, &req), 0);
    assert_int_equal(req, 0);
    assert_int_equal(certa_store_txn_bind(f->s, "scep", "t1", "key1", 7, &req), 0);
    assert_int_equal(req, 7);
    assert_int_equal(certa_store_txn_bind(f->s, "scep", "t1", "key1", 0, &req), 0);
    assert_int_equal(req, 7);
    assert_int_equal(certa_store_txn_bind(f->s, "scep", "t1", "key2", 0, &req), CERTA_EEXIST);
    assert_int_equal(certa_store_txn_bind(f->s, "cmp", "t1", "key2", 3, NULL), 0);
    const unsigned char n1[] = { 1, 2, 3, 4 };
    assert_int_equal(certa_store_nonce_use(f->s, "scep", n1, 4, 0), 0);
    assert_int_equal(certa_store_nonce_use(f->s, "scep", n1, 4, 0), CERTA_EEXIST);
    assert_int_equal(certa_store_nonce_use(f->s, "cmp", n1, 4, 0), 0);
    /* An expired nonce is purged and may be seen again. */
    const unsigned char n2[] = { 9 };
    assert_int_equal(certa_store_nonce_use(f->s, "scep", n2, 1, 1), 0);
    assert_int_equal(certa_store_nonce_use(f->s, "scep", n2, 1, 0), 0);
}

static void test_secrets(void **state)
{
    struct fixture *f = *state;
    unsigned char blob[] = { 0xaa, 0xbb };
    struct certa_secret_row r = { .kind = (char *)"scep-challenge", .ref = (char *)"r1",
                                  .blob = blob, .blob_len = 2, .uses_left = 2,
                                  .expires_at = 1000 };
    assert_int_equal(certa_store_secret_insert(f->s, &r), 0);
    assert_int_equal(certa_store_secret_insert(f->s, &r), CERTA_EEXIST);
    struct certa_secret_row got;
    assert_int_equal(certa_store_secret_get(f->s, "scep-challenge", "r1", &got), 0);
    assert_int_equal(got.uses_left, 2);
    assert_int_equal(got.blob_len, 2);
    assert_null(got.subject_pattern);
    certa_secret_row_clear(&got);
    assert_int_equal(certa_store_secret_get(f->s, "cmp-secret", "r1", &got), CERTA_ENOTFOUND);
    assert_int_equal(certa_store_secret_consume(f->s, "scep-challenge", "r1", 500), 0);
    assert_int_equal(certa_store_secret_consume(f->s, "scep-challenge", "r1", 500), 0);
    assert_int_equal(certa_store_secret_consume(f->s, "scep-challenge", "r1", 500), CERTA_ESTATE);
    assert_int_equal(certa_store_secret_consume(f->s, "scep-challenge", "zz", 500),
                     CERTA_ENOTFOUND);
    /* expired */
    struct certa_secret_row e = { .kind = (char *)"cmp-secret", .ref = (char *)"e",
                                  .blob = blob, .blob_len = 2, .uses_left = 5,
                                  .expires_at = 100 };
    assert_int_equal(certa_store_secret_insert(f->s, &e), 0);
    assert_int_equal(certa_store_secret_consume(f->s, "cmp-secret", "e", 99), 0);
    assert_int_equal(certa_store_secret_consume(f->s, "cmp-secret", "e", 100), CERTA_ESTATE);
    /* unlimited */
    struct certa_secret_row u = { .kind = (char *)"cmp-secret", .ref = (char *)"u",
                                  .blob = blob, .blob_len = 2, .uses_left = -1 };
    assert_int_equal(certa_store_secret_insert(f->s, &u), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(certa_store_secret_consume(f->s, "cmp-secret", "u", 5000), 0);
    assert_int_equal(certa_store_secret_get(f->s, "cmp-secret", "u", &got), 0);
    assert_int_equal(got.uses_left, -1);
    certa_secret_row_clear(&got);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *dir = test_tmpdir("storeopen");
    char path[512];
    certa_store *s = NULL;
    /* missing */
    snprintf(path, sizeof(path), "%s/missing.db", dir);
    assert_int_equal(certa_store_open(path, 0, &s), CERTA_ENOTFOUND);
    assert_null(s);
    /* garbage bytes */
    snprintf(path, sizeof(path), "%s/garbage.db", dir);
    assert_int_equal(test_sh("head -c 8192 /dev/urandom > '%s'", path), 0);
    assert_int_equal(certa_store_open(path, 0, &s), CERTA_ESTORE);
    assert_non_null(strstr(certa_error_last(), "not a certa database"));
    assert_int_equal(certa_store_open(path, CERTA_STORE_CREATE, &s), CERTA_ESTORE);
    /* sqlite without our schema */
    snprintf(path, sizeof(path), "%s/other.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(certa_store_open(path, CERTA_STORE_CREATE, &s), CERTA_ESTORE);
    assert_non_null(strstr(certa_error_last(), "without the certa schema"));
    /* newer schema */
    snprintf(path, sizeof(path), "%s/newer.db", dir);
    assert_int_equal(certa_store_open(path, CERTA_STORE_CREATE, &s), 0);
    certa_store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version=999", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(certa_store_open(path, 0, &s), CERTA_ESTORE);
    assert_non_null(strstr(certa_error_last(), "newer"));
    /* URI forms, read-only */
    char uri[600];
    snprintf(path, sizeof(path), "%s/uri.db", dir);
    snprintf(uri, sizeof(uri), "sqlite:%s", path);
    assert_int_equal(certa_store_open(uri, CERTA_STORE_CREATE, &s), 0);
    certa_store_close(s);
    assert_int_equal(certa_store_open(uri, CERTA_STORE_READONLY, &s), 0);
    struct certa_store_stats st;
    assert_int_equal(certa_store_stats_get(s, &st), 0);
    assert_int_equal(st.certificates, 0);
    add_cert_rc(s, "0a", CERTA_ESTORE);          /* read-only refuses writes */
    certa_store_close(s);
    /* An empty file is an empty SQLite database: not ours without CREATE,
     * migrated to the current schema with it. */
    snprintf(path, sizeof(path), "%s/empty.db", dir);
    assert_int_equal(test_sh(": > '%s'", path), 0);
    assert_int_equal(certa_store_open(path, 0, &s), CERTA_ESTORE);
    assert_int_equal(certa_store_open(path, CERTA_STORE_CREATE, &s), 0);
    certa_store_close(s);
    assert_int_equal(test_sh("test \"$(sqlite3 '%s' 'SELECT version FROM schema_version')\" = 1",
                             path), 0);
    assert_int_equal(test_sh("test \"$(sqlite3 '%s' 'PRAGMA journal_mode')\" = wal", path), 0);
    assert_int_equal(certa_store_open("postgresql://x/y", 0, &s), CERTA_EUNSUPPORTED);
    assert_int_equal(certa_store_open("", 0, &s), CERTA_EINVAL);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cert_insert_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
