/*
 * auth: the ascii login a connection must pass first under -Y (auth.c).
 * Internal to protocol/: proto_process() calls it until pc->authenticated.
 */
#ifndef PROTOCOL_AUTH_H
#define PROTOCOL_AUTH_H

#include "protocol/proto.h"

/* proto_process()'s contract, for a connection that has not logged in. */
size_t proto_auth_process(struct proto_conn *pc, const char *buf, size_t len,
                          struct reply *out, enum proto_action *action, size_t *need);

#endif
