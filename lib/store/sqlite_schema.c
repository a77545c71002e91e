/* The SQLite store's schema as forward migrations: entry v takes a database
 * from version v-1 to v. Never edit a released entry; append a new one and
 * bump CERTA_SQLITE_SCHEMA_VERSION. */
#include "store/store_impl.h"

const char *const certa_sqlite_migrations[CERTA_SQLITE_SCHEMA_VERSION + 1] = {
    [0] = NULL,
    [1] =
        /* Certificates. status/reason/revoked_at mirror the revocation for
         * lookups (OCSP, list); the CRL reads the revocations table. */
        "CREATE TABLE certificates ("
        "  id INTEGER PRIMARY KEY,"
        "  serial TEXT NOT NULL UNIQUE,"
        "  subject TEXT NOT NULL,"
        "  profile TEXT,"
        "  request_id INTEGER NOT NULL DEFAULT 0,"
        "  issued_at INTEGER NOT NULL,"
        "  not_before INTEGER NOT NULL,"
        "  not_after INTEGER NOT NULL,"
        "  status INTEGER NOT NULL DEFAULT 0,"
        "  reason INTEGER NOT NULL DEFAULT -1,"
        "  revoked_at INTEGER NOT NULL DEFAULT 0,"
        "  invalidity_date INTEGER NOT NULL DEFAULT 0,"
        "  der BLOB NOT NULL);"
        "CREATE INDEX certificates_subject ON certificates(subject);"
        "CREATE INDEX certificates_not_after ON certificates(not_after);"
        "CREATE INDEX certificates_status ON certificates(status);"
        /* One row per certificate ever revoked or held, kept narrow so that a
         * full CRL is one sequential scan. on_crl = 0 after a released hold
         * (kept so a delta CRL can say removeFromCRL). change_seq is the
         * revocation sequence value of the last change. */
        "CREATE TABLE revocations ("
        "  cert_id INTEGER PRIMARY KEY REFERENCES certificates(id) ON DELETE CASCADE,"
        "  serial TEXT NOT NULL,"
        "  reason INTEGER NOT NULL,"
        "  revoked_at INTEGER NOT NULL,"
        "  invalidity_date INTEGER NOT NULL DEFAULT 0,"
        "  on_crl INTEGER NOT NULL,"
        "  change_seq INTEGER NOT NULL,"
        "  entry_der BLOB);"
        "CREATE INDEX revocations_change_seq ON revocations(change_seq);"
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE requests ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  status INTEGER NOT NULL,"
        "  protocol TEXT NOT NULL,"
        "  profile TEXT,"
        "  subject TEXT,"
        "  requester TEXT,"
        "  transaction_id TEXT,"
        "  serial TEXT,"
        "  reason TEXT,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL,"
        "  body BLOB);"
        "CREATE INDEX requests_status ON requests(status);"
        "CREATE INDEX requests_txn ON requests(protocol, transaction_id);"
        "CREATE TABLE transactions ("
        "  protocol TEXT NOT NULL, txid TEXT NOT NULL, key_id TEXT NOT NULL,"
        "  request_id INTEGER NOT NULL DEFAULT 0,"
        "  PRIMARY KEY (protocol, txid));"
        "CREATE TABLE nonces ("
        "  protocol TEXT NOT NULL, nonce BLOB NOT NULL, expires_at INTEGER NOT NULL,"
        "  PRIMARY KEY (protocol, nonce));"
        "CREATE INDEX nonces_expires ON nonces(expires_at);"
        "CREATE TABLE secrets ("
        "  kind TEXT NOT NULL, ref TEXT NOT NULL, blob BLOB NOT NULL,"
        "  subject_pattern TEXT, uses_left INTEGER NOT NULL,"
        "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL DEFAULT 0,"
        "  PRIMARY KEY (kind, ref));",
};
