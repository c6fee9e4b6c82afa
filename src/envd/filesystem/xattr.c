/*
 * The `user.e2b.*` extended attributes of files, for envd (Node has no xattr calls). Built static
 * so it runs in any image of this architecture, glibc or not. It stays up and answers requests
 * on stdin in order, so a stat costs envd a pipe round trip instead of starting a process.
 *
 * Every field ends with a NUL byte. Requests:
 *   get N FILE...                 the attributes of N files
 *   set FILE N KEY VALUE...       sets `user.e2b.KEY` to VALUE on FILE, N pairs
 * Answers:
 *   ok M (I KEY VALUE)...         M attributes; I numbers the file in the request from 0
 *                                 (files that cannot be read, and values holding a NUL, are left
 *                                 out); a set answers "ok 0"
 *   error MESSAGE
 * It exits when stdin ends, or with status 2 on a request it cannot parse.
 *
 * Given arguments it answers one request and exits, as it did before it stayed up: an envd that
 * was running when the server was upgraded (a sandbox lives through that, its envd in memory)
 * starts this file from the upgraded bundle that way.
 *   xattr get FILE...             writes "I KEY VALUE" for every attribute, no header
 *   xattr set FILE KEY VALUE...   exits 1 with the error on stderr when a set fails
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

static const char prefix[] = "user.e2b.";

/* One request's fields; each is its own allocation. */
static char **fields;
static size_t nfields, capfields;

static char *read_field(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&line, &cap, '\0', stdin);
    if (n <= 0 || line[n - 1] != '\0') {
        free(line);
        return NULL;
    }
    if (nfields == capfields) {
        capfields = capfields ? capfields * 2 : 64;
        fields = realloc(fields, capfields * sizeof *fields);
        if (!fields) exit(2);
    }
    fields[nfields++] = line;
    return line;
}

static void drop_fields(void) {
    for (size_t i = 0; i < nfields; i++) free(fields[i]);
    nfields = 0;
}

/* A count field; -1 when it is not one. */
static long read_count(void) {
    char *text = read_field();
    if (!text || !*text) return -1;
    char *end;
    long n = strtol(text, &end, 10);
    return *end || n < 0 || n > 1000000 ? -1 : n;
}

static void puts0(const char *s) {
    fwrite(s, 1, strlen(s) + 1, stdout);
}

static void error_answer(const char *what, const char *file) {
    char message[8192];
    snprintf(message, sizeof message, "%s %s: %s", what, file, strerror(errno));
    puts0("error");
    puts0(message);
}

/* The answer's triples are gathered first: the count goes before them. */
static char *found;
static size_t found_len, found_cap, found_count;

static void keep(const char *s, size_t len) {
    if (found_len + len + 1 > found_cap) {
        found_cap = (found_len + len + 1) * 2;
        found = realloc(found, found_cap);
        if (!found) exit(2);
    }
    memcpy(found + found_len, s, len);
    found[found_len + len] = '\0';
    found_len += len + 1;
}

/* Gathers the attributes of `count` files into `found`. */
static void collect(long count, char **files) {
    static char names[65536];
    static char value[65536];
    found_len = found_count = 0;
    for (long i = 0; i < count; i++) {
        ssize_t len = listxattr(files[i], names, sizeof names);
        for (ssize_t at = 0; at < len; at += strlen(names + at) + 1) {
            const char *name = names + at;
            if (strncmp(name, prefix, sizeof prefix - 1) != 0) continue;
            ssize_t n = getxattr(files[i], name, value, sizeof value);
            if (n < 0 || memchr(value, '\0', (size_t)n)) continue;
            char index[24];
            snprintf(index, sizeof index, "%ld", i);
            keep(index, strlen(index));
            keep(name + sizeof prefix - 1, strlen(name + sizeof prefix - 1));
            keep(value, (size_t)n);
            found_count++;
        }
    }
}

static int get(long count) {
    size_t first = nfields;
    for (long i = 0; i < count; i++) {
        if (!read_field()) return -1;
    }
    collect(count, fields + first);
    char total[24];
    snprintf(total, sizeof total, "%zu", found_count);
    puts0("ok");
    puts0(total);
    fwrite(found, 1, found_len, stdout);
    return 0;
}

/* Sets `pairs` key/value pairs on `file`; 0, or -1 with errno and the failing step in *what. */
static int set_pairs(const char *file, long pairs, char **kv, const char **what) {
    char name[4096];
    for (long i = 0; i < pairs; i++) {
        if (snprintf(name, sizeof name, "%s%s", prefix, kv[2 * i]) >= (int)sizeof name) {
            errno = ENAMETOOLONG;
            *what = "metadata key too long for";
            return -1;
        }
        if (setxattr(file, name, kv[2 * i + 1], strlen(kv[2 * i + 1]), 0) != 0) {
            *what = "setting metadata on";
            return -1;
        }
    }
    return 0;
}

static int set(void) {
    const char *file = read_field();
    long pairs = file ? read_count() : -1;
    if (pairs < 0) return -1;
    size_t first = nfields;
    for (long i = 0; i < 2 * pairs; i++) {
        if (!read_field()) return -1;
    }
    const char *what;
    if (set_pairs(file, pairs, fields + first, &what) != 0) {
        error_answer(what, file);
        return 0;
    }
    puts0("ok");
    puts0("0");
    return 0;
}

/* The one-shot form (see the top). */
static int once(int argc, char **argv) {
    if (strcmp(argv[1], "get") == 0) {
        collect(argc - 2, argv + 2);
        fwrite(found, 1, found_len, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(argv[1], "set") == 0 && argc >= 3 && (argc - 3) % 2 == 0) {
        const char *what;
        if (set_pairs(argv[2], (argc - 3) / 2, argv + 3, &what) == 0) return 0;
        fprintf(stderr, "%s %s: %s\n", what, argv[2], strerror(errno));
        return 1;
    }
    fprintf(stderr, "usage: xattr (requests on stdin) | xattr get FILE... | xattr set FILE KEY VALUE...\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc > 1) return once(argc, argv);
    for (;;) {
        char *op = read_field();
        if (!op) return feof(stdin) && nfields == 0 ? 0 : 2;
        int parsed;
        if (strcmp(op, "get") == 0) {
            long count = read_count();
            parsed = count < 0 ? -1 : get(count);
        } else if (strcmp(op, "set") == 0) {
            parsed = set();
        } else {
            parsed = -1;
        }
        if (parsed < 0) {
            fprintf(stderr, "xattr: cannot parse a request (op '%s')\n", op);
            return 2;
        }
        drop_fields();
        if (fflush(stdout) != 0) return 1;
    }
}
