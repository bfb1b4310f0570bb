/*
 * settings: parsing, checking, help, man page and `stats settings`, all
 * expanded from SETTINGS_TABLE (settings.h).
 *
 * The table is turned into an array of row descriptors (kind, type, flags,
 * range, offset of the field in struct settings); every consumer walks that
 * array, so a row added to the table shows up in getopt, -h, the man page
 * and the checks at once. Defaults are applied by parsing each row's default
 * text through the same code as a command-line value, so a default can never
 * be outside its own range. Errors are one line, naming the flag and the
 * accepted range, and nothing here prints or exits: main() does that.
 */
#include "server/settings.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

enum settings_type {
    T_FLAG, T_COUNT, T_UINT, T_SIZE, T_OCTAL, T_FACTOR, T_STR, T_LIST, T_PROTO,
    T_ACTION, T_EXTENDED, T_ONOFF, T_HASH, T_LEVEL, T_FRACTION, T_NOOP, T_ABSENT,
};

/* memcached 1.6.45's -o hash_algorithm names. The store always hashes keys
 * with seeded xxh3 (slabs/assoc.c); the others are accepted so memcached's
 * command lines still start, and -v says they were replaced. */
static const char *const hash_names[] = { "jenkins", "murmur3", "xxh3" };
#define HASH_NAMES_N (sizeof(hash_names) / sizeof(hash_names[0]))

enum row_kind { ROW_OPT, ROW_EXT };

/* What "-o key" and "-o no_key" mean for on/off and level rows (memcached's
 * slab_automove alone is level 1). */
#define EXT_NO_PREFIX "no_"
#define EXT_NO_PREFIX_LEN (sizeof(EXT_NO_PREFIX) - 1)
/* An absent feature's -o row names a family of keys: "ext_*". */
#define EXT_FAMILY_MARK '*'
#define EXT_ON "1"
#define EXT_OFF "0"

struct settings_row {
    enum row_kind kind;
    enum settings_type type;
    int shortc;              /* OPT: the flag letter */
    const char *name;        /* OPT: long name; EXT: the -o key */
    const char *arg;         /* OPT: argument name, NULL if none */
    const char *def;         /* default as text, NULL for none */
    const char *note;        /* what the default means, for -h; NULL if plain */
    double min, max;
    const char *help;
    size_t off;              /* offsetof(struct settings, field) */
};

#define ROW_OPT_(field, type, sc, ln, arg, def, note, mn, mx, stat, fmt, help) \
    { ROW_OPT, type, sc, ln, arg, def, note, mn, mx, help, offsetof(struct settings, field) },
#define ROW_EXT_(field, type, key, def, note, mn, mx, stat, fmt, help) \
    { ROW_EXT, type, 0, key, "value", def, note, mn, mx, help, offsetof(struct settings, field) },
#define ROW_STAT_(...)

static const struct settings_row settings_rows[] = {
    SETTINGS_TABLE(ROW_OPT_, ROW_EXT_, ROW_STAT_)
};

#define ROWS_N (sizeof(settings_rows) / sizeof(settings_rows[0]))
#define KIB 1024ULL
#define OPTSTRING_MAX (3 * ROWS_N + 2)
#define HELP_COLUMN 26          /* where help text starts in -h, as memcached */
#define VALUE_TEXT_MAX 64
#define HELP_TEXT_MAX 256

/* ------------------------------------------------------------ value parsing */

static void *row_field(struct settings *s, const struct settings_row *r)
{
    return (char *)s + r->off;
}

static bool parse_digits(const char *text, int base, uint64_t *out, const char **end)
{
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    errno = 0;
    char *e;
    unsigned long long v = strtoull(text, &e, base);
    if (errno != 0)
        return false;
    *out = v;
    *end = e;
    return true;
}

static bool parse_uint(const char *text, int base, uint64_t *out)
{
    const char *end;
    return parse_digits(text, base, out, &end) && *end == '\0';
}

/* Bytes with an optional k/m/g suffix (powers of 1024), as memcached's -I. */
static bool parse_size(const char *text, uint64_t *out)
{
    const char *end;
    uint64_t v;
    if (!parse_digits(text, 10, &v, &end))
        return false;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    default: return false;
    }
    if (*end != '\0' && end[1] != '\0')
        return false;
    if (shift != 0 && v > (UINT64_MAX >> shift))
        return false;
    *out = v << shift;
    return true;
}

static bool parse_factor(const char *text, double *out)
{
    if (text == NULL || *text == '\0')
        return false;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* "1k", "1m", "1g" or plain bytes: how -I's range is written. */
static void size_text(uint64_t v, char *buf, size_t len)
{
    static const char units[] = "gmk";
    for (int i = 0; i < 3; i++) {
        uint64_t unit = 1ULL << (10 * (3 - i));
        if (v >= unit && v % unit == 0) {
            snprintf(buf, len, "%llu%c", (unsigned long long)(v / unit), units[i]);
            return;
        }
    }
    snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* "auto, ascii, binary": the names -B takes, for its error. */
static void protocol_names_text(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned m = 0; m < PROTO_MODES && n < len; m++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", m > 0 ? ", " : "",
                              proto_mode_name((enum proto_mode)m, PROTO_NAME_FLAG));
}

/* The hash_names entry called text; NULL when none is. */
static const char *hash_name_find(const char *text)
{
    for (size_t i = 0; text != NULL && i < HASH_NAMES_N; i++)
        if (strcmp(text, hash_names[i]) == 0)
            return hash_names[i];
    return NULL;
}

/* "jenkins, murmur3, xxh3": the names hash_algorithm takes, for its error. */
static void hash_names_text(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < HASH_NAMES_N && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i > 0 ? ", " : "", hash_names[i]);
}

/* ------------------------------------------------------------------ errors */

/* How a row is named in messages: "-c (--conn-limit)" or "-o hashpower". */
static void row_label(const struct settings_row *r, char *buf, size_t len)
{
    if (r->kind == ROW_EXT)
        snprintf(buf, len, "-o %s", r->name);
    else
        snprintf(buf, len, "-%c (--%s)", r->shortc, r->name);
}

static bool fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

/* A row of a feature this build does not have: one line naming it. */
static bool fail_absent(const struct settings_row *r, const char *given, char *err,
                        size_t errlen)
{
    if (r->kind == ROW_EXT)
        return fail(err, errlen, "-o %s: %s is not built into %s", given, r->help,
                    PACKAGE_NAME);
    return fail(err, errlen, "-%c (--%s): %s is not built into %s", r->shortc, r->name,
                r->help, PACKAGE_NAME);
}

static bool fail_range(const struct settings_row *r, const char *text, char *err, size_t errlen)
{
    char label[VALUE_TEXT_MAX], lo[VALUE_TEXT_MAX], hi[VALUE_TEXT_MAX];
    row_label(r, label, sizeof(label));
    switch (r->type) {
    case T_SIZE:
        size_text((uint64_t)r->min, lo, sizeof(lo));
        size_text((uint64_t)r->max, hi, sizeof(hi));
        return fail(err, errlen, "%s: '%s' is not a size from %s to %s (k/m/g suffixes)",
                    label, text, lo, hi);
    case T_OCTAL:
        return fail(err, errlen, "%s: '%s' is not an octal mask from %o to %o", label, text,
                    (unsigned)r->min, (unsigned)r->max);
    case T_FACTOR:
        return fail(err, errlen, "%s: '%s' is not a number greater than %g and at most %g",
                    label, text, r->min, r->max);
    case T_FRACTION:
        return fail(err, errlen, "%s: '%s' is not a number from %g to %g", label, text,
                    r->min, r->max);
    case T_PROTO: {
        char names[VALUE_TEXT_MAX];
        protocol_names_text(names, sizeof(names));
        return fail(err, errlen, "%s: '%s' is not one of %s", label, text, names);
    }
    case T_ONOFF:
        return fail(err, errlen, "%s takes no value (use %s or no_%s)", label, r->name, r->name);
    case T_HASH: {
        char names[VALUE_TEXT_MAX];
        hash_names_text(names, sizeof(names));
        return fail(err, errlen, "%s: '%s' is not one of %s", label, text, names);
    }
    default:
        return fail(err, errlen, "%s: '%s' is not a number from %.0f to %.0f", label, text,
                    r->min, r->max);
    }
}

/* ------------------------------------------------------------ applying rows */

static bool apply_extended(struct settings *s, const char *text, char *err, size_t errlen);

static bool apply_number(const struct settings_row *r, uint64_t *field, const char *text,
                         char *err, size_t errlen)
{
    uint64_t v;
    bool ok = r->type == T_SIZE    ? parse_size(text, &v)
              : r->type == T_OCTAL ? parse_uint(text, 8, &v)
                                   : parse_uint(text, 10, &v);
    if (!ok || (double)v < r->min || (double)v > r->max)
        return fail_range(r, text, err, errlen);
    *field = v;
    return true;
}

/* T_FACTOR excludes its minimum (a growth factor of 1 never grows), T_FRACTION takes it. */
static bool apply_double(const struct settings_row *r, double *field, const char *text,
                         char *err, size_t errlen)
{
    double v;
    if (!parse_factor(text, &v))
        return fail_range(r, text, err, errlen);
    bool above_min = r->type == T_FRACTION ? v >= r->min : v > r->min;
    if (!above_min || v > r->max)
        return fail_range(r, text, err, errlen);
    *field = v;
    return true;
}

static bool apply_string(const struct settings_row *r, char **field, const char *text)
{
    if (text == NULL) {
        free(*field);
        *field = NULL;
        return true;
    }
    if (r->type == T_LIST && *field != NULL) {
        char *joined;
        if (asprintf(&joined, "%s,%s", *field, text) < 0)
            abort();
        free(*field);
        *field = joined;
        return true;
    }
    free(*field);
    *field = strdup(text);
    if (*field == NULL)
        abort();
    return true;
}

static bool apply_row(struct settings *s, const struct settings_row *r, const char *text,
                      char *err, size_t errlen)
{
    void *p = row_field(s, r);
    switch (r->type) {
    case T_FLAG:
    case T_ACTION:
        *(bool *)p = text == NULL || strcmp(text, "1") == 0;
        return true;
    case T_ONOFF:
        if (text != NULL && strcmp(text, "0") != 0 && strcmp(text, "1") != 0)
            return fail_range(r, text, err, errlen);
        *(bool *)p = text == NULL || strcmp(text, "1") == 0;
        return true;
    case T_COUNT:
        if (text == NULL)
            (*(unsigned *)p)++;
        else
            *(unsigned *)p = (unsigned)strtoul(text, NULL, 10);
        return true;
    case T_UINT:
    case T_SIZE:
    case T_OCTAL:
    case T_LEVEL:
        return apply_number(r, p, text, err, errlen);
    case T_FACTOR:
    case T_FRACTION:
        return apply_double(r, p, text, err, errlen);
    case T_STR:
    case T_LIST:
        return apply_string(r, p, text);
    case T_PROTO:
        if (!proto_mode_parse(text, p))
            return fail_range(r, text, err, errlen);
        return true;
    case T_EXTENDED:
        return text == NULL || apply_extended(s, text, err, errlen);
    case T_HASH:
        if ((*(const char **)p = hash_name_find(text)) == NULL)
            return fail_range(r, text, err, errlen);
        return true;
    case T_NOOP:
        *(enum settings_noop *)p = SETTINGS_NOOP_KEY;   /* the value, if any, means nothing here */
        return true;
    case T_ABSENT:
        return fail_absent(r, r->name, err, errlen);
    }
    return fail(err, errlen, "internal: row type %d", (int)r->type);
}

/* The row of an -o key: its own name, or a family ("ext_*") it starts with. */
static bool ext_row_names(const struct settings_row *r, const char *key, size_t len)
{
    size_t n = strlen(r->name);
    if (n > 0 && r->name[n - 1] == EXT_FAMILY_MARK)
        return len >= n - 1 && strncmp(r->name, key, n - 1) == 0;
    return n == len && strncmp(r->name, key, len) == 0;
}

static const struct settings_row *find_ext(const char *key, size_t len)
{
    for (size_t i = 0; i < ROWS_N; i++) {
        const struct settings_row *r = &settings_rows[i];
        if (r->kind == ROW_EXT && ext_row_names(r, key, len))
            return r;
    }
    return NULL;
}

/* One "key=value", "key" or "no_key" of -o. */
static bool apply_ext_entry(struct settings *s, char *entry, char *err, size_t errlen)
{
    char *eq = strchr(entry, '=');
    size_t klen = eq != NULL ? (size_t)(eq - entry) : strlen(entry);
    const char *value = eq != NULL ? eq + 1 : NULL;
    const struct settings_row *r = find_ext(entry, klen);
    if (r == NULL && value == NULL && strncmp(entry, EXT_NO_PREFIX, EXT_NO_PREFIX_LEN) == 0) {
        r = find_ext(entry + EXT_NO_PREFIX_LEN, klen - EXT_NO_PREFIX_LEN);
        if (r != NULL && (r->type == T_ONOFF || r->type == T_LEVEL))
            return apply_row(s, r, EXT_OFF, err, errlen);
        if (r != NULL && r->type == T_NOOP) {
            *(enum settings_noop *)((char *)s + r->off) = SETTINGS_NOOP_NO_KEY;
            return true;
        }
        r = NULL;
    }
    if (r == NULL)
        return fail(err, errlen, "-o: unknown or unsupported option '%.*s'", (int)klen, entry);
    if (r->type == T_ABSENT) {
        char given[VALUE_TEXT_MAX];
        snprintf(given, sizeof(given), "%.*s", (int)klen, entry);
        return fail_absent(r, given, err, errlen);
    }
    if (r->type == T_NOOP)
        return apply_row(s, r, value, err, errlen);
    if (r->type == T_ONOFF) {
        if (value != NULL)
            return fail_range(r, value, err, errlen);
        return apply_row(s, r, NULL, err, errlen);
    }
    if (r->type == T_LEVEL && value == NULL)
        return apply_row(s, r, EXT_ON, err, errlen);
    if (value == NULL || *value == '\0')
        return fail(err, errlen, "-o %s needs a value (%s=<%s>)", r->name, r->name, r->arg);
    return apply_row(s, r, value, err, errlen);
}

static bool apply_extended(struct settings *s, const char *text, char *err, size_t errlen)
{
    char *copy = strdup(text), *save = NULL;
    if (copy == NULL)
        abort();
    bool ok = true;
    for (char *entry = strtok_r(copy, ",", &save); ok && entry != NULL;
         entry = strtok_r(NULL, ",", &save))
        ok = apply_ext_entry(s, entry, err, errlen);
    free(copy);
    return ok;
}

/* ------------------------------------------------------------------ parsing */

void settings_defaults(struct settings *s)
{
    memset(s, 0, sizeof(*s));
    char err[SETTINGS_ERR_MAX];
    for (size_t i = 0; i < ROWS_N; i++) {
        const struct settings_row *r = &settings_rows[i];
        if (r->def != NULL && !apply_row(s, r, r->def, err, sizeof(err)))
            abort();   /* a default outside its own range is a table bug */
    }
}

void settings_free(struct settings *s)
{
    for (size_t i = 0; i < ROWS_N; i++) {
        const struct settings_row *r = &settings_rows[i];
        if (r->type == T_STR || r->type == T_LIST) {
            char **p = row_field(s, r);
            free(*p);
            *p = NULL;
        }
    }
}

static const struct settings_row *find_short(int c)
{
    for (size_t i = 0; i < ROWS_N; i++)
        if (settings_rows[i].kind == ROW_OPT && settings_rows[i].shortc == c)
            return &settings_rows[i];
    return NULL;
}

static void build_getopt(char *shorts, struct option *longs)
{
    size_t n = 0, k = 0;
    shorts[n++] = ':';   /* report a missing argument as ':' */
    for (size_t i = 0; i < ROWS_N; i++) {
        const struct settings_row *r = &settings_rows[i];
        if (r->kind != ROW_OPT)
            continue;
        shorts[n++] = (char)r->shortc;
        if (r->arg != NULL)
            shorts[n++] = ':';
        longs[k++] = (struct option){ r->name, r->arg != NULL ? required_argument : no_argument,
                                      NULL, r->shortc };
    }
    shorts[n] = '\0';
    longs[k] = (struct option){ NULL, 0, NULL, 0 };
}

uint64_t settings_chunk_max_bytes(const struct settings *s)
{
    if (!s->chunked_items)
        return s->page_size;   /* memcached's no_chunked_items: one chunk per item */
    return s->slab_chunk_max != 0 ? s->slab_chunk_max * KIB : s->page_size / 2;
}

uint64_t settings_temporary_ttl(const struct settings *s)
{
    return s->temporary_ttl != 0 ? s->temporary_ttl : TEMPORARY_TTL_DEFAULT;
}

char settings_prefix_delimiter(const struct settings *s)
{
    return s->prefix_delimiter != NULL ? s->prefix_delimiter[0] : DETAIL_DELIMITER_DEFAULT;
}

/* memcached's rules and words: chunks tile a page (here -I is the page too). */
static bool chunk_max_fits_page(const struct settings *s, char *err, size_t errlen)
{
    unsigned long long chunk = settings_chunk_max_bytes(s), page = s->page_size;
    if (chunk > page)
        return fail(err, errlen, "slab_chunk_max (bytes: %llu) cannot be larger than "
                                 "-I (item_size_max %llu)", chunk, page);
    if (page % chunk != 0)
        return fail(err, errlen, "-I (item_size_max: %llu) must be evenly divisible by "
                                 "slab_chunk_max (bytes: %llu)", page, chunk);
    return true;
}

/*
 * -o slab_sizes=a-b-c: memcached 1.6.45's rules and words (empty fields
 * between dashes are skipped, as its strtok): each size within
 * [-n, slab_chunk_max] and more than CHUNK_ALIGN above the previous. At most
 * CLASS_MAX - 1 sizes (memcached: 62), slab_chunk_max being the last class.
 */
/* -o slab_sizes=auto (ours): self-tuning classes, no list to parse. */
#define SLAB_SIZES_AUTO "auto"
static bool slab_sizes_auto(const struct settings *s)
{
    return s->slab_sizes != NULL && strcmp(s->slab_sizes, SLAB_SIZES_AUTO) == 0;
}

static bool slab_sizes_parse(const struct settings *s, uint32_t *sizes, unsigned *n, char *err,
                             size_t errlen)
{
    char *copy = strdup(s->slab_sizes), *save = NULL;
    if (copy == NULL)
        abort();
    uint64_t last = 0, top = settings_chunk_max_bytes(s);
    bool ok = true;
    *n = 0;
    for (char *p = strtok_r(copy, "-", &save); ok && p != NULL; p = strtok_r(NULL, "-", &save)) {
        uint64_t size;
        if (!parse_uint(p, 10, &size) || size < s->chunk_min || size > top)
            ok = fail(err, errlen, "slab size %s is out of valid range", p);
        else if (last >= size)
            ok = fail(err, errlen,
                      "slab size %llu cannot be lower than or equal to a previous class size",
                      (unsigned long long)size);
        else if (size <= last + CHUNK_ALIGN)
            ok = fail(err, errlen, "slab size %llu must be at least %d bytes larger than "
                                   "previous class", (unsigned long long)size, CHUNK_ALIGN);
        else if (*n + 1 >= CLASS_MAX)
            ok = fail(err, errlen, "too many slab classes specified");
        else
            sizes[(*n)++] = (uint32_t)(last = size);
    }
    if (ok && *n == 0)
        ok = fail(err, errlen, "slab_sizes: no size given");
    free(copy);
    return ok;
}

/* Combinations of values that each passed their own range check. */
static bool settings_check(const struct settings *s, char *err, size_t errlen)
{
    if (s->unix_socket != NULL &&
        (*s->unix_socket == '\0' || strlen(s->unix_socket) > SETTINGS_UNIX_PATH_MAX))
        return fail(err, errlen, "-s (--unix-socket): the path must have 1 to %d bytes",
                    SETTINGS_UNIX_PATH_MAX);
    if (s->port == 0 && s->udp_port == 0 && s->unix_socket == NULL)
        return fail(err, errlen, "-p 0 turns TCP off: give -U <port> or -s <file> to listen on");
    if (s->page_size > s->mem_limit_mb * KIB * KIB / 2)
        return fail(err, errlen, "Cannot set item size limit higher than 1/2 of memory max.");
    if (!chunk_max_fits_page(s, err, errlen))
        return false;
    if (s->prefix_delimiter != NULL && *s->prefix_delimiter == '\0')
        return fail(err, errlen, "No delimiter specified");   /* memcached's words for -D '' */
    /* memcached 1.6.45's refusals, in its words */
    if (s->auth_file != NULL && s->udp_port != 0)
        return fail(err, errlen, "Cannot use UDP with ascii authentication enabled "
                                 "(-U 0 to disable)");
    if (s->auth_file != NULL && s->protocol != PROTO_MODE_ASCII)   /* -B auto too */
        return fail(err, errlen, "You cannot allow the BINARY protocol while using ascii "
                                 "authentication tokens.");
    if (s->chunk_min >= s->page_size)
        return fail(err, errlen, "-n (--slab-min-size) %llu must be smaller than "
                                 "-I (--max-item-size) %llu",
                    (unsigned long long)s->chunk_min, (unsigned long long)s->page_size);
    uint32_t sizes[CLASS_MAX];
    unsigned n;
    if (s->slab_sizes != NULL && !slab_sizes_auto(s) && !slab_sizes_parse(s, sizes, &n, err, errlen))
        return false;
    return true;
}

/* memcached: -U <port> without -p puts TCP on that port too. */
static void tcp_follows_udp(struct settings *s, bool port_given, bool udp_given)
{
    if (udp_given && !port_given && s->udp_port != 0)
        s->port = s->udp_port;
}

/* getopt returned '?': optopt is the letter of an unknown short flag, else 0. */
static enum settings_outcome parse_error(const char *arg, char *err, size_t errlen)
{
    if (optopt != 0)
        fail(err, errlen, "unknown option '-%c'", optopt);
    else
        fail(err, errlen, "unknown option '%s'", arg);
    return SETTINGS_ERROR;
}

enum settings_outcome settings_parse(struct settings *s, int argc, char **argv, char *err,
                                     size_t errlen)
{
    char shorts[OPTSTRING_MAX];
    struct option longs[ROWS_N + 1];
    build_getopt(shorts, longs);
    settings_defaults(s);
    err[0] = '\0';
    optind = 0;   /* glibc: a full re-initialisation, so tests may parse again */
    opterr = 0;
    int c;
    bool port_given = false, udp_given = false, protocol_given = false;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        const char *arg = argv[optind - 1];
        if (c == ':') {
            const struct settings_row *r = find_short(optopt);
            if (r != NULL)
                fail(err, errlen, "option -%c (--%s) requires an argument <%s>", r->shortc,
                     r->name, r->arg);
            else
                fail(err, errlen, "option '%s' requires an argument", arg);
            return SETTINGS_ERROR;
        }
        const struct settings_row *r = c == '?' ? NULL : find_short(c);
        if (r == NULL)
            return parse_error(arg, err, errlen);
        if (!apply_row(s, r, optarg, err, errlen))
            return SETTINGS_ERROR;
        port_given |= r->off == offsetof(struct settings, port);
        udp_given |= r->off == offsetof(struct settings, udp_port);
        protocol_given |= r->off == offsetof(struct settings, protocol);
    }
    tcp_follows_udp(s, port_given, udp_given);
    /* -Y logs in over ascii: without -B connections speak it from the first
     * byte, as memcached's; a -B other than ascii is refused (settings_check) */
    if (s->auth_file != NULL && !protocol_given)
        s->protocol = PROTO_MODE_ASCII;
    if (s->help)
        return SETTINGS_HELP;
    if (s->license)
        return SETTINGS_LICENSE;
    if (s->version)
        return SETTINGS_VERSION;
    if (optind < argc) {
        fail(err, errlen, "unexpected argument '%s'", argv[optind]);
        return SETTINGS_ERROR;
    }
    if (!settings_check(s, err, errlen))
        return SETTINGS_ERROR;
    return SETTINGS_RUN;
}

bool settings_hash_substituted(const struct settings *s)
{
    return strcmp(s->hash_algorithm, SETTINGS_HASH_USED) != 0;
}

void settings_notices(const struct settings *s, settings_notice_fn note)
{
    char line[HELP_TEXT_MAX], label[VALUE_TEXT_MAX];
    for (size_t i = 0; i < ROWS_N; i++) {
        const struct settings_row *r = &settings_rows[i];
        if (r->type != T_NOOP)
            continue;
        enum settings_noop typed = *(const enum settings_noop *)((const char *)s + r->off);
        if (typed == SETTINGS_NOOP_UNSET)
            continue;
        if (typed == SETTINGS_NOOP_NO_KEY)
            snprintf(label, sizeof(label), "-o " EXT_NO_PREFIX "%s", r->name);
        else
            row_label(r, label, sizeof(label));
        snprintf(line, sizeof(line), "%s: accepted, no effect: %s", label, r->help);
        note(line);
    }
}

void settings_store_config(const struct settings *s, struct store_config *cfg)
{
    store_config_defaults(cfg);
    cfg->mem_limit = s->mem_limit_mb * KIB * KIB;
    cfg->page_size = (uint32_t)s->page_size;
    cfg->factor = s->factor;
    cfg->chunk_min = (uint32_t)s->chunk_min;
    cfg->chunk_max = (uint32_t)settings_chunk_max_bytes(s);
    char err[SETTINGS_ERR_MAX];   /* settings_check passed the list already */
    cfg->retune_auto = slab_sizes_auto(s);
    cfg->retune_interval = (uint32_t)s->slab_retune_interval;
    if (s->slab_sizes != NULL && !cfg->retune_auto &&
        !slab_sizes_parse(s, cfg->class_sizes, &cfg->nclass_sizes, err, sizeof(err)))
        cfg->nclass_sizes = 0;
    cfg->prealloc = s->prealloc;
    cfg->no_evict = s->no_evict;
    cfg->use_cas = !s->no_cas;
    cfg->hash_power = (uint32_t)s->hashpower;
    cfg->hash_expand = s->hashexpand;
    cfg->slab_reassign = s->slab_reassign;
    cfg->automove = (unsigned)s->slab_automove;
    cfg->automove_ratio = s->slab_automove_ratio;
    cfg->automove_window = (unsigned)s->slab_automove_window;
    cfg->automove_freeratio = s->slab_automove_freeratio;
    cfg->lru_maintainer = s->lru_maintainer;
    cfg->lru_segmented = s->lru_segmented && s->lru_maintainer;  /* as memcached */
    cfg->hot_lru_pct = (unsigned)s->hot_lru_pct;
    cfg->warm_lru_pct = (unsigned)s->warm_lru_pct;
    cfg->hot_max_factor = s->hot_max_factor;
    cfg->warm_max_factor = s->warm_max_factor;
    cfg->temp_lru = s->temporary_ttl != 0;
    cfg->temporary_ttl = (uint32_t)settings_temporary_ttl(s);
    cfg->crawler = s->lru_crawler;
    cfg->crawler_sleep_us = (uint32_t)s->lru_crawler_sleep;
    cfg->crawler_tocrawl = (uint32_t)s->lru_crawler_tocrawl;
    cfg->memory_file = s->memory_file;
}

/* -------------------------------------------------------------- help, man */

/* Rows that take a value and have a default (or say what none means) show it. */
static bool row_shows_default(const struct settings_row *r)
{
    return r->arg != NULL && r->type != T_ONOFF && (r->def != NULL || r->note != NULL);
}

/* A size row's default and range in the k/m/g form the flag accepts. */
static void size_default_text(const struct settings_row *r, char *buf, size_t len)
{
    uint64_t def = 0;
    char shown[VALUE_TEXT_MAX], lo[VALUE_TEXT_MAX], hi[VALUE_TEXT_MAX];
    if (!parse_size(r->def, &def))
        abort();   /* settings_defaults() would have refused it first */
    size_text(def, shown, sizeof(shown));
    size_text((uint64_t)r->min, lo, sizeof(lo));
    size_text((uint64_t)r->max, hi, sizeof(hi));
    snprintf(buf, len, "%s, min: %s, max: %s", shown, lo, hi);
}

/* The help text as -h and the man page print it: with "(default: ...)". */
static void row_help(const struct settings_row *r, char *buf, size_t len)
{
    if (r->type == T_NOOP) {
        snprintf(buf, len, "accepted, no effect: %s", r->help);
        return;
    }
    if (r->type == T_ABSENT) {
        snprintf(buf, len, "refused: %s is not built into %s", r->help, PACKAGE_NAME);
        return;
    }
    if (!row_shows_default(r)) {
        snprintf(buf, len, "%s", r->help);
        return;
    }
    char def[HELP_TEXT_MAX] = "";
    if (r->type == T_SIZE && r->def != NULL)
        size_default_text(r, def, sizeof(def));
    else if (r->def != NULL)
        snprintf(def, sizeof(def), "%s", r->def);
    snprintf(buf, len, "%s (default: %s%s%s)", r->help, def,
             r->def != NULL && r->note != NULL ? ", " : "", r->note != NULL ? r->note : "");
}

/* -o rows shown without "=value": switches, and keys whose value means nothing. */
static bool ext_row_bare(const struct settings_row *r)
{
    return r->type == T_ONOFF || r->type == T_NOOP || r->type == T_ABSENT;
}

static void usage_row(FILE *out, const struct settings_row *r)
{
    char lead[VALUE_TEXT_MAX], help[HELP_TEXT_MAX];
    int n;
    if (r->kind == ROW_EXT)
        n = snprintf(lead, sizeof(lead), "   - %s%s:", r->name,
                     ext_row_bare(r)      ? ""
                     : r->type == T_HASH  ? "=<name>"
                     : r->type == T_LEVEL ? "[=<num>]"
                     : r->type == T_STR   ? "=<list>"
                                          : "=<num>");
    else if (r->arg != NULL)
        n = snprintf(lead, sizeof(lead), "-%c, --%s=<%s>", r->shortc, r->name, r->arg);
    else
        n = snprintf(lead, sizeof(lead), "-%c, --%s", r->shortc, r->name);
    row_help(r, help, sizeof(help));
    fprintf(out, "%-*s %s\n", n < HELP_COLUMN - 1 ? HELP_COLUMN - 1 : n, lead, help);
}

void settings_version(FILE *out)
{
    fprintf(out, "%s %s (memcached %s compatible)\n", PACKAGE_NAME, PACKAGE_VERSION,
            PROTOCOL_VERSION);
}

void settings_usage(FILE *out)
{
    settings_version(out);
    for (size_t i = 0; i < ROWS_N; i++)
        if (settings_rows[i].kind == ROW_OPT)
            usage_row(out, &settings_rows[i]);
    fprintf(out, "Extended options, for -o key=value,...:\n");
    for (size_t i = 0; i < ROWS_N; i++)
        if (settings_rows[i].kind == ROW_EXT)
            usage_row(out, &settings_rows[i]);
}

/* troff text: escape backslashes and hyphens; quote a leading dot. */
static void man_text(FILE *out, const char *text)
{
    if (*text == '.' || *text == '\'')
        fputs("\\&", out);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\\')
            fputs("\\e", out);
        else if (*p == '-')
            fputs("\\-", out);
        else
            fputc(*p, out);
    }
}

static void man_row(FILE *out, const struct settings_row *r)
{
    char help[HELP_TEXT_MAX];
    fputs(".TP\n", out);
    if (r->kind == ROW_EXT) {
        fputs(".B ", out);
        man_text(out, r->name);
        fputs(ext_row_bare(r) ? "\n" : "=\\fIvalue\\fR\n", out);
    } else {
        fprintf(out, "\\fB\\-%c\\fR, \\fB\\-\\-", r->shortc);
        man_text(out, r->name);
        fputs("\\fR", out);
        if (r->arg != NULL)
            fprintf(out, "=\\fI%s\\fR", r->arg);
        fputc('\n', out);
    }
    row_help(r, help, sizeof(help));
    man_text(out, help);
    fputc('\n', out);
}

/* How memory moves: pages, page moves, automove, chained items, limits. */
static void man_memory(FILE *out)
{
    fputs(".SH MEMORY\n"
          "Item memory (\\fB\\-m\\fR) is cut into pages of \\fB\\-I\\fR bytes; each page"
          " belongs to one slab class at a time and is carved into that class's chunks."
          " An item larger than \\fBslab_chunk_max\\fR (default half a page) is a chain of"
          " chunks: full chunks of the largest class and a last one of the smallest class that"
          " holds the rest, so a value costs about its own size. The largest item is a page"
          " less its headers.\n"
          ".PP\n"
          "Pages move between classes (unless \\fBno_slab_reassign\\fR): the mover empties"
          " a page in small steps beside the running workers, copies each live item into a free"
          " chunk of the same class when there is one and evicts it otherwise, waits out items"
          " that replies in flight still read, and hands the page to the class that needs it or"
          " to a global pool. A class that has no free chunk, no page to take and nothing of its"
          " own to evict takes a page at once from the class whose LRU tail is oldest. The"
          " \\fBstats\\fR counters \\fBslabs_moved\\fR, \\fBslab_reassign_*\\fR and"
          " \\fBslab_global_page_pool\\fR report the moves, as memcached.\n"
          ".PP\n"
          "Automove (\\fBslab_automove=1\\fR, the default) samples every class many times a"
          " second: whether it evicted or refused a store since the last sample, and the age of"
          " its LRU tail. A page moves only from a class that has not evicted for"
          " \\fBslab_automove_window\\fR samples to one that evicted in each of them, and only"
          " when the receiver's tail is younger than \\fBslab_automove_ratio\\fR times the"
          " giver's: memory goes where it buys hits. After a change of value sizes the starving"
          " class gets pages within a fraction of a second, one page per sample; on a steady"
          " mix where every class evicts nothing moves, and a class that gave pages never takes"
          " them back from one that still evicts, so pages do not go back and forth. A class"
          " whose free chunks exceed \\fBslab_automove_freeratio\\fR of \\fB\\-m\\fR gives"
          " pages first. \\fBslab_automove=2\\fR is memcached's aggressive mode: a page to"
          " the class that evicted most on every sample with evictions.\n"
          ".PP\n"
          "\\fBcache_memlimit\\fR lowers or raises \\fB\\-m\\fR at run time: a lower limit"
          " drains pages, oldest LRU tails first, and gives them back to the system (the"
          " resident size falls); a higher one is used at once.\n"
          ".PP\n"
          "Each class's LRU has segments, as memcached 1.6's: new items join HOT (TEMP when"
          " \\fBtemporary_ttl\\fR is set and their TTL is within it), HOT and WARM are held to"
          " \\fBhot_lru_pct\\fR and \\fBwarm_lru_pct\\fR of the class's items and to"
          " \\fBhot_max_factor\\fR and \\fBwarm_max_factor\\fR times the age of COLD's"
          " tail, and evictions take COLD's tail. A get never moves an item: a second hit marks"
          " it active, and an active item reaching COLD's tail moves to WARM instead of being"
          " evicted, so a scan of keys set once passes the keys that are read. The LRU"
          " maintainer runs on the mover's thread: it applies the age limits and frees expired"
          " and flushed items it meets at the tails, sleeping up to a second when idle.\n", out);
}

/* The commands beyond memcached's storage and retrieval that manage memory. */
static void man_commands(FILE *out)
{
    fputs(".SH COMMANDS\n"
          ".TP\n\\fBslabs reassign\\fR \\fIsrc\\fR \\fIdst\\fR\n"
          "Moves one page from class \\fIsrc\\fR (\\-1: any class with a page to spare;"
          " 0: the global pool) to class \\fIdst\\fR (0: the pool). Replies, as memcached"
          " 1.6.45: OK, BUSY (a move is in progress), BADCLASS, NOSPARE (the source has fewer"
          " than two pages), SAME; CLIENT_ERROR slab reassignment disabled under"
          " \\fBno_slab_reassign\\fR.\n"
          ".TP\n\\fBslabs automove\\fR \\fB0\\fR|\\fB1\\fR|\\fB2\\fR\n"
          "Sets the automove mode at run time (\\fBstats settings\\fR shows it).\n"
          ".TP\n\\fBslabs automove ratio\\fR|\\fBfreeratio\\fR|\\fBwindow\\fR \\fIvalue\\fR\n"
          "Sets \\fBslab_automove_ratio\\fR, \\fBslab_automove_freeratio\\fR or"
          " \\fBslab_automove_window\\fR at run time, with memcached 1.6.45's parsing and"
          " replies (OK; ERROR for a ratio that is not a number; CLIENT_ERROR automove window"
          " too low or too high outside 3..1800).\n"
          ".TP\n\\fBslabs advise\\fR\n"
          "Weighs class tables against the sizes of the items stored now (an always-on"
          " histogram: 8\\-byte buckets up to 4 KiB, 16 per doubling above) and answers"
          " STAT lines and END: \\fBitems\\fR weighed, \\fBchained_items\\fR (larger than"
          " \\fBslab_chunk_max\\fR, left out); then for the \\fBcurrent\\fR table, the"
          " best \\fBgeometric\\fR one (with its \\fBgeometric_factor\\fR for \\fB\\-f\\fR"
          " and \\fBgeometric_chunk_min\\fR for \\fB\\-n\\fR) and the best \\fBfree\\fR"
          " one of at most as many classes (\\fBfree_slab_sizes\\fR, a value for"
          " \\fB\\-o slab_sizes\\fR): \\fI<table>\\fR_classes, \\fI<table>\\fR_waste_pct (chunk"
          " bytes not holding item bytes, in percent) and \\fI<table>\\fR_items_at_limit (the"
          " items of this mix \\fB\\-m\\fR would hold). The free table is the exact optimum"
          " for the histogram (a dynamic program), each size more than 8 bytes above the"
          " last as \\fBslab_sizes\\fR wants.\n"
          ".TP\n\\fBslabs retune\\fR\n"
          "Installs the free table of \\fBslabs advise\\fR now, without a restart (ours):"
          " new stores go to its classes; the old classes take no new page, and the page"
          " mover drains them to the pool, moving each item into the new class that fits it"
          " (evicting it only when no chunk can be had). \\fBOK\\fR; \\fBNOTHING_TO_DO\\fR"
          " when the advised table wastes no less; \\fBBUSY\\fR while the last retune still"
          " drains; \\fBFULL\\fR when the class ids (255) are used up. \\fB\\-o"
          " slab_sizes=auto\\fR does the same by itself. \\fBstats\\fR shows"
          " \\fBslab_retunes\\fR, \\fBslab_retune_last\\fR (unix time) and the advised waste"
          " before and after (\\fBslab_retune_waste_before_pct\\fR,"
          " \\fBslab_retune_waste_after_pct\\fR).\n"
          ".TP\n\\fBstats sizes\\fR\n"
          "With \\fB\\-o track_sizes\\fR, memcached's lines: items by size in 32\\-byte"
          " buckets (an item above 4 KiB is counted at the top of its coarser bucket);"
          " without it, \\fBsizes_status disabled\\fR.\n"
          ".TP\n\\fBlru tune\\fR \\fIhot_pct\\fR \\fIwarm_pct\\fR \\fIhot_max_factor\\fR"
          " \\fIwarm_max_factor\\fR\n"
          "Sets the segments' limits at run time. Replies, as memcached 1.6.45: OK; ERROR hot"
          " and warm pcts must not exceed 80; ERROR hot/warm age factors must be greater than"
          " 0.\n"
          ".TP\n\\fBlru mode\\fR \\fBflat\\fR|\\fBsegmented\\fR\n"
          "Flat keeps one LRU per class, a hit moving its item to the head at most once a"
          " minute; new items follow the mode at once.\n"
          ".TP\n\\fBlru temp_ttl\\fR \\fIseconds\\fR\n"
          "Items stored with a TTL up to \\fIseconds\\fR go to TEMP from now on; a negative"
          " value turns TEMP off. \\fBlru mode\\fR and \\fBlru temp_ttl\\fR answer ERROR"
          " under \\fBno_lru_maintainer\\fR, as memcached.\n"
          ".TP\n\\fBwatch\\fR [\\fBfetchers\\fR|\\fBmutations\\fR|\\fBevictions\\fR|"
          "\\fBconnevents\\fR|...]\n"
          "Answers OK and turns the connection into a stream of memcached 1.6.45's log lines"
          " (\\fBts=\\fR...\\fB gid=\\fR...\\fB type=item_get key=\\fR... ; keys URI\\-encoded)"
          " until the client closes it; without a stream named, \\fBfetchers\\fR. Gets,"
          " stores, deletes, evictions and connections have events here; \\fBrawcmds\\fR,"
          " \\fBsysevents\\fR and the proxy streams are accepted and stay silent. Lines a watcher cannot take in time are skipped, counted in"
          " \\fBlog_watcher_skipped\\fR and announced by a \\fBskipped=\\fR\\fIN\\fR line;"
          " records a worker's ring cannot hold count in \\fBlog_worker_dropped\\fR."
          " Replies as memcached: ERROR for an unknown stream, CLIENT_ERROR watch commands"
          " not allowed under \\fB\\-W\\fR, WATCHER_TOO_MANY past 20 watchers.\n"
          ".TP\n\\fBstats detail on\\fR|\\fBoff\\fR|\\fBdump\\fR\n"
          "Per\\-prefix counts of gets, hits, sets and deletes (text and binary requests),"
          " the prefix being what precedes the \\fB\\-D\\fR delimiter; \\fBdump\\fR prints"
          " \\fBPREFIX\\fR \\fIp\\fR \\fBget\\fR \\fIn\\fR \\fBhit\\fR \\fIn\\fR \\fBset\\fR"
          " \\fIn\\fR \\fBdel\\fR \\fIn\\fR lines and END. At most 65536 prefixes are"
          " counted (memcached's limit); \\fBstats reset\\fR forgets them. Over the binary"
          " protocol the group \\fBdetail dump\\fR answers one stat, \\fBdetailed\\fR, holding"
          " those lines. \\fB\\-X\\fR refuses it as a dump command.\n", out);
}

static void man_warm(FILE *out)
{
    fputs(".SH WARM RESTART\n"
          "With \\fB\\-e\\fR \\fIfile\\fR item memory lives in \\fIfile\\fR (put it on a RAM"
          " disk such as /dev/shm), created or resized to \\fB\\-m\\fR plus a small header and"
          " given real blocks at start, so a file system without room stops the start with a"
          " one\\-line error. SIGUSR1 or \\fBshutdown graceful\\fR (with \\fB\\-A\\fR) stops the"
          " server and saves the cache in the file: the settings that shape memory"
          " (\\fB\\-m \\-I \\-n \\-f \\-C\\fR, \\fBslab_chunk_max\\fR and the class table), the"
          " page table, the clock, the CAS counter and checksums of the metadata and of the"
          " item memory. The next start with the same file and settings serves every item"
          " that was live, with its value, flags, CAS and TTL (the clock goes on from the"
          " saved process start, as memcached, so \\fBuptime\\fR counts from it too)."
          " SIGTERM, SIGINT, plain \\fBshutdown\\fR or a crash save nothing, and the next"
          " start is cold.\n"
          ".PP\n"
          "A file saved with other settings, with a checksum that does not match, cut short"
          " or not saved by a graceful stop is never served: as memcached, the server starts"
          " with an empty cache and says why in one line on standard error. Unlike"
          " memcached 1.6.45 the metadata is in the file itself (no \\fIfile\\fR.meta), item"
          " memory is checksummed, a start in the same second as the save resumes, and a"
          " second server on a file in use is refused. \\fBcache_memlimit\\fR cannot raise"
          " the limit above the file's \\fB\\-m\\fR.\n", out);
}

void settings_man(FILE *out)
{
    fprintf(out, ".TH SLABCACHE 1 \"\" \"%s %s\" \"User Commands\"\n", PACKAGE_NAME,
            PACKAGE_VERSION);
    fputs(".SH NAME\nslabcache \\- a memcached\\-compatible in\\-memory cache server\n"
          ".SH SYNOPSIS\n.B slabcache\n[\\fIoptions\\fR]\n"
          ".SH DESCRIPTION\n"
          "slabcache keeps key/value items in memory carved into slab classes and serves\n"
          "them over memcached's text protocol. Without \\fB\\-v\\fR it prints nothing but"
          " what \\fB\\-e\\fR reports (WARM RESTART).\n"
          ".SH OPTIONS\n", out);
    for (size_t i = 0; i < ROWS_N; i++)
        if (settings_rows[i].kind == ROW_OPT)
            man_row(out, &settings_rows[i]);
    fputs(".SH EXTENDED OPTIONS\nGiven to \\fB\\-o\\fR as a comma separated list;"
          " an unknown key is an error.\n", out);
    for (size_t i = 0; i < ROWS_N; i++)
        if (settings_rows[i].kind == ROW_EXT)
            man_row(out, &settings_rows[i]);
    man_memory(out);
    man_commands(out);
    man_warm(out);
    fputs(".SH EXIT STATUS\n0 after \\fB\\-h\\fR, \\fB\\-i\\fR, \\fB\\-V\\fR, SIGTERM, SIGINT, SIGUSR1 or the"
          " \\fBshutdown\\fR command; non\\-zero on a bad option, with a one\\-line"
          " message on standard error.\n"
          ".SH DIFFERENCES FROM MEMCACHED\n"
          "\\fBversion\\fR reports 1.6.45, the memcached release whose behaviour we"
          " follow; \\fB\\-V\\fR and the \\fBstats\\fR key \\fBslabcache_version\\fR"
          " give ours. Options marked \"accepted, no effect\" above start the server as"
          " memcached's do and are named at \\fB\\-v\\fR; options marked \"refused\""
          " name a feature this build lacks. \\fB\\-p 0\\fR with neither"
          " \\fB\\-U\\fR nor \\fB\\-s\\fR is refused (memcached starts listening"
          " nowhere), and so is an unknown \\fB\\-l proto[...]\\fR name (memcached"
          " ignores it). \\fBstats settings\\fR reports \\fBhash_algorithm xxh3\\fR,"
          " the hash in use, and the \\fBext_*\\fR keys with the values of an"
          " extstore that is not configured.\n"
          ".PP\n"
          "A meta command's \\fBk\\fR flag (and \\fBme\\fR) echoes a key in base64 (with"
          " \\fBb\\fR) when the key was given in base64 or when its bytes hold whitespace"
          " or control characters; memcached 1.6.45 writes a key it vivified (\\fBmg"
          " \\fR...\\fB b N\\fR) or emptied (\\fBmd \\fR...\\fB b x\\fR) raw, so a"
          " newline in it breaks the reply line."
          " \\fBme\\fR \\fIkey\\fR \\fBb\\fR decodes the key; memcached only when"
          " another word follows the \\fBb\\fR. A meta command checks its opaque"
          " (\\fBO\\fR) length before it acts; memcached's \\fBmg\\fR and \\fBma\\fR"
          " act first (touch, vivify, count) and then answer the error. An item"
          " stored with an \\fBE\\fR CAS smaller than the CAS counter at the last"
          " \\fBflush_all\\fR, within the second of that flush, is flushed too.\n"
          ".PP\n"
          "The \\fB\\-I\\fR flag sets the page size as well as the largest item, as"
          " memcached up to 1.4; memcached 1.6 keeps 1 MB pages and \\fB\\-I\\fR only"
          " raises its item limit."
          " Because pages move and large items are chained, a large \\fB\\-I\\fR no longer"
          " strands memory in the class that took a page first. Each class still holds"
          " whole pages, so at \\fB\\-I 4m \\-m 64\\fR only 16 classes can own one; an"
          " item of a class without a page is built from chunks free in other classes"
          " (a chain) rather than evicting anything.\n"
          ".PP\n"
          "Automove is our policy (above), not memcached's: \\fBslab_automove_window\\fR"
          " counts samples rather than seconds, \\fBslab_automove_ratio\\fR compares LRU tail"
          " ages, and their defaults differ. \\fBslabs automove ratio\\fR and"
          " \\fBfreeratio\\fR refuse values our automove cannot use (a ratio outside"
          " 0..1, a free ratio outside [0, 1)) with CLIENT_ERROR and the reason, where"
          " memcached 1.6.45 takes any number.\n"
          ".PP\n"
          "The LRU segments' shares count items, not bytes; \\fBtemporary_ttl=0\\fR (the"
          " default) means no TEMP LRU, where memcached's 0 turns one on (for TTLs of 0"
          " seconds and less); \\fBstats items\\fR always prints \\fBnumber_temp\\fR,"
          " after memcached's rows.\n"
          ".PP\n"
          "In \\fBstats\\fR, \\fBconnection_structures\\fR counts the connection"
          " structures alive (memcached keeps one for every descriptor it ever used);"
          " \\fBstats conns\\fR lists each UDP socket once (memcached once per worker);"
          " figures of memcached internals this server does not have"
          " (\\fBresponse_obj_oom\\fR, \\fBslab_reassign_busy_nomem\\fR,"
          " \\fBlru_bumps_dropped\\fR, \\fBtailrepairs\\fR, \\fBunexpected_napi_ids\\fR,"
          " \\fBround_robin_fallback\\fR) are 0, and ours follow memcached's keys.\n"
          ".PP\n"
          "Under \\fB\\-Y\\fR, a login is answered once all of it has arrived, so"
          " pipelined requests before it each get their own reply; a password file over"
          " 16 KB, or with a line over 255 bytes, is refused at start; entries past the"
          " 8th are ignored, as memcached does, with a notice. SIGHUP rereads the file,"
          " as memcached does; a file that cannot be read or is malformed then leaves the"
          " entries in force, with a message. \\fB\\-B auto\\fR or \\fBbinary\\fR"
          " with \\fB\\-Y\\fR is refused (exit 64).\n"
          ".PP\n"
          "\\fBwatch\\fR: memcached also logs the lookup inside each store and delete as an"
          " \\fBitem_get\\fR line and the crawler and page mover under"
          " \\fBsysevents\\fR; slabcache logs neither. Log records are gathered by the"
          " watchers' own connections (every 10 ms when idle), not by a logger thread.\n"
          ".SH SEE ALSO\n.BR memcached (1)\n", out);
}

/* ------------------------------------------------------------ stats settings */

static void emit_u(settings_emit_fn emit, void *arg, const char *name, enum settings_fmt fmt,
                   uint64_t v)
{
    char buf[VALUE_TEXT_MAX];
    switch (fmt) {
    case FMT_NONE:
        return;
    case FMT_MB:
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(v * KIB * KIB));
        break;
    case FMT_OCT:
        snprintf(buf, sizeof(buf), "%llo", (unsigned long long)v);
        break;
    case FMT_YES:
        snprintf(buf, sizeof(buf), "%s", v ? "yes" : "no");
        break;
    case FMT_NOT_YES:
        snprintf(buf, sizeof(buf), "%s", v ? "no" : "yes");
        break;
    case FMT_NOT_ON:
        snprintf(buf, sizeof(buf), "%s", v ? "off" : "on");
        break;
    case FMT_CHAR:
        snprintf(buf, sizeof(buf), "%c", (int)v);
        break;
    case FMT_PROTO:
    {
        const char *mode = proto_mode_name((enum proto_mode)v, PROTO_NAME_STAT);
        snprintf(buf, sizeof(buf), "%s", mode != NULL ? mode : "?");
        break;
    }
    default:
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
        break;
    }
    emit(arg, name, buf);
}

static void emit_d(settings_emit_fn emit, void *arg, const char *name, enum settings_fmt fmt,
                   double v)
{
    char buf[VALUE_TEXT_MAX];
    snprintf(buf, sizeof(buf), fmt == FMT_FACTOR3 ? "%.3f" : "%.2f", v);
    if (fmt != FMT_NONE)
        emit(arg, name, buf);
}

static void emit_s(settings_emit_fn emit, void *arg, const char *name, enum settings_fmt fmt,
                   const char *v)
{
    if (fmt != FMT_NONE)
        emit(arg, name, v != NULL ? v : fmt == FMT_STR_PRINTF ? "(null)"
                                      : fmt == FMT_STR_NO   ? "no"
                                                            : "NULL");
}

#define EMIT_VALUE(name, fmt, v) \
    _Generic((v), double: emit_d, char *: emit_s, const char *: emit_s, default: emit_u)( \
        emit, arg, name, fmt, v)
#define STATS_OPT_(field, type, sc, ln, argn, def, note, mn, mx, stat, fmt, help) \
    if ((fmt) != FMT_NONE) EMIT_VALUE(stat, fmt, s->field);
#define STATS_EXT_(field, type, key, def, note, mn, mx, stat, fmt, help) \
    if ((fmt) != FMT_NONE) EMIT_VALUE(stat, fmt, s->field);
#define STATS_STAT_(stat, fmt, expr) EMIT_VALUE(stat, fmt, expr);

void settings_stats(const struct settings *s, settings_emit_fn emit, void *arg)
{
    SETTINGS_TABLE(STATS_OPT_, STATS_EXT_, STATS_STAT_)
}
