/* Internal to lib/store: the constructors of each store implementation,
 * called by certa_store_open once it has picked one from the URI. */
#ifndef CERTA_STORE_IMPL_H
#define CERTA_STORE_IMPL_H

#include "certa/store.h"
#include "certa/util.h"

/* Opens (and with CERTA_STORE_CREATE creates) a SQLite store at path. */
int certa_store_sqlite_open(const char *path, int flags, certa_store **out);

/* SQLite schema: the current version, and the forward migration that takes
 * a database from version v-1 to v (index v, SQL text). */
#define CERTA_SQLITE_SCHEMA_VERSION 1
extern const char *const certa_sqlite_migrations[CERTA_SQLITE_SCHEMA_VERSION + 1];

#endif
