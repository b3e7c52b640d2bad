/* SPDX-License-Identifier: MIT */
/*
 * Integration tests drive a real daemon through real syscalls. The transport
 * comes from CUSEKIT_TEST_TRANSPORT: "fuse" (default: any Linux with
 * /dev/fuse) or "cuse" (a real character device: a kernel with CUSE, such as
 * the VM layer's guest). Built programs are found under CUSEKIT_BUILD_ROOT.
 */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <sys/types.h>

struct daemon_proc {
	pid_t pid;
	char name[64];      /* unique node name for this test run */
	char node[256];     /* /dev/cusekit/<name> or <dir>/fuse/<name> */
	char dir[128];      /* scratch directory (mkdtemp): fuse/, state/, log */
	char state_dir[192];
	char log[192];      /* the daemon's stderr */
};

const char *test_transport(void);
bool test_on_cuse(void);
/* <build root>/<relative>, e.g. build_path("clients/zero-test"). */
const char *build_path(const char *relative);

/* Start daemons/<device>/<device>d with the test transport, a unique name,
 * a scratch state directory and extra_args (NULL-terminated, may be NULL);
 * return once it said READY=1 over NOTIFY_SOCKET and the node exists.
 * Aborts the test (ck_abort) on failure. state_dir may name the state
 * directory of an earlier daemon_proc to resume its state. */
void daemon_start(struct daemon_proc *d, const char *device, const char *const extra_args[]);
void daemon_start_with_state(struct daemon_proc *d, const char *device, const char *const extra_args[],
			     const char *state_dir);
/* The same for any daemon program (label names its node and scratch dir). */
void daemon_start_program(struct daemon_proc *d, const char *program, const char *label,
			  const char *const extra_args[], const char *state_dir);
/* SIGTERM, wait; return the exit status (or 128+signal). Checks the node is
 * gone afterwards. */
int daemon_stop(struct daemon_proc *d);
/* Remove the scratch directory. */
void daemon_cleanup(struct daemon_proc *d);
/* Still running? */
bool daemon_alive(struct daemon_proc *d);

/* open(2) the daemon's node (O_CLOEXEC added); fails the test if it cannot. */
int daemon_open(const struct daemon_proc *d, int flags);
/* Wait until the daemon has processed the opens and closes it was sent: it
 * reports still_open clients besides the probe this opens. Release is
 * asynchronous, so a test that counts on a close must wait for it. */
void daemon_wait_clients(const struct daemon_proc *d, unsigned still_open);
/* Wait until exactly waiting requests are parked in the daemon (blocked
 * reads, writes, ioctls): the exact moment a blocked call is blocked. */
void daemon_wait_waiting(const struct daemon_proc *d, unsigned waiting);

/* Wait until process pid sleeps in system call nr (SYS_write, ...): for a
 * caller blocked in the kernel rather than in the daemon. */
void wait_blocked_in_syscall(pid_t pid, long nr);

/* fork(); the child gets SIGTERM's default action back, drops to uid/gid
 * with exactly the supplementary groups given (n may be 0) and gets 0, or
 * exits 126 when it cannot; the parent gets the child's pid. */
pid_t fork_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n);

/* Run the suite, say which transport it ran on; the exit status. */
int harness_run(Suite *s);

/* Run a program (NULL-terminated argv, argv[0] resolved through PATH), wait
 * and return its exit status (128+signal if killed). Output goes to out
 * (NUL-terminated, truncated to size) when out is not NULL. */
int run_program(char *out, size_t size, const char *const argv[]);

/* Seconds to allow for slow things: multiplied under TCG emulation. */
unsigned test_timeout_scale(void);
