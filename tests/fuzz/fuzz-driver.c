/* SPDX-License-Identifier: MIT */
/* See fuzz-driver.h for what an input means. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cusekit/common.h>

#include "fuzz-driver.h"
#include "log.h"

#define CLIENTS_MAX 8
#define REQUESTS_MAX 32
#define GROUPS_MAX 8
/* Input bytes a write or an ioctl takes at most; the rest of a larger
 * payload is zeros (a kprotect path is 4096 bytes). */
#define PAYLOAD_INPUT_MAX 4200
/* What a transport sends at most in one read or write (fuse: 1 MiB). */
#define TRANSPORT_MAX (1u << 20)
/* A pid no process has: above the largest pid_max (2^22). */
#define PID_NOWHERE 0x7fff0000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_log_internal(int level, int error, const char *file, int line, const char *func, const char *format,
			...) _printf_(6, 7);

static char scratch[256];
static char state_dir[300];
static int log_level = -1;   /* CUSEKIT_FUZZ_LOG=7 shows everything */
static gid_t target_groups[GROUPS_MAX];
static int n_target_groups;
/* The device of this life, and how many inputs it served. */
static struct cusekit_device *device;
static unsigned device_inputs;

const char *fuzz_scratch(void) { return scratch; }
pid_t fuzz_self(void) { return getpid(); }

/* Input */

uint8_t fuzz_u8(struct fuzz_input *in)
{
	if (in->size == 0)
		return 0;
	in->size--;
	return *in->data++;
}

uint16_t fuzz_u16(struct fuzz_input *in) { return (uint16_t)(fuzz_u8(in) | fuzz_u8(in) << 8); }

uint32_t fuzz_u32(struct fuzz_input *in) { return fuzz_u16(in) | (uint32_t)fuzz_u16(in) << 16; }

void fuzz_bytes(struct fuzz_input *in, void *buf, size_t n)
{
	size_t take = MIN(n, in->size);

	memcpy(buf, in->data, take);
	memset((char *)buf + take, 0, n - take);
	in->data += take;
	in->size -= take;
}

/* Logging: quiet, except that a bug the framework caught is a crash. */

int __wrap_log_internal(int level, int error, const char *file, int line, const char *func, const char *format,
			...)
{
	va_list ap;

	if (error < 0)
		error = -error;
	if (level <= LOG_ERR && !strncmp(format, "Bug", 3)) {
		va_start(ap, format);
		fprintf(stderr, "%s:%d: ", file, line);
		vfprintf(stderr, format, ap);
		va_end(ap);
		fprintf(stderr, "\nfuzz: the framework caught a device bug.\n");
		abort();
	}
	if (level <= log_level) {
		errno = error;
		va_start(ap, format);
		vfprintf(stderr, format, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	return -error;
}

/* Scratch */

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (ftw->level > 0)
		remove(path);
	return 0;
}

/* Empty dir, keeping dir itself. */
static void empty_dir(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void scratch_remove(void)
{
	empty_dir(scratch);
	rmdir(scratch);
}

static void device_end(void);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *level = getenv("CUSEKIT_FUZZ_LOG");
	const char *tmp = getenv("TMPDIR");

	if (level)
		log_level = atoi(level);
	log_setup("fuzz", log_level);
	snprintf(scratch, sizeof(scratch), "%s/cusekit-fuzz-XXXXXX", tmp && *tmp ? tmp : "/dev/shm");
	if (!mkdtemp(scratch)) {
		fprintf(stderr, "fuzz: mkdtemp %s: %m\n", scratch);
		exit(EXIT_FAILURE);
	}
	atexit(scratch_remove);
	atexit(device_end);   /* runs first */
	snprintf(state_dir, sizeof(state_dir), "%s/state", scratch);
	for (const char *const *g = fuzz_target.groups; g && *g && n_target_groups < GROUPS_MAX; g++) {
		struct group *gr = getgrnam(*g);

		if (gr)
			target_groups[n_target_groups++] = gr->gr_gid;
		else
			fprintf(stderr, "fuzz: group %s does not exist (tools/install-deps creates it).\n", *g);
	}
	if (fuzz_target.setup && fuzz_target.setup(scratch) < 0) {
		fprintf(stderr, "fuzz: the %s target's setup failed.\n", fuzz_target.ops->name);
		exit(EXIT_FAILURE);
	}
	return 0;
}

void fuzz_pump(struct cusekit_device *d)
{
	sd_event_run(cusekit_device_event(d), 0);
}

/* One input */

struct caller {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[GROUPS_MAX + 1];
	int n_groups;
};

struct client {
	struct cusekit_client *c;
	int caller;
	struct fake_poller poller;
};

struct run {
	struct cusekit_device *d;
	struct fuzz_input in;
	struct caller callers[FUZZ_CALLERS];
	struct client clients[CLIENTS_MAX];
	unsigned n_clients;
	struct fake_request requests[REQUESTS_MAX];
	unsigned next_request;
	unsigned ioctls[64];
	unsigned n_ioctls;
	bool stopped;
};

static void callers_init(struct run *run)
{
	gid_t node = cusekit_device_group(run->d);
	struct caller *member = &run->callers[FUZZ_MEMBER];

	run->callers[FUZZ_ROOT] = (struct caller){ .pid = fuzz_self() };
	run->callers[FUZZ_USER] = (struct caller){ .pid = fuzz_self(), .uid = FUZZ_UID_USER, .gid = FUZZ_UID_USER };
	*member = (struct caller){ .pid = fuzz_self(), .uid = FUZZ_UID_MEMBER, .gid = FUZZ_UID_MEMBER };
	if (node != CUSEKIT_NO_GROUP)
		member->groups[member->n_groups++] = node;
	for (int i = 0; i < n_target_groups; i++)
		member->groups[member->n_groups++] = target_groups[i];
	run->callers[FUZZ_PRIMARY] = (struct caller){
		.pid = fuzz_self(), .uid = FUZZ_UID_PRIMARY,
		.gid = node != CUSEKIT_NO_GROUP ? node : FUZZ_UID_PRIMARY,
	};
	run->callers[FUZZ_NOBODY] = (struct caller){ .pid = fuzz_self(), .uid = FUZZ_UID_NOBODY, .gid = FUZZ_UID_NOBODY };
	run->callers[FUZZ_ROOT_NO_PID] = (struct caller){ .pid = PID_NOWHERE };
}

static void request_init(struct run *run, struct fake_request *rq, int caller)
{
	const struct caller *who = &run->callers[caller];

	fake_request_init(rq, who->pid, who->uid, who->gid);
	rq->groups = who->groups;
	rq->n_groups = who->n_groups;
}

/* A free request slot (not parked), or NULL when all wait. */
static struct fake_request *request_slot(struct run *run, int caller)
{
	for (unsigned i = 0; i < REQUESTS_MAX; i++) {
		struct fake_request *rq = &run->requests[(run->next_request + i) % REQUESTS_MAX];

		if (rq->parked)
			continue;
		run->next_request = (run->next_request + i + 1) % REQUESTS_MAX;
		fake_request_done(rq);
		request_init(run, rq, caller);
		return rq;
	}
	return NULL;
}

static struct client *pick_client(struct run *run)
{
	unsigned k = fuzz_u8(&run->in) % CLIENTS_MAX;

	for (unsigned i = 0; i < CLIENTS_MAX; i++) {
		struct client *cl = &run->clients[(k + i) % CLIENTS_MAX];

		if (cl->c)
			return cl;
	}
	return NULL;
}

/* Mostly the opener; sometimes whoever the descriptor was passed to. */
static int pick_caller(struct run *run, const struct client *cl)
{
	uint8_t who = fuzz_u8(&run->in);

	return who < 0xc0 ? cl->caller : who % FUZZ_CALLERS;
}

static bool pick_nonblock(struct run *run, const struct client *cl, uint8_t flags)
{
	return !!(cl->c->open_flags & O_NONBLOCK) ^ (flags & 1);
}

static const size_t sizes[] = {
	0, 1, 7, 8, 15, 16, 24, 31, 32, 39, 40, 48, 64, 88, 96, 100, 128, 255, 256,
	4095, 4096, 4097, 65535, 65536, 131072, TRANSPORT_MAX,
};

static size_t pick_size(struct run *run, uint8_t selector)
{
	if (selector < 0xe0)
		return sizes[selector % ELEMENTSOF(sizes)];
	return fuzz_u32(&run->in) % (TRANSPORT_MAX + 1);
}

static void op_open(struct run *run)
{
	int caller = fuzz_u8(&run->in) % FUZZ_CALLERS;
	uint8_t f = fuzz_u8(&run->in);
	int flags = (const int[]){ O_RDONLY, O_WRONLY, O_RDWR, O_RDWR }[f & 3] | (f & 4 ? O_NONBLOCK : 0);
	struct fake_request rq;
	struct client *cl = NULL;
	int r;

	for (unsigned i = 0; i < CLIENTS_MAX && !cl; i++)
		if (!run->clients[i].c)
			cl = &run->clients[i];
	if (!cl)
		return;
	request_init(run, &rq, caller);
	r = device_open(run->d, &rq, flags, &cl->c);
	assert(rq.answer == FAKE_PENDING);   /* the transport answers opens */
	fake_request_done(&rq);
	if (r < 0) {
		assert(r >= -4095);
		cl->c = NULL;
		return;
	}
	cl->caller = caller;
	cl->poller = (struct fake_poller){};
	run->n_clients++;
}

static void op_release(struct run *run)
{
	struct client *cl = pick_client(run);

	if (!cl)
		return;
	device_release(run->d, cl->c);
	cl->c = NULL;
	run->n_clients--;
}

static void op_read(struct run *run)
{
	struct client *cl = pick_client(run);
	struct fake_request *rq;
	int caller;
	size_t size;
	uint8_t flags;

	if (!cl)
		return;
	caller = pick_caller(run, cl);
	size = pick_size(run, fuzz_u8(&run->in));
	flags = fuzz_u8(&run->in);
	rq = request_slot(run, caller);
	if (!rq)
		return;
	device_read(run->d, rq, cl->c, size, pick_nonblock(run, cl, flags));
	assert(rq->answer != FAKE_DATA || rq->size <= size);
	if (rq->answer == FAKE_DATA && fuzz_target.check_read)
		fuzz_target.check_read(rq->data, rq->size);
	assert(rq->answer != FAKE_WRITTEN && rq->answer != FAKE_IOCTL);
}

/* size bytes: the input's, as far as it goes and PAYLOAD_INPUT_MAX, then
 * zeros. */
static void *payload(struct run *run, size_t size)
{
	size_t from_input = MIN(size, (size_t)PAYLOAD_INPUT_MAX);
	void *buf = malloc(size ?: 1);

	if (!buf)
		abort();
	fuzz_bytes(&run->in, buf, from_input);
	memset((char *)buf + from_input, 0, size - from_input);
	return buf;
}

static void op_write(struct run *run)
{
	struct client *cl = pick_client(run);
	const size_t record = fuzz_target.record_size;
	_cleanup_free_ void *buf = NULL;
	struct fake_request *rq;
	uint8_t selector, shape, flags;
	int caller;
	size_t size;

	if (!cl)
		return;
	caller = pick_caller(run, cl);
	selector = fuzz_u8(&run->in);
	shape = fuzz_u8(&run->in);
	flags = fuzz_u8(&run->in);
	/* Whole records mostly, for devices that take records. */
	size = record && !(shape & 2) ? record * (selector % 9) : pick_size(run, selector);
	buf = payload(run, size);
	if (fuzz_target.fix_write)
		fuzz_target.fix_write(buf, size, shape & 1);
	rq = request_slot(run, caller);
	if (!rq)
		return;
	device_write(run->d, rq, cl->c, buf, size, pick_nonblock(run, cl, flags));
	/* The framework kept its own copy if it parked the request. */
	memset(buf, 0xa5, size);
	assert(rq->answer != FAKE_WRITTEN || rq->size <= size);
	assert(rq->answer != FAKE_DATA && rq->answer != FAKE_IOCTL);
}

static unsigned pick_command(struct run *run)
{
	uint8_t selector = fuzz_u8(&run->in);
	unsigned cmd = run->ioctls[selector % run->n_ioctls];

	if (selector < 0xd0)
		return cmd;
	if (selector < 0xf0)   /* a near miss: another size, direction or number */
		return cmd ^ (1u << (fuzz_u8(&run->in) % 32));
	return fuzz_u32(&run->in);
}

static void op_ioctl(struct run *run)
{
	struct client *cl = pick_client(run);
	_cleanup_free_ void *in = NULL;
	size_t in_size, out_size;
	struct fake_request *rq;
	uint8_t sizing;
	unsigned cmd;
	int caller;

	if (!cl)
		return;
	caller = pick_caller(run, cl);
	cmd = pick_command(run);
	sizing = fuzz_u8(&run->in);
	/* What the kernel sends for a restricted ioctl, mostly. */
	in_size = _IOC_DIR(cmd) & _IOC_WRITE ? _IOC_SIZE(cmd) : 0;
	out_size = _IOC_DIR(cmd) & _IOC_READ ? _IOC_SIZE(cmd) : 0;
	if ((sizing & 0xf) == 0)
		in_size = fuzz_u16(&run->in) % 16384;
	else if ((sizing & 0xf) == 1)
		out_size = fuzz_u16(&run->in) % 16384;
	if (in_size > 0) {
		in = payload(run, in_size);
		if (fuzz_target.fix_ioctl)
			fuzz_target.fix_ioctl(cmd, in, in_size, sizing & 0x10);
	}
	rq = request_slot(run, caller);
	if (!rq)
		return;
	device_ioctl(run->d, rq, cl->c, cmd, in, in_size, out_size);
	if (in)
		memset(in, 0xa5, in_size);
	assert(rq->answer != FAKE_IOCTL || rq->size <= out_size);
	assert(rq->answer != FAKE_DATA && rq->answer != FAKE_WRITTEN);
}

static void op_poll(struct run *run)
{
	struct client *cl = pick_client(run);
	bool handle;

	if (!cl)
		return;
	handle = fuzz_u8(&run->in) & 1;
	device_poll(run->d, cl->c, handle ? &cl->poller : NULL);
}

static struct fake_request *pick_parked(struct run *run)
{
	struct fake_request *rq = &run->requests[fuzz_u8(&run->in) % REQUESTS_MAX];

	return rq->parked ? rq : NULL;
}

static void op_interrupt(struct run *run)
{
	struct fake_request *rq = pick_parked(run);

	if (!rq)
		return;
	fake_interrupt(rq);
	assert(!rq->parked && (rq->gone || (rq->answer == FAKE_ERROR && rq->error == EINTR)));
}

static void op_die(struct run *run)
{
	struct fake_request *rq = pick_parked(run);

	if (!rq)
		return;
	rq->gone = true;
	fake_interrupt(rq);
	assert(!rq->parked && rq->answer == FAKE_PENDING);
}

static void op_vanish(struct run *run)
{
	struct fake_request *rq = pick_parked(run);

	if (rq)
		rq->gone = true;
}

enum op {
	OP_OPEN, OP_RELEASE, OP_READ, OP_WRITE, OP_IOCTL, OP_POLL, OP_INTERRUPT, OP_DIE, OP_VANISH,
	OP_PUMP, OP_SAVE, OP_DEVICE, OP_STOP,
};

/* Opcode bytes, weighted: requests most, the rest now and then. */
static const enum op op_table[32] = {
	OP_OPEN, OP_OPEN, OP_OPEN, OP_RELEASE, OP_RELEASE,
	OP_READ, OP_READ, OP_READ, OP_READ,
	OP_WRITE, OP_WRITE, OP_WRITE, OP_WRITE,
	OP_IOCTL, OP_IOCTL, OP_IOCTL, OP_IOCTL, OP_IOCTL, OP_IOCTL, OP_IOCTL,
	OP_POLL, OP_POLL, OP_INTERRUPT, OP_INTERRUPT, OP_DIE, OP_VANISH,
	OP_PUMP, OP_PUMP, OP_SAVE, OP_DEVICE, OP_DEVICE, OP_DEVICE,
};

static void check_counts(struct run *run)
{
	unsigned parked = 0;

	for (unsigned i = 0; i < REQUESTS_MAX; i++)
		parked += !!run->requests[i].parked;
	if (run->stopped)
		return;
	assert(run->d->clients_open == run->n_clients);
	assert(run->d->requests_waiting == parked);
}

static void run_ops(struct run *run)
{
	while (run->in.size > 0 && !run->stopped) {
		uint8_t opcode = fuzz_u8(&run->in);
		/* Stopping ends the device's life, which is dear for some: it
		 * takes two bytes, 0xff 'S'. */
		bool stop = opcode == 0xff && run->in.size > 0 && run->in.data[0] == 'S';

		switch (stop ? OP_STOP : op_table[opcode % ELEMENTSOF(op_table)]) {
		case OP_OPEN: op_open(run); break;
		case OP_RELEASE: op_release(run); break;
		case OP_READ: op_read(run); break;
		case OP_WRITE: op_write(run); break;
		case OP_IOCTL: op_ioctl(run); break;
		case OP_POLL: op_poll(run); break;
		case OP_INTERRUPT: op_interrupt(run); break;
		case OP_DIE: op_die(run); break;
		case OP_VANISH: op_vanish(run); break;
		case OP_PUMP: fuzz_pump(run->d); break;
		case OP_SAVE: device_save(run->d); break;
		case OP_DEVICE:
			if (fuzz_target.op)
				fuzz_target.op(run->d, fuzz_u8(&run->in));
			break;
		case OP_STOP:
			device_stop(run->d, "fuzz", 0);
			run->stopped = true;
			break;
		}
		check_counts(run);
	}
}

static int start(struct run *run, uint8_t config)
{
	const char *const *const *configs = fuzz_target.configs;
	const char *const *extra = NULL;
	char arg_state[sizeof(state_dir) + 16];
	char *argv[32];
	int argc = 0, n_configs = 0;

	while (configs && configs[n_configs])
		n_configs++;
	if (n_configs > 0)
		extra = configs[config % n_configs];
	snprintf(arg_state, sizeof(arg_state), "--state-dir=%s", state_dir);
	argv[argc++] = (char *)fuzz_target.ops->name;
	argv[argc++] = arg_state;
	argv[argc++] = (char *)"--config=/dev/null";
	for (; extra && *extra && argc < 31; extra++)
		argv[argc++] = (char *)*extra;
	argv[argc] = NULL;
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return fake_device_start(fuzz_target.ops, argc, argv, &run->d);
}

static void device_end(void)
{
	if (!device)
		return;
	/* Stopped and freed as a daemon at exit: every parked request gets
	 * its answer, every client is released, and what is left leaks. */
	device_free(device);
	device = NULL;
	device_inputs = 0;
	if (fuzz_target.reset)
		fuzz_target.reset();
	empty_dir(state_dir);
}

/* The end of an input whose device lives on: its clients close. */
static void clients_release(struct run *run)
{
	for (unsigned i = 0; i < CLIENTS_MAX; i++)
		if (run->clients[i].c) {
			device_release(run->d, run->clients[i].c);
			run->clients[i].c = NULL;
			run->n_clients--;
		}
	assert(run->d->clients_open == 0 && run->d->requests_waiting == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run run = { .in = { data, size } };
	uint8_t config = fuzz_u8(&run.in);
	int r;

	for (const unsigned *cmd = fuzz_target.ioctls; cmd && *cmd && run.n_ioctls < ELEMENTSOF(run.ioctls) - 2; cmd++)
		run.ioctls[run.n_ioctls++] = *cmd;
	run.ioctls[run.n_ioctls++] = CUSEKIT_IOC_GET_INFO;
	run.ioctls[run.n_ioctls++] = CUSEKIT_IOC_GET_INFO_V1;

	if (!device) {
		r = start(&run, config);
		if (r < 0) {
			/* Every configuration starts on this machine: a harness bug. */
			fprintf(stderr, "fuzz: %s did not start: %s\n", fuzz_target.ops->name, strerror(-r));
			abort();
		}
		device = run.d;
	}
	run.d = device;
	callers_init(&run);
	run_ops(&run);

	if (run.stopped || ++device_inputs >= MAX(fuzz_target.inputs_per_life, 1u))
		device_end();
	else
		clients_release(&run);
	for (unsigned i = 0; i < REQUESTS_MAX; i++) {
		assert(!run.requests[i].parked);
		fake_request_done(&run.requests[i]);
	}
	return 0;
}
