/* SPDX-License-Identifier: Apache-2.0 */
#include "args.h"

#include <assert.h>
#include <getopt.h>

#include "util/util.h"

/* getopt's value for the i-th option of the merged tables: above any char. */
#define OPTION_ID_BASE 0x100

static int list_append(StrList *l, const char *v) {
        const char **items = reallocarray(l->items, l->n + 1, sizeof *items);
        if (!items)
                return -ENOMEM;
        items[l->n++] = v;
        l->items = items;
        return 0;
}

/* Store one option's value where its row says. */
static int apply(const OptionSpec *s, const char *value, Args *a) {
        void *slot = (char *) a + s->offset;
        switch (s->type) {
        case ARG_FLAG:
                *(bool *) slot = true;
                return 0;
        case ARG_STRING:
                *(const char **) slot = value;
                return 0;
        case ARG_OPTIONAL_STRING:
                *(const char **) slot = value ? value : "";
                return 0;
        case ARG_LIST:
                return list_append(slot, value);
        }
        return -EINVAL;
}

int args_parse(const OptionSpec *const *tables, const size_t *n_specs, size_t n_tables, int argc,
               char **argv, bool stop_at_positional, Args *a, char **ret_error) {
        assert(argc >= 1 && a && ret_error);
        size_t total = 0;
        for (size_t t = 0; t < n_tables; t++)
                total += n_specs[t];

        _cleanup_free_ const OptionSpec **specs = calloc(total + 1, sizeof *specs);
        _cleanup_free_ struct option *longopts = calloc(total + 1, sizeof *longopts);
        /* "+" stops at the first positional, ":" reports a missing value as ':'. */
        _cleanup_free_ char *shortopts = calloc(3 * total + 3, 1);
        if (!specs || !longopts || !shortopts)
                return -ENOMEM;
        char *sp = shortopts;
        if (stop_at_positional)
                *sp++ = '+';
        *sp++ = ':';
        size_t n = 0;
        for (size_t t = 0; t < n_tables; t++)
                for (size_t i = 0; i < n_specs[t]; i++, n++) {
                        const OptionSpec *s = &tables[t][i];
                        specs[n] = s;
                        longopts[n] = (struct option){
                                .name = s->name,
                                .has_arg = s->type == ARG_FLAG              ? no_argument
                                           : s->type == ARG_OPTIONAL_STRING ? optional_argument
                                                                            : required_argument,
                                .val = OPTION_ID_BASE + (int) n,
                        };
                        if (s->short_name) {
                                *sp++ = s->short_name;
                                if (s->type == ARG_STRING || s->type == ARG_LIST)
                                        *sp++ = ':';
                                else if (s->type == ARG_OPTIONAL_STRING) {
                                        *sp++ = ':';
                                        *sp++ = ':';
                                }
                        }
                }

        optind = 0; /* GNU: a full reset, for the second parse of the same argv */
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0) {
                const OptionSpec *s = NULL;
                if (c >= OPTION_ID_BASE && (size_t) (c - OPTION_ID_BASE) < total)
                        s = specs[c - OPTION_ID_BASE];
                else if (c != '?' && c != ':')
                        for (size_t i = 0; i < total && !s; i++)
                                if (specs[i]->short_name == c)
                                        s = specs[i];
                if (!s) {
                        const char *word = argv[optind - 1];
                        if (c == ':')
                                *ret_error = strdup_printf("%s needs a value", word);
                        else if (optopt && strncmp(word, "--", 2) != 0)
                                *ret_error = strdup_printf("unknown option -%c", optopt);
                        else
                                *ret_error = strdup_printf("unknown option %s", word);
                        return -EINVAL;
                }
                int r = apply(s, optarg, a);
                if (r < 0)
                        return r;
        }
        a->positional = argv + optind;
        a->n_positional = (size_t) (argc - optind);
        return 0;
}

void args_done(Args *a) {
        free(a->disks.items);
        free(a->metadata.items);
        free(a->states.items);
        a->disks = a->metadata = a->states = (StrList){ 0 };
}

void args_print_wrapped(FILE *f, size_t indent, size_t used, const char *text) {
        const size_t width = 79;
        size_t col = used;
        if (col >= indent) { /* the left part is too wide: start on the next line */
                fputc('\n', f);
                col = 0;
        }
        fprintf(f, "%*s", (int) (indent - col), "");
        col = indent;
        for (const char *p = text; *p;) {
                size_t w = strcspn(p, " ");
                if (col > indent && col + 1 + w > width) {
                        fprintf(f, "\n%*s", (int) indent, "");
                        col = indent;
                } else if (col > indent) {
                        fputc(' ', f);
                        col++;
                }
                fwrite(p, 1, w, f);
                col += w;
                p += w;
                p += strspn(p, " ");
        }
        fputc('\n', f);
}

void args_print_help(FILE *f, const OptionSpec *specs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const OptionSpec *s = &specs[i];
                char left[64];
                char shortname[8] = "";
                if (s->short_name)
                        snprintf(shortname, sizeof shortname, "-%c, ", s->short_name);
                if (s->type == ARG_FLAG)
                        snprintf(left, sizeof left, "%s--%s", shortname, s->name);
                else if (s->type == ARG_OPTIONAL_STRING)
                        snprintf(left, sizeof left, "%s--%s[=%s]", shortname, s->name, s->metavar);
                else
                        snprintf(left, sizeof left, "%s--%s %s", shortname, s->name, s->metavar);
                fprintf(f, "  %s", left);
                args_print_wrapped(f, 32, 2 + strlen(left), s->help);
        }
}
