/* The SQLite store: WAL, synchronous=FULL (a commit is on disk when it
 * returns), foreign keys, a busy timeout for concurrent handles, and every
 * statement prepared once per handle. Schema migrations are in
 * sqlite_schema.c; nothing SQLite-specific leaves this file. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "store/store_impl.h"

#define BUSY_TIMEOUT_MS 10000

enum stmt_id {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
    ST_CERT_INSERT, ST_CERT_GET, ST_CERT_EXISTS, ST_CERT_LIST,
    ST_REV_STATE, ST_CERT_SET_REVOKED, ST_REV_UPSERT, ST_REV_RELEASE,
    ST_REV_FULL, ST_REV_DELTA,
    ST_COUNTER_NEXT, ST_COUNTER_GET, ST_META_SET, ST_META_GET,
    ST_REQ_INSERT, ST_REQ_GET, ST_REQ_FIND_TXN, ST_REQ_LIST, ST_REQ_FINISH, ST_REQ_STATUS,
    ST_TXN_GET, ST_TXN_INSERT, ST_TXN_SET_REQ,
    ST_NONCE_PURGE, ST_NONCE_INSERT,
    ST_SECRET_INSERT, ST_SECRET_GET, ST_SECRET_CONSUME, ST_SECRET_EXISTS,
    ST_STATS,
    ST_COUNT
};

#define CERT_COLS "serial,subject,profile,request_id,issued_at,not_before,not_after," \
                  "status,reason,revoked_at,invalidity_date,der"
#define REQ_COLS "id,status,protocol,profile,subject,requester,transaction_id,serial," \
                 "reason,created_at,updated_at,body"
#define REV_COLS "serial,revoked_at,reason,invalidity_date,entry_der,change_seq,on_crl"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT certa_op",
    [ST_RELEASE] = "RELEASE certa_op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO certa_op",
    [ST_CERT_INSERT] = "INSERT INTO certificates(serial,subject,profile,request_id,issued_at,"
                       "not_before,not_after,der) VALUES(?,?,?,?,?,?,?,?)",
    [ST_CERT_GET] = "SELECT " CERT_COLS " FROM certificates WHERE serial=?",
    [ST_CERT_EXISTS] = "SELECT 1 FROM certificates WHERE serial=?",
    [ST_CERT_LIST] = "SELECT " CERT_COLS " FROM certificates WHERE (?1 < 0 OR status=?1)"
                     " AND (?2 IS NULL OR instr(subject, ?2) > 0)"
                     " AND (?3 = 0 OR not_after < ?3) ORDER BY id LIMIT ?4 OFFSET ?5",
    [ST_REV_STATE] = "SELECT id,status,reason FROM certificates WHERE serial=?",
    [ST_CERT_SET_REVOKED] = "UPDATE certificates SET status=?,reason=?,revoked_at=?,"
                            "invalidity_date=? WHERE id=?",
    [ST_REV_UPSERT] = "INSERT INTO revocations(cert_id,serial,reason,revoked_at,invalidity_date,"
                      "on_crl,change_seq,entry_der) VALUES(?,?,?,?,?,1,?,?)"
                      " ON CONFLICT(cert_id) DO UPDATE SET reason=excluded.reason,"
                      " revoked_at=excluded.revoked_at, invalidity_date=excluded.invalidity_date,"
                      " on_crl=1, change_seq=excluded.change_seq, entry_der=excluded.entry_der",
    [ST_REV_RELEASE] = "UPDATE revocations SET on_crl=0, change_seq=?, entry_der=NULL"
                       " WHERE cert_id=?",
    [ST_REV_FULL] = "SELECT " REV_COLS " FROM revocations WHERE on_crl=1",
    [ST_REV_DELTA] = "SELECT " REV_COLS " FROM revocations WHERE change_seq>? ORDER BY change_seq",
    [ST_COUNTER_NEXT] = "INSERT INTO counters(name,value) VALUES(?,1)"
                        " ON CONFLICT(name) DO UPDATE SET value=value+1 RETURNING value",
    [ST_COUNTER_GET] = "SELECT value FROM counters WHERE name=?",
    [ST_META_SET] = "INSERT INTO meta(key,value) VALUES(?,?)"
                    " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
    [ST_META_GET] = "SELECT value FROM meta WHERE key=?",
    [ST_REQ_INSERT] = "INSERT INTO requests(status,protocol,profile,subject,requester,"
                      "transaction_id,serial,reason,created_at,updated_at,body)"
                      " VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [ST_REQ_GET] = "SELECT " REQ_COLS " FROM requests WHERE id=?",
    [ST_REQ_FIND_TXN] = "SELECT " REQ_COLS " FROM requests WHERE protocol=? AND transaction_id=?"
                        " ORDER BY id DESC LIMIT 1",
    [ST_REQ_LIST] = "SELECT " REQ_COLS " FROM requests WHERE (?1 < 0 OR status=?1) ORDER BY id",
    [ST_REQ_FINISH] = "UPDATE requests SET status=?,serial=?,reason=?,updated_at=?"
                      " WHERE id=? AND status=0",
    [ST_REQ_STATUS] = "SELECT status FROM requests WHERE id=?",
    [ST_TXN_GET] = "SELECT key_id,request_id FROM transactions WHERE protocol=? AND txid=?",
    [ST_TXN_INSERT] = "INSERT INTO transactions(protocol,txid,key_id,request_id) VALUES(?,?,?,?)",
    [ST_TXN_SET_REQ] = "UPDATE transactions SET request_id=? WHERE protocol=? AND txid=?"
                       " AND request_id=0",
    [ST_NONCE_PURGE] = "DELETE FROM nonces WHERE expires_at>0 AND expires_at<?",
    [ST_NONCE_INSERT] = "INSERT INTO nonces(protocol,nonce,expires_at) VALUES(?,?,?)",
    [ST_SECRET_INSERT] = "INSERT INTO secrets(kind,ref,blob,subject_pattern,uses_left,"
                         "created_at,expires_at) VALUES(?,?,?,?,?,?,?)",
    [ST_SECRET_GET] = "SELECT kind,ref,blob,subject_pattern,uses_left,created_at,expires_at"
                      " FROM secrets WHERE kind=? AND ref=?",
    [ST_SECRET_CONSUME] = "UPDATE secrets SET uses_left=CASE WHEN uses_left<0 THEN uses_left"
                          " ELSE uses_left-1 END WHERE kind=? AND ref=? AND uses_left<>0"
                          " AND (expires_at=0 OR expires_at>?)",
    [ST_SECRET_EXISTS] = "SELECT 1 FROM secrets WHERE kind=? AND ref=?",
    [ST_STATS] = "SELECT (SELECT count(*) FROM certificates),"
                 " (SELECT count(*) FROM certificates WHERE status=1),"
                 " (SELECT count(*) FROM requests WHERE status=0),"
                 " (SELECT count(*) FROM requests), (SELECT count(*) FROM secrets)",
};

struct sq_store {
    certa_store base;
    sqlite3 *db;
    char *path;
    int in_txn;
    sqlite3_stmt *stmt[ST_COUNT];
};

#define SQ(s) ((struct sq_store *)(s))

/* Maps an SQLite failure to a certa code with a message naming the action. */
static int sq_fail(struct sq_store *q, int rc, const char *what)
{
    int code = CERTA_ESTORE;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        code = ((rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY))
                   ? CERTA_EEXIST : CERTA_ESTORE;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return certa_error_set(CERTA_ESTORE, "%s: the database %s is busy (another writer "
                               "holds it); try again", what, q->path);
    return certa_error_set(code, "%s: %s", what, sqlite3_errmsg(q->db));
}

/* Returns the cached statement, preparing it on first use. */
static sqlite3_stmt *stmt_get(struct sq_store *q, enum stmt_id id, int *rc)
{
    if (q->stmt[id] == NULL) {
        int r = sqlite3_prepare_v3(q->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                   &q->stmt[id], NULL);
        if (r != SQLITE_OK) {
            *rc = sq_fail(q, r, "preparing a store query");
            return NULL;
        }
    }
    *rc = 0;
    return q->stmt[id];
}

static void stmt_done(sqlite3_stmt *st)
{
    if (st != NULL) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Binding helpers: NULL text binds SQL NULL. Text is copied only when SQLite
 * needs it beyond the call, which it does not for our step-then-reset use. */
static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_blob(sqlite3_stmt *st, int i, const void *v, size_t n)
{
    return v ? sqlite3_bind_blob64(st, i, v, n, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Runs a statement with no result rows. */
static int exec_stmt(struct sq_store *q, enum stmt_id id, const char *what)
{
    int rc;
    sqlite3_stmt *st = stmt_get(q, id, &rc);
    if (st == NULL)
        return rc;
    int r = sqlite3_step(st);
    stmt_done(st);
    return (r == SQLITE_DONE || r == SQLITE_ROW) ? 0 : sq_fail(q, r, what);
}

static char *col_strdup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static unsigned char *col_blobdup(sqlite3_stmt *st, int i, size_t *len)
{
    const void *b = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    *len = 0;
    if (b == NULL || n <= 0)
        return NULL;
    unsigned char *p = malloc((size_t)n);
    if (p != NULL) {
        memcpy(p, b, (size_t)n);
        *len = (size_t)n;
    }
    return p;
}

/* ---- transactions ------------------------------------------------------- */

static int sq_begin(certa_store *s)
{
    struct sq_store *q = SQ(s);
    if (q->in_txn)
        return certa_error_set(CERTA_ESTATE, "a store transaction is already open");
    int rc = exec_stmt(q, ST_BEGIN, "starting a transaction");
    if (rc == 0)
        q->in_txn = 1;
    return rc;
}

static int sq_commit(certa_store *s)
{
    struct sq_store *q = SQ(s);
    if (!q->in_txn)
        return certa_error_set(CERTA_ESTATE, "no store transaction is open");
    int rc = exec_stmt(q, ST_COMMIT, "committing");
    if (rc != 0) {
        exec_stmt(q, ST_ROLLBACK, "rolling back");
    }
    q->in_txn = 0;
    return rc;
}

static int sq_rollback(certa_store *s)
{
    struct sq_store *q = SQ(s);
    if (!q->in_txn)
        return certa_error_set(CERTA_ESTATE, "no store transaction is open");
    q->in_txn = 0;
    return exec_stmt(q, ST_ROLLBACK, "rolling back");
}

/* A multi-statement write is atomic on its own: outside an explicit
 * transaction it opens one (IMMEDIATE, so the write lock is taken up front
 * and the busy timeout applies); inside one it uses a savepoint so a failed
 * call leaves the caller's transaction as it was. */
static int op_begin(struct sq_store *q)
{
    return exec_stmt(q, q->in_txn ? ST_SAVEPOINT : ST_BEGIN, "starting a transaction");
}

static int op_end(struct sq_store *q, int rc)
{
    if (q->in_txn) {
        if (rc != 0)
            exec_stmt(q, ST_ROLLBACK_TO, "rolling back");
        int r = exec_stmt(q, ST_RELEASE, "releasing a savepoint");
        return rc != 0 ? rc : r;
    }
    if (rc != 0) {
        exec_stmt(q, ST_ROLLBACK, "rolling back");
        return rc;
    }
    rc = exec_stmt(q, ST_COMMIT, "committing");
    if (rc != 0)
        exec_stmt(q, ST_ROLLBACK, "rolling back");
    return rc;
}

/* ---- certificates ----------------------------------------------------- */

/* Certificates always enter valid; revocation only goes through
 * cert_revoke so that the revocation sequence and CRL entry stay right. */
static int sq_cert_insert(certa_store *s, const struct certa_cert_row *row)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_CERT_INSERT, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, row->serial);
    bind_text(st, 2, row->subject ? row->subject : "");
    bind_text(st, 3, row->profile);
    sqlite3_bind_int64(st, 4, row->request_id);
    sqlite3_bind_int64(st, 5, row->issued_at);
    sqlite3_bind_int64(st, 6, row->not_before);
    sqlite3_bind_int64(st, 7, row->not_after);
    bind_blob(st, 8, row->der, row->der_len);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r == SQLITE_DONE)
        return 0;
    rc = sq_fail(q, r, "recording certificate");
    if (rc == CERTA_EEXIST)
        return certa_error_set(CERTA_EEXIST, "serial %s is already in the store", row->serial);
    return rc;
}

/* Fills a row from CERT_COLS. own: copy strings (get) or borrow (list). */
static int cert_from_stmt(sqlite3_stmt *st, struct certa_cert_row *out, int own)
{
    memset(out, 0, sizeof(*out));
    const char *serial = (const char *)sqlite3_column_text(st, 0);
    snprintf(out->serial, sizeof(out->serial), "%s", serial ? serial : "");
    out->request_id = sqlite3_column_int64(st, 3);
    out->issued_at = sqlite3_column_int64(st, 4);
    out->not_before = sqlite3_column_int64(st, 5);
    out->not_after = sqlite3_column_int64(st, 6);
    out->status = sqlite3_column_int(st, 7);
    out->reason = sqlite3_column_int(st, 8);
    out->revoked_at = sqlite3_column_int64(st, 9);
    out->invalidity_date = sqlite3_column_int64(st, 10);
    if (own) {
        out->subject = col_strdup(st, 1);
        out->profile = col_strdup(st, 2);
        out->der = col_blobdup(st, 11, &out->der_len);
        if (out->subject == NULL || out->der == NULL) {
            certa_cert_row_clear(out);
            return certa_error_set(CERTA_ENOMEM, "out of memory reading a certificate");
        }
    } else {
        out->subject = (char *)sqlite3_column_text(st, 1);
        out->profile = (char *)sqlite3_column_text(st, 2);
        out->der = (unsigned char *)sqlite3_column_blob(st, 11);
        out->der_len = (size_t)sqlite3_column_bytes(st, 11);
    }
    return 0;
}

static int sq_cert_get(certa_store *s, const char *serial, struct certa_cert_row *out)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_CERT_GET, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, serial);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = cert_from_stmt(st, out, 1);
    else if (r == SQLITE_DONE)
        rc = certa_error_set(CERTA_ENOTFOUND, "no certificate with serial %s", serial);
    else
        rc = sq_fail(q, r, "reading certificate");
    stmt_done(st);
    return rc;
}

static int sq_cert_exists(certa_store *s, const char *serial, int *exists)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_CERT_EXISTS, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, serial);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return sq_fail(q, r, "looking up certificate");
    *exists = (r == SQLITE_ROW);
    return 0;
}

static int sq_cert_list(certa_store *s, const struct certa_cert_filter *f, certa_cert_cb cb,
                        void *arg)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_CERT_LIST, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int(st, 1, f ? f->status : -1);
    bind_text(st, 2, f && f->subject_like && *f->subject_like ? f->subject_like : NULL);
    sqlite3_bind_int64(st, 3, f ? f->expires_before : 0);
    sqlite3_bind_int64(st, 4, f && f->limit > 0 ? f->limit : -1);
    sqlite3_bind_int64(st, 5, f && f->offset > 0 ? f->offset : 0);
    int r;
    rc = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct certa_cert_row row;
        cert_from_stmt(st, &row, 0);
        rc = cb(&row, arg);
        if (rc != 0)
            break;
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = sq_fail(q, r, "listing certificates");
    stmt_done(st);
    return rc > 0 ? 0 : rc;
}

static int counter_next(struct sq_store *q, const char *name, int64_t *out)
{
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_COUNTER_NEXT, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, name);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        r = sqlite3_step(st);
    }
    stmt_done(st);
    return r == SQLITE_DONE ? 0 : sq_fail(q, r, "advancing a counter");
}

/* Looks up a certificate's id and revocation state. */
static int rev_state(struct sq_store *q, const char *serial, int64_t *id, int *status, int *reason)
{
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_REV_STATE, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, serial);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *status = sqlite3_column_int(st, 1);
        *reason = sqlite3_column_int(st, 2);
        rc = 0;
    } else if (r == SQLITE_DONE) {
        rc = certa_error_set(CERTA_ENOTFOUND, "no certificate with serial %s", serial);
    } else {
        rc = sq_fail(q, r, "reading certificate state");
    }
    stmt_done(st);
    return rc;
}

static int set_cert_revoked(struct sq_store *q, int64_t id, int status, int reason,
                            int64_t when, int64_t inval)
{
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_CERT_SET_REVOKED, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int(st, 1, status);
    sqlite3_bind_int(st, 2, reason);
    sqlite3_bind_int64(st, 3, when);
    sqlite3_bind_int64(st, 4, inval);
    sqlite3_bind_int64(st, 5, id);
    int r = sqlite3_step(st);
    stmt_done(st);
    return r == SQLITE_DONE ? 0 : sq_fail(q, r, "recording revocation");
}

static int sq_cert_revoke(certa_store *s, const char *serial, int reason, int64_t when,
                          int64_t inval, const unsigned char *entry, size_t entry_len)
{
    struct sq_store *q = SQ(s);
    int64_t id = 0, seq = 0;
    int status = 0, cur_reason = 0;
    int rc = op_begin(q);
    if (rc != 0)
        return rc;
    rc = rev_state(q, serial, &id, &status, &cur_reason);
    if (rc != 0)
        goto out;
    if (status == CERTA_CERT_REVOKED && cur_reason != CERTA_REASON_CERTIFICATE_HOLD) {
        rc = certa_error_set(CERTA_ESTATE, "certificate %s is already revoked", serial);
        goto out;
    }
    if ((rc = counter_next(q, "revocation", &seq)) != 0)
        goto out;
    if ((rc = set_cert_revoked(q, id, CERTA_CERT_REVOKED, reason, when, inval)) != 0)
        goto out;
    sqlite3_stmt *st = stmt_get(q, ST_REV_UPSERT, &rc);
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, serial);
    sqlite3_bind_int(st, 3, reason);
    sqlite3_bind_int64(st, 4, when);
    sqlite3_bind_int64(st, 5, inval);
    sqlite3_bind_int64(st, 6, seq);
    bind_blob(st, 7, entry_len ? entry : NULL, entry_len);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_DONE)
        rc = sq_fail(q, r, "recording revocation");
out:
    return op_end(q, rc);
}

static int sq_cert_release_hold(certa_store *s, const char *serial, int64_t when)
{
    struct sq_store *q = SQ(s);
    int64_t id = 0, seq = 0;
    int status = 0, cur_reason = 0;
    (void)when; /* the removeFromCRL entry keeps the hold's date */
    int rc = op_begin(q);
    if (rc != 0)
        return rc;
    rc = rev_state(q, serial, &id, &status, &cur_reason);
    if (rc != 0)
        goto out;
    if (status != CERTA_CERT_REVOKED || cur_reason != CERTA_REASON_CERTIFICATE_HOLD) {
        rc = certa_error_set(CERTA_ESTATE, "certificate %s is not on hold", serial);
        goto out;
    }
    if ((rc = counter_next(q, "revocation", &seq)) != 0)
        goto out;
    if ((rc = set_cert_revoked(q, id, CERTA_CERT_VALID, CERTA_REASON_NONE, 0, 0)) != 0)
        goto out;
    sqlite3_stmt *st = stmt_get(q, ST_REV_RELEASE, &rc);
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, id);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_DONE)
        rc = sq_fail(q, r, "releasing hold");
out:
    return op_end(q, rc);
}

static int counter_get(struct sq_store *q, const char *name, int64_t *out)
{
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_COUNTER_GET, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, name);
    int r = sqlite3_step(st);
    *out = (r == SQLITE_ROW) ? sqlite3_column_int64(st, 0) : 0;
    stmt_done(st);
    return (r == SQLITE_ROW || r == SQLITE_DONE) ? 0 : sq_fail(q, r, "reading a counter");
}

/* Steps the query and calls back per row: the rows are never collected, so
 * a million-entry CRL costs the callback's memory only. Outside an explicit
 * transaction the scan and the sequence read share one read transaction, so
 * max_seq matches exactly the rows seen. */
static int sq_revoked_each(certa_store *s, int64_t since, certa_revoked_cb cb, void *arg,
                           int64_t *max_seq)
{
    struct sq_store *q = SQ(s);
    int own = !q->in_txn, rc, r;
    if (own && (rc = exec_stmt(q, ST_SAVEPOINT, "starting a read")) != 0)
        return rc;
    int64_t cur = 0;
    if ((rc = counter_get(q, "revocation", &cur)) != 0)
        goto out;
    sqlite3_stmt *st = stmt_get(q, since > 0 ? ST_REV_DELTA : ST_REV_FULL, &rc);
    if (st == NULL)
        goto out;
    if (since > 0)
        sqlite3_bind_int64(st, 1, since);
    struct certa_revoked_row row;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        row.serial = (const char *)sqlite3_column_text(st, 0);
        row.revoked_at = sqlite3_column_int64(st, 1);
        row.invalidity_date = sqlite3_column_int64(st, 3);
        row.change_seq = sqlite3_column_int64(st, 5);
        /* A full scan selects on_crl = 1 rows only: skip the column read. */
        if (since == 0 || sqlite3_column_int(st, 6)) {
            row.reason = sqlite3_column_int(st, 2);
            row.entry_der = sqlite3_column_blob(st, 4);
            row.entry_len = (size_t)sqlite3_column_bytes(st, 4);
        } else {
            row.reason = CERTA_REASON_REMOVE_FROM_CRL;
            row.entry_der = NULL;
            row.entry_len = 0;
        }
        if ((rc = cb(&row, arg)) != 0)
            break;
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = sq_fail(q, r, "reading revocations");
    stmt_done(st);
    if (rc > 0)
        rc = 0;
out:
    if (own) {
        exec_stmt(q, ST_RELEASE, "ending a read");
    }
    if (rc == 0 && max_seq != NULL)
        *max_seq = cur;
    return rc;
}

static int sq_counter_next(certa_store *s, const char *name, int64_t *out)
{
    return counter_next(SQ(s), name, out);
}

static int sq_counter_get(certa_store *s, const char *name, int64_t *out)
{
    return counter_get(SQ(s), name, out);
}

static int sq_meta_set(certa_store *s, const char *key, const char *value)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_META_SET, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, key);
    bind_text(st, 2, value);
    int r = sqlite3_step(st);
    stmt_done(st);
    return r == SQLITE_DONE ? 0 : sq_fail(q, r, "writing a setting");
}

static int sq_meta_get(certa_store *s, const char *key, char *out, size_t out_len)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_META_GET, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, key);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (strlen(v) >= out_len)
            rc = certa_error_set(CERTA_ETOOBIG, "setting %s is too long", key);
        else
            strcpy(out, v);
    } else if (r == SQLITE_DONE) {
        rc = certa_error_set(CERTA_ENOTFOUND, "setting %s is not set", key);
    } else {
        rc = sq_fail(q, r, "reading a setting");
    }
    stmt_done(st);
    return rc;
}

/* ---- requests ----------------------------------------------------------- */

static int sq_request_insert(certa_store *s, struct certa_request_row *row)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_REQ_INSERT, &rc);
    if (st == NULL)
        return rc;
    int64_t now = row->created_at ? row->created_at : (int64_t)time(NULL);
    sqlite3_bind_int(st, 1, row->status);
    bind_text(st, 2, row->protocol);
    bind_text(st, 3, row->profile);
    bind_text(st, 4, row->subject);
    bind_text(st, 5, row->requester);
    bind_text(st, 6, row->transaction_id);
    bind_text(st, 7, row->serial);
    bind_text(st, 8, row->reason);
    sqlite3_bind_int64(st, 9, now);
    sqlite3_bind_int64(st, 10, row->updated_at ? row->updated_at : now);
    bind_blob(st, 11, row->body, row->body_len);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_DONE)
        return sq_fail(q, r, "recording request");
    row->id = sqlite3_last_insert_rowid(q->db);
    return 0;
}

static int req_from_stmt(sqlite3_stmt *st, struct certa_request_row *out)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    out->status = sqlite3_column_int(st, 1);
    out->protocol = col_strdup(st, 2);
    out->profile = col_strdup(st, 3);
    out->subject = col_strdup(st, 4);
    out->requester = col_strdup(st, 5);
    out->transaction_id = col_strdup(st, 6);
    out->serial = col_strdup(st, 7);
    out->reason = col_strdup(st, 8);
    out->created_at = sqlite3_column_int64(st, 9);
    out->updated_at = sqlite3_column_int64(st, 10);
    out->body = col_blobdup(st, 11, &out->body_len);
    if (out->protocol == NULL) {
        certa_request_row_clear(out);
        return certa_error_set(CERTA_ENOMEM, "out of memory reading a request");
    }
    return 0;
}

static int req_get_one(struct sq_store *q, sqlite3_stmt *st, struct certa_request_row *out,
                       const char *what)
{
    int rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = req_from_stmt(st, out);
    else if (r == SQLITE_DONE)
        rc = certa_error_set(CERTA_ENOTFOUND, "%s", what);
    else
        rc = sq_fail(q, r, "reading request");
    stmt_done(st);
    return rc;
}

static int sq_request_get(certa_store *s, int64_t id, struct certa_request_row *out)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_REQ_GET, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    char what[64];
    snprintf(what, sizeof(what), "no request with id %lld", (long long)id);
    return req_get_one(q, st, out, what);
}

static int sq_request_find_txn(certa_store *s, const char *protocol, const char *txid,
                               struct certa_request_row *out)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_REQ_FIND_TXN, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, protocol);
    bind_text(st, 2, txid);
    return req_get_one(q, st, out, "no request for that transaction");
}

static int sq_request_list(certa_store *s, int status, certa_request_cb cb, void *arg)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_REQ_LIST, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int(st, 1, status);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct certa_request_row row;
        if ((rc = req_from_stmt(st, &row)) != 0)
            break;
        rc = cb(&row, arg);
        certa_request_row_clear(&row);
        if (rc != 0)
            break;
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = sq_fail(q, r, "listing requests");
    stmt_done(st);
    return rc > 0 ? 0 : rc;
}

static int sq_request_finish(certa_store *s, int64_t id, int status, const char *serial,
                             const char *reason)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_REQ_FINISH, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int(st, 1, status);
    bind_text(st, 2, serial);
    bind_text(st, 3, reason);
    sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
    sqlite3_bind_int64(st, 5, id);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_DONE)
        return sq_fail(q, r, "finishing request");
    if (sqlite3_changes(q->db) == 1)
        return 0;
    /* Nothing changed: tell a missing request from a finished one. */
    st = stmt_get(q, ST_REQ_STATUS, &rc);
    if (st == NULL)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    r = sqlite3_step(st);
    stmt_done(st);
    if (r == SQLITE_ROW)
        return certa_error_set(CERTA_ESTATE, "request %lld is not pending", (long long)id);
    if (r == SQLITE_DONE)
        return certa_error_set(CERTA_ENOTFOUND, "no request with id %lld", (long long)id);
    return sq_fail(q, r, "reading request");
}

/* ---- protocol transactions, nonces, secrets ---------------------------- */

static int sq_txn_bind(certa_store *s, const char *protocol, const char *txid, const char *key_id,
                       int64_t request_id, int64_t *existing)
{
    struct sq_store *q = SQ(s);
    int rc = op_begin(q), r;
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = stmt_get(q, ST_TXN_GET, &rc);
    if (st == NULL)
        goto out;
    bind_text(st, 1, protocol);
    bind_text(st, 2, txid);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *bound = (const char *)sqlite3_column_text(st, 0);
        int64_t req = sqlite3_column_int64(st, 1);
        int same = bound != NULL && strcmp(bound, key_id) == 0;
        stmt_done(st);
        if (!same) {
            rc = certa_error_set(CERTA_EEXIST, "%s transaction %s belongs to another key",
                                 protocol, txid);
            goto out;
        }
        if (req == 0 && request_id != 0) {
            /* The first use bound the id before a request existed. */
            st = stmt_get(q, ST_TXN_SET_REQ, &rc);
            if (st == NULL)
                goto out;
            sqlite3_bind_int64(st, 1, request_id);
            bind_text(st, 2, protocol);
            bind_text(st, 3, txid);
            r = sqlite3_step(st);
            stmt_done(st);
            if (r != SQLITE_DONE) {
                rc = sq_fail(q, r, "binding transaction");
                goto out;
            }
            req = request_id;
        }
        if (existing != NULL)
            *existing = req;
        goto out;
    }
    stmt_done(st);
    if (r != SQLITE_DONE) {
        rc = sq_fail(q, r, "reading transaction");
        goto out;
    }
    st = stmt_get(q, ST_TXN_INSERT, &rc);
    if (st == NULL)
        goto out;
    bind_text(st, 1, protocol);
    bind_text(st, 2, txid);
    bind_text(st, 3, key_id);
    sqlite3_bind_int64(st, 4, request_id);
    r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_DONE)
        rc = sq_fail(q, r, "binding transaction");
    else if (existing != NULL)
        *existing = request_id;
out:
    return op_end(q, rc);
}

static int sq_nonce_use(certa_store *s, const char *protocol, const unsigned char *nonce,
                        size_t len, int64_t expires_at)
{
    struct sq_store *q = SQ(s);
    int rc = op_begin(q), r;
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = stmt_get(q, ST_NONCE_PURGE, &rc);
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
    r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_DONE) {
        rc = sq_fail(q, r, "purging nonces");
        goto out;
    }
    st = stmt_get(q, ST_NONCE_INSERT, &rc);
    if (st == NULL)
        goto out;
    bind_text(st, 1, protocol);
    bind_blob(st, 2, nonce, len);
    sqlite3_bind_int64(st, 3, expires_at);
    r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_DONE) {
        rc = sq_fail(q, r, "recording nonce");
        if (rc == CERTA_EEXIST)
            rc = certa_error_set(CERTA_EEXIST, "%s nonce was used before (replay)", protocol);
    }
out:
    return op_end(q, rc);
}

static int sq_secret_insert(certa_store *s, const struct certa_secret_row *row)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_SECRET_INSERT, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, row->kind);
    bind_text(st, 2, row->ref);
    bind_blob(st, 3, row->blob, row->blob_len);
    bind_text(st, 4, row->subject_pattern);
    sqlite3_bind_int(st, 5, row->uses_left);
    sqlite3_bind_int64(st, 6, row->created_at ? row->created_at : (int64_t)time(NULL));
    sqlite3_bind_int64(st, 7, row->expires_at);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r == SQLITE_DONE)
        return 0;
    rc = sq_fail(q, r, "recording secret");
    if (rc == CERTA_EEXIST)
        return certa_error_set(CERTA_EEXIST, "%s %s already exists", row->kind, row->ref);
    return rc;
}

static int sq_secret_get(certa_store *s, const char *kind, const char *ref,
                         struct certa_secret_row *out)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_SECRET_GET, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, kind);
    bind_text(st, 2, ref);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        out->kind = col_strdup(st, 0);
        out->ref = col_strdup(st, 1);
        out->blob = col_blobdup(st, 2, &out->blob_len);
        out->subject_pattern = col_strdup(st, 3);
        out->uses_left = sqlite3_column_int(st, 4);
        out->created_at = sqlite3_column_int64(st, 5);
        out->expires_at = sqlite3_column_int64(st, 6);
        if (out->kind == NULL || out->ref == NULL || out->blob == NULL) {
            certa_secret_row_clear(out);
            rc = certa_error_set(CERTA_ENOMEM, "out of memory reading a secret");
        }
    } else if (r == SQLITE_DONE) {
        rc = certa_error_set(CERTA_ENOTFOUND, "no %s named %s", kind, ref);
    } else {
        rc = sq_fail(q, r, "reading secret");
    }
    stmt_done(st);
    return rc;
}

static int sq_secret_consume(certa_store *s, const char *kind, const char *ref, int64_t now)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_SECRET_CONSUME, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, kind);
    bind_text(st, 2, ref);
    sqlite3_bind_int64(st, 3, now);
    int r = sqlite3_step(st);
    stmt_done(st);
    if (r != SQLITE_DONE)
        return sq_fail(q, r, "consuming secret");
    if (sqlite3_changes(q->db) == 1)
        return 0;
    st = stmt_get(q, ST_SECRET_EXISTS, &rc);
    if (st == NULL)
        return rc;
    bind_text(st, 1, kind);
    bind_text(st, 2, ref);
    r = sqlite3_step(st);
    stmt_done(st);
    if (r == SQLITE_ROW)
        return certa_error_set(CERTA_ESTATE, "%s %s is used up or expired", kind, ref);
    if (r == SQLITE_DONE)
        return certa_error_set(CERTA_ENOTFOUND, "no %s named %s", kind, ref);
    return sq_fail(q, r, "reading secret");
}

static int sq_stats_get(certa_store *s, struct certa_store_stats *out)
{
    struct sq_store *q = SQ(s);
    int rc;
    sqlite3_stmt *st = stmt_get(q, ST_STATS, &rc);
    if (st == NULL)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->certificates = sqlite3_column_int64(st, 0);
        out->revoked = sqlite3_column_int64(st, 1);
        out->requests_pending = sqlite3_column_int64(st, 2);
        out->requests = sqlite3_column_int64(st, 3);
        out->secrets = sqlite3_column_int64(st, 4);
    } else {
        rc = sq_fail(q, r, "counting rows");
    }
    stmt_done(st);
    return rc;
}

/* ---- open / close / schema ---------------------------------------------- */

static void sq_close(certa_store *s)
{
    struct sq_store *q = SQ(s);
    if (q->in_txn)
        exec_stmt(q, ST_ROLLBACK, "rolling back");
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(q->stmt[i]);
    sqlite3_close(q->db);
    free(q->path);
    free(q);
}

static const struct certa_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .cert_insert = sq_cert_insert,
    .cert_get = sq_cert_get,
    .cert_exists = sq_cert_exists,
    .cert_list = sq_cert_list,
    .cert_revoke = sq_cert_revoke,
    .cert_release_hold = sq_cert_release_hold,
    .revoked_each = sq_revoked_each,
    .counter_next = sq_counter_next,
    .counter_get = sq_counter_get,
    .meta_set = sq_meta_set,
    .meta_get = sq_meta_get,
    .request_insert = sq_request_insert,
    .request_get = sq_request_get,
    .request_find_txn = sq_request_find_txn,
    .request_list = sq_request_list,
    .request_finish = sq_request_finish,
    .txn_bind = sq_txn_bind,
    .nonce_use = sq_nonce_use,
    .secret_insert = sq_secret_insert,
    .secret_get = sq_secret_get,
    .secret_consume = sq_secret_consume,
    .stats_get = sq_stats_get,
};

/* One-row integer query for schema checks; *out is -1 when no row. */
static int query_int(struct sq_store *q, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (r == SQLITE_OK) {
        r = sqlite3_step(st);
        *out = (r == SQLITE_ROW) ? sqlite3_column_int64(st, 0) : -1;
        if (r == SQLITE_ROW || r == SQLITE_DONE)
            r = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return r;
}

static int not_certa_db(struct sq_store *q, const char *why)
{
    return certa_error_set(CERTA_ESTORE, "%s is not a certa database (%s)", q->path, why);
}

/* Brings the schema to CERTA_SQLITE_SCHEMA_VERSION, each step in its own
 * transaction; refuses files we did not create and newer schemas. */
static int schema_check(struct sq_store *q, int flags)
{
    int64_t ntables = 0, has_version = 0, version = 0;
    int r = query_int(q, "SELECT count(*) FROM sqlite_master", &ntables);
    if (r != SQLITE_OK)
        return not_certa_db(q, sqlite3_errstr(r));
    r = query_int(q, "SELECT count(*) FROM sqlite_master WHERE type='table' AND"
                     " name='schema_version'", &has_version);
    if (r != SQLITE_OK)
        return not_certa_db(q, sqlite3_errstr(r));
    if (has_version) {
        r = query_int(q, "SELECT max(version) FROM schema_version", &version);
        if (r != SQLITE_OK || version < 0)
            return not_certa_db(q, "unreadable schema version");
    } else if (ntables > 0) {
        return not_certa_db(q, "an SQLite database without the certa schema");
    } else if (!(flags & CERTA_STORE_CREATE)) {
        return not_certa_db(q, "empty database");
    }
    if (version > CERTA_SQLITE_SCHEMA_VERSION)
        return certa_error_set(CERTA_ESTORE, "%s has schema version %lld, newer than this certa "
                               "supports (%d); use a newer certa", q->path,
                               (long long)version, CERTA_SQLITE_SCHEMA_VERSION);
    if (version == CERTA_SQLITE_SCHEMA_VERSION)
        return 0;
    if (flags & CERTA_STORE_READONLY)
        return certa_error_set(CERTA_ESTORE, "%s needs a schema upgrade; open it read-write once",
                               q->path);
    while (version < CERTA_SQLITE_SCHEMA_VERSION) {
        int rc = exec_stmt(q, ST_BEGIN, "starting schema migration");
        if (rc != 0)
            return rc;
        /* Another process may have migrated while we waited for the lock. */
        int64_t now_version = 0;
        if (query_int(q, "SELECT max(version) FROM schema_version", &now_version) != SQLITE_OK)
            now_version = 0;
        if (now_version > version) {
            exec_stmt(q, ST_COMMIT, "committing");
            return schema_check(q, flags);
        }
        char *err = NULL;
        int64_t next = version + 1;
        r = sqlite3_exec(q->db, certa_sqlite_migrations[next], NULL, NULL, &err);
        if (r == SQLITE_OK && version == 0)
            r = sqlite3_exec(q->db, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                                    "INSERT INTO schema_version VALUES (0)", NULL, NULL, &err);
        if (r == SQLITE_OK) {
            char sql[64];
            snprintf(sql, sizeof(sql), "UPDATE schema_version SET version=%lld", (long long)next);
            r = sqlite3_exec(q->db, sql, NULL, NULL, &err);
        }
        if (r != SQLITE_OK) {
            rc = certa_error_set(CERTA_ESTORE, "migrating %s to schema %lld: %s", q->path,
                                 (long long)next, err ? err : sqlite3_errstr(r));
            sqlite3_free(err);
            exec_stmt(q, ST_ROLLBACK, "rolling back");
            return rc;
        }
        if ((rc = exec_stmt(q, ST_COMMIT, "committing schema migration")) != 0)
            return rc;
        version = next;
    }
    return 0;
}

int certa_store_sqlite_open(const char *path, int flags, certa_store **out)
{
    struct stat sb;
    int rc;
    if (*path == '\0')
        return certa_error_set(CERTA_EINVAL, "empty store path");
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return certa_error_set(CERTA_EIO, "cannot access store %s: %s", path, strerror(errno));
        if (!(flags & CERTA_STORE_CREATE) || (flags & CERTA_STORE_READONLY))
            return certa_error_set(CERTA_ENOTFOUND, "store %s does not exist", path);
        /* Create it private: it holds hashed secrets and the audit trail. */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return certa_error_set(CERTA_EIO, "cannot create store %s: %s", path, strerror(errno));
        close(fd);
    } else if (!S_ISREG(sb.st_mode)) {
        return certa_error_set(CERTA_ESTORE, "store %s is not a regular file", path);
    }
    struct sq_store *q = calloc(1, sizeof(*q));
    if (q == NULL || (q->path = strdup(path)) == NULL) {
        free(q);
        return certa_error_set(CERTA_ENOMEM, "out of memory opening store");
    }
    q->base.ops = &sqlite_ops;
    int oflags = SQLITE_OPEN_NOMUTEX |
                 ((flags & CERTA_STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    int r = sqlite3_open_v2(path, &q->db, oflags, NULL);
    if (r != SQLITE_OK) {
        rc = certa_error_set(CERTA_ESTORE, "cannot open store %s: %s", path,
                             q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(r));
        goto fail;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
    int64_t dummy;
    /* Garbage bytes show up here as SQLITE_NOTADB, before any PRAGMA writes. */
    r = query_int(q, "SELECT count(*) FROM sqlite_master", &dummy);
    if (r != SQLITE_OK) {
        rc = not_certa_db(q, sqlite3_errstr(r));
        goto fail;
    }
    if (!(flags & CERTA_STORE_READONLY)) {
        r = sqlite3_exec(q->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (r != SQLITE_OK) {
            rc = sq_fail(q, r, "enabling WAL");
            goto fail;
        }
    }
    r = sqlite3_exec(q->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
    if (r != SQLITE_OK) {
        rc = sq_fail(q, r, "configuring store");
        goto fail;
    }
    if ((rc = schema_check(q, flags)) != 0)
        goto fail;
    *out = &q->base;
    return 0;
fail:
    sq_close(&q->base);
    return rc;
}
