/*
 * settings: every command-line option of the server, declared ONCE.
 *
 * SETTINGS_TABLE below is an X-macro list with one row per option, in the
 * order memcached prints `stats settings`. Three kinds of row:
 *
 *   OPT(field, type, short, "long", "arg", "default", "note", min, max, "stat", fmt, "help")
 *       a command-line flag (-p, --port=<num>)
 *   EXT(field, type, "key", "default", "note", min, max, "stat", fmt, "help")
 *       a key of -o key=value,... (memcached's "extended" options)
 *   STAT("stat", fmt, expression)
 *       a fact `stats settings` reports that no flag sets (e.g. detail_enabled)
 *
 * From that one list come: struct settings, the defaults, getopt_long's
 * tables, `-h`, the man page (server/gen_man.c writes doc/slabcache.1 at
 * build time), `stats settings` and the range checks. A new option is one
 * new row; nothing else lists options by hand.
 *
 * A default or limit is written once: the store's own (memory, page, chunk,
 * factor, hash table) come from slabs/store.h through SETTINGS_TEXT, the
 * server's are the SETTINGS_* names below or the row itself. Help strings
 * carry no defaults: -h and the man page append "(default: <default>, <note>)"
 * for rows that take a value, with -I's range; "note" says what the default
 * means when the value alone does not (NULL otherwise).
 *
 * The parser never exits or prints: settings_parse() fills a struct and
 * returns an error string, so the unit suite runs it without a server.
 */
#ifndef SERVER_SETTINGS_H
#define SERVER_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/detail.h"
#include "common/logger.h"
#include "protocol/proto.h"
#include "slabs/store.h"

/* Value types: how an argument is parsed and which C type holds it. */
/* How a no-op option was last typed, so its -v notice names it as typed. */
enum settings_noop { SETTINGS_NOOP_UNSET = 0, SETTINGS_NOOP_KEY, SETTINGS_NOOP_NO_KEY };

#define SETTINGS_CTYPE_T_FLAG    bool      /* no argument: sets true */
#define SETTINGS_CTYPE_T_COUNT   unsigned  /* no argument: counts (-vvv) */
#define SETTINGS_CTYPE_T_UINT    uint64_t  /* decimal, within [min, max] */
#define SETTINGS_CTYPE_T_SIZE    uint64_t  /* bytes, k/m/g suffix, within [min, max] */
#define SETTINGS_CTYPE_T_OCTAL   uint64_t  /* octal, within [min, max] */
#define SETTINGS_CTYPE_T_FACTOR  double    /* > min, <= max */
#define SETTINGS_CTYPE_T_STR     char *    /* free text (owned copy) */
#define SETTINGS_CTYPE_T_LIST    char *    /* repeated flags join with commas */
#define SETTINGS_CTYPE_T_PROTO   enum proto_mode
#define SETTINGS_CTYPE_T_ACTION  bool      /* -h, -V: the caller acts and exits */
#define SETTINGS_CTYPE_T_EXTENDED bool     /* -o: keys go to EXT rows */
#define SETTINGS_CTYPE_T_ONOFF   bool      /* -o key (true) or no_key (false) */
#define SETTINGS_CTYPE_T_LEVEL   uint64_t  /* -o key=N within [min, max]; key = 1, no_key = 0 */
#define SETTINGS_CTYPE_T_FRACTION double   /* >= min, <= max */
#define SETTINGS_CTYPE_T_HASH    const char * /* one of memcached's hash names (static) */
#define SETTINGS_CTYPE_T_NOOP    enum settings_noop /* accepted (any value, no_ too), no effect: -v says so */
#define SETTINGS_CTYPE_T_ABSENT  bool      /* a feature not built in: refused, naming it */

/* How `stats settings` prints a value. */
enum settings_fmt {
    FMT_NONE = 0,   /* not printed */
    FMT_NUM,        /* unsigned decimal */
    FMT_MB,         /* field holds MB, printed in bytes */
    FMT_OCT,        /* octal, no prefix */
    FMT_FACTOR,     /* two decimals */
    FMT_FACTOR3,    /* three decimals */
    FMT_STR,        /* text, "NULL" when unset */
    FMT_STR_PRINTF, /* text, "(null)" when unset (memcached prints a NULL %s) */
    FMT_STR_NO,     /* text, "no" when unset */
    FMT_YES,        /* bool: yes/no */
    FMT_NOT_YES,    /* bool inverted: yes when false */
    FMT_NOT_ON,     /* bool inverted: on when false */
    FMT_PROTO,      /* auto-negotiate / ascii / binary */
    FMT_CHAR,       /* one character */
};

/* The default text of a row whose default is a number named elsewhere. */
#define SETTINGS_TEXT(macro) SETTINGS_TEXT_(macro)
#define SETTINGS_TEXT_(literal) #literal

/* Server-only limits; the store's are in slabs/store.h. */
#define SETTINGS_PORT_MAX 65535
#define SETTINGS_CONNS_MAX 1000000
#define SETTINGS_THREADS_MAX 256
#define SETTINGS_MEM_MB_MAX (1024ULL * 1024)          /* 1 TiB */
#define SETTINGS_CHUNK_MIN_MAX (1024ULL * 1024)
#define SETTINGS_FACTOR_MAX 100.0
#define SETTINGS_BACKLOG_MAX 1000000
#define SETTINGS_REQS_MAX 1000000
#define SETTINGS_UMASK_MAX 0777
#define SETTINGS_HASHPOWER_MIN 12   /* memcached's floor; the store itself takes 0 */
#define SETTINGS_IDLE_MAX (86400ULL * 365)
#define SETTINGS_KIB 1024ULL          /* the log buffer options are in kilobytes */
#define SETTINGS_UNIX_PATH_MAX 107   /* sizeof(sockaddr_un.sun_path) - 1 on Linux */
/* Page moves, memcached 1.6.45's ranges: the automove window; the chunk
 * limit in kilobytes (0 here: half a page, memcached's default). */
#define SETTINGS_AUTOMOVE_WINDOW_MIN AUTOMOVE_WINDOW_MIN
#define SETTINGS_AUTOMOVE_WINDOW_MAX AUTOMOVE_WINDOW_MAX
#define SETTINGS_CHUNK_MAX_KB_MAX 1024
/* The hash every key goes through, whatever -o hash_algorithm names. */
#define SETTINGS_HASH_USED "xxh3"
/* Item flags are 32 bits (`stats settings` client_flags_size). */
#define SETTINGS_CLIENT_FLAGS_SIZE 4
/* memcached 1.6.45's extstore defaults: the ext_* keys are refused here (no
 * extstore), so `stats settings` reports the values an unconfigured extstore
 * has, as memcached does without -o ext_path. */
#define SETTINGS_EXT_ITEM_SIZE 512
#define SETTINGS_EXT_ITEM_AGE UINT32_MAX
#define SETTINGS_EXT_RECACHE_RATE 2000
#define SETTINGS_EXT_WBUF_SIZE (4 * 1024 * 1024)
#define SETTINGS_EXT_MAX_SLEEP 1000000
#define SETTINGS_EXT_MAX_FRAG 0.80

/* clang-format off */
#define SETTINGS_TABLE(OPT, EXT, STAT) \
    OPT(mem_limit_mb, T_UINT, 'm', "memory-limit", "num", SETTINGS_TEXT(MEM_LIMIT_MB_DEFAULT), NULL, \
        1, SETTINGS_MEM_MB_MAX, "maxbytes", FMT_MB, "item memory in megabytes") \
    OPT(maxconns, T_UINT, 'c', "conn-limit", "num", "1024", NULL, 1, SETTINGS_CONNS_MAX, \
        "maxconns", FMT_NUM, "max simultaneous connections") \
    OPT(port, T_UINT, 'p', "port", "num", "11211", NULL, 0, SETTINGS_PORT_MAX, \
        "tcpport", FMT_NUM, "TCP port to listen on, 0: no TCP (then -U or -s)") \
    OPT(udp_port, T_UINT, 'U', "udp-port", "num", "0", "off", 0, SETTINGS_PORT_MAX, \
        "udpport", FMT_NUM, "UDP port to listen on, on the -l addresses (without -p, TCP too)") \
    OPT(listen, T_LIST, 'l', "listen", "addr", NULL, "all", 0, 0, \
        "inter", FMT_STR, "comma-separated interfaces to listen on: addr, addr:port, [v6]:port " \
        "or *, each optionally after memcached's proto[ascii|binary|negotiating]: (the " \
        "listener's protocol instead of -B) and tag[name]: (accepted; tags serve " \
        "memcached's proxy)") \
    OPT(verbose, T_COUNT, 'v', "verbose", NULL, "0", NULL, 0, 0, \
        "verbosity", FMT_NUM, "verbose: -v errors/warnings, -vv also client commands, -vvv internals") \
    STAT("oldest", FMT_NUM, 0) \
    OPT(no_evict, T_FLAG, 'M', "disable-evictions", NULL, "0", NULL, 0, 0, \
        "evictions", FMT_NOT_ON, "return error on memory exhausted instead of evicting") \
    OPT(unix_socket, T_STR, 's', "unix-socket", "file", NULL, NULL, 0, 0, \
        "domain_socket", FMT_STR, "UNIX socket to listen on (disables TCP and UDP)") \
    OPT(unix_mask, T_OCTAL, 'a', "unix-mask", "mask", "700", NULL, 0, SETTINGS_UMASK_MAX, \
        "umask", FMT_OCT, "access mask for the UNIX socket, in octal") \
    OPT(shutdown, T_FLAG, 'A', "enable-shutdown", NULL, "0", NULL, 0, 0, \
        "shutdown_command", FMT_YES, "enable the ascii \"shutdown\" command") \
    OPT(factor, T_FACTOR, 'f', "slab-growth-factor", "num", SETTINGS_TEXT(GROWTH_FACTOR_DEFAULT), NULL, \
        1, SETTINGS_FACTOR_MAX, "growth_factor", FMT_FACTOR, "chunk size growth factor, > 1.0") \
    OPT(chunk_min, T_UINT, 'n', "slab-min-size", "bytes", SETTINGS_TEXT(CHUNK_MIN_DEFAULT), NULL, \
        1, SETTINGS_CHUNK_MIN_MAX, "chunk_size", FMT_NUM, "min space used for key+value+flags") \
    OPT(threads, T_UINT, 't', "threads", "num", "4", NULL, 1, SETTINGS_THREADS_MAX, \
        "num_threads", FMT_NUM, "number of worker threads") \
    STAT("num_threads_per_udp", FMT_NUM, s->threads) \
    OPT(prefix_delimiter, T_STR, 'D', "prefix-delimiter", "char", NULL, "':'", 0, 0, \
        NULL, FMT_NONE, "delimiter between key prefixes and IDs for stats detail; " \
        "turns per-prefix counting on") \
    STAT("stat_key_prefix", FMT_CHAR, settings_prefix_delimiter(s)) \
    STAT("detail_enabled", FMT_YES, detail_enabled()) \
    OPT(reqs_per_event, T_UINT, 'R', "max-reqs-per-event", "num", "20", NULL, 1, SETTINGS_REQS_MAX, \
        "reqs_per_event", FMT_NUM, "max requests handled per connection event, against starvation") \
    OPT(no_cas, T_FLAG, 'C', "disable-cas", NULL, "0", NULL, 0, 0, \
        "cas_enabled", FMT_NOT_YES, "disable use of CAS") \
    OPT(backlog, T_UINT, 'b', "listen-backlog", "num", "1024", NULL, 1, SETTINGS_BACKLOG_MAX, \
        "tcp_backlog", FMT_NUM, "set the backlog queue limit") \
    OPT(protocol, T_PROTO, 'B', "protocol", "name", "auto", NULL, 0, 0, \
        "binding_protocol", FMT_PROTO, "protocol: auto, ascii or binary") \
    STAT("auth_enabled_sasl", FMT_YES, false) \
    OPT(auth_file, T_STR, 'Y', "auth-file", "file", NULL, "none", 0, 0, \
        "auth_enabled_ascii", FMT_STR_NO, \
        "ascii authentication: <file> holds user:password lines (8 at most); a client " \
        "logs in with a set whose value is \"<user> <password>\"; ascii only, no UDP") \
    OPT(page_size, T_SIZE, 'I', "max-item-size", "num", SETTINGS_TEXT(PAGE_SIZE_DEFAULT), NULL, \
        PAGE_SIZE_MIN, PAGE_SIZE_MAX, "item_size_max", FMT_NUM, "max item size, k/m/g suffixes") \
    EXT(maxconns_fast, T_ONOFF, "maxconns_fast", "1", NULL, 0, 0, "maxconns_fast", FMT_YES, \
        "a connection beyond -c gets \"ERROR Too many open connections\" and is closed at " \
        "once (no_maxconns_fast: accepting pauses and it waits in the backlog)") \
    EXT(hashpower, T_UINT, "hashpower", SETTINGS_TEXT(HASH_POWER_DEFAULT), NULL, \
        SETTINGS_HASHPOWER_MIN, HASH_POWER_MAX, "hashpower_init", FMT_NUM, \
        "initial hash table size is 2^hashpower buckets; grows at runtime") \
    EXT(hashexpand, T_ONOFF, "hashexpand", "1", NULL, 0, 0, NULL, FMT_NONE, \
        "the hash table doubles as items grow (no_hashexpand: it keeps its -o hashpower size)") \
    EXT(slab_reassign, T_ONOFF, "slab_reassign", "1", NULL, 0, 0, "slab_reassign", FMT_YES, \
        "pages may move between classes (no_slab_reassign: a page stays with its first class)") \
    EXT(slab_automove, T_LEVEL, "slab_automove", SETTINGS_TEXT(AUTOMOVE_DEFAULT), NULL, \
        AUTOMOVE_OFF, AUTOMOVE_AGGRESSIVE, "slab_automove", FMT_NUM, \
        "0: pages move only when asked (slabs reassign); 1: from classes that stopped " \
        "evicting to classes that evict; 2: memcached's aggressive mode, on every eviction") \
    EXT(slab_automove_ratio, T_FACTOR, "slab_automove_ratio", \
        SETTINGS_TEXT(AUTOMOVE_RATIO_DEFAULT), NULL, 0, 1, "slab_automove_ratio", FMT_FACTOR, \
        "automove takes a page only from a class whose LRU tail is older than the " \
        "receiving class's tail divided by this") \
    EXT(slab_automove_window, T_UINT, "slab_automove_window", \
        SETTINGS_TEXT(AUTOMOVE_WINDOW_DEFAULT), NULL, SETTINGS_AUTOMOVE_WINDOW_MIN, \
        SETTINGS_AUTOMOVE_WINDOW_MAX, "slab_automove_window", FMT_NUM, \
        "automove samples in a row a class must evict to get a page, " \
        "or not evict to give one") \
    EXT(slab_chunk_max, T_UINT, "slab_chunk_max", "0", "half of -I", 0, \
        SETTINGS_CHUNK_MAX_KB_MAX, NULL, FMT_NONE, \
        "largest chunk in kilobytes; a larger item is a chain of chunks") \
    STAT("slab_chunk_max", FMT_NUM, settings_chunk_max_bytes(s)) \
    EXT(lru_crawler, T_ONOFF, "lru_crawler", "1", NULL, 0, 0, "lru_crawler", FMT_YES, \
        "the LRU crawler thread reclaims expired and flushed items in the background " \
        "(no_lru_crawler: it does not run)") \
    EXT(lru_crawler_sleep, T_UINT, "lru_crawler_sleep", SETTINGS_TEXT(CRAWLER_SLEEP_DEFAULT), \
        NULL, 0, CRAWLER_SLEEP_MAX, "lru_crawler_sleep", FMT_NUM, \
        "microseconds the crawler pauses between batches of hash buckets") \
    EXT(lru_crawler_tocrawl, T_UINT, "lru_crawler_tocrawl", \
        SETTINGS_TEXT(CRAWLER_TOCRAWL_DEFAULT), "all", 0, UINT32_MAX, "lru_crawler_tocrawl", \
        FMT_NUM, "items per class an asked crawl looks at at most") \
    EXT(tail_repair_time, T_NOOP, "tail_repair_time", NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "an item still referenced is never freed by force, so no tail needs repair") \
    STAT("tail_repair_time", FMT_NUM, 0) \
    OPT(no_flush, T_FLAG, 'F', "disable-flush-all", NULL, "0", NULL, 0, 0, \
        "flush_enabled", FMT_NOT_YES, "disable the flush_all command") \
    OPT(no_dump, T_FLAG, 'X', "disable-dumping", NULL, "0", NULL, 0, 0, \
        "dump_enabled", FMT_NOT_YES, \
        "disable dump commands: stats cachedump, lru_crawler metadump and mgdump") \
    STAT("hash_algorithm", FMT_STR, SETTINGS_HASH_USED) \
    EXT(lru_maintainer, T_ONOFF, "lru_maintainer", "1", NULL, 0, 0, \
        "lru_maintainer_thread", FMT_YES, \
        "the LRU maintainer juggles segments and frees dead items in the background " \
        "(no_lru_maintainer: neither, and the LRU is flat)") \
    EXT(lru_segmented, T_ONOFF, "lru_segmented", SETTINGS_TEXT(LRU_SEGMENTED_DEFAULT), NULL, \
        0, 0, "lru_segmented", FMT_YES, \
        "HOT, WARM and COLD segments per class (no_lru_segmented: one LRU, as `lru mode flat`)") \
    EXT(hot_lru_pct, T_UINT, "hot_lru_pct", SETTINGS_TEXT(HOT_LRU_PCT_DEFAULT), NULL, 1, \
        LRU_PCT_MAX - 1, "hot_lru_pct", FMT_NUM, "share of a class's items HOT holds, in percent") \
    EXT(warm_lru_pct, T_UINT, "warm_lru_pct", SETTINGS_TEXT(WARM_LRU_PCT_DEFAULT), NULL, 1, \
        LRU_PCT_MAX - 1, "warm_lru_pct", FMT_NUM, "share of a class's items WARM holds, in percent") \
    EXT(hot_max_factor, T_FACTOR, "hot_max_factor", SETTINGS_TEXT(HOT_MAX_FACTOR_DEFAULT), NULL, \
        0, SETTINGS_FACTOR_MAX, "hot_max_factor", FMT_FACTOR, \
        "items idle longer than COLD's tail age times this leave HOT") \
    EXT(warm_max_factor, T_FACTOR, "warm_max_factor", SETTINGS_TEXT(WARM_MAX_FACTOR_DEFAULT), \
        NULL, 0, SETTINGS_FACTOR_MAX, "warm_max_factor", FMT_FACTOR, \
        "items idle longer than COLD's tail age times this leave WARM") \
    STAT("temp_lru", FMT_YES, s->temporary_ttl != 0) \
    EXT(temporary_ttl, T_UINT, "temporary_ttl", "0", "no TEMP LRU", 0, INT32_MAX, NULL, FMT_NONE, \
        "items stored with a TTL up to this many seconds go to a TEMP LRU, never bumped") \
    STAT("temporary_ttl", FMT_NUM, settings_temporary_ttl(s)) \
    EXT(idle_timeout, T_UINT, "idle_timeout", "0", "no timeout", 0, SETTINGS_IDLE_MAX, \
        "idle_timeout", FMT_NUM, "close connections idle this many seconds") \
    EXT(watcher_logbuf_size, T_UINT, "watcher_logbuf_size", SETTINGS_TEXT(LOGGER_WATCHER_BUF_KB), \
        NULL, 1, LOGGER_BUF_KB_MAX, NULL, FMT_NONE, \
        "kilobytes of log lines buffered per watch connection; more are skipped and counted") \
    STAT("watcher_logbuf_size", FMT_NUM, s->watcher_logbuf_size * SETTINGS_KIB) \
    EXT(worker_logbuf_size, T_UINT, "worker_logbuf_size", SETTINGS_TEXT(LOGGER_WORKER_BUF_KB), \
        NULL, 1, LOGGER_BUF_KB_MAX, NULL, FMT_NONE, \
        "kilobytes of log records buffered per worker thread for watch; more are dropped " \
        "and counted") \
    STAT("worker_logbuf_size", FMT_NUM, s->worker_logbuf_size * SETTINGS_KIB) \
    EXT(read_buf_mem_limit, T_UINT, "read_buf_mem_limit", "0", "no limit", 0, SETTINGS_MEM_MB_MAX, \
        "read_buf_mem_limit", FMT_MB, \
        "megabytes of connection read buffers at most; a connection that needs more is closed") \
    EXT(hash_algorithm, T_HASH, "hash_algorithm", "xxh3", NULL, 0, 0, NULL, FMT_NONE, \
        "accepts memcached's names; keys always hash with xxh3 and a random per-process seed") \
    EXT(track_sizes, T_ONOFF, "track_sizes", "0", NULL, 0, 0, "track_sizes", FMT_YES, \
        "stats sizes prints the sizes of stored items in 32-byte buckets (the histogram is " \
        "always kept, for slabs advise; this only shows it, as memcached)") \
    EXT(inline_ascii_resp, T_NOOP, "inline_ascii_resp", NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "memcached 1.6 dropped it; replies are never inlined in items") \
    STAT("inline_ascii_response", FMT_YES, false) \
    STAT("ext_item_size", FMT_NUM, SETTINGS_EXT_ITEM_SIZE) \
    STAT("ext_item_age", FMT_NUM, SETTINGS_EXT_ITEM_AGE) \
    STAT("ext_low_ttl", FMT_NUM, 0) \
    STAT("ext_recache_rate", FMT_NUM, SETTINGS_EXT_RECACHE_RATE) \
    STAT("ext_wbuf_size", FMT_NUM, SETTINGS_EXT_WBUF_SIZE) \
    STAT("ext_compact_under", FMT_NUM, 0) \
    STAT("ext_drop_under", FMT_NUM, 0) \
    STAT("ext_max_sleep", FMT_NUM, SETTINGS_EXT_MAX_SLEEP) \
    STAT("ext_max_frag", FMT_FACTOR, SETTINGS_EXT_MAX_FRAG) \
    EXT(slab_automove_freeratio, T_FRACTION, "slab_automove_freeratio", \
        SETTINGS_TEXT(AUTOMOVE_FREERATIO_DEFAULT), NULL, 0, 1, "slab_automove_freeratio", \
        FMT_FACTOR3, "a class whose free chunks hold more than this share of -m gives " \
        "pages first, before items are evicted for a move") \
    STAT("ext_drop_unread", FMT_YES, false) \
    OPT(napi_ids, T_NOOP, 'N', "napi-ids", "num", NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "connections are not steered to threads by NAPI id") \
    STAT("num_napi_ids", FMT_NUM, 0) \
    OPT(memory_file, T_STR, 'e', "memory-file", "file", NULL, NULL, 0, 0, \
        "memory_file", FMT_STR_PRINTF, "item memory in this file (use a RAM disk): SIGUSR1 or " \
        "\"shutdown graceful\" saves the cache in it, the next start with the same file " \
        "and memory settings resumes it") \
    STAT("client_flags_size", FMT_NUM, SETTINGS_CLIENT_FLAGS_SIZE) \
    EXT(chunked_items, T_ONOFF, "chunked_items", "1", NULL, 0, 0, NULL, FMT_NONE, \
        "items larger than slab_chunk_max are chains of chunks (no_chunked_items: " \
        "slab_chunk_max is -I, every item is one chunk)") \
    EXT(modern, T_NOOP, "modern", NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "memcached 1.6's defaults are ours already (no_modern: 1.4's are not offered)") \
    EXT(drop_privileges, T_NOOP, "drop_privileges", NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "no system call filter is installed") \
    EXT(sock_cookie_id, T_NOOP, "sock_cookie_id", NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "sockets carry no SO_MARK cookie") \
    EXT(resp_obj_mem_limit, T_NOOP, "resp_obj_mem_limit", NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "deprecated in memcached too; read_buf_mem_limit bounds buffers") \
    EXT(extstore, T_ABSENT, "ext_*", NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "extstore (external flash storage)") \
    EXT(tls_keys, T_ABSENT, "ssl_*", NULL, NULL, 0, 0, NULL, FMT_NONE, "TLS") \
    EXT(proxy, T_ABSENT, "proxy_*", NULL, NULL, 0, 0, NULL, FMT_NONE, "the proxy") \
    OPT(tls, T_ABSENT, 'Z', "enable-ssl", NULL, NULL, NULL, 0, 0, NULL, FMT_NONE, "TLS") \
    OPT(sasl, T_ABSENT, 'S', "enable-sasl", NULL, NULL, NULL, 0, 0, NULL, FMT_NONE, \
        "SASL authentication") \
    EXT(metrics_port, T_UINT, "metrics_port", "0", "off", 0, SETTINGS_PORT_MAX, NULL, FMT_NONE, \
        "serve GET /metrics (Prometheus text format) on this TCP port, at the first -l " \
        "address (127.0.0.1 with -s)") \
    OPT(no_watch, T_FLAG, 'W', "disable-watch", NULL, "0", NULL, 0, 0, \
        NULL, FMT_NONE, "disable watch commands (live logging)") \
    EXT(slab_sizes, T_STR, "slab_sizes", NULL, "geometric, from -n and -f", 0, 0, NULL, FMT_NONE, \
        "explicit chunk sizes, dash separated (e.g. 80-160-320): each at least -n, at most " \
        "slab_chunk_max, more than 8 above the previous; rounded up to 8; slab_chunk_max " \
        "is the last class. slabs advise prints the list that wastes least. auto (ours): " \
        "start geometric and switch at run time to the advised table when it cuts the " \
        "chunk waste by 3 points and a fifth (at most a look per slab_retune_interval, " \
        "10000 items at least)") \
    EXT(slab_retune_interval, T_UINT, "slab_retune_interval", \
        SETTINGS_TEXT(RETUNE_INTERVAL_DEFAULT), NULL, 1, SETTINGS_IDLE_MAX, NULL, FMT_NONE, \
        "with slab_sizes=auto: seconds between the advisor's looks, and after a switch " \
        "(ours)") \
    OPT(daemon, T_FLAG, 'd', "daemon", NULL, "0", NULL, 0, 0, \
        NULL, FMT_NONE, "run as a daemon") \
    OPT(pidfile, T_STR, 'P', "pidfile", "file", NULL, NULL, 0, 0, \
        NULL, FMT_NONE, "save PID in <file>, removed at exit") \
    OPT(user, T_STR, 'u', "user", "user", NULL, NULL, 0, 0, \
        NULL, FMT_NONE, "assume identity of <user> (required when run as root)") \
    OPT(coredumps, T_FLAG, 'r', "enable-coredumps", NULL, "0", NULL, 0, 0, \
        NULL, FMT_NONE, "maximize core file limit") \
    OPT(lock_memory, T_FLAG, 'k', "lock-memory", NULL, "0", NULL, 0, 0, \
        NULL, FMT_NONE, "lock down all paged memory") \
    OPT(prealloc, T_FLAG, 'L', "enable-largepages", NULL, "0", NULL, 0, 0, \
        NULL, FMT_NONE, "preallocate all item memory at start (large pages when the kernel gives them)") \
    OPT(extended, T_EXTENDED, 'o', "extended", "opts", NULL, NULL, 0, 0, \
        NULL, FMT_NONE, "comma separated list of extended options (below)") \
    OPT(help, T_ACTION, 'h', "help", NULL, "0", NULL, 0, 0, \
        NULL, FMT_NONE, "print this help and exit") \
    OPT(license, T_ACTION, 'i', "license", NULL, "0", NULL, 0, 0, \
        NULL, FMT_NONE, "print the license and exit") \
    OPT(version, T_ACTION, 'V', "version", NULL, "0", NULL, 0, 0, \
        NULL, FMT_NONE, "print version and exit")
/* clang-format on */

struct settings {
#define SETTINGS_FIELD_OPT(field, type, ...) SETTINGS_CTYPE_##type field;
#define SETTINGS_FIELD_EXT(field, type, ...) SETTINGS_CTYPE_##type field;
#define SETTINGS_FIELD_STAT(...)
    SETTINGS_TABLE(SETTINGS_FIELD_OPT, SETTINGS_FIELD_EXT, SETTINGS_FIELD_STAT)
#undef SETTINGS_FIELD_OPT
#undef SETTINGS_FIELD_EXT
#undef SETTINGS_FIELD_STAT
};

enum settings_outcome {
    SETTINGS_RUN = 0,   /* start the server */
    SETTINGS_HELP,      /* -h: print settings_usage() and exit 0 */
    SETTINGS_VERSION,   /* -V: print the version and exit 0 */
    SETTINGS_LICENSE,   /* -i: print the licenses and exit 0 */
    SETTINGS_ERROR,     /* err holds one line; exit non-zero */
};

/* Longest error settings_parse() writes. */
#define SETTINGS_ERR_MAX 256

void settings_defaults(struct settings *s);

/*
 * Parses argv into s (which it first resets to the defaults) and checks the
 * values and their combinations. On SETTINGS_ERROR, err holds a one-line
 * reason without a trailing newline. Re-entrant: resets getopt itself.
 */
enum settings_outcome settings_parse(struct settings *s, int argc, char **argv, char *err,
                                     size_t errlen);

/* Frees the strings settings_parse() copied. */
void settings_free(struct settings *s);

/* -V, and the first line of -h: our version and the memcached release we follow. */
void settings_version(FILE *out);

/* The -h text, one line per OPT row and per EXT key. */
void settings_usage(FILE *out);

/* The man page (troff), from the same rows; date-free so builds repeat. */
void settings_man(FILE *out);

/* slab_chunk_max in bytes: the -o value (kilobytes), or half of -I by default. */
uint64_t settings_chunk_max_bytes(const struct settings *s);

/* temporary_ttl as memcached shows it: the -o value, or its default (61)
 * when no TEMP LRU was asked for (0). */
uint64_t settings_temporary_ttl(const struct settings *s);

/* -D's delimiter, or the default ':' without -D. */
char settings_prefix_delimiter(const struct settings *s);

/* True when -o hash_algorithm named another hash than the one used (xxh3). */
bool settings_hash_substituted(const struct settings *s);

/* -v: one line per option given that has no effect here (T_NOOP rows). */
typedef void (*settings_notice_fn)(const char *line);
void settings_notices(const struct settings *s, settings_notice_fn note);

/* Fills the store's configuration from the settings. */
void settings_store_config(const struct settings *s, struct store_config *cfg);

/*
 * `stats settings`: calls emit(arg, name, value) for every row with a stat
 * name, in table order.
 */
typedef void (*settings_emit_fn)(void *arg, const char *name, const char *value);
void settings_stats(const struct settings *s, settings_emit_fn emit, void *arg);

#endif
