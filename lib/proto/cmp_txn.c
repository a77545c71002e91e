/* The CMP transactions still open (waiting for certConf or for an operator),
 * shared by every certad worker under one lock: a certConf or pollReq may
 * reach another worker than the request that opened the transaction. Each
 * entry owns the OSSL_CMP_SRV_CTX that answered so far; a message takes the
 * entry out while it is processed, so one transaction is never worked on by
 * two threads. The table is bounded. */
#include <stdlib.h>
#include <string.h>
#include "proto/cmp_internal.h"

void cmp_txn_clear(struct cmp_txn *t)
{
    if (t == NULL)
        return;
    free(t->orig);
    OSSL_CMP_SRV_CTX_free(t->srv);
    memset(t, 0, sizeof(*t));
}

int cmp_txn_put(struct cmp_state *st, struct cmp_txn *t)
{
    pthread_mutex_lock(&st->lock);
    struct cmp_txn *e = NULL;
    for (size_t i = 0; i < st->ntxns && e == NULL; i++)
        if (strcmp(st->txns[i].txid, t->txid) == 0)
            e = &st->txns[i];
    if (e != NULL) {
        cmp_txn_clear(e);
    } else if (st->ntxns < st->max_txns) {
        e = &st->txns[st->ntxns++];
    } else {
        pthread_mutex_unlock(&st->lock);
        cmp_txn_clear(t);
        return certa_error_set(CERTA_ETOOBIG, "too many open CMP transactions");
    }
    *e = *t;
    memset(t, 0, sizeof(*t));
    pthread_mutex_unlock(&st->lock);
    return 0;
}

static void remove_at(struct cmp_state *st, size_t i, struct cmp_txn *out)
{
    if (out != NULL)
        *out = st->txns[i];
    else
        cmp_txn_clear(&st->txns[i]);
    st->txns[i] = st->txns[--st->ntxns];
    memset(&st->txns[st->ntxns], 0, sizeof(st->txns[0]));
}

int cmp_txn_take(struct cmp_state *st, const char *txid, struct cmp_txn *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->ntxns; i++)
        if (strcmp(st->txns[i].txid, txid) == 0) {
            remove_at(st, i, out);
            pthread_mutex_unlock(&st->lock);
            return 0;
        }
    pthread_mutex_unlock(&st->lock);
    return certa_error_set(CERTA_ENOTFOUND, "no open CMP transaction %s", txid);
}

size_t cmp_txn_expired(struct cmp_state *st, int64_t now, char (*serials)[CERTA_SERIAL_HEX_MAX], size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->ntxns;) {
        struct cmp_txn *e = &st->txns[i];
        if (e->state == CMP_TXN_CONFIRM && e->deadline <= now && n < max) {
            memcpy(serials[n++], e->serial, CERTA_SERIAL_HEX_MAX);
            remove_at(st, i, NULL);
        } else if (e->state == CMP_TXN_POLLING && e->touched + st->poll_lifetime <= now) {
            /* The request stays in the store; only this poll session ends. */
            remove_at(st, i, NULL);
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}
