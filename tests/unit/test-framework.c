/* SPDX-License-Identifier: MIT */
/*
 * The framework's contracts, without a kernel: a probe device served by the
 * fake backend. One answer contract (results, -errno, parking; results no
 * handler may give), the ioctl table's size checks, one wait queue (order,
 * -EAGAIN, interrupt, release, stop), delivery (read_done), and one
 * lifecycle (parked answered, clients released, then stop).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>

#include <cusekit/common.h>

#include "check-run.h"
#include "fake-backend.h"

#define PROBE_IOC_ECHO _IOWR('P', 1, struct probe_echo)
#define PROBE_IOC_COUNT _IO('P', 2)
#define PROBE_IOC_WAIT _IO('P', 3)
#define PROBE_IOC_BAD _IO('P', 4)

struct probe_echo {
	uint32_t value;
	uint32_t twice;
};

/* What the probe saw, in order: 'o'pen, 'r'elease, 's'top, 'l'eft,
 * 'd'elivered, 'u'ndelivered. */
static char events[256];

static void event(char e)
{
	size_t n = strlen(events);

	if (n + 1 < sizeof(events))
		events[n] = e;
}

struct probe {
	unsigned tokens;                /* what waiting reads and WAITs wait for */
	struct cusekit_waitq readers;
	struct cusekit_waitq waiters;
	ssize_t read_result;            /* what a read answers when it has a token */
};

static ssize_t probe_take(struct probe *p, struct cusekit_request *req, size_t size)
{
	char *buf;

	if (p->tokens == 0)
		return -EAGAIN;
	if (p->read_result < 0 || (size_t)p->read_result > size)
		return p->read_result;
	buf = cusekit_request_buffer(req);
	memset(buf, 'x', size);
	p->tokens--;
	return p->read_result;
}

static ssize_t reader_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	return probe_take(q->userdata, req, cusekit_request_size(req));
}

static ssize_t waiter_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	struct probe *p = q->userdata;

	return p->tokens >= cusekit_request_tag(req) ? (ssize_t)cusekit_request_tag(req) : -EAGAIN;
}

static void queue_left(struct cusekit_waitq *q) { event('l'); }

static const struct cusekit_waitq_ops reader_ops = { .try_answer = reader_try, .left = queue_left };
static const struct cusekit_waitq_ops waiter_ops = { .try_answer = waiter_try };

static int probe_open(struct cusekit_client *c, struct cusekit_request *req)
{
	event('o');
	return cusekit_request_caller(req)->uid == 666 ? -EACCES : 0;
}

static void probe_release(struct cusekit_client *c) { event('r'); }

static ssize_t probe_read(struct cusekit_client *c, struct cusekit_request *req, size_t size)
{
	struct probe *p = cusekit_client_userdata(c);

	return cusekit_answer_or_park(&p->readers, req);
}

static void probe_read_done(struct cusekit_client *c, size_t bytes, bool delivered)
{
	event(delivered ? 'd' : 'u');
}

/* A write parks until read: its copy of the data is what is answered. */
static ssize_t probe_write(struct cusekit_client *c, struct cusekit_request *req, const void *buf, size_t size)
{
	struct probe *p = cusekit_client_userdata(c);

	if (size == 3 && !memcmp(buf, "bad", 3)) {
		/* The bug the contract catches: parked, and answered too. */
		cusekit_park(&p->readers, req);
		return 1;
	}
	p->tokens += (unsigned)size;
	cusekit_waitq_run(&p->readers);
	cusekit_waitq_run(&p->waiters);
	cusekit_device_wake_all(c->device);
	return (ssize_t)size;
}

static unsigned probe_poll(struct cusekit_client *c)
{
	struct probe *p = cusekit_client_userdata(c);

	return p->tokens ? POLLIN : 0;
}

static int probe_echo(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	const struct probe_echo *e = in;
	struct probe_echo *reply = out;

	reply->value = e->value;
	reply->twice = e->value * 2;
	return 7;
}

static int probe_count(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return (int)((struct probe *)cusekit_client_userdata(c))->tokens;
}

static int probe_wait(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct probe *p = cusekit_client_userdata(c);

	cusekit_request_set_tag(req, 3);
	return cusekit_park(&p->waiters, req);
}

static int probe_bad(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return -70000; /* neither a result nor an errno */
}

static const struct cusekit_ioctl probe_ioctls[] = {
	{ PROBE_IOC_ECHO, probe_echo },
	{ PROBE_IOC_COUNT, probe_count },
	{ PROBE_IOC_WAIT, probe_wait },
	{ PROBE_IOC_BAD, probe_bad },
	{}
};

static void probe_init(void *userdata)
{
	struct probe *p = userdata;

	p->read_result = 5;
	cusekit_waitq_init(&p->readers, &reader_ops, p);
	cusekit_waitq_init(&p->waiters, &waiter_ops, p);
}

static void probe_stop(struct cusekit_device *d) { event('s'); }

static const struct cusekit_device_ops probe_device = {
	.name = "probe",
	.description = "A probe of the framework's contracts.",
	.node_mode = 0600,
	.node_group = "cusekit-no-such-group",
	.size = sizeof(struct probe),
	.init = probe_init,
	.stop = probe_stop,
	.open = probe_open,
	.release = probe_release,
	.read = probe_read,
	.read_done = probe_read_done,
	.write = probe_write,
	.poll = probe_poll,
	.ioctls = probe_ioctls,
};

static struct cusekit_device *d;
static struct probe *probe;

static void setup(void)
{
	char *argv[] = { "probe", "--state-dir=/nonexistent", NULL };

	events[0] = '\0';
	ck_assert_int_eq(fake_device_start(&probe_device, 2, argv, &d), 0);
	probe = cusekit_device_userdata(d);
}

static void teardown(void) { device_free(d); }

static struct cusekit_client *open_as(uid_t uid)
{
	struct fake_request rq;
	struct cusekit_client *c;

	fake_request_init(&rq, 100, uid, uid);
	ck_assert_int_eq(device_open(d, &rq, O_RDWR, &c), 0);
	return c;
}

static void write_tokens(struct cusekit_client *c, const char *data)
{
	struct fake_request rq;

	fake_request_init(&rq, 100, 0, 0);
	device_write(d, &rq, c, data, strlen(data), false);
	ck_assert_int_eq(rq.answer, FAKE_WRITTEN);
	ck_assert_uint_eq(rq.size, strlen(data));
}

START_TEST(test_answers)
{
	struct cusekit_client *c = open_as(1000);
	struct probe_echo echo = { .value = 21 };
	struct fake_request rq;

	/* A read's bytes, a write's count. */
	write_tokens(c, "t");
	fake_request_init(&rq, 100, 1000, 1000);
	device_read(d, &rq, c, 10, false);
	ck_assert_int_eq(rq.answer, FAKE_DATA);
	ck_assert_uint_eq(rq.size, 5);
	ck_assert_mem_eq(rq.data, "xxxxx", 5);
	fake_request_done(&rq);

	/* An ioctl's return value and its output. */
	device_ioctl(d, &rq, c, PROBE_IOC_ECHO, &echo, sizeof(echo), sizeof(echo));
	ck_assert_int_eq(rq.answer, FAKE_IOCTL);
	ck_assert_int_eq(rq.result, 7);
	ck_assert_uint_eq(rq.size, sizeof(echo));
	ck_assert_uint_eq(((struct probe_echo *)rq.data)->twice, 42);
	fake_request_done(&rq);
	device_ioctl(d, &rq, c, PROBE_IOC_COUNT, NULL, 0, 0);
	ck_assert_int_eq(rq.answer, FAKE_IOCTL);
	ck_assert_int_eq(rq.result, 0);

	/* -errno fails the request alone. */
	device_read(d, &rq, c, 10, true);
	ck_assert_int_eq(rq.answer, FAKE_ERROR);
	ck_assert_int_eq(rq.error, EAGAIN);
	fake_request_done(&rq);
}
END_TEST

START_TEST(test_results_no_handler_may_give)
{
	struct cusekit_client *c = open_as(1000);
	struct fake_request rq;

	/* More bytes than asked for, and a number that is no errno. */
	write_tokens(c, "tt");
	probe->read_result = 9;
	fake_request_init(&rq, 100, 1000, 1000);
	device_read(d, &rq, c, 10, false);
	ck_assert_int_eq(rq.answer, FAKE_DATA);
	probe->read_result = 11;
	device_read(d, &rq, c, 10, false);
	ck_assert_int_eq(rq.answer, FAKE_ERROR);
	ck_assert_int_eq(rq.error, EIO);
	device_ioctl(d, &rq, c, PROBE_IOC_BAD, NULL, 0, 0);
	ck_assert_int_eq(rq.answer, FAKE_ERROR);
	ck_assert_int_eq(rq.error, EIO);
	/* Parked and answered: the request fails, nothing stays parked. */
	device_write(d, &rq, c, "bad", 3, false);
	ck_assert_int_eq(rq.answer, FAKE_ERROR);
	ck_assert_int_eq(rq.error, EIO);
	ck_assert(cusekit_waitq_empty(&probe->readers));
	fake_request_done(&rq);
}
END_TEST

START_TEST(test_ioctl_sizes)
{
	struct cusekit_client *c = open_as(1000);
	struct probe_echo echo = {};
	struct cusekit_info info;
	struct fake_request rq;

	fake_request_init(&rq, 100, 1000, 1000);
	device_ioctl(d, &rq, c, _IO('P', 99), NULL, 0, 0);
	ck_assert_int_eq(rq.error, ENOTTY);
	/* A known number with sizes the kernel would not have sent. */
	device_ioctl(d, &rq, c, PROBE_IOC_ECHO, &echo, sizeof(echo) - 1, sizeof(echo));
	ck_assert_int_eq(rq.error, EINVAL);
	device_ioctl(d, &rq, c, PROBE_IOC_ECHO, &echo, sizeof(echo), sizeof(echo) - 1);
	ck_assert_int_eq(rq.error, EINVAL);
	/* Every device answers GET_INFO. */
	device_ioctl(d, &rq, c, CUSEKIT_IOC_GET_INFO, NULL, 0, sizeof(info));
	ck_assert_int_eq(rq.answer, FAKE_IOCTL);
	memcpy(&info, rq.data, sizeof(info));
	ck_assert_uint_eq(info.clients_open, 1);
	ck_assert_uint_eq(info.opens_total, 1);
	ck_assert_str_eq(info.name, "probe");
	fake_request_done(&rq);
}
END_TEST

START_TEST(test_wait_queue_order)
{
	struct cusekit_client *c = open_as(1000);
	struct fake_request rq[3];
	struct fake_poller poller = {};

	ck_assert_uint_eq(device_poll(d, c, &poller), 0);
	for (int i = 0; i < 3; i++) {
		fake_request_init(&rq[i], 100 + i, 1000, 1000);
		device_read(d, &rq[i], c, 10 + (size_t)i, false);
		ck_assert_int_eq(rq[i].answer, FAKE_PENDING);
	}
	/* Two tokens: the two oldest readers, in order; the third waits on. */
	write_tokens(c, "tt");
	ck_assert_int_eq(rq[0].answer, FAKE_DATA);
	ck_assert_int_eq(rq[1].answer, FAKE_DATA);
	ck_assert_int_eq(rq[2].answer, FAKE_PENDING);
	ck_assert_uint_eq(poller.notified, 1);
	ck_assert_str_eq(events, "odd");

	/* A newcomer does not overtake the one waiting. */
	write_tokens(c, "t");
	ck_assert_int_eq(rq[2].answer, FAKE_DATA);
	for (int i = 0; i < 3; i++)
		fake_request_done(&rq[i]);
}
END_TEST

START_TEST(test_parked_ioctl)
{
	struct cusekit_client *c = open_as(1000);
	struct fake_request rq;

	fake_request_init(&rq, 100, 1000, 1000);
	device_ioctl(d, &rq, c, PROBE_IOC_WAIT, NULL, 0, 0);
	ck_assert_int_eq(rq.answer, FAKE_PENDING);
	write_tokens(c, "tt");
	ck_assert_int_eq(rq.answer, FAKE_PENDING);
	write_tokens(c, "t");
	ck_assert_int_eq(rq.answer, FAKE_IOCTL);
	ck_assert_int_eq(rq.result, 3);
	fake_request_done(&rq);
}
END_TEST

START_TEST(test_interrupt_and_delivery)
{
	struct cusekit_client *c = open_as(1000);
	struct fake_request rq, late;

	fake_request_init(&rq, 100, 1000, 1000);
	device_read(d, &rq, c, 10, false);
	fake_interrupt(&rq);
	ck_assert_int_eq(rq.answer, FAKE_ERROR);
	ck_assert_int_eq(rq.error, EINTR);
	ck_assert_str_eq(events, "ol");
	ck_assert(cusekit_waitq_empty(&probe->readers));

	/* A reader gone before its answer: the device hears it was not
	 * delivered, and keeps what the answer took. */
	fake_request_init(&late, 101, 1000, 1000);
	device_read(d, &late, c, 10, false);
	late.gone = true;
	write_tokens(c, "t");
	ck_assert_int_eq(late.answer, FAKE_PENDING);
	ck_assert_str_eq(events, "olu");
	fake_request_done(&rq);
}
END_TEST

START_TEST(test_release_answers_parked)
{
	struct cusekit_client *c = open_as(1000), *other = open_as(1001);
	struct fake_request rq;

	fake_request_init(&rq, 100, 1000, 1000);
	device_read(d, &rq, c, 10, false);
	device_release(d, c);
	ck_assert_int_eq(rq.error, EINTR);
	ck_assert_str_eq(events, "oolr");
	/* The other client goes on. */
	write_tokens(other, "t");
	fake_request_done(&rq);
}
END_TEST

START_TEST(test_stop_order)
{
	struct cusekit_client *c = open_as(1000);
	struct fake_request rq, w;

	fake_request_init(&rq, 100, 1000, 1000);
	device_read(d, &rq, c, 10, false);
	fake_request_init(&w, 100, 1000, 1000);
	device_ioctl(d, &w, c, PROBE_IOC_WAIT, NULL, 0, 0);
	device_stop(d, "test", 0);
	/* Parked answered (no queue told), the client released, then stop. */
	ck_assert_int_eq(rq.error, ENODEV);
	ck_assert_int_eq(w.error, ENODEV);
	ck_assert_str_eq(events, "ors");
	ck_assert_uint_eq(d->clients_open, 0);
	/* No new client on a stopped device. */
	fake_request_init(&rq, 100, 1000, 1000);
	ck_assert_int_eq(device_open(d, &rq, O_RDWR, &c), -ENODEV);
	fake_request_done(&rq);
	fake_request_done(&w);
}
END_TEST

START_TEST(test_callers_and_groups)
{
	gid_t groups[] = { 5, 77 };
	struct fake_request rq;
	struct cusekit_request req = { .device = d };
	struct cusekit_client *c;

	/* The open handler sees the caller. */
	fake_request_init(&rq, 100, 666, 666);
	ck_assert_int_eq(device_open(d, &rq, O_RDWR, &c), -EACCES);
	ck_assert_uint_eq(d->clients_open, 0);

	/* One policy for a group that does not exist: it grants nothing. */
	ck_assert_uint_eq(cusekit_device_group(d), CUSEKIT_NO_GROUP);
	ck_assert_uint_eq(cusekit_group_resolve("cusekit-no-such-group", "test"), CUSEKIT_NO_GROUP);
	ck_assert_uint_eq(cusekit_group_resolve("root", "test"), 0);
	fake_request_init(&rq, 100, 1000, 1000);
	rq.groups = groups;
	rq.n_groups = 2;
	req.handle = &rq;
	req.caller = rq.caller;
	ck_assert_int_eq(cusekit_request_privileged(&req, CUSEKIT_NO_GROUP), 0);
	ck_assert_int_eq(cusekit_request_privileged(&req, 77), 1);
	ck_assert_int_eq(cusekit_request_privileged(&req, 1000), 1);
	ck_assert_int_eq(cusekit_request_privileged(&req, 78), 0);
	req.caller.uid = 0;
	ck_assert_int_eq(cusekit_request_privileged(&req, CUSEKIT_NO_GROUP), 1);
}
END_TEST

/* What one user may hold open is bounded; root is not, and a release gives
 * the user's turn back. */
START_TEST(test_opens_per_user)
{
	char *argv[] = { "probe", "--state-dir=/nonexistent", "--max-opens-per-user=3", NULL };
	struct cusekit_client *c[3], *other;
	struct fake_request rq;

	device_free(d);
	ck_assert_int_eq(fake_device_start(&probe_device, 3, argv, &d), 0);
	probe = cusekit_device_userdata(d);
	for (unsigned i = 0; i < 3; i++)
		c[i] = open_as(1000);
	fake_request_init(&rq, 100, 1000, 1000);
	ck_assert_int_eq(device_open(d, &rq, O_RDWR, &other), -EMFILE);
	ck_assert_uint_eq(d->clients_open, 3);
	/* Each user has a bound of their own. */
	for (unsigned i = 0; i < 3; i++)
		open_as(1001);
	for (unsigned i = 0; i < 5; i++)
		open_as(0);
	device_release(d, c[1]);
	open_as(1000);
	ck_assert_int_eq(device_open(d, &rq, O_RDWR, &other), -EMFILE);
	ck_assert_uint_eq(d->clients_open, 3 + 3 + 5);
}
END_TEST

START_TEST(test_parked_write_keeps_its_copy)
{
	struct cusekit_client *c = open_as(1000);
	char data[] = "abc";
	struct fake_request rq;
	struct cusekit_request *p;

	/* A request parked by hand, the way a device's write would. */
	struct cusekit_request req = {
		.device = d, .client = c, .handle = &rq, .kind = REQUEST_WRITE, .size = 3, .data = data,
	};

	fake_request_init(&rq, 100, 1000, 1000);
	ck_assert_int_eq(cusekit_park(&probe->waiters, &req), CUSEKIT_PARKED);
	p = req.parked_copy;
	memcpy(data, "xyz", 3);
	ck_assert_mem_eq(cusekit_request_data(p), "abc", 3);
	ck_assert_uint_eq(cusekit_request_size(p), 3);
	fake_interrupt(&rq);
	ck_assert_int_eq(rq.error, EINTR);
}
END_TEST

static Suite *framework_suite(void)
{
	Suite *s = suite_create("framework");
	TCase *tc = tcase_create("contracts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_answers);
	tcase_add_test(tc, test_results_no_handler_may_give);
	tcase_add_test(tc, test_ioctl_sizes);
	tcase_add_test(tc, test_wait_queue_order);
	tcase_add_test(tc, test_parked_ioctl);
	tcase_add_test(tc, test_interrupt_and_delivery);
	tcase_add_test(tc, test_release_answers_parked);
	tcase_add_test(tc, test_stop_order);
	tcase_add_test(tc, test_callers_and_groups);
	tcase_add_test(tc, test_parked_write_keeps_its_copy);
	tcase_add_test(tc, test_opens_per_user);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(framework_suite());
}
