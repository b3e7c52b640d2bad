/* SPDX-License-Identifier: MIT */
/*
 * /proc, as far as the devices need it. A task's identity is its id plus its
 * start time (stat field 22, clock ticks since boot), since ids are reused;
 * every reader here answers -ESRCH once the task is gone.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Read a small /proc file whole (at most size - 1 bytes, NUL-terminated):
 * path relative to dir_fd (an O_PATH fd on /proc/<id>), or absolute with
 * AT_FDCWD. Returns the length, or -ESRCH when the task is gone. */
ssize_t proc_read(int dir_fd, const char *path, char *buf, size_t size);

/* The whole of /proc/<pid>/<name> however large (up to max bytes: -EFBIG),
 * malloc()ed and NUL-terminated: for files a partial read would misread
 * (maps). -ESRCH once the task is gone. */
int proc_read_all(pid_t pid, const char *name, size_t max, char **ret, size_t *ret_size);

/* Parse the text of a stat file. comm (16 bytes, field 2) and ret_state
 * (field 3) may be NULL. -EBADMSG if it does not parse. */
int proc_stat_parse(const char *text, char comm[16], char *ret_state, uint64_t *ret_start_time);

/* Up to n numbers of the "name\t..." line of a status file's text (name with
 * its colon, e.g. "Uid:"): how many were found, or -ESRCH without the line. */
int proc_status_parse(const char *text, const char *name, unsigned values[], int n);
/* The first number of that line in /proc/<pid>/status. */
int proc_status_field(pid_t pid, const char *name, unsigned *ret);

/* The start time of the live task pid; -ESRCH when there is none or it is a
 * zombie. */
int proc_pid_start_time(uint32_t pid, uint64_t *ret);
/* 1 if pid is a process (a thread group's leader), 0 if it is another
 * thread, -ESRCH if it does not exist. */
int proc_pid_is_process(uint32_t pid);
/* The process a thread id belongs to. */
int proc_tgid(pid_t tid, pid_t *ret);

/* A /proc symlink's target (exe, fd/N, cwd), NUL-terminated; its length, or
 * -errno (then buf is ""). */
ssize_t proc_read_link(const char *path, char *buf, size_t size);
