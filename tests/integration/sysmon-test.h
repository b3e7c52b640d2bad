/* SPDX-License-Identifier: MIT */
/*
 * What the SysMon integration tests share: the daemon under test, readers,
 * a log of records read, and children to make events with.
 *
 * To keep other processes' events out of the way, many tests let children
 * take an otherwise unused uid (UID_A) and filter on it.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cusekit/sysmon.h>

#include "harness.h"

/* A uid nothing else on the machine runs as, not even another run of this
 * test: children take it and readers filter on it. */
#define UID_A (200000u + (uid_t)getpid())

extern struct daemon_proc sysmond;
extern char watch_dir[64];

/* The checked fixture's teardown: the daemon and the watched directory. */
void sysmon_teardown(void);
/* Start sysmond watching a fresh scratch directory (watch_dir), with
 * extra arguments (NULL-terminated, may be NULL). */
void start_sysmon_args(const char *const extra[]);
void start_sysmon(const char *queue_bytes);

int open_reader(int flags);
/* A reader of the exits of uid's processes. */
int open_uid_reader(int flags, uid_t uid);
void set_filter(int fd, uint32_t type_mask, uint32_t flags, uint32_t pid, uint32_t uid);
struct sysmon_stats get_stats(int fd);
struct sysmon_status get_status(int fd);
/* Until fd is readable, however long it takes (the test's timeout is the
 * only bound); says on stderr now and then what it waits for. */
void await_readable(int fd);

/* Records read so far from one reader, in order. */
struct record_log {
	int fd;
	size_t len;
	_Alignas(8) unsigned char buf[4u << 20];
};

struct record_log *log_new(int fd);
/* Reads once (waiting up to the timeout); returns the bytes read. */
size_t log_read(struct record_log *l);
uint32_t record_pid(const struct sysmon_header *h);
/* The first record of type about process pid at or after *pos. */
const struct sysmon_header *log_find(const struct record_log *l, size_t *pos, uint16_t type, uint32_t pid);
/* Reads until that record is there; its offset in the log. */
size_t await_record(struct record_log *l, uint16_t type, uint32_t pid);
const void *at(const struct record_log *l, size_t pos);

pid_t spawn(const char *const argv[]);
/* A child that takes uid and exits with code; left unreaped. */
pid_t spawn_as(uid_t uid, int code);
int reap(pid_t pid);

/* A read in a thread of its own: the test waits until the daemon parked
 * it (daemon_wait_waiting(), exact: reads are not serialized by the
 * node's inode lock, so a blocked read is a parked request). */
struct blocked_read {
	int fd;
	ssize_t n;
	int error;
	unsigned char *buf;  /* a page of its own: see blocked_read_buffer() */
};

unsigned char *blocked_read_buffer(void);
void *blocked_read_main(void *arg);
