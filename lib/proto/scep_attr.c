/* SCEP's signed attributes (RFC 8894 section 3.2.1): the OIDs under
 * id-VeriSign 2.16.840.1.113733.1.9, registered with OpenSSL once, and the
 * names of message types and failInfo values for log lines. */
#include <stdarg.h>
#include <stdio.h>
#include <openssl/objects.h>
#include "scep_internal.h"

static struct scep_nids nids;
static pthread_once_t nids_once = PTHREAD_ONCE_INIT;

static int obj(const char *oid, const char *sn, const char *ln)
{
    int nid = OBJ_txt2nid(oid);
    return nid != NID_undef ? nid : OBJ_create(oid, sn, ln);
}

static void nids_init(void)
{
    nids.message_type = obj("2.16.840.1.113733.1.9.2", "scepMessageType", "SCEP messageType");
    nids.pki_status = obj("2.16.840.1.113733.1.9.3", "scepPkiStatus", "SCEP pkiStatus");
    nids.fail_info = obj("2.16.840.1.113733.1.9.4", "scepFailInfo", "SCEP failInfo");
    nids.sender_nonce = obj("2.16.840.1.113733.1.9.5", "scepSenderNonce", "SCEP senderNonce");
    nids.recipient_nonce = obj("2.16.840.1.113733.1.9.6", "scepRecipientNonce", "SCEP recipientNonce");
    nids.transaction_id = obj("2.16.840.1.113733.1.9.7", "scepTransactionID", "SCEP transactionID");
}

const struct scep_nids *scep_nids(void)
{
    pthread_once(&nids_once, nids_init);
    return &nids;
}

const char *scep_fail_name(int fail_info)
{
    switch (fail_info) {
    case SCEP_BADALG: return "badAlg";
    case SCEP_BADMESSAGECHECK: return "badMessageCheck";
    case SCEP_BADREQUEST: return "badRequest";
    case SCEP_BADTIME: return "badTime";
    case SCEP_BADCERTID: return "badCertId";
    default: return "?";
    }
}

const char *scep_msg_name(int msg_type)
{
    switch (msg_type) {
    case SCEP_CERTREP: return "CertRep";
    case SCEP_RENEWALREQ: return "RenewalReq";
    case SCEP_UPDATEREQ: return "UpdateReq";
    case SCEP_PKCSREQ: return "PKCSReq";
    case SCEP_CERTPOLL: return "CertPoll";
    case SCEP_GETCERT: return "GetCert";
    case SCEP_GETCRL: return "GetCRL";
    default: return "messageType?";
    }
}

int scep_fail(struct scep_fail_res *f, int info, const char *fmt, ...)
{
    va_list ap;
    f->info = info;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof(f->why), fmt, ap);
    va_end(ap);
    return 1;
}
