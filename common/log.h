/*
 * log: verbosity-gated messages to stderr, as memcached's -v/-vv/-vvv.
 * The level is a process-wide setting changed by -v and the `verbosity`
 * command; reads are relaxed atomics so any thread may log.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

enum log_level {
    LOG_ERROR = 0,  /* always printed */
    LOG_INFO = 1,   /* -v: errors and warnings, start-up facts */
    LOG_DEBUG = 2,  /* -vv: each command and reply, the class table */
    LOG_TRACE = 3,  /* -vvv: internal state transitions */
};

void log_set_level(int level);
int log_level(void);

/* printf-style; prints only when level <= the current level. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
