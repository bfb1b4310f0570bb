/*
 * meta: memcached's meta commands (mg, ms, md, ma, mn, me), internal to
 * protocol/.
 *
 * Their handlers are rows of text.c's one command table: proto_text_process()
 * finds the line and the command word and calls them with the struct
 * text_req (text.h) every text handler gets; arg is unused. Storage (ms)
 * reads its data block through text.h's block helpers, as set does.
 * Replies and errors are memcached 1.6.45's bytes, checked against a running
 * memcached 1.6.45; the ones only meta uses are named here.
 */
#ifndef PROTOCOL_META_H
#define PROTOCOL_META_H

#include "protocol/text.h"

/* Base64 of n bytes into out (room for 4 * ceil(n / 3)); returns its length. */
size_t proto_b64_encode(const char *in, size_t n, char *out);
/* Whether a key may stand raw in a reply line (no whitespace, no control
 * byte); one that may not is echoed in base64 with " b", as a binary key. */
bool proto_key_is_printable(const char *key, size_t nkey);

void proto_meta_get(struct text_req *rq, unsigned arg);      /* mg */
void proto_meta_set(struct text_req *rq, unsigned arg);      /* ms */
void proto_meta_delete(struct text_req *rq, unsigned arg);   /* md */
void proto_meta_arith(struct text_req *rq, unsigned arg);    /* ma */
void proto_meta_noop(struct text_req *rq, unsigned arg);     /* mn */
void proto_meta_debug(struct text_req *rq, unsigned arg);    /* me */

/* ---- reply codes and errors only the meta commands send ---- */
#define MSG_META_VA            "VA "
#define MSG_META_HD            "HD"
#define MSG_META_EN            "EN"
#define MSG_META_NF            "NF"
#define MSG_META_NS            "NS"
#define MSG_META_EX            "EX"
#define MSG_META_MN            "MN\r\n"
#define MSG_META_ME            "ME "
#define MSG_META_EN_LINE       "EN\r\n"
#define MSG_META_DUP_FLAG      "CLIENT_ERROR duplicate flag\r\n"
#define MSG_META_BAD_FLAG      "CLIENT_ERROR invalid flag\r\n"
#define MSG_META_BAD_OR_DUP    "CLIENT_ERROR invalid or duplicate flag\r\n"
#define MSG_META_BAD_TOKEN     "CLIENT_ERROR bad token in command line format\r\n"
#define MSG_META_BAD_KEY64     "CLIENT_ERROR error decoding key\r\n"
#define MSG_META_BAD_INITIAL   "CLIENT_ERROR invalid numeric initial value\r\n"
#define MSG_META_BAD_DELTA     "CLIENT_ERROR invalid numeric delta value\r\n"
#define MSG_META_OPAQUE_LONG   "CLIENT_ERROR opaque token too long\r\n"
#define MSG_META_FLAGS_LONG    "CLIENT_ERROR options flags are too long\r\n"
#define MSG_META_SET_MODE      "CLIENT_ERROR invalid mode for ms M token\r\n"
#define MSG_META_ARITH_MODE    "CLIENT_ERROR invalid mode for ma M token\r\n"

#endif
