/* SPDX-License-Identifier: MIT */
/*
 * A request as a device sees it: who asks, how, and what came with it. The
 * framework owns the request and answers it with the handler's result (see
 * device.h); a request is valid during its handler call, and while parked
 * until its wait queue's try function answers it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cusekit_request;
struct cusekit_client;

/* Who asks, from the kernel's request context. pid is the calling thread's
 * id, in the daemon's pid namespace. */
struct cusekit_caller {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

const struct cusekit_caller *cusekit_request_caller(const struct cusekit_request *req);
struct cusekit_client *cusekit_request_client(const struct cusekit_request *req);
/* The file is O_NONBLOCK: a request that would wait fails with -EAGAIN. */
bool cusekit_request_nonblock(const struct cusekit_request *req);

/* 1 if the caller is root or has gid among its groups (primary or
 * supplementary), 0 if not (always 0 for CUSEKIT_NO_GROUP), -errno. */
int cusekit_request_privileged(struct cusekit_request *req, gid_t gid);

/* A read's answer: the framework's buffer, at least as large as the read
 * asked for, to fill (the buffered style)... */
void *cusekit_request_buffer(struct cusekit_request *req);
/* ...or the device's own memory, answered from in place (the direct style).
 * data must stay valid and unchanged until the handler's result is
 * answered, which happens before any other handler runs. */
void cusekit_request_answer_from(struct cusekit_request *req, const void *data);

/* What a parked request came with: a read's size, a write's data (a copy:
 * the transport's buffer is gone by then), an ioctl's input. */
size_t cusekit_request_size(const struct cusekit_request *req);
const void *cusekit_request_data(const struct cusekit_request *req);
/* A word the device keeps with a parked request (what it waits for). */
void cusekit_request_set_tag(struct cusekit_request *req, uint64_t tag);
uint64_t cusekit_request_tag(const struct cusekit_request *req);

/* A handler result that is not an answer: the request was parked. Never a
 * valid result or -errno (errno values stay above -4096). */
#define CUSEKIT_PARKED (-0x10000)
