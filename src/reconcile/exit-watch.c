/* SPDX-License-Identifier: Apache-2.0 */
#include "reconcile/exit-watch.h"

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "hv/vmm-process.h"

#define STATUS_RING 1024

typedef struct Watch {
        char *vm_id;
        pid_t pid;
        int pidfd;
} Watch;

struct ExitWatch {
        ExitWatchFn fn;
        void *userdata;
        int epfd;
        int stopfd; /* eventfd: tells the thread to stop */
        pthread_t thread;
        bool running;

        pthread_mutex_t lock;
        Watch *watches;
        size_t n_watches;
        struct {
                pid_t pid;
                int status;
        } ring[STATUS_RING]; /* statuses the reaper collected, newest last */
        size_t ring_next;
};

static int pidfd_open_(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* Caller holds the lock. */
static void watch_drop_locked(ExitWatch *w, size_t i) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->watches[i].pidfd, NULL);
        safe_close(w->watches[i].pidfd);
        free(w->watches[i].vm_id);
        w->watches[i] = w->watches[--w->n_watches];
}

static void *watch_thread(void *userdata) {
        ExitWatch *w = userdata;
        for (;;) {
                struct epoll_event ev[32];
                int n = epoll_wait(w->epfd, ev, 32, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return NULL;
                }
                for (int i = 0; i < n; i++) {
                        if (ev[i].data.fd == w->stopfd)
                                return NULL;
                        char *vm_id = NULL;
                        pid_t pid = 0;
                        pthread_mutex_lock(&w->lock);
                        for (size_t j = 0; j < w->n_watches; j++)
                                if (w->watches[j].pidfd == ev[i].data.fd) {
                                        vm_id = TAKE_PTR(w->watches[j].vm_id);
                                        pid = w->watches[j].pid;
                                        w->watches[j].vm_id = NULL;
                                        watch_drop_locked(w, j);
                                        break;
                                }
                        pthread_mutex_unlock(&w->lock);
                        if (vm_id) {
                                w->fn(w->userdata, vm_id, pid);
                                free(vm_id);
                        }
                }
        }
}

int exit_watch_new(ExitWatchFn fn, void *userdata, ExitWatch **ret) {
        _cleanup_(exit_watch_freep) ExitWatch *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->fn = fn;
        w->userdata = userdata;
        w->stopfd = -EBADF;
        pthread_mutex_init(&w->lock, NULL);
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd < 0)
                return -errno;
        w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->stopfd < 0)
                return -errno;
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = w->stopfd };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stopfd, &ev) < 0)
                return -errno;
        int r = pthread_create(&w->thread, NULL, watch_thread, w);
        if (r != 0)
                return -r;
        w->running = true;
        *ret = TAKE_PTR(w);
        return 0;
}

ExitWatch *exit_watch_free(ExitWatch *w) {
        if (!w)
                return NULL;
        if (w->running) {
                uint64_t one = 1;
                (void) !write(w->stopfd, &one, sizeof one);
                pthread_join(w->thread, NULL);
        }
        while (w->n_watches > 0)
                watch_drop_locked(w, 0);
        free(w->watches);
        safe_close(w->stopfd);
        safe_close(w->epfd);
        pthread_mutex_destroy(&w->lock);
        return mfree(w);
}

int exit_watch_add(ExitWatch *w, const char *vm_id, pid_t pid, uint64_t start_time) {
        assert(w && vm_id && pid > 0);
        exit_watch_remove(w, vm_id);
        _cleanup_close_ int fd = pidfd_open_(pid);
        if (fd < 0) {
                if (errno == ESRCH) {
                        w->fn(w->userdata, vm_id, pid);
                        return 0;
                }
                return -errno;
        }
        /* The pidfd now pins the process; make sure it is still the one we mean. */
        uint64_t st;
        if (vmm_pid_start_time(pid, &st) < 0 || st != start_time) {
                w->fn(w->userdata, vm_id, pid);
                return 0;
        }
        pthread_mutex_lock(&w->lock);
        Watch *nw = realloc(w->watches, (w->n_watches + 1) * sizeof *nw);
        char *id = strdup(vm_id);
        if (!nw || !id) {
                if (nw)
                        w->watches = nw;
                pthread_mutex_unlock(&w->lock);
                free(id);
                return -ENOMEM;
        }
        w->watches = nw;
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;
                pthread_mutex_unlock(&w->lock);
                free(id);
                return r;
        }
        w->watches[w->n_watches++] = (Watch){ id, pid, TAKE_FD(fd) };
        pthread_mutex_unlock(&w->lock);
        return 0;
}

void exit_watch_remove(ExitWatch *w, const char *vm_id) {
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < w->n_watches; i++)
                if (streq(w->watches[i].vm_id, vm_id)) {
                        watch_drop_locked(w, i);
                        break;
                }
        pthread_mutex_unlock(&w->lock);
}

void exit_watch_child_exited(ExitWatch *w, pid_t pid, int status) {
        pthread_mutex_lock(&w->lock);
        w->ring[w->ring_next % STATUS_RING].pid = pid;
        w->ring[w->ring_next % STATUS_RING].status = status;
        w->ring_next++;
        pthread_mutex_unlock(&w->lock);
}

static bool ring_take(ExitWatch *w, pid_t pid, int *ret_status) {
        bool found = false;
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < STATUS_RING; i++)
                if (w->ring[i].pid == pid) {
                        *ret_status = w->ring[i].status;
                        w->ring[i].pid = 0;
                        found = true;
                        break;
                }
        pthread_mutex_unlock(&w->lock);
        return found;
}

int exit_watch_status(ExitWatch *w, pid_t pid, int *ret_status) {
        int status;
        pid_t k = waitpid(pid, &status, WNOHANG);
        if (k == pid) {
                *ret_status = status;
                return 0;
        }
        if (k == 0)
                return -EBUSY; /* our child, still running */
        if (errno != ECHILD)
                return -errno;
        /* Not our child, or the reaper got it first: the reaper records right
         * after its waitpid, so give it a moment (at most 100 ms). */
        for (int i = 0; i < 20; i++) {
                if (ring_take(w, pid, ret_status))
                        return 0;
                nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
        }
        return -ENOENT;
}

void exit_status_describe(bool known, int status, char *buf, size_t size) {
        if (!known)
                snprintf(buf, size, "exited (status unknown: not a child of this metald)");
        else if (WIFEXITED(status))
                snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "ended with wait status 0x%x", status);
}
