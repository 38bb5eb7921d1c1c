/* SPDX-License-Identifier: Apache-2.0 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"

static void out_close(ConsoleOut *o) {
        if (o->fd >= 0)
                close(o->fd);
        if (o->listen_fd >= 0)
                close(o->listen_fd);
        if (o->socket_path)
                unlink(o->socket_path);
        free(o->socket_path);
        *o = (ConsoleOut){ .fd = -1, .listen_fd = -1 };
}

static ChErr *create_error(int errnum) {
        return cherr_wrap(cherr_errno(errnum), "Error creating console device");
}

static ChErr *out_open(json_t *section, ConsoleOut *o) {
        const char *mode = cfg_str(section, "mode");
        *o = (ConsoleOut){ .fd = -1, .listen_fd = -1 };
        if (!mode || strcmp(mode, "Off") == 0)
                return NULL;
        o->present = true;
        if (strcmp(mode, "Null") == 0)
                return NULL;
        if (strcmp(mode, "Tty") == 0) {
                o->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
                if (o->fd >= 0) {
                        int fl = fcntl(o->fd, F_GETFL);
                        (void) fcntl(o->fd, F_SETFL, fl | O_NONBLOCK);
                }
                return NULL;
        }
        if (strcmp(mode, "File") == 0) {
                /* An absent "file" panics Cloud Hypervisor here (unwrap);
                 * vmm.c checks it first. */
                const char *path = cfg_str(section, "file");
                o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0666);
                if (o->fd < 0)
                        return create_error(errno);
                return NULL;
        }
        if (strcmp(mode, "Pty") == 0) {
                o->fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
                if (o->fd < 0 || grantpt(o->fd) < 0 || unlockpt(o->fd) < 0)
                        return create_error(errno);
                const char *name = ptsname(o->fd);
                if (name)
                        json_object_set_new(section, "file", json_string(name));
                return NULL;
        }
        if (strcmp(mode, "Socket") == 0) {
                const char *path = cfg_str(section, "socket");
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                if (!path || strlen(path) >= sizeof(sa.sun_path))
                        return create_error(EINVAL);
                strcpy(sa.sun_path, path);
                o->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (o->listen_fd < 0)
                        return create_error(errno);
                if (bind(o->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
                    listen(o->listen_fd, 1) < 0)
                        return create_error(errno);
                o->socket_path = strdup(path);
                return NULL;
        }
        return NULL;
}

ChErr *consoles_create(json_t *cfg, Consoles **ret) {
        Consoles *c = calloc(1, sizeof(*c));
        if (!c)
                return cherr_new(0, "out of memory");
        c->serial = c->console = (ConsoleOut){ .fd = -1, .listen_fd = -1 };
        ChErr *e = out_open(json_object_get(cfg, "console"), &c->console);
        if (!e)
                e = out_open(json_object_get(cfg, "serial"), &c->serial);
        if (e) {
                consoles_free(c);
                return e;
        }
        *ret = c;
        return NULL;
}

Consoles *consoles_free(Consoles *c) {
        if (!c)
                return NULL;
        out_close(&c->serial);
        out_close(&c->console);
        free(c);
        return NULL;
}

void console_write(ConsoleOut *o, const char *text) {
        if (!o->present || o->fd < 0)
                return;
        ssize_t w = write(o->fd, text, strlen(text));
        (void) w;
}
