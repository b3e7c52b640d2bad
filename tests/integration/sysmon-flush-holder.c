/* SPDX-License-Identifier: MIT */
#define FUSE_USE_VERSION 312
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysmon-flush-holder.h"

#define HELD_MAX 8

struct flush_holder {
	struct fuse_session *se;
	pthread_t thread;
	char dir[64], path[96];
	int held_fd;                 /* eventfd: flushes held so far */
	pthread_mutex_t lock;
	fuse_req_t held[HELD_MAX];
	unsigned n_held;
	bool released;
};

static void holder_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st = { .st_ino = ino, .st_mode = S_IFREG | 0444, .st_nlink = 1 };

	fuse_reply_attr(req, &st, 0);
}

static void holder_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_open(req, fi);
}

static void holder_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct flush_holder *h = fuse_req_userdata(req);
	uint64_t one = 1;
	bool hold;

	pthread_mutex_lock(&h->lock);
	hold = !h->released && h->n_held < HELD_MAX;
	if (hold)
		h->held[h->n_held++] = req;
	pthread_mutex_unlock(&h->lock);
	if (!hold) {
		fuse_reply_err(req, 0);
		return;
	}
	if (write(h->held_fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static void holder_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops holder_ops = {
	.getattr = holder_getattr,
	.open = holder_open,
	.flush = holder_flush,
	.release = holder_release,
};

static void *holder_main(void *arg)
{
	fuse_session_loop(((struct flush_holder *)arg)->se);
	return NULL;
}

struct flush_holder *flush_holder_new(void)
{
	char *argv[] = { "flush-holder", "-o", "allow_other", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct flush_holder *h = calloc(1, sizeof(*h));
	int fd;

	ck_assert_ptr_nonnull(h);
	pthread_mutex_init(&h->lock, NULL);
	snprintf(h->dir, sizeof(h->dir), "/tmp/sysmon-flush-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(h->dir));
	snprintf(h->path, sizeof(h->path), "%s/file", h->dir);
	fd = open(h->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	h->held_fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(h->held_fd, 0);
	h->se = fuse_session_new(&args, &holder_ops, sizeof(holder_ops), h);
	fuse_opt_free_args(&args);
	ck_assert_ptr_nonnull(h->se);
	ck_assert_int_eq(fuse_session_mount(h->se, h->path), 0);
	ck_assert_int_eq(pthread_create(&h->thread, NULL, holder_main, h), 0);
	return h;
}

const char *flush_holder_path(const struct flush_holder *h)
{
	return h->path;
}

void flush_holder_await(struct flush_holder *h)
{
	uint64_t n;

	ck_assert_int_eq(read(h->held_fd, &n, sizeof(n)), sizeof(n));
}

void flush_holder_release(struct flush_holder *h)
{
	pthread_mutex_lock(&h->lock);
	h->released = true;
	for (unsigned i = 0; i < h->n_held; i++)
		fuse_reply_err(h->held[i], 0);
	h->n_held = 0;
	pthread_mutex_unlock(&h->lock);
}

void flush_holder_free(struct flush_holder *h)
{
	char cmd[96];

	flush_holder_release(h);
	fuse_session_exit(h->se);
	/* The unmount ends the connection: the loop's read fails, it returns. */
	fuse_session_unmount(h->se);
	pthread_join(h->thread, NULL);
	fuse_session_destroy(h->se);
	close(h->held_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	ck_assert_int_eq(system(cmd), 0);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
