/*
 * dump: the LRU crawler's text commands and the key dumps (internal to
 * protocol/): `lru_crawler ...` and `stats cachedump`, with memcached
 * 1.6.45's words. A dump is long, so it is a stream (proto.h's
 * proto_stream_more): the command replies its first line and leaves a
 * struct proto_dump on the connection, which the server calls again for
 * the next piece each time the connection's reply has drained. Each piece
 * walks DUMP_PIECE_BUCKETS hash buckets (store_walk_step), each under its
 * own lock only, so no lock is held between pieces and the server holds
 * at most one piece of a dump at a time.
 */
#ifndef PROTOCOL_DUMP_H
#define PROTOCOL_DUMP_H

#include "protocol/text.h"

/* lru_crawler <crawl|metadump|mgdump|sleep|tocrawl|enable|disable> ... */
void proto_dump_lru_crawler(struct text_req *rq, unsigned arg);
/* stats cachedump <class> <limit> */
void proto_dump_cachedump(struct text_req *rq);

#endif
