/*
 * auth: the ascii login of -Y, memcached 1.6.45's token authentication.
 *
 * Until a connection has logged in, proto_process() hands its bytes here
 * instead of to a protocol. The only request that means anything is
 *
 *   set <any key> <any flags> <any exptime> <bytes>\r\n<user> <password>\r\n
 *
 * which the server checks (proto_env.auth_check, server/auth.c) and answers
 * STORED (from then on the connection speaks the text protocol as usual) or
 * "CLIENT_ERROR authentication failure". As memcached's state machine
 * (proto_text.c, try_read_command_asciiauth):
 *  - a line shorter than AUTH_LINE_MIN bytes before its '\n', or no '\n'
 *    within AUTH_WAIT_MAX bytes, closes the connection without a reply;
 *  - a line with fewer than AUTH_TOKENS_MIN tokens, a first token not
 *    starting "set", or a <bytes> that is not all digits answers
 *    "CLIENT_ERROR unauthenticated" (every other command, in effect);
 *  - <bytes> over AUTH_TOKEN_MAX answers "CLIENT_ERROR auth token too long"
 *    (the line is taken, not the data: what follows is read as requests);
 *  - the data must end in "\r\n" and hold a space between user and password.
 * Each checked login counts auth_cmds, each failed one auth_errors too.
 * Unlike memcached, which consumes the line first, the request is taken
 * whole once all of it is in (*need says how much): a login is one reply.
 */
#include <string.h>

#include "protocol/auth.h"
#include "protocol/messages.h"
#include "protocol/text_parse.h"

#define AUTH_LINE_MIN 6          /* memcached's MIN_AUTH_REQ_LEN */
#define AUTH_WAIT_MAX 2048       /* bytes without a '\n' before hanging up */
#define AUTH_TOKEN_MAX 16384     /* memcached's MAX_AUTH_REQ_LEN: <bytes> at most */
#define AUTH_TOKENS_MIN 5        /* set key flags exptime bytes */
#define AUTH_BYTES_TOKEN 4       /* index of <bytes> */
#define AUTH_CMD "set"

#define MSG_AUTH_UNAUTHENTICATED "CLIENT_ERROR unauthenticated\r\n"
#define MSG_AUTH_TOO_LONG        "CLIENT_ERROR auth token too long\r\n"
#define MSG_AUTH_TERMINATION     "CLIENT_ERROR bad command line termination\r\n"
#define MSG_AUTH_FORMAT          "CLIENT_ERROR bad authentication token format\r\n"
#define MSG_AUTH_FAILURE         "CLIENT_ERROR authentication failure\r\n"

/* The <bytes> of a login line, memcached's way: digits only, 32 bits. */
static bool auth_parse_size(const struct text_token *t, uint32_t *size)
{
    return t->len > 0 && t->p[0] >= '0' && t->p[0] <= '9' && text_parse_u32(t, size);
}

/* The login line's verdict: true with *size when its data follows. */
static bool auth_line_ok(const struct text_line *line, uint32_t *size)
{
    struct text_token tok[AUTH_TOKENS_MIN];
    const char *p = line->start;
    size_t n = text_tokenize(&p, line->end, tok, AUTH_TOKENS_MIN);
    return n == AUTH_TOKENS_MIN && tok[0].len >= MSG_LEN(AUTH_CMD) &&
           memcmp(tok[0].p, AUTH_CMD, MSG_LEN(AUTH_CMD)) == 0 &&
           auth_parse_size(&tok[AUTH_BYTES_TOKEN], size);
}

/* Checks "<user> <password>\r\n" (len bytes, terminator included). */
static void auth_check_token(struct proto_conn *pc, const char *data, size_t len,
                             struct reply *out)
{
    if (len < MSG_LEN(MSG_CRLF) || memcmp(data + len - MSG_LEN(MSG_CRLF), MSG_CRLF,
                                          MSG_LEN(MSG_CRLF)) != 0) {
        REPLY_LIT(out, MSG_AUTH_TERMINATION);
        return;
    }
    const char *space = memchr(data, ' ', len);
    if (space == NULL) {
        REPLY_LIT(out, MSG_AUTH_FORMAT);
        return;
    }
    const struct proto_env *env = pc->env;
    size_t ulen = (size_t)(space - data);
    size_t plen = len - MSG_LEN(MSG_CRLF) - ulen - 1;
    counter_inc(&pc->counters->auth_cmds);
    if (env->auth_check(env->arg, data, ulen, space + 1, plen)) {
        pc->authenticated = true;
        REPLY_LIT(out, MSG_STORED);
        return;
    }
    counter_inc(&pc->counters->auth_errors);
    REPLY_LIT(out, MSG_AUTH_FAILURE);
}

size_t proto_auth_process(struct proto_conn *pc, const char *buf, size_t len,
                          struct reply *out, enum proto_action *action, size_t *need)
{
    struct text_line line;
    if (!text_line_find(buf, len, &line)) {
        if (len > AUTH_WAIT_MAX)
            *action = PROTO_CLOSE;
        return *action == PROTO_CLOSE ? len : 0;
    }
    if (line.consumed - 1 < AUTH_LINE_MIN) {
        *action = PROTO_CLOSE;
        return line.consumed;
    }
    uint32_t size;
    if (!auth_line_ok(&line, &size)) {
        REPLY_LIT(out, MSG_AUTH_UNAUTHENTICATED);
        return line.consumed;
    }
    if (size > AUTH_TOKEN_MAX) {
        REPLY_LIT(out, MSG_AUTH_TOO_LONG);
        return line.consumed;
    }
    size_t whole = line.consumed + size + MSG_LEN(MSG_CRLF);
    if (len < whole) {
        if (need != NULL)
            *need = whole;
        return 0;
    }
    auth_check_token(pc, buf + line.consumed, size + MSG_LEN(MSG_CRLF), out);
    return whole;
}
