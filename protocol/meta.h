/*
 * meta: memcached's meta commands (mg, ms, md, ma, mn, me), internal to
 * protocol/.
 *
 * text.c finds the line and looks the command word up in its one table;
 * the meta rows there hand the request to proto_meta_run() through the
 * small view below, so meta.c needs nothing of text.c's private structs.
 * Replies and errors are memcached 1.6.18's bytes, checked against a running
 * Debian memcached; the ones only meta uses are named here.
 */
#ifndef PROTOCOL_META_H
#define PROTOCOL_META_H

#include <stddef.h>

#include "protocol/proto.h"

/* Which meta command: text_cmd.arg of the meta rows. */
enum proto_meta_cmd {
    PROTO_META_GET = 1,
    PROTO_META_SET,
    PROTO_META_DELETE,
    PROTO_META_ARITH,
    PROTO_META_NOOP,
    PROTO_META_DEBUG,
};

/* One request as text.c found it. */
struct proto_meta_req {
    struct proto_conn *pc;
    struct reply *out;
    const char *buf;        /* the request from its first byte... */
    size_t len;             /* ...and the bytes available there */
    const char *args;       /* just past the command word */
    const char *line_end;   /* end of the line's content (before "\r\n") */
    size_t line_consumed;   /* the line's bytes up to and including '\n' */
    size_t consumed;        /* out: bytes used; 0 = wait for `need` bytes */
    size_t need;
};

void proto_meta_run(struct proto_meta_req *mr, unsigned cmd);

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
#define MSG_META_M_LENGTH      "CLIENT_ERROR incorrect length for M token\r\n"
#define MSG_META_BAD_INITIAL   "CLIENT_ERROR invalid numeric initial value\r\n"
#define MSG_META_BAD_DELTA     "CLIENT_ERROR invalid numeric delta value\r\n"
#define MSG_META_OPAQUE_LONG   "CLIENT_ERROR opaque token too long\r\n"
#define MSG_META_FLAGS_LONG    "CLIENT_ERROR options flags are too long\r\n"
#define MSG_META_SET_FLAGS_LONG "CLIENT_ERROR options flags too long\r\n"
#define MSG_META_SET_MODE      "CLIENT_ERROR invalid mode for ms M token\r\n"
#define MSG_META_ARITH_MODE    "CLIENT_ERROR invalid mode for ma M token\r\n"

#endif
