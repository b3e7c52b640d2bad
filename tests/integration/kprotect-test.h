/* SPDX-License-Identifier: MIT */
/*
 * What the kprotectd integration test programs share: the daemon under
 * test (kprotectd, and kprotectd2 for restarts), children to clean up, and
 * small helpers around its ioctls.
 */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cusekit/kprotect.h>

#include "harness.h"

#define EXEC_REFUSED 100   /* exit status of a child whose execve() got EPERM */

extern struct daemon_proc kprotectd, kprotectd2;
extern pid_t children[80];
extern size_t n_children;

/* The fixture's teardown: stop the daemons (the guards detach), kill the
 * children. */
void teardown(void);
/* A case with that teardown and a timeout scaled for emulation. */
TCase *tcase(Suite *s, const char *name);
void start(const char *const args[]);
bool in_vm(void);

/* The ioctl on a fresh open of node (kprotectd's): 0 or -errno. */
int node_ioctl(const char *node, unsigned long cmd, void *arg);
int kp_ioctl(unsigned long cmd, void *arg);
struct kprotect_status get_status(void);
struct kprotect_pids pids_of(size_t n, const pid_t *pids);
/* ADD or REMOVE: the count done, or -errno. */
int change_pids(unsigned long cmd, size_t n, const pid_t *pids);
bool listed(pid_t pid);
/* DENY_EXEC, ADD_EXE...: 0 or -errno. */
int path_ioctl(unsigned long cmd, const char *path);

/* In a forked child: Check's handlers are inherited, and its SIGTERM
 * handler would kill the whole test process group. */
void child_init(void);
/* A child that waits until killed, or, given a pipe, until its write end
 * (closed in the child) is closed. */
pid_t spawn_waiter(const int *pipefd);
pid_t spawn_sleeper(void);
bool alive(pid_t pid);
void wait_until_unlisted(pid_t pid);

/* The kill guard, the exec guard is active here? In the VM they must be;
 * where they are not, the daemon must say why and refuse what needs them. */
bool kill_guard(void);
bool exec_guard(void);

void copy_file(const char *from, const char *to);
/* Exit status of running path (0 for a copy of true), EXEC_REFUSED when
 * execve() failed with EPERM. */
int run(const char *path);
/* <kprotectd's scratch directory>/name (eight at a time). */
const char *scratch(const char *name);
/* The protect client on kprotectd's node: exit status, output in out. */
int protect(char *out, size_t size, const char *cmd, const char *arg, const char *arg2);
