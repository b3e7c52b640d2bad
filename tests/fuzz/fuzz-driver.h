/* SPDX-License-Identifier: MIT */
/*
 * The fuzzers' driver: one libFuzzer input is one life of a device. The
 * device is started as a daemon would start it (its options parsed, its
 * start() run: kernel channels and all), served by the fake backend of
 * tests/lib, fed the requests the input encodes, then stopped and freed, so
 * that a leak shows at the end of the input.
 *
 * An input is a configuration byte (which of the target's option sets),
 * then operations until it ends, each an opcode byte and its operands:
 *
 *   open       caller, flags               a new client (8 at most)
 *   release    client                      close it (parked requests: EINTR)
 *   read       client, caller, size, flags
 *   write      client, caller, size, shape, data
 *   ioctl      client, caller, command, sizes, data
 *   poll       client, handle?
 *   interrupt  request                     the caller got a signal
 *   die        request                     the caller died: gone, interrupted
 *   vanish     request                     gone, no interrupt seen (yet)
 *   pump                                   the device's event sources, once
 *   save                                   the periodic save
 *   device     argument                    the target's own operation
 *   stop       (0xff 'S')                  SIGTERM: the input ends there
 *
 * Callers are a fixed cast (root, users, members of the device's groups, a
 * caller whose pid does not exist); requests come from the client's opener
 * mostly, from another caller sometimes (a passed descriptor). Commands
 * mostly come from the device's table and payloads have the command's own
 * size, so inputs get past the first size check; the target's fix-ups keep
 * what the daemon would act on outside the harness (thread ids, pids,
 * paths) inside what the harness owns.
 *
 * Invariants checked after every operation: the framework's count of open
 * clients and of parked requests equal the harness's own; no answer is
 * larger than asked for. A device bug the framework catches ("Bug: ...") is
 * a crash.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fake-backend.h"

/* Bytes of the input, consumed front to back; past the end, zeros. */
struct fuzz_input {
	const uint8_t *data;
	size_t size;
};

uint8_t fuzz_u8(struct fuzz_input *in);
uint16_t fuzz_u16(struct fuzz_input *in);
uint32_t fuzz_u32(struct fuzz_input *in);
/* Copies min(n, what is left) bytes to buf and zero-fills the rest. */
void fuzz_bytes(struct fuzz_input *in, void *buf, size_t n);

/* Callers: what each request's context says. */
enum fuzz_caller_kind {
	FUZZ_ROOT,          /* uid 0 */
	FUZZ_USER,          /* uid 1000, no groups */
	FUZZ_MEMBER,        /* uid 1001, the target's groups as supplementary */
	FUZZ_PRIMARY,       /* uid 1002, primary gid: the node's group */
	FUZZ_NOBODY,        /* uid 65534 */
	FUZZ_ROOT_NO_PID,   /* uid 0, a pid that exists nowhere */
	FUZZ_CALLERS,
};

#define FUZZ_UID_USER 1000
#define FUZZ_UID_MEMBER 1001
#define FUZZ_UID_PRIMARY 1002
#define FUZZ_UID_NOBODY 65534

struct fuzz_target {
	const struct cusekit_device_ops *ops;
	/* Option sets, each NULL-terminated; the input's first byte picks
	 * one. Every set is also given --state-dir, --config=/dev/null. */
	const char *const *const *configs;
	/* The device's ioctl numbers, 0-terminated (GET_INFO is added). */
	const unsigned *ioctls;
	/* write(): fixed-size records (0: any bytes). */
	size_t record_size;
	/* Inputs one device serves before it is stopped and freed (0 or 1:
	 * a device per input). Only for devices whose start and free cost
	 * the kernel's time (a fanotify group's close waits for an SRCU
	 * grace period, 7 to 20 ms): between the inputs of one life, every
	 * client the input left open is released and the device must be back
	 * to no clients and no parked request. */
	unsigned inputs_per_life;
	/* Group names FUZZ_MEMBER is a member of (NULL-terminated). */
	const char *const *groups;

	/* Once per process: scratch files, helper threads... (may be NULL) */
	int (*setup)(const char *scratch);
	/* Keep what the daemon acts on inside the harness's own (may be
	 * NULL). tame: also bring values into their valid ranges, so that
	 * the input reaches deeper code. */
	void (*fix_write)(void *buf, size_t size, bool tame);
	void (*fix_ioctl)(unsigned cmd, void *in, size_t size, bool tame);
	/* What a read answered, checked (may be NULL). */
	void (*check_read)(const void *data, size_t size);
	/* The target's own operation (may be NULL): event sources' feeds. */
	void (*op)(struct cusekit_device *d, uint8_t arg);
	/* After each input (may be NULL). */
	void (*reset)(void);
};

/* Each fuzz-<device>.c defines it. */
extern const struct fuzz_target fuzz_target;

/* The scratch directory of this process (mkdtemp under /dev/shm). */
const char *fuzz_scratch(void);
/* Run the device's event sources once, without waiting. */
void fuzz_pump(struct cusekit_device *d);
/* The helper's pid for callers: this process. */
pid_t fuzz_self(void);
