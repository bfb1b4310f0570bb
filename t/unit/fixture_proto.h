/*
 * fixture_proto: the protocol suites' shared fixture (check_proto_text,
 * check_proto_meta, check_proto_bin). A real store, a proto_conn on a fake
 * proto_env whose stats/verbosity callbacks record their calls, and a reply
 * drained into got[] the way a server would write it.
 *
 * The state is global, under the names the suites use in their assertions,
 * so a test reads as before: got/got_len (the reply bytes, NUL-terminated),
 * last_action/last_need (what proto_process said last), ctr (the counters).
 * Each test gets it afresh from fx_proto_setup() (a Check fixture).
 */
#ifndef T_UNIT_FIXTURE_PROTO_H
#define T_UNIT_FIXTURE_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/proto.h"
#include "protocol/reply.h"
#include "t/unit/fixture.h"

#define FX_MEM_LIMIT (8u * 1024 * 1024)
#define FX_PAGE_SIZE (1024u * 1024)        /* the fixture store's page size, -I */
#define FX_GOT_MAX (1u << 20)              /* largest got[] any suite asks for */
#define FX_STATS_GROUP_MAX 64

extern store *st;
extern struct proto_env env;
extern struct proto_counters *ctr;
extern struct proto_conn pc;
extern struct reply *out;
extern enum proto_action last_action;
extern size_t last_need;
extern char got[FX_GOT_MAX];
extern size_t got_len;

/* What the fake env callbacks saw (with recorded_callbacks). */
extern int verbosity_calls, verbosity_level, stats_calls, reset_calls;
extern char stats_group[FX_STATS_GROUP_MAX];

/*
 * A fresh store (8 MB, -I 1 MB), env, counters, connection and reply.
 * got_cap (at most FX_GOT_MAX) bounds the reply bytes a test may collect;
 * recorded_callbacks installs the fake stats, stats reset and verbosity.
 */
void fx_proto_setup(size_t got_cap, bool recorded_callbacks);
void fx_proto_teardown(void);

/* Appends everything the reply holds to got[] and marks it sent. */
void fx_drain(void);

/*
 * Runs requests from in[0..len) until it is used up, a request is
 * incomplete, or the connection is to close. Returns the bytes consumed;
 * got[] holds the reply of this call alone.
 */
size_t fx_run_n(const char *in, size_t len);
size_t fx_run(const char *in);

/* The whole of in is consumed, answered with exactly reply, and the connection goes on. */
#define EXPECT(in, reply)                                   \
    do {                                                    \
        const char *in_ = (in);                             \
        ck_assert_uint_eq(fx_run(in_), strlen(in_));        \
        ck_assert_str_eq(got, (reply));                     \
        ck_assert_int_eq(last_action, PROTO_CONTINUE);      \
    } while (0)

#endif
