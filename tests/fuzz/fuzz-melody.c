/* SPDX-License-Identifier: MIT */
/*
 * Melody: notes written by several clients into a small queue (writers
 * park, all or nothing), DRAIN and FLUSH parked meanwhile, played by the
 * real player thread on the null output (it keeps time, makes no sound).
 */
#include <string.h>

#include <cusekit/melody.h>

#include "fuzz-driver.h"

extern const struct cusekit_device_ops melody_device;

static const char *const small[] = { "--output=null", "--queue-size=4", NULL };
static const char *const usual[] = { "--output=null", NULL };
static const char *const *const configs[] = { small, usual, NULL };

static const unsigned ioctls[] = { MELODY_IOC_GET_STATUS, MELODY_IOC_FLUSH, MELODY_IOC_DRAIN, 0 };

static const char *const groups[] = { "audio", NULL };

/* Valid notes, short ones: they play out while the input runs. */
static void fix_write(void *buf, size_t size, bool tame)
{
	for (size_t i = 0; tame && i + sizeof(struct melody_note) <= size; i += sizeof(struct melody_note)) {
		struct melody_note n;

		memcpy(&n, (char *)buf + i, sizeof(n));
		n.frequency = n.frequency % 3 == 0 ? 0 : MELODY_FREQUENCY_MIN + n.frequency % 2000;
		n.duration = MELODY_DURATION_MIN + n.duration % 8;
		n.delay %= 4;
		n.repeat %= 3;
		memcpy((char *)buf + i, &n, sizeof(n));
	}
}

/* Take the player's progress. Nothing waits for it: notes last 1 to 8 ms,
 * and a device lives for many inputs, so notes queued by one input
 * complete during later ones. */
static void op(struct cusekit_device *d, uint8_t arg)
{
	fuzz_pump(d);
}

const struct fuzz_target fuzz_target = {
	.ops = &melody_device,
	.configs = configs,
	.ioctls = ioctls,
	.record_size = sizeof(struct melody_note),
	/* A start spawns the player thread and its buffers: 7 ms a start
	 * under ASan here, most of an input's time. */
	.inputs_per_life = 64,
	.groups = groups,
	.fix_write = fix_write,
	.op = op,
};
