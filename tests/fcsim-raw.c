/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcsim-raw: a raw Unix-socket client for test-fcsim.sh, for what curl cannot
 * send (malformed HTTP) or observe (connection limits).
 *
 *   fcsim-raw SOCKET send      write stdin to the socket, print what comes
 *                              back until EOF or 500 ms of silence
 *   fcsim-raw SOCKET hold N    open N idle connections, then one more: print
 *                              what the extra one receives, "== closed" if the
 *                              server closed it, then "== first:" and the
 *                              answer to GET / on the first held connection
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror("connect");
                exit(2);
        }
        return fd;
}

/* Copy the socket to stdout until EOF or idle_ms of silence. Returns 1 on EOF. */
static int drain(int fd, int idle_ms) {
        char buf[65536];
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, idle_ms);
                if (r <= 0)
                        return 0;
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        return 1;
                fwrite(buf, 1, (size_t) n, stdout);
                fflush(stdout);
        }
}

static void write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                p += w;
                n -= (size_t) w;
        }
}

int main(int argc, char **argv) {
        if (argc >= 3 && strcmp(argv[2], "send") == 0) {
                static char in[1 << 20];
                size_t n = fread(in, 1, sizeof(in), stdin);
                int fd = connect_to(argv[1]);
                write_all(fd, in, n);
                drain(fd, 500);
                close(fd);
                return 0;
        }
        if (argc >= 4 && strcmp(argv[2], "hold") == 0) {
                int n = atoi(argv[3]);
                int fds[64];
                if (n < 1 || n > 60)
                        return 2;
                for (int i = 0; i < n; i++)
                        fds[i] = connect_to(argv[1]);
                usleep(200000);
                int extra = connect_to(argv[1]);
                if (drain(extra, 1000))
                        printf("\n== closed\n");
                else
                        printf("\n== open\n");
                close(extra);
                printf("== first:\n");
                const char *get = "GET / HTTP/1.1\r\n\r\n";
                write_all(fds[0], get, strlen(get));
                drain(fds[0], 500);
                for (int i = 0; i < n; i++)
                        close(fds[i]);
                return 0;
        }
        fprintf(stderr, "usage: fcsim-raw SOCKET send | fcsim-raw SOCKET hold N\n");
        return 2;
}
