/*
 * proto: the door of protocol/ (proto.h): a connection's protocol state and
 * proto_process(), which every request of every connection goes through.
 *
 * It discards what is left of a refused data block (pc->swallow, any
 * protocol), picks the connection's protocol once, from -B or else from its
 * first byte (the binary magic, see proto_bin_choose), and hands the request
 * to that side: proto_bin_process() (binary.c) or proto_text_process()
 * (text.c, which runs the meta commands of meta.c too). Under -Y a
 * connection first logs in through proto_auth_process() (auth.c). All keep
 * proto_process()'s contract.
 */
#include <string.h>

#include "protocol/auth.h"
#include "protocol/binary.h"
#include "protocol/internal.h"
#include "protocol/proto.h"
#include "protocol/text.h"

void proto_conn_init(struct proto_conn *pc, const struct proto_env *env,
                     struct proto_counters *counters)
{
    memset(pc, 0, sizeof(*pc));
    pc->env = env;
    pc->counters = counters;
    pc->listen_mode = (uint8_t)env->mode;
    pc->fd = -1;
    pc->authenticated = env->auth_check == NULL;   /* -Y: log in first (auth.c) */
}

void proto_conn_reset(struct proto_conn *pc)
{
    proto_pending_end(pc);
    proto_stream_end(pc);
    pc->swallow = 0;
    pc->noreply = false;
    pc->get_cont = 0;
    pc->skip_line = false;
}

/* Bytes of a refused block still coming: taken and dropped, up to len. */
static size_t proto_swallow(struct proto_conn *pc, size_t len)
{
    size_t n = pc->swallow < len ? (size_t)pc->swallow : len;
    pc->swallow -= n;
    return n;
}

/*
 * Bytes of a value being filled: into the item, then its terminator. When
 * all are in, the saved request completes (commit and reply, as if the
 * value had come whole).
 */
static size_t proto_pending_fill(struct proto_conn *pc, const char *buf, size_t len,
                                 struct reply *out, enum proto_action *action)
{
    struct proto_pending *pd = &pc->pend;
    size_t used = pd->vlen - pd->filled;
    if (used > len)
        used = len;
    item_value_write(pc->env->store, pd->it, pd->filled, buf, used);
    pd->filled += used;
    while (used < len && pd->term_got < pd->term_len)
        pd->term[pd->term_got++] = buf[used++];
    if (pd->filled == pd->vlen && pd->term_got == pd->term_len) {
        if (pc->mode == PROTO_MODE_BINARY)
            proto_bin_finish(pc, out, action);
        else
            proto_text_finish(pc, out, action);
    }
    return used;
}

size_t proto_process(struct proto_conn *pc, const char *buf, size_t len,
                     struct reply *out, enum proto_action *action, size_t *need)
{
    *action = PROTO_CONTINUE;
    if (need != NULL)
        *need = 0;
    if (len == 0)
        return 0;
    if (pc->batch.turn_left > 0)
        pc->batch.turn_left--;   /* one request of the turn (batch.c) */
    if (pc->swallow > 0)
        return proto_swallow(pc, len);
    if (pc->pend.it != NULL)
        return proto_pending_fill(pc, buf, len, out, action);
    if (!pc->authenticated)
        return proto_auth_process(pc, buf, len, out, action, need);
    if (pc->mode == PROTO_MODE_AUTO)
        pc->mode = (uint8_t)proto_bin_choose((enum proto_mode)pc->listen_mode,
                                               (unsigned char)buf[0]);
    if (pc->mode == PROTO_MODE_BINARY)
        return proto_bin_process(pc, buf, len, out, action, need);
    return proto_text_process(pc, buf, len, out, action, need);
}
