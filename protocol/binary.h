/*
 * binary: memcached's binary protocol (internal to protocol/).
 *
 * proto_process() (proto.c) picks the protocol of a connection from its first
 * byte (or from -B) and, for binary, hands every call to proto_bin_process(),
 * which has the same contract: at most one request from buf[0..len), the
 * bytes consumed (0 = incomplete, *need = bytes the request needs), the reply
 * appended to out, *action what the connection must do next.
 *
 * The wire constants (opcodes, status codes, error bodies) are named here,
 * once; the error bodies are memcached 1.6.18's, byte for byte.
 */
#ifndef PROTOCOL_BINARY_H
#define PROTOCOL_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/proto.h"

#define BIN_HEADER_LEN 24
#define BIN_MAGIC_REQUEST 0x80
#define BIN_MAGIC_RESPONSE 0x81

/* Opcodes memcached serves (and Verbosity, which it answers "Unknown command"). */
enum bin_opcode {
    BIN_OP_GET = 0x00,
    BIN_OP_SET = 0x01,
    BIN_OP_ADD = 0x02,
    BIN_OP_REPLACE = 0x03,
    BIN_OP_DELETE = 0x04,
    BIN_OP_INCREMENT = 0x05,
    BIN_OP_DECREMENT = 0x06,
    BIN_OP_QUIT = 0x07,
    BIN_OP_FLUSH = 0x08,
    BIN_OP_GETQ = 0x09,
    BIN_OP_NOOP = 0x0a,
    BIN_OP_VERSION = 0x0b,
    BIN_OP_GETK = 0x0c,
    BIN_OP_GETKQ = 0x0d,
    BIN_OP_APPEND = 0x0e,
    BIN_OP_PREPEND = 0x0f,
    BIN_OP_STAT = 0x10,
    BIN_OP_SETQ = 0x11,
    BIN_OP_ADDQ = 0x12,
    BIN_OP_REPLACEQ = 0x13,
    BIN_OP_DELETEQ = 0x14,
    BIN_OP_INCREMENTQ = 0x15,
    BIN_OP_DECREMENTQ = 0x16,
    BIN_OP_QUITQ = 0x17,
    BIN_OP_FLUSHQ = 0x18,
    BIN_OP_APPENDQ = 0x19,
    BIN_OP_PREPENDQ = 0x1a,
    BIN_OP_VERBOSITY = 0x1b,
    BIN_OP_TOUCH = 0x1c,
    BIN_OP_GAT = 0x1d,
    BIN_OP_GATQ = 0x1e,
    BIN_OP_GATK = 0x23,
    BIN_OP_GATKQ = 0x24,
};

enum bin_status {
    BIN_ST_OK = 0x00,
    BIN_ST_KEY_ENOENT = 0x01,
    BIN_ST_KEY_EEXISTS = 0x02,
    BIN_ST_E2BIG = 0x03,
    BIN_ST_EINVAL = 0x04,
    BIN_ST_NOT_STORED = 0x05,
    BIN_ST_DELTA_BADVAL = 0x06,
    BIN_ST_AUTH_ERROR = 0x20,
    BIN_ST_UNKNOWN_COMMAND = 0x81,
    BIN_ST_ENOMEM = 0x82,
};

/* Error bodies, as memcached sends them (no terminator on the wire). */
#define BIN_MSG_KEY_ENOENT      "Not found"
#define BIN_MSG_KEY_EEXISTS     "Data exists for key."
#define BIN_MSG_E2BIG           "Too large."
#define BIN_MSG_EINVAL          "Invalid arguments"
#define BIN_MSG_NOT_STORED      "Not stored."
#define BIN_MSG_DELTA_BADVAL    "Non-numeric server-side value for incr or decr"
#define BIN_MSG_UNKNOWN_COMMAND "Unknown command"
#define BIN_MSG_AUTH_ERROR      "Auth failure."
#define BIN_MSG_ENOMEM          "Out of memory"

/* incr/decr expiration meaning "do not create a missing counter". */
#define BIN_ARITH_NO_CREATE 0xffffffffu

/* Which protocol a connection speaks, given -B and its first byte. */
enum proto_mode proto_bin_choose(enum proto_mode configured, unsigned char first);

/* A large value's item is filled (pc->pend): store it and answer, as for a whole frame. */
void proto_bin_finish(struct proto_conn *pc, struct reply *out, enum proto_action *action);

size_t proto_bin_process(struct proto_conn *pc, const char *buf, size_t len,
                         struct reply *out, enum proto_action *action, size_t *need);

#endif
