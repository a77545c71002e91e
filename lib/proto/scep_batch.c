/* Group commit for SCEP enrollments. Each worker decides its enrollment
 * and signs the certificate (certa_ca_prepare) in parallel; then it writes the
 * transaction binding, the challenge's use, and the pipeline's request and
 * certificate, and SQLite admits one writer at a time: the workers'
 * enrollments queue here, and whichever worker finds no batch running
 * takes everything queued and writes it in one durable commit (one store
 * transaction around certa_ca_record_prepared), on its own CA handle,
 * while the others wait for their results. Alone, an enrollment is its
 * own batch of one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "certa/challenge.h"
#include "scep_internal.h"

#define BATCH_MAX 64

/* Writes one batch with this thread's CA handle, in one store transaction:
 * the bindings, the challenges' uses, the requests and the certificates
 * become durable together, before any certificate is returned. The
 * certificates were signed by each enrollment's own worker beforehand. */
static void write_batch(certa_ca *ca, struct scep_enrollment **v, size_t n)
{
    certa_store *store = certa_ca_store(ca);
    int64_t now = (int64_t)time(NULL);
    char msg[256];
    int rc = certa_store_begin(store);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct scep_enrollment *e = v[i];
        int r = certa_store_txn_bind(store, "scep", e->txid, e->key_id, 0, NULL);
        if (r == CERTA_EEXIST) {
            e->refused = SCEP_REFUSED_TXN;
            continue;
        }
        if (r == 0 && e->ref != NULL) {
            r = certa_challenge_consume(store, e->ref, now);
            if (r == CERTA_ESTATE || r == CERTA_ENOTFOUND) {
                /* Another request took the last use since the check. The
                 * binding stays: the transaction did come from this key. */
                r = 0;
                if (e->manual)
                    snprintf(e->requester, sizeof(e->requester), "unverified-challenge");
                else
                    e->refused = SCEP_REFUSED_CHALLENGE;
            }
        }
        if (r == 0 && e->refused == 0)
            r = certa_ca_record_prepared(ca, e->prep);
        rc = r;
    }
    if (rc == 0)
        rc = certa_store_commit(store);
    if (rc < 0) {
        /* Nothing of the batch is stored: no binding, no use spent. */
        snprintf(msg, sizeof(msg), "%s", certa_error_last());
        certa_store_rollback(store);
        for (size_t i = 0; i < n; i++) {
            v[i]->refused = 0;
            v[i]->rc = rc;
            snprintf(v[i]->error, sizeof(v[i]->error), "%s", msg);
        }
    }
}

void scep_enroll_queue(struct scep_state *st, struct scep_enrollment *e)
{
    e->next = NULL;
    e->done = 0;
    pthread_cond_init(&e->cond, NULL);
    pthread_mutex_lock(&st->q_lock);
    *st->q_tail = e;
    st->q_tail = &e->next;
    pthread_mutex_unlock(&st->q_lock);
}

/* Each waiter sleeps on its own condition: when a batch is written, only
 * its enrollments and the next one queued (to lead the next batch) wake,
 * not every worker waiting. Any waiter that finds no batch running leads,
 * and every queued enrollment's worker does come to wait, so the queue
 * always drains. */
int scep_enroll_wait(struct scep_state *st, certa_ca *ca, struct scep_enrollment *e)
{
    pthread_mutex_lock(&st->q_lock);
    while (!e->done) {
        if (st->q_busy) {
            pthread_cond_wait(&e->cond, &st->q_lock);
            continue;
        }
        /* Lead: take what is queued (up to BATCH_MAX) and write it. */
        struct scep_enrollment *v[BATCH_MAX];
        size_t n = 0;
        while (st->q_head != NULL && n < BATCH_MAX) {
            v[n++] = st->q_head;
            st->q_head = st->q_head->next;
        }
        if (st->q_head == NULL)
            st->q_tail = &st->q_head;
        st->q_busy = 1;
        pthread_mutex_unlock(&st->q_lock);
        pthread_mutex_lock(&st->write_lock);
        write_batch(ca, v, n);
        pthread_mutex_unlock(&st->write_lock);
        pthread_mutex_lock(&st->q_lock);
        st->q_busy = 0;
        for (size_t i = 0; i < n; i++) {
            v[i]->done = 1;
            pthread_cond_signal(&v[i]->cond);
        }
        if (st->q_head != NULL)
            pthread_cond_signal(&st->q_head->cond);
    }
    pthread_mutex_unlock(&st->q_lock);
    pthread_cond_destroy(&e->cond);
    if (e->rc < 0)
        return certa_error_set(e->rc, "%s", e->error);
    return 0;
}
