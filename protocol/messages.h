/*
 * messages: every reply and error line of the text protocol, named once.
 *
 * The bytes are memcached 1.6.18's, checked against a running Debian
 * memcached; clients match on them, so they are written here and nowhere
 * else. Each constant is a string literal ending in "\r\n"; MSG_LEN() gives
 * its length at compile time so the hot path never calls strlen.
 */
#ifndef PROTOCOL_MESSAGES_H
#define PROTOCOL_MESSAGES_H

#define MSG_LEN(lit) (sizeof(lit) - 1)

/* ---- results ---- */
#define MSG_STORED          "STORED\r\n"
#define MSG_NOT_STORED      "NOT_STORED\r\n"
#define MSG_EXISTS          "EXISTS\r\n"
#define MSG_NOT_FOUND       "NOT_FOUND\r\n"
#define MSG_DELETED         "DELETED\r\n"
#define MSG_TOUCHED         "TOUCHED\r\n"
#define MSG_END             "END\r\n"
#define MSG_OK              "OK\r\n"
#define MSG_RESET           "RESET\r\n"
#define MSG_CRLF            "\r\n"

/* ---- pieces of composed lines ---- */
#define MSG_VALUE_PREFIX    "VALUE "
#define MSG_STAT_PREFIX     "STAT "
#define MSG_VERSION_PREFIX  "VERSION "

/* ---- errors ---- */
#define MSG_ERROR           "ERROR\r\n"
#define MSG_BAD_FORMAT      "CLIENT_ERROR bad command line format\r\n"
#define MSG_BAD_DATA_CHUNK  "CLIENT_ERROR bad data chunk\r\n"
#define MSG_BAD_DELTA       "CLIENT_ERROR invalid numeric delta argument\r\n"
#define MSG_NON_NUMERIC     "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
#define MSG_BAD_EXPTIME     "CLIENT_ERROR invalid exptime argument\r\n"
#define MSG_DELETE_USAGE    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
#define MSG_BAD_SHUTDOWN    "CLIENT_ERROR invalid shutdown mode\r\n"
#define MSG_SHUTDOWN_OFF    "SERVER_ERROR: shutdown not enabled\r\n"
#define MSG_FLUSH_OFF       "CLIENT_ERROR flush_all not allowed\r\n"
#define MSG_TOO_LARGE       "SERVER_ERROR object too large for cache\r\n"
#define MSG_NO_MEMORY       "SERVER_ERROR out of memory storing object\r\n"
#define MSG_ARITH_NO_MEMORY "SERVER_ERROR out of memory\r\n"
#define MSG_MEMLIMIT_SMALL  "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"
#define MSG_MEMLIMIT_UNITS  "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n"

/* ---- slabs reassign / slabs automove (memcached 1.6.45's words) ---- */
#define MSG_REASSIGN_BUSY     "BUSY currently processing reassign request\r\n"
#define MSG_REASSIGN_BADCLASS "BADCLASS invalid src or dst class id\r\n"
#define MSG_REASSIGN_NOSPARE  "NOSPARE source class has no spare pages\r\n"
#define MSG_REASSIGN_SAME     "SAME src and dst class are identical\r\n"
#define MSG_REASSIGN_OFF      "CLIENT_ERROR slab reassignment disabled\r\n"
/* slabs retune (ours), in the manner of slabs reassign */
#define MSG_RETUNE_NOTHING    "NOTHING_TO_DO the advised table wastes no less\r\n"
#define MSG_RETUNE_BUSY       "BUSY the last retune is still draining\r\n"
#define MSG_RETUNE_FULL       "FULL no class ids left\r\n"
#define MSG_AUTOMOVE_WINDOW   "CLIENT_ERROR automove window too low or too high\r\n"
/* ours: a tuning value our automove cannot use; the reason follows */
#define MSG_AUTOMOVE_TUNE_PREFIX "CLIENT_ERROR "

/* ---- watch and stats detail (memcached 1.6.45's words) ---- */
#define MSG_WATCH_DISABLED    "CLIENT_ERROR watch commands not allowed\r\n"
#define MSG_WATCH_PIPELINED   "ERROR cannot pipeline other commands before watch\r\n"
#define MSG_WATCH_TOO_MANY    "WATCHER_TOO_MANY log watcher limit reached\r\n"
#define MSG_WATCH_FAILED      "WATCHER_FAILED failed to add log watcher\r\n"
#define MSG_DETAIL_USAGE      "CLIENT_ERROR usage: stats detail on|off|dump\r\n"
#define MSG_DETAIL_OFF        "CLIENT_ERROR stats detail not allowed\r\n"

/* ---- lru tune (memcached 1.6.45's words) ---- */
#define MSG_LRU_PCTS          "ERROR hot and warm pcts must not exceed 80\r\n"
#define MSG_LRU_FACTORS       "ERROR hot/warm age factors must be greater than 0\r\n"

#endif
