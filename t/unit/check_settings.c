/*
 * check_settings: the option table and its parser (server/settings.c),
 * without starting a server: every flag, suffixes, ranges and their exact
 * one-line errors, -o keys, -h and the built man page against a written-out
 * list of the options (flags, argument names, help texts).
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/settings.h"

#define ARGV_MAX 64
#define TEXT_MAX 65536

static struct settings st;
static char err[SETTINGS_ERR_MAX];
static char notes[TEXT_MAX];   /* settings_notices() lines, by note_line() */

/* Parses "slabcache" followed by the given NULL-terminated flags. */
static enum settings_outcome parse(const char *first, ...)
{
    char *argv[ARGV_MAX];
    int argc = 0;
    argv[argc++] = "slabcache";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < ARGV_MAX - 1; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    settings_free(&st);
    return settings_parse(&st, argc, argv, err, sizeof(err));
}

#define PARSE_OK(...) ck_assert_msg(parse(__VA_ARGS__, NULL) == SETTINGS_RUN, "error: %s", err)
#define PARSE_ERR(msg, ...)                                                  \
    do {                                                                     \
        ck_assert_int_eq(parse(__VA_ARGS__, NULL), SETTINGS_ERROR);          \
        ck_assert_str_eq(err, msg);                                          \
    } while (0)

static void teardown(void)
{
    settings_free(&st);
}

START_TEST(defaults)
{
    ck_assert_int_eq(parse(NULL), SETTINGS_RUN);
    ck_assert_uint_eq(st.port, 11211);
    ck_assert_uint_eq(st.udp_port, 0);
    ck_assert_ptr_null(st.listen);
    ck_assert_uint_eq(st.mem_limit_mb, 64);
    ck_assert_uint_eq(st.maxconns, 1024);
    ck_assert_uint_eq(st.threads, 4);
    ck_assert_uint_eq(st.page_size, 1024 * 1024);
    ck_assert_double_eq(st.factor, 1.25);
    ck_assert_uint_eq(st.chunk_min, 48);
    ck_assert_uint_eq(st.backlog, 1024);
    ck_assert_uint_eq(st.reqs_per_event, 20);
    ck_assert_uint_eq(st.unix_mask, 0700);
    ck_assert_uint_eq(st.hashpower, 16);
    ck_assert_uint_eq(st.idle_timeout, 0);
    ck_assert_uint_eq(st.verbose, 0);
    ck_assert_int_eq(st.protocol, PROTO_MODE_AUTO);
    ck_assert(!st.no_evict && !st.no_cas && !st.daemon && !st.shutdown && !st.prealloc);
    ck_assert_ptr_null(st.pidfile);
    ck_assert_ptr_null(st.user);
}
END_TEST

START_TEST(every_flag)
{
    PARSE_OK("-p", "12345", "-U", "0", "-l", "127.0.0.1", "-m", "128", "-c", "50", "-t", "2",
             "-I", "2m", "-f", "1.5", "-n", "64", "-M", "-C", "-L", "-d", "-P", "/tmp/x.pid",
             "-u", "nobody", "-vv", "-b", "16", "-R", "5", "-A", "-B", "ascii", "-k", "-r",
             "-a", "755");
    ck_assert_uint_eq(st.port, 12345);
    ck_assert_str_eq(st.listen, "127.0.0.1");
    ck_assert_uint_eq(st.mem_limit_mb, 128);
    ck_assert_uint_eq(st.maxconns, 50);
    ck_assert_uint_eq(st.threads, 2);
    ck_assert_uint_eq(st.page_size, 2 * 1024 * 1024);
    ck_assert_double_eq(st.factor, 1.5);
    ck_assert_uint_eq(st.chunk_min, 64);
    ck_assert(st.no_evict && st.no_cas && st.prealloc && st.daemon && st.shutdown);
    ck_assert(st.lock_memory && st.coredumps);
    ck_assert_str_eq(st.pidfile, "/tmp/x.pid");
    ck_assert_str_eq(st.user, "nobody");
    ck_assert_uint_eq(st.verbose, 2);
    ck_assert_uint_eq(st.backlog, 16);
    ck_assert_uint_eq(st.reqs_per_event, 5);
    ck_assert_int_eq(st.protocol, PROTO_MODE_ASCII);
    ck_assert_uint_eq(st.unix_mask, 0755);
}
END_TEST

START_TEST(long_flags)
{
    PARSE_OK("--port=2000", "--memory-limit", "32", "--conn-limit=7", "--threads=1",
             "--max-item-size=4k", "--slab-growth-factor=2", "--slab-min-size=100",
             "--disable-evictions", "--disable-cas", "--verbose", "--verbose", "--verbose",
             "--listen-backlog=9", "--max-reqs-per-event=3", "--enable-shutdown",
             "--protocol=auto", "--listen=127.0.0.1", "--listen=::1", "--extended=hashpower=20");
    ck_assert_uint_eq(st.port, 2000);
    ck_assert_uint_eq(st.mem_limit_mb, 32);
    ck_assert_uint_eq(st.maxconns, 7);
    ck_assert_uint_eq(st.threads, 1);
    ck_assert_uint_eq(st.page_size, 4096);
    ck_assert_double_eq(st.factor, 2.0);
    ck_assert_uint_eq(st.chunk_min, 100);
    ck_assert_uint_eq(st.verbose, 3);
    ck_assert_uint_eq(st.backlog, 9);
    ck_assert_uint_eq(st.reqs_per_event, 3);
    ck_assert(st.no_evict && st.no_cas && st.shutdown);
    ck_assert_str_eq(st.listen, "127.0.0.1,::1");   /* repeated -l adds interfaces */
    ck_assert_uint_eq(st.hashpower, 20);
}
END_TEST

START_TEST(size_suffixes)
{
    PARSE_OK("-I", "1k");
    ck_assert_uint_eq(st.page_size, 1024);
    PARSE_OK("-I", "1024");
    ck_assert_uint_eq(st.page_size, 1024);
    PARSE_OK("-I", "512K");
    ck_assert_uint_eq(st.page_size, 512 * 1024);
    PARSE_OK("-I", "3M");
    ck_assert_uint_eq(st.page_size, 3 * 1024 * 1024);
    PARSE_OK("-I", "1g", "-m", "2048");
    ck_assert_uint_eq(st.page_size, 1024ULL * 1024 * 1024);
    PARSE_ERR("-I (--max-item-size): '2g' is not a size from 1k to 1g (k/m/g suffixes)", "-I",
              "2g", "-m", "8192");
    PARSE_ERR("-I (--max-item-size): '1023' is not a size from 1k to 1g (k/m/g suffixes)", "-I",
              "1023");
    PARSE_ERR("-I (--max-item-size): '1mb' is not a size from 1k to 1g (k/m/g suffixes)", "-I",
              "1mb");
    PARSE_ERR("-I (--max-item-size): 'm' is not a size from 1k to 1g (k/m/g suffixes)", "-I",
              "m");
    PARSE_ERR("-I (--max-item-size): '-1m' is not a size from 1k to 1g (k/m/g suffixes)", "-I",
              "-1m");
    PARSE_ERR("-I (--max-item-size): '99999999999999999999k' is not a size from 1k to 1g "
              "(k/m/g suffixes)", "-I", "99999999999999999999k");
}
END_TEST

START_TEST(bad_values)
{
    PARSE_ERR("-f (--slab-growth-factor): '1.0' is not a number greater than 1 and at most 100",
              "-f", "1.0");
    PARSE_ERR("-f (--slab-growth-factor): 'nan' is not a number greater than 1 and at most 100",
              "-f", "nan");
    PARSE_ERR("-f (--slab-growth-factor): '1.5x' is not a number greater than 1 and at most 100",
              "-f", "1.5x");
    PARSE_ERR("-m (--memory-limit): 'abc' is not a number from 1 to 1048576", "-m", "abc");
    PARSE_ERR("-m (--memory-limit): '0' is not a number from 1 to 1048576", "-m", "0");
    PARSE_ERR("-t (--threads): '0' is not a number from 1 to 256", "-t", "0");
    PARSE_ERR("-t (--threads): '-4' is not a number from 1 to 256", "-t", "-4");
    PARSE_ERR("-c (--conn-limit): 'abc' is not a number from 1 to 1000000", "-c", "abc");
    PARSE_ERR("-p (--port): '65536' is not a number from 0 to 65535", "-p", "65536");
    PARSE_ERR("-p (--port): '' is not a number from 0 to 65535", "-p", "");
    PARSE_ERR("-R (--max-reqs-per-event): '0' is not a number from 1 to 1000000", "-R", "0");
    PARSE_ERR("-b (--listen-backlog): '1 ' is not a number from 1 to 1000000", "-b", "1 ");
    PARSE_ERR("-n (--slab-min-size): '0' is not a number from 1 to 1048576", "-n", "0");
    PARSE_ERR("-a (--unix-mask): '800' is not an octal mask from 0 to 777", "-a", "800");
    PARSE_ERR("-B (--protocol): 'foo' is not one of auto, ascii, binary", "-B", "foo");
}
END_TEST

START_TEST(combinations_and_later_features)
{
    PARSE_ERR("Cannot set item size limit higher than 1/2 of memory max.", "-I", "64m");
    PARSE_OK("-I", "32m");
    PARSE_ERR("-n (--slab-min-size) 2048 must be smaller than -I (--max-item-size) 1024", "-n",
              "2048", "-I", "1k");
    PARSE_OK("-U", "11211");
    ck_assert_uint_eq(st.udp_port, 11211);
    PARSE_OK("-s", "/tmp/sock", "-a", "750");
    ck_assert_str_eq(st.unix_socket, "/tmp/sock");
    ck_assert_uint_eq(st.unix_mask, 0750);
    PARSE_ERR("-s (--unix-socket): the path must have 1 to 107 bytes", "-s", "");
    PARSE_OK("-B", "binary");
    ck_assert_int_eq(st.protocol, PROTO_MODE_BINARY);
}
END_TEST

/* -Y: ascii only, no UDP, as memcached 1.6.45 (its words); auto becomes ascii. */
START_TEST(auth_file_combinations)
{
    PARSE_OK("-Y", "/etc/pw");
    ck_assert_str_eq(st.auth_file, "/etc/pw");
    ck_assert_int_eq(st.protocol, PROTO_MODE_ASCII);
    PARSE_ERR("Cannot use UDP with ascii authentication enabled (-U 0 to disable)", "-Y",
              "/etc/pw", "-U", "11211");
    PARSE_ERR("You cannot allow the BINARY protocol while using ascii authentication tokens.",
              "-Y", "/etc/pw", "-B", "binary");
    PARSE_OK("-Y", "/etc/pw", "-B", "ascii");
    PARSE_OK("-B", "auto");
    ck_assert_ptr_null(st.auth_file);
    ck_assert_int_eq(st.protocol, PROTO_MODE_AUTO);
}
END_TEST

START_TEST(unknown_and_missing)
{
    PARSE_ERR("unknown option '--no-such-flag'", "--no-such-flag");
    PARSE_ERR("unknown option '--no-such=1'", "--no-such=1");
    PARSE_ERR("unknown option '-Q'", "-Q");
    PARSE_ERR("unknown option '-G'", "-G");
    PARSE_ERR("option -p (--port) requires an argument <num>", "-p");
    PARSE_ERR("option -I (--max-item-size) requires an argument <num>", "--max-item-size");
    PARSE_ERR("unexpected argument 'extra'", "-p", "1", "extra");
}
END_TEST

START_TEST(extended_options)
{
    PARSE_OK("-o", "hashpower=24,idle_timeout=30");
    ck_assert_uint_eq(st.hashpower, 24);
    ck_assert_uint_eq(st.idle_timeout, 30);
    PARSE_OK("-o", "idle_timeout=5", "-o", "hashpower=12");
    ck_assert_uint_eq(st.hashpower, 12);
    ck_assert_uint_eq(st.idle_timeout, 5);
    PARSE_ERR("-o: unknown or unsupported option 'foo'", "-o", "foo=1");
    PARSE_ERR("-o: unknown or unsupported option 'no_such_key'", "-o",
              "hashpower=20,no_such_key=10");
    PARSE_ERR("-o: unknown or unsupported option 'no_hashpower'", "-o", "no_hashpower");
    PARSE_ERR("-o hashpower: '99' is not a number from 12 to 31", "-o", "hashpower=99");
    PARSE_ERR("-o hashpower: '11' is not a number from 12 to 31", "-o", "hashpower=11");
    PARSE_ERR("-o idle_timeout: 'x' is not a number from 0 to 31536000", "-o", "idle_timeout=x");
    PARSE_ERR("-o hashpower needs a value (hashpower=<value>)", "-o", "hashpower");
    PARSE_ERR("-o hashpower needs a value (hashpower=<value>)", "-o", "hashpower=");
}
END_TEST

/* memcached 1.6.45's page-move options, its ranges and its chunk rules. */
START_TEST(page_move_options)
{
    PARSE_OK("-p", "1");
    ck_assert(st.slab_reassign);
    ck_assert_uint_eq(st.slab_automove, 1);
    ck_assert_double_eq(st.slab_automove_ratio, AUTOMOVE_RATIO_DEFAULT);
    ck_assert_uint_eq(st.slab_automove_window, AUTOMOVE_WINDOW_DEFAULT);
    ck_assert_double_eq(st.slab_automove_freeratio, AUTOMOVE_FREERATIO_DEFAULT);
    ck_assert_uint_eq(settings_chunk_max_bytes(&st), 512 * 1024);
    PARSE_OK("-o", "no_slab_reassign,no_slab_automove");
    ck_assert(!st.slab_reassign);
    ck_assert_uint_eq(st.slab_automove, 0);
    PARSE_OK("-o", "slab_automove=0,slab_automove,slab_reassign");
    ck_assert(st.slab_reassign);
    ck_assert_uint_eq(st.slab_automove, 1);
    PARSE_OK("-o", "slab_automove=2,slab_automove_ratio=1,slab_automove_window=1800",
             "-o", "slab_automove_freeratio=0");
    ck_assert_uint_eq(st.slab_automove, 2);
    ck_assert_double_eq(st.slab_automove_ratio, 1.0);
    ck_assert_uint_eq(st.slab_automove_window, 1800);
    ck_assert_double_eq(st.slab_automove_freeratio, 0.0);
    PARSE_OK("-I", "4m", "-o", "slab_chunk_max=16");
    ck_assert_uint_eq(settings_chunk_max_bytes(&st), 16 * 1024);
    PARSE_OK("-I", "4m");
    ck_assert_uint_eq(settings_chunk_max_bytes(&st), 2 * 1024 * 1024);
    PARSE_ERR("-o slab_automove: '3' is not a number from 0 to 2", "-o", "slab_automove=3");
    PARSE_ERR("-o slab_automove_ratio: '0' is not a number greater than 0 and at most 1", "-o",
              "slab_automove_ratio=0");
    PARSE_ERR("-o slab_automove_window: '2' is not a number from 3 to 1800", "-o",
              "slab_automove_window=2");
    PARSE_ERR("-o slab_automove_freeratio: '1.5' is not a number from 0 to 1", "-o",
              "slab_automove_freeratio=1.5");
    PARSE_ERR("-o slab_reassign takes no value (use slab_reassign or no_slab_reassign)", "-o",
              "slab_reassign=1");
    PARSE_ERR("-o slab_chunk_max: '2048' is not a number from 0 to 1024", "-o",
              "slab_chunk_max=2048");
    PARSE_ERR("slab_chunk_max (bytes: 1048576) cannot be larger than -I (item_size_max 524288)",
              "-I", "512k", "-o", "slab_chunk_max=1024");
    PARSE_ERR("-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max "
              "(bytes: 3072)", "-o", "slab_chunk_max=3");
}
END_TEST

START_TEST(help_and_version)
{
    ck_assert_int_eq(parse("-h", NULL), SETTINGS_HELP);
    ck_assert_int_eq(parse("-p", "1", "--help", NULL), SETTINGS_HELP);
    ck_assert_int_eq(parse("-V", NULL), SETTINGS_VERSION);
    ck_assert_int_eq(parse("--version", NULL), SETTINGS_VERSION);
    ck_assert_int_eq(parse("-i", NULL), SETTINGS_LICENSE);
    ck_assert_int_eq(parse("--license", NULL), SETTINGS_LICENSE);
}
END_TEST

static char *capture(void (*fn)(FILE *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    fn(f);
    fclose(f);
    return buf;
}

/*
 * What every flag of the table must show in -h and in the man page, written
 * out here rather than read from the table: short flag, long name, argument
 * name (NULL: none) and help text, in the table's order.
 */
static const struct {
    char shortc;
    const char *longname;
    const char *arg;
    const char *help;
} flags[] = {
    { 'm', "memory-limit", "num", "item memory in megabytes (default: 64)" },
    { 'c', "conn-limit", "num", "max simultaneous connections (default: 1024)" },
    { 'p', "port", "num", "TCP port to listen on, 0: no TCP (then -U or -s) (default: 11211)" },
    { 'U', "udp-port", "num",
      "UDP port to listen on, on the -l addresses (without -p, TCP too) (default: 0, off)" },
    { 'l', "listen", "addr",
      "comma-separated interfaces to listen on: addr, addr:port, [v6]:port or *, each "
      "optionally after memcached's proto[ascii|binary|negotiating]: (the listener's protocol "
      "instead of -B) and tag[name]: (accepted; tags serve memcached's proxy) (default: all)" },
    { 'v', "verbose", NULL,
      "verbose: -v errors/warnings, -vv also client commands, -vvv internals" },
    { 'M', "disable-evictions", NULL, "return error on memory exhausted instead of evicting" },
    { 's', "unix-socket", "file", "UNIX socket to listen on (disables TCP and UDP)" },
    { 'a', "unix-mask", "mask", "access mask for the UNIX socket, in octal (default: 700)" },
    { 'A', "enable-shutdown", NULL, "enable the ascii \"shutdown\" command" },
    { 'f', "slab-growth-factor", "num", "chunk size growth factor, > 1.0 (default: 1.25)" },
    { 'n', "slab-min-size", "bytes", "min space used for key+value+flags (default: 48)" },
    { 't', "threads", "num", "number of worker threads (default: 4)" },
    { 'D', "prefix-delimiter", "char",
      "delimiter between key prefixes and IDs for stats detail; turns per-prefix counting on "
      "(default: ':')" },
    { 'R', "max-reqs-per-event", "num",
      "max requests handled per connection event, against starvation (default: 20)" },
    { 'C', "disable-cas", NULL, "disable use of CAS" },
    { 'b', "listen-backlog", "num", "set the backlog queue limit (default: 1024)" },
    { 'B', "protocol", "name", "protocol: auto, ascii or binary (default: auto)" },
    { 'Y', "auth-file", "file",
      "ascii authentication: <file> holds user:password lines (8 at most); a client logs in "
      "with a set whose value is \"<user> <password>\"; ascii only, no UDP (default: none)" },
    { 'I', "max-item-size", "num",
      "max item size, k/m/g suffixes (default: 1m, min: 1k, max: 1g)" },
    { 'F', "disable-flush-all", NULL, "disable the flush_all command" },
    { 'X', "disable-dumping", NULL,
      "disable dump commands: stats cachedump, lru_crawler metadump and mgdump" },
    { 'N', "napi-ids", "num",
      "accepted, no effect: connections are not steered to threads by NAPI id" },
    { 'e', "memory-file", "file",
      "item memory in this file (use a RAM disk): SIGUSR1 or \"shutdown graceful\" saves the "
      "cache in it, the next start with the same file and memory settings resumes it" },
    { 'Z', "enable-ssl", NULL, "refused: TLS is not built into slabcache" },
    { 'S', "enable-sasl", NULL, "refused: SASL authentication is not built into slabcache" },
    { 'W', "disable-watch", NULL, "disable watch commands (live logging)" },
    { 'd', "daemon", NULL, "run as a daemon" },
    { 'P', "pidfile", "file", "save PID in <file>, removed at exit" },
    { 'u', "user", "user", "assume identity of <user> (required when run as root)" },
    { 'r', "enable-coredumps", NULL, "maximize core file limit" },
    { 'k', "lock-memory", NULL, "lock down all paged memory" },
    { 'L', "enable-largepages", NULL,
      "preallocate all item memory at start (large pages when the kernel gives them)" },
    { 'o', "extended", "opts", "comma separated list of extended options (below)" },
    { 'h', "help", NULL, "print this help and exit" },
    { 'i', "license", NULL, "print the license and exit" },
    { 'V', "version", NULL, "print version and exit" },
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

START_TEST(help_lists_every_option)
{
    char *text = capture(settings_usage);
    int lines = 0;
    for (size_t i = 0; i < NFLAGS; i++) {
        char want[64];
        snprintf(want, sizeof(want), "\n-%c, --%s%s%s%s ", flags[i].shortc, flags[i].longname,
                 flags[i].arg ? "=<" : "", flags[i].arg ? flags[i].arg : "",
                 flags[i].arg ? ">" : "");
        const char *row = strstr(text, want);
        ck_assert_msg(row != NULL, "-h lacks %s", want + 1);
        /* then the help text, after the padding, to the end of the line */
        row += strlen(want) + strspn(row + strlen(want), " ");
        ck_assert_msg(strncmp(row, flags[i].help, strlen(flags[i].help)) == 0 &&
                      row[strlen(flags[i].help)] == '\n', "-h: %s is not followed by \"%s\"",
                      want + 1, flags[i].help);
        /* and the parser knows it */
        char arg[64];
        snprintf(arg, sizeof(arg), "--%s", flags[i].longname);
        ck_assert_msg(parse(arg, NULL) != SETTINGS_ERROR || strstr(err, "unknown") == NULL,
                      "%s: %s", arg, err);
    }
    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        lines += p[1] == '-';
    ck_assert_int_eq(lines, (int)NFLAGS);   /* no option in -h that the table lacks */
    ck_assert(strstr(text, "   - hashpower=<num>:") != NULL);
    ck_assert(strstr(text, "   - idle_timeout=<num>:") != NULL);
    ck_assert(strncmp(text, "slabcache ", 10) == 0);
    free(text);
}
END_TEST

/* protocol/proto.h's one table of mode names, as -B, stats and the log use them. */
START_TEST(protocol_mode_names)
{
    static const struct {
        enum proto_mode mode;
        const char *flag, *stat, *log;
    } want[] = {
        { PROTO_MODE_AUTO, "auto", "auto-negotiate", "auto-negotiating" },
        { PROTO_MODE_ASCII, "ascii", "ascii", "ascii" },
        { PROTO_MODE_BINARY, "binary", "binary", "binary" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        enum proto_mode m = PROTO_MODES;
        ck_assert(proto_mode_parse(want[i].flag, &m));
        ck_assert_int_eq(m, want[i].mode);
        ck_assert_str_eq(proto_mode_name(m, PROTO_NAME_FLAG), want[i].flag);
        ck_assert_str_eq(proto_mode_name(m, PROTO_NAME_STAT), want[i].stat);
        ck_assert_str_eq(proto_mode_name(m, PROTO_NAME_LOG), want[i].log);
    }
    enum proto_mode m = PROTO_MODE_BINARY;
    ck_assert(!proto_mode_parse("auto-negotiate", &m));
    ck_assert(!proto_mode_parse("ASCII", &m));
    ck_assert_int_eq(m, PROTO_MODE_BINARY);
    ck_assert_ptr_null(proto_mode_name(PROTO_MODES, PROTO_NAME_FLAG));
}
END_TEST

/*
 * Help strings carry no defaults: "(default: ...)" is generated from the
 * default column (and note, and -I's range), the same text in -h and the man
 * page; flags without a value show none.
 */
START_TEST(help_defaults_from_table)
{
    static const char *const lines[] = {
        "\n-m, --memory-limit=<num>  item memory in megabytes (default: 64)\n",
        "\n-U, --udp-port=<num>      UDP port to listen on, on the -l addresses (without -p, "
        "TCP too) (default: 0, off)\n",
        "\n-p, --port=<num>          TCP port to listen on, 0: no TCP (then -U or -s) "
        "(default: 11211)\n",
        "\n-a, --unix-mask=<mask>    access mask for the UNIX socket, in octal (default: 700)\n",
        "\n-f, --slab-growth-factor=<num> chunk size growth factor, > 1.0 (default: 1.25)\n",
        "\n-n, --slab-min-size=<bytes> min space used for key+value+flags (default: 48)\n",
        "\n-B, --protocol=<name>     protocol: auto, ascii or binary (default: auto)\n",
        "\n-I, --max-item-size=<num> max item size, k/m/g suffixes (default: 1m, min: 1k, max: 1g)\n",
        "\n-s, --unix-socket=<file>  UNIX socket to listen on (disables TCP and UDP)\n",
        "\n-M, --disable-evictions   return error on memory exhausted instead of evicting\n",
        "\n   - hashpower=<num>:     initial hash table size is 2^hashpower buckets; grows at "
        "runtime (default: 16)\n",
        "\n   - idle_timeout=<num>:  close connections idle this many seconds (default: 0, no "
        "timeout)\n",
    };
    char *text = capture(settings_usage);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        ck_assert_msg(strstr(text, lines[i]) != NULL, "-h lacks %s", lines[i] + 1);
    free(text);
    char *man = capture(settings_man);
    ck_assert(strstr(man, "\nmax item size, k/m/g suffixes (default: 1m, min: 1k, max: 1g)\n"));
    ck_assert(strstr(man, "\nUDP port to listen on, on the \\-l addresses (without \\-p, TCP "
                          "too) (default: 0, off)\n"));
    ck_assert(strstr(man, "\nreturn error on memory exhausted instead of evicting\n"));
    free(man);
}
END_TEST

START_TEST(man_page_matches_table)
{
    char *man = capture(settings_man);
    ck_assert(strncmp(man, ".TH SLABCACHE 1 ", 16) == 0);
    int entries = 0;
    for (const char *p = man; (p = strstr(p, "\n\\fB\\-")) != NULL; p++)
        entries++;
    ck_assert_int_eq(entries, (int)NFLAGS);
    for (size_t i = 0; i < NFLAGS; i++) {
        char want[96];
        snprintf(want, sizeof(want), "\\fB\\-%c\\fR, \\fB\\-\\-", flags[i].shortc);
        ck_assert_msg(strstr(man, want) != NULL, "man lacks -%c", flags[i].shortc);
        char lng[128], esc[96];
        size_t k = 0;
        for (const char *q = flags[i].longname; *q && k < sizeof(esc) - 3; q++) {
            if (*q == '-')
                esc[k++] = '\\';
            esc[k++] = *q;
        }
        esc[k] = '\0';
        snprintf(lng, sizeof(lng), "\\-\\-%s\\fR", esc);
        ck_assert_msg(strstr(man, lng) != NULL, "man lacks --%s", flags[i].longname);
    }
    ck_assert(strstr(man, ".B hashpower=\\fIvalue\\fR") != NULL);
    ck_assert(strstr(man, ".B idle_timeout=\\fIvalue\\fR") != NULL);
    free(man);
}
END_TEST

/* s with every '-' written as troff's "\\-" (the man page's only escape). */
static void man_escape(char *out, size_t cap, const char *s)
{
    size_t k = 0;
    for (; *s && k + 3 < cap; s++) {
        if (*s == '-')
            out[k++] = '\\';
        out[k++] = *s;
    }
    out[k] = '\0';
}

/*
 * The man page built into the build tree (doc/slabcache.1, what `make
 * install` ships) is today's settings_man(), and it documents every option
 * of the list above: its .TP entry, flags, argument and help text exactly.
 */
START_TEST(man_file_documents_every_option)
{
    const char *path = SETTINGS_MAN_PATH;
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *file = calloc(1, TEXT_MAX);
    size_t n = fread(file, 1, TEXT_MAX - 1, f);
    fclose(f);
    char *man = capture(settings_man);
    ck_assert_msg(n == strlen(man) && strcmp(file, man) == 0,
                  "%s is not what settings_man() writes now: rebuild it", path);
    int entries = 0;
    for (const char *p = file; (p = strstr(p, ".TP\n\\fB\\-")) != NULL; p++)
        entries++;
    ck_assert_int_eq(entries, (int)NFLAGS);
    for (size_t i = 0; i < NFLAGS; i++) {
        char lng[96], help[256], arg[64] = "", want[512];
        man_escape(lng, sizeof(lng), flags[i].longname);
        man_escape(help, sizeof(help), flags[i].help);
        if (flags[i].arg != NULL)
            snprintf(arg, sizeof(arg), "=\\fI%s\\fR", flags[i].arg);
        snprintf(want, sizeof(want), ".TP\n\\fB\\-%c\\fR, \\fB\\-\\-%s\\fR%s\n%s\n",
                 flags[i].shortc, lng, arg, help);
        ck_assert_msg(strstr(file, want) != NULL, "%s lacks the entry \"%s\"", path, want);
    }
    free(file);
    free(man);
}
END_TEST

struct collected {
    char text[TEXT_MAX];
    size_t len;
};

static void collect(void *arg, const char *name, const char *value)
{
    struct collected *c = arg;
    c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s %s\n", name,
                               value);
}

START_TEST(stats_settings_names_and_order)
{
    PARSE_OK("-p", "22122", "-l", "127.0.0.1", "-M", "-C", "-o", "hashpower=20", "-f", "1.5",
             "-o", "read_buf_mem_limit=2", "-F", "-X", "-o", "hash_algorithm=murmur3");
    static struct collected c;
    c.len = 0;
    c.text[0] = '\0';
    settings_stats(&st, collect, &c);
    const char *expect =
        "maxbytes 67108864\nmaxconns 1024\ntcpport 22122\nudpport 0\ninter 127.0.0.1\n"
        "verbosity 0\noldest 0\nevictions off\ndomain_socket NULL\numask 700\n"
        "shutdown_command no\ngrowth_factor 1.50\nchunk_size 48\nnum_threads 4\n"
        "num_threads_per_udp 4\nstat_key_prefix :\ndetail_enabled no\nreqs_per_event 20\n"
        "cas_enabled no\n"
        "tcp_backlog 1024\nbinding_protocol auto-negotiate\nauth_enabled_sasl no\n"
        "auth_enabled_ascii no\nitem_size_max 1048576\nmaxconns_fast yes\nhashpower_init 20\n"
        "slab_reassign yes\nslab_automove 1\nslab_automove_ratio 0.50\n"
        "slab_automove_window 3\nslab_chunk_max 524288\nlru_crawler yes\n"
        "lru_crawler_sleep 100\nlru_crawler_tocrawl 0\ntail_repair_time 0\n"
        "flush_enabled no\ndump_enabled no\nhash_algorithm xxh3\n"
        "lru_maintainer_thread yes\nlru_segmented yes\n"
        "hot_lru_pct 20\nwarm_lru_pct 40\nhot_max_factor 0.20\nwarm_max_factor 2.00\n"
        "temp_lru no\ntemporary_ttl 61\nidle_timeout 0\nwatcher_logbuf_size 262144\nworker_logbuf_size 65536\nread_buf_mem_limit 2097152\n"
        "track_sizes no\ninline_ascii_response no\next_item_size 512\n"
        "ext_item_age 4294967295\next_low_ttl 0\next_recache_rate 2000\n"
        "ext_wbuf_size 4194304\next_compact_under 0\next_drop_under 0\n"
        "ext_max_sleep 1000000\next_max_frag 0.80\nslab_automove_freeratio 0.010\n"
        "ext_drop_unread no\nnum_napi_ids 0\nmemory_file (null)\nclient_flags_size 4\n";
    ck_assert_str_eq(c.text, expect);
}
END_TEST

START_TEST(store_config_from_settings)
{
    PARSE_OK("-m", "100", "-I", "2m", "-f", "1.1", "-n", "96", "-L", "-M", "-C", "-o",
             "hashpower=18");
    struct store_config cfg;
    settings_store_config(&st, &cfg);
    ck_assert_uint_eq(cfg.mem_limit, 100ULL * 1024 * 1024);
    ck_assert_uint_eq(cfg.page_size, 2 * 1024 * 1024);
    ck_assert_double_eq(cfg.factor, 1.1);
    ck_assert_uint_eq(cfg.chunk_min, 96);
    ck_assert(cfg.prealloc && cfg.no_evict && !cfg.use_cas);
    ck_assert_uint_eq(cfg.hash_power, 18);
    ck_assert(cfg.slab_reassign);
    ck_assert_uint_eq(cfg.automove, AUTOMOVE_DEFAULT);
    ck_assert_uint_eq(cfg.chunk_max, 1024 * 1024);   /* half of -I 2m */
    PARSE_OK("-o", "no_slab_reassign,slab_automove=2,slab_automove_ratio=0.25",
             "-o", "slab_automove_window=7,slab_automove_freeratio=0.5");
    settings_store_config(&st, &cfg);
    ck_assert(!cfg.slab_reassign);
    ck_assert_uint_eq(cfg.automove, AUTOMOVE_AGGRESSIVE);
    ck_assert_double_eq(cfg.automove_ratio, 0.25);
    ck_assert_uint_eq(cfg.automove_window, 7);
    ck_assert_double_eq(cfg.automove_freeratio, 0.5);
    PARSE_OK("-o", "slab_chunk_max=16");
    settings_store_config(&st, &cfg);
    ck_assert_uint_eq(cfg.chunk_max, 16 * 1024);
}
END_TEST

static void note_line(const char *line)
{
    size_t n = strlen(notes);
    snprintf(notes + n, sizeof(notes) - n, "%s\n", line);
}

/* memcached 1.6.45's flags and keys: each implemented, a no-op with a notice,
 * or refused naming the feature this build lacks. */
START_TEST(memcached_options)
{
    PARSE_OK("-F", "-X", "-o", "no_maxconns_fast,no_hashexpand,no_chunked_items");
    ck_assert(st.no_flush && st.no_dump && !st.maxconns_fast && !st.hashexpand);
    ck_assert_uint_eq(settings_chunk_max_bytes(&st), st.page_size);
    struct store_config cfg;
    settings_store_config(&st, &cfg);
    ck_assert(!cfg.hash_expand);
    ck_assert_uint_eq(cfg.chunk_max, cfg.page_size);
    PARSE_OK("--disable-flush-all", "--disable-dumping", "-o", "maxconns_fast,hashexpand");
    ck_assert(st.no_flush && st.no_dump && st.maxconns_fast && st.hashexpand);

    /* no-ops: any value, key or no_key; -v names each as last typed */
    PARSE_OK("-o", "modern,no_modern,tail_repair_time=30,no_inline_ascii_resp", "-N", "2",
             "-o", "drop_privileges,no_drop_privileges,sock_cookie_id=7,resp_obj_mem_limit=9");
    notes[0] = '\0';
    settings_notices(&st, note_line);
    ck_assert_str_eq(notes,
        "-o tail_repair_time: accepted, no effect: an item still referenced is never freed "
        "by force, so no tail needs repair\n"
        "-o no_inline_ascii_resp: accepted, no effect: memcached 1.6 dropped it; replies are "
        "never inlined in items\n"
        "-N (--napi-ids): accepted, no effect: connections are not steered to threads by "
        "NAPI id\n"
        "-o no_modern: accepted, no effect: memcached 1.6's defaults are ours already "
        "(no_modern: 1.4's are not offered)\n"
        "-o no_drop_privileges: accepted, no effect: no system call filter is installed\n"
        "-o sock_cookie_id: accepted, no effect: sockets carry no SO_MARK cookie\n"
        "-o resp_obj_mem_limit: accepted, no effect: deprecated in memcached too; "
        "read_buf_mem_limit bounds buffers\n");
    PARSE_OK("-o", "no_modern,modern");
    notes[0] = '\0';
    settings_notices(&st, note_line);
    ck_assert_str_eq(notes, "-o modern: accepted, no effect: memcached 1.6's defaults are ours "
                            "already (no_modern: 1.4's are not offered)\n");
    PARSE_OK("-p", "1");
    notes[0] = '\0';
    settings_notices(&st, note_line);
    ck_assert_str_eq(notes, "");

    /* features not built in: refused, named */
    PARSE_ERR("-o ext_path: extstore (external flash storage) is not built into slabcache",
              "-o", "ext_path=/mnt/x:1G");
    PARSE_ERR("-o ext_threads: extstore (external flash storage) is not built into slabcache",
              "-o", "hashpower=20,ext_threads=2");
    PARSE_ERR("-o ssl_chain_cert: TLS is not built into slabcache", "-o", "ssl_chain_cert=x");
    PARSE_ERR("-o ssl_kernel_tls: TLS is not built into slabcache", "-o", "ssl_kernel_tls");
    PARSE_ERR("-o proxy_config: the proxy is not built into slabcache", "-o",
              "proxy_config=/x.lua");
    PARSE_ERR("-Z (--enable-ssl): TLS is not built into slabcache", "-Z");
    PARSE_ERR("-S (--enable-sasl): SASL authentication is not built into slabcache", "-S");

    /* as memcached, -U without -p moves TCP to the UDP port */
    PARSE_OK("-U", "11300");
    ck_assert_uint_eq(st.port, 11300);
    PARSE_OK("-U", "11300", "-p", "11211");
    ck_assert_uint_eq(st.port, 11211);
    PARSE_OK("-U", "0");
    ck_assert_uint_eq(st.port, 11211);

    /* -p 0: TCP off, so another listener is needed */
    PARSE_ERR("-p 0 turns TCP off: give -U <port> or -s <file> to listen on", "-p", "0");
    PARSE_OK("-p", "0", "-U", "11211");
    ck_assert_uint_eq(st.port, 0);
    PARSE_OK("-p", "0", "-s", "/tmp/sock");
}
END_TEST

START_TEST(slab_sizes_list)
{
    /* memcached 1.6.45's rules and words; empty fields between dashes skipped */
    PARSE_OK("-o", "slab_sizes=100--200-524288");
    ck_assert_str_eq(st.slab_sizes, "100--200-524288");
    struct store_config cfg;
    settings_store_config(&st, &cfg);
    ck_assert_uint_eq(cfg.nclass_sizes, 3);
    ck_assert_uint_eq(cfg.class_sizes[0], 100);
    ck_assert_uint_eq(cfg.class_sizes[2], 524288);
    char store_err[SETTINGS_ERR_MAX];
    store *s = store_create(&cfg, store_err, sizeof(store_err));
    ck_assert_msg(s != NULL, "%s", store_err);
    ck_assert_uint_eq(store_class_count(s), 3);   /* chunk_max is the last one */
    ck_assert_uint_eq(store_class_chunk_size(s, 1), 104);   /* rounded up to 8 */
    ck_assert_uint_eq(store_class_chunk_size(s, 2), 200);
    ck_assert_uint_eq(store_class_chunk_size(s, 3), 524288);
    store_destroy(s);
    PARSE_ERR("slab size 100 must be at least 8 bytes larger than previous class", "-o",
              "slab_sizes=96-100");
    PARSE_ERR("slab size 90 cannot be lower than or equal to a previous class size", "-o",
              "slab_sizes=96-90");
    PARSE_ERR("slab size 40 is out of valid range", "-o", "slab_sizes=40");
    PARSE_ERR("slab size 2048 is out of valid range", "-o", "slab_chunk_max=1,slab_sizes=2048");
    PARSE_ERR("slab size autox is out of valid range", "-o", "slab_sizes=autox");
    /* ours: auto starts geometric and lets the store switch tables */
    PARSE_OK("-o", "slab_sizes=auto");
    settings_store_config(&st, &cfg);
    ck_assert(cfg.retune_auto);
    ck_assert_uint_eq(cfg.retune_interval, RETUNE_INTERVAL_DEFAULT);
    PARSE_OK("-o", "slab_sizes=auto,slab_retune_interval=1");
    settings_store_config(&st, &cfg);
    ck_assert_uint_eq(cfg.retune_interval, 1);
    PARSE_ERR("-o slab_retune_interval: '0' is not a number from 1 to 31536000", "-o",
              "slab_retune_interval=0");
    ck_assert_uint_eq(cfg.nclass_sizes, 0);
    PARSE_ERR("slab_sizes: no size given", "-o", "slab_sizes=-");
}
END_TEST

START_TEST(hash_algorithm_names)
{
    /* memcached's names all start the server; the key hash is always seeded xxh3 */
    PARSE_OK("-p", "1");
    ck_assert_str_eq(st.hash_algorithm, "xxh3");
    ck_assert(!settings_hash_substituted(&st));
    static const char *const names[] = { "jenkins", "murmur3", "xxh3" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char opt[64];
        snprintf(opt, sizeof(opt), "hash_algorithm=%s", names[i]);
        PARSE_OK("-o", opt);
        ck_assert_str_eq(st.hash_algorithm, names[i]);
        ck_assert(settings_hash_substituted(&st) == (strcmp(names[i], "xxh3") != 0));
        settings_free(&st);
    }
    PARSE_ERR("-o hash_algorithm: 'sha1' is not one of jenkins, murmur3, xxh3", "-o",
              "hash_algorithm=sha1");
    PARSE_ERR("-o hash_algorithm needs a value (hash_algorithm=<value>)", "-o", "hash_algorithm=");
    PARSE_ERR("-o hash_algorithm: 'XXH3' is not one of jenkins, murmur3, xxh3", "-o",
              "hash_algorithm=XXH3");
}
END_TEST

static Suite *settings_suite(void)
{
    Suite *s = suite_create("settings");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_flag);
    tcase_add_test(tc, long_flags);
    tcase_add_test(tc, hash_algorithm_names);
    tcase_add_test(tc, memcached_options);
    tcase_add_test(tc, size_suffixes);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, combinations_and_later_features);
    tcase_add_test(tc, auth_file_combinations);
    tcase_add_test(tc, unknown_and_missing);
    tcase_add_test(tc, extended_options);
    tcase_add_test(tc, page_move_options);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, help_lists_every_option);
    tcase_add_test(tc, help_defaults_from_table);
    tcase_add_test(tc, protocol_mode_names);
    tcase_add_test(tc, man_page_matches_table);
    tcase_add_test(tc, man_file_documents_every_option);
    tcase_add_test(tc, stats_settings_names_and_order);
    tcase_add_test(tc, store_config_from_settings);
    tcase_add_test(tc, slab_sizes_list);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(settings_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
