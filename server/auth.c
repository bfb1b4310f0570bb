/*
 * auth: -Y's password file, checked by the ascii login (protocol/auth.c).
 *
 * The file is memcached 1.6.45's (authfile.c): one "user:password" per line,
 * the user up to the first ':', the password up to the line's end ("\n" or
 * "\r\n"). A line without ':' (an empty line too), or an empty file, makes
 * the file malformed and the server refuses to start, with memcached's
 * message. As memcached,
 * only the first AUTH_ENTRIES_MAX entries count; the rest are ignored, with
 * a notice at start. A line may hold AUTH_LINE_MAX bytes and the file
 * AUTH_FILE_MAX: a larger one is refused, so -Y never reads an unbounded
 * file into memory.
 *
 * The entries are read at start, before the workers run, and again on
 * SIGHUP (auth_reload, from the main loop), as memcached 1.6.45 rereads its
 * file: a new file that cannot be read or is malformed leaves the entries in
 * force, with a message. Checks hold auth_lock for reading while the reload
 * swaps the table under it for writing (a login is rare: one per
 * connection). Passwords are compared in time that does not depend on where
 * they differ.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "server/server.h"

#define AUTH_ENTRIES_MAX 8                      /* memcached's MAX_ENTRIES */
#define AUTH_LINE_MAX 256                       /* memcached's MAX_ENTRY_LEN */
#define AUTH_FILE_MAX (64 * AUTH_LINE_MAX)      /* a few comments' worth past the entries */
#define PATH_MAX_MSG 4096                       /* room for the file's name in a message */

struct auth_entry {
    const char *user;
    size_t ulen;
    const char *pass;
    size_t plen;
};

struct auth_table {
    char *data;                                 /* the file, entries point into it */
    size_t n;
    struct auth_entry e[AUTH_ENTRIES_MAX];
};

/* Guards srv->auth: checks read it, a reload swaps it. */
static pthread_rwlock_t auth_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Equal bytes, in a time that depends on the lengths only. */
static bool auth_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool auth_check(void *arg, const char *user, size_t ulen, const char *pass, size_t plen)
{
    pthread_rwlock_rdlock(&auth_lock);
    const struct auth_table *t = ((struct server *)arg)->auth;
    bool ok = false;
    for (size_t i = 0; i < t->n; i++)
        ok |= auth_equal(user, ulen, t->e[i].user, t->e[i].ulen) &
              auth_equal(pass, plen, t->e[i].pass, t->e[i].plen);
    pthread_rwlock_unlock(&auth_lock);
    return ok;
}

/* One "user:password" line (no '\n'); false when it has no ':'. */
static bool auth_parse_line(char *line, size_t len, struct auth_entry *e)
{
    char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return false;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    e->user = line;
    e->ulen = (size_t)(colon - line);
    e->pass = colon + 1;
    e->plen = len - e->ulen - 1;
    return true;
}

static bool auth_malformed(const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "Authfile [%s] has a malformed entry. Should be 'user:password'", path);
    return false;
}

/* The entries of the file's text; false (err set) when a line is malformed. */
static bool auth_parse(struct auth_table *t, char *data, size_t size, const char *path,
                       char *err, size_t errlen)
{
    char *p = data, *end = data + size;
    size_t lines = 0;
    if (size == 0)      /* as memcached: nobody could log in */
        return auth_malformed(path, err, errlen);
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl != NULL ? nl : end) - p);
        struct auth_entry e;
        if (len + 1 > AUTH_LINE_MAX) {
            snprintf(err, errlen, "Authfile [%s] has a line longer than %d bytes", path,
                     AUTH_LINE_MAX - 1);
            return false;
        }
        if (!auth_parse_line(p, len, &e))
            return auth_malformed(path, err, errlen);
        if (t->n < AUTH_ENTRIES_MAX)
            t->e[t->n++] = e;
        lines++;
        p += len + 1;
    }
    if (lines > AUTH_ENTRIES_MAX)
        log_info("authfile [%s]: only its first %d entries are used, as memcached\n", path,
                 AUTH_ENTRIES_MAX);
    return true;
}

/* The whole file (at most AUTH_FILE_MAX bytes) into t->data. */
static bool auth_read(struct auth_table *t, const char *path, size_t *size, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "Could not open authfile [%s] for reading, error %s", path,
                 strerror(errno));
        return false;
    }
    struct stat sb;
    bool ok = false;
    if (fstat(fileno(f), &sb) != 0) {
        snprintf(err, errlen, "Could not stat authfile [%s], error %s", path, strerror(errno));
    } else if (sb.st_size > AUTH_FILE_MAX) {
        snprintf(err, errlen, "Authfile [%s] is larger than %d bytes", path, AUTH_FILE_MAX);
    } else if ((t->data = malloc((size_t)sb.st_size + 1)) == NULL) {
        snprintf(err, errlen, "Out of memory reading password file: %s", path);
    } else {
        *size = fread(t->data, 1, (size_t)sb.st_size, f);
        ok = !ferror(f);
        if (!ok)
            snprintf(err, errlen, "Could not read authfile [%s]", path);
    }
    fclose(f);
    return ok;
}

/* The file at path as a new table; NULL with memcached's message in err. */
static struct auth_table *auth_table_read(const char *path, char *err, size_t errlen)
{
    struct auth_table *t = calloc(1, sizeof(*t));
    size_t size = 0;
    if (t == NULL) {
        snprintf(err, errlen, "Out of memory reading password file: %s", path);
        return NULL;
    }
    if (!auth_read(t, path, &size, err, errlen) ||
        !auth_parse(t, t->data, size, path, err, errlen)) {
        free(t->data);
        free(t);
        return NULL;
    }
    return t;
}

static void auth_table_free(struct auth_table *t)
{
    if (t == NULL)
        return;
    free(t->data);
    free(t);
}

int auth_load(struct server *srv, const char *path, char *err, size_t errlen)
{
    struct auth_table *t = auth_table_read(path, err, errlen);
    if (t == NULL)
        return -1;
    srv->auth = t;
    return 0;
}

void auth_reload(struct server *srv)
{
    char err[AUTH_LINE_MAX + PATH_MAX_MSG];
    if (srv->settings.auth_file == NULL)
        return;
    struct auth_table *t = auth_table_read(srv->settings.auth_file, err, sizeof(err));
    if (t == NULL) {
        log_error("%s; keeping the entries already loaded\n", err);
        return;
    }
    pthread_rwlock_wrlock(&auth_lock);
    struct auth_table *old = srv->auth;
    srv->auth = t;
    pthread_rwlock_unlock(&auth_lock);
    auth_table_free(old);
    log_info("password file %s reloaded\n", srv->settings.auth_file);
}

void auth_free(struct server *srv)
{
    auth_table_free(srv->auth);
    srv->auth = NULL;
}
