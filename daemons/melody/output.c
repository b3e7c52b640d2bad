/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "output.h"

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define BITS_PER_LONG (8 * sizeof(long))
#define TEST_BIT(bit, array) (((array)[(bit) / BITS_PER_LONG] >> ((bit) % BITS_PER_LONG)) & 1)

/* Log an output's I/O error once: a speaker that fails keeps failing, and
 * the schedule goes on regardless. */
static int output_failed(struct melody_output *o, int r, const char *what)
{
	if (!o->failed)
		log_error_errno(r, "%s on %s failed, going on silently: %m", what, o->name);
	o->failed = true;
	return r;
}

/* "kind" or "kind:arg": what GET_STATUS and the log call the output. */
static int output_set_name(struct melody_output *o, const char *kind, const char *arg)
{
	free(o->name);
	o->name = NULL;
	if (asprintf(&o->name, "%s%s%s", kind, arg ? ":" : "", arg ?: "") < 0)
		return log_oom();
	return 0;
}

/* null: keeps time, makes no sound. */

static int null_open(struct melody_output *o, const char *arg)
{
	return output_set_name(o, "null", NULL);
}

static int null_tone(struct melody_output *o, unsigned hz)
{
	return 0;
}

static const struct melody_output_ops null_output = {
	.kind = "null",
	.open = null_open,
	.tone = null_tone,
};

/* pcspkr: the PC speaker's evdev node, which takes EV_SND/SND_TONE events. */

static bool evdev_has_tone(int fd)
{
	unsigned long types[EV_MAX / BITS_PER_LONG + 1] = {}, sounds[SND_MAX / BITS_PER_LONG + 1] = {};

	if (ioctl(fd, EVIOCGBIT(0, sizeof(types)), types) < 0 || !TEST_BIT(EV_SND, types))
		return false;
	if (ioctl(fd, EVIOCGBIT(EV_SND, sizeof(sounds)), sounds) < 0)
		return false;
	return TEST_BIT(SND_TONE, sounds);
}

static int evdev_open_tone(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return negative_errno();
	if (!evdev_has_tone(fd)) {
		close(fd);
		return -ENOTTY;
	}
	return fd;
}

/* The first /dev/input/event* that can sound a tone. */
static int evdev_find_tone(char *path, size_t size)
{
	_cleanup_(closedirp) DIR *dir = opendir("/dev/input");
	struct dirent *de;

	if (!dir)
		return -ENODEV;
	while ((de = readdir(dir))) {
		int fd;

		if (strncmp(de->d_name, "event", 5))
			continue;
		snprintf(path, size, "/dev/input/%s", de->d_name);
		fd = evdev_open_tone(path);
		if (fd >= 0)
			return fd;
	}
	return -ENODEV;
}

static int pcspkr_open(struct melody_output *o, const char *arg)
{
	char path[PATH_MAX];
	int fd;

	if (arg) {
		snprintf(path, sizeof(path), "%s", arg);
		fd = evdev_open_tone(path);
	} else
		fd = evdev_find_tone(path, sizeof(path));
	if (fd == -ENOTTY)
		return log_full_errno(o->open_log_level, fd, "%s cannot sound a tone (no EV_SND/SND_TONE).", path);
	if (fd == -ENODEV && !arg)
		return log_full_errno(o->open_log_level, fd, "No input device with EV_SND/SND_TONE (is pcspkr loaded?).");
	if (fd < 0)
		return log_full_errno(o->open_log_level, fd, "Failed to open %s: %m", path);
	o->fd = fd;
	return output_set_name(o, "pcspkr", path);
}

static int pcspkr_tone(struct melody_output *o, unsigned hz)
{
	struct input_event ev = { .type = EV_SND, .code = SND_TONE, .value = (int)hz };

	if (write(o->fd, &ev, sizeof(ev)) != sizeof(ev))
		return output_failed(o, negative_errno(), "Setting the tone");
	return 0;
}

static void pcspkr_close(struct melody_output *o)
{
	pcspkr_tone(o, 0);
}

static const struct melody_output_ops pcspkr_output = {
	.kind = "pcspkr",
	.open = pcspkr_open,
	.tone = pcspkr_tone,
	.close = pcspkr_close,
};

/* alsa: synthesized samples into a PCM; PipeWire and PulseAudio serve it
 * through their ALSA plugins. */

#define ALSA_LATENCY_USEC 60000

/* libasound writes its own diagnostics to stderr; ours say what matters,
 * so its detail goes to the debug log. */
static void alsa_log(const char *file, int line, const char *function, int err, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	log_debug("ALSA %s:%d %s: %s%s%s", file, line, function, message, err ? ": " : "",
		  err ? snd_strerror(err) : "");
}

static int alsa_open(struct melody_output *o, const char *arg)
{
	const char *device = arg ?: "default";
	int r;

	snd_lib_error_set_handler(alsa_log);
	r = snd_pcm_open(&o->pcm, device, SND_PCM_STREAM_PLAYBACK, 0);
	if (r < 0)
		return log_full_errno(o->open_log_level, r, "Failed to open ALSA PCM %s: %s", device, snd_strerror(r));
	r = snd_pcm_set_params(o->pcm, SND_PCM_FORMAT_S16, SND_PCM_ACCESS_RW_INTERLEAVED, 1, MELODY_RATE,
			       1, ALSA_LATENCY_USEC);
	if (r < 0) {
		snd_pcm_close(TAKE_PTR(o->pcm));
		return log_full_errno(o->open_log_level, r, "Failed to set up ALSA PCM %s (S16 mono %u Hz): %s", device,
				       MELODY_RATE, snd_strerror(r));
	}
	return output_set_name(o, "alsa", device);
}

static int alsa_write(struct melody_output *o, const int16_t *samples, size_t count)
{
	while (count > 0) {
		snd_pcm_sframes_t n = snd_pcm_writei(o->pcm, samples, count);

		if (n < 0) {
			/* An underrun after an idle spell is normal: restart. */
			int r = snd_pcm_recover(o->pcm, (int)n, 1);

			if (r < 0)
				return output_failed(o, r, "Writing to the PCM");
			continue;
		}
		samples += n;
		count -= (size_t)n;
	}
	return 0;
}

static void alsa_silence(struct melody_output *o)
{
	snd_pcm_drop(o->pcm);
	snd_pcm_prepare(o->pcm);
}

static void alsa_close(struct melody_output *o)
{
	snd_pcm_drop(o->pcm);
	snd_pcm_close(TAKE_PTR(o->pcm));
}

static const struct melody_output_ops alsa_output = {
	.kind = "alsa",
	.open = alsa_open,
	.write = alsa_write,
	.silence = alsa_silence,
	.close = alsa_close,
	.lead_usec = ALSA_LATENCY_USEC / 2,
};

/* wav: a 16-bit mono PCM file whose sample clock is the schedule. The header
 * is brought up to date after every write, so the file is valid while the
 * daemon runs and after it stops, however it stops. */

#define WAV_HEADER_SIZE 44u
#define WAV_DATA_MAX (UINT32_MAX - WAV_HEADER_SIZE)

static void put_le16(unsigned char *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }
static void put_le32(unsigned char *p, uint32_t v)
{
	put_le16(p, v & 0xffff);
	put_le16(p + 2, v >> 16);
}

static int wav_write_header(struct melody_output *o)
{
	uint32_t data = (uint32_t)(o->frames * 2);
	unsigned char h[WAV_HEADER_SIZE];

	memcpy(h, "RIFF", 4);
	put_le32(h + 4, 36 + data);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le32(h + 16, 16);
	put_le16(h + 20, 1);                  /* PCM */
	put_le16(h + 22, 1);                  /* mono */
	put_le32(h + 24, MELODY_RATE);
	put_le32(h + 28, MELODY_RATE * 2);    /* bytes per second */
	put_le16(h + 32, 2);                  /* bytes per frame */
	put_le16(h + 34, 16);                 /* bits per sample */
	memcpy(h + 36, "data", 4);
	put_le32(h + 40, data);
	if (pwrite(o->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return output_failed(o, errno == 0 ? -ENOSPC : negative_errno(), "Writing the WAV header");
	return 0;
}

static int wav_open(struct melody_output *o, const char *arg)
{
	int r;

	if (!arg || !*arg)
		return log_error_errno(-EINVAL, "wav needs a file: --output=wav:PATH.");
	o->fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (o->fd < 0)
		return log_error_errno(negative_errno(), "Failed to create %s: %m", arg);
	r = output_set_name(o, "wav", arg);
	if (r < 0)
		return r;
	return wav_write_header(o);
}

static int wav_write(struct melody_output *o, const int16_t *samples, size_t count)
{
	unsigned char buf[2 * 4096];
	size_t n;

	if (o->failed)
		return -EIO;
	if ((o->frames + count) * 2 > WAV_DATA_MAX)
		return output_failed(o, -EFBIG, "Writing the WAV file");
	for (size_t done = 0; done < count; done += n) {
		off_t offset = (off_t)(WAV_HEADER_SIZE + (o->frames + done) * 2);

		n = MIN(count - done, sizeof(buf) / 2);
		for (size_t i = 0; i < n; i++)
			put_le16(buf + 2 * i, (uint16_t)samples[done + i]);
		if (pwrite(o->fd, buf, 2 * n, offset) != (ssize_t)(2 * n))
			return output_failed(o, errno == 0 ? -ENOSPC : negative_errno(), "Writing the WAV file");
	}
	o->frames += count;
	return wav_write_header(o);
}

static void wav_close(struct melody_output *o)
{
	if (!o->failed)
		wav_write_header(o);
}

static const struct melody_output_ops wav_output = {
	.kind = "wav",
	.open = wav_open,
	.write = wav_write,
	.close = wav_close,
};

static const struct melody_output_ops *const outputs[] = {
	&null_output, &pcspkr_output, &alsa_output, &wav_output,
};

/* Split "kind[:arg]"; the kind must be known. */
static const struct melody_output_ops *output_lookup(const char *spec, const char **arg)
{
	const char *colon = strchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);

	*arg = colon ? colon + 1 : NULL;
	for (size_t i = 0; i < ELEMENTSOF(outputs); i++)
		if (strlen(outputs[i]->kind) == len && !strncmp(spec, outputs[i]->kind, len))
			return outputs[i];
	return NULL;
}

int melody_output_spec_check(const char *spec)
{
	const struct melody_output_ops *ops;
	const char *arg;

	if (!strcmp(spec, "auto"))
		return 0;
	ops = output_lookup(spec, &arg);
	if (!ops || (ops == &null_output && arg) || (ops == &wav_output && (!arg || !*arg)) ||
	    (arg && !*arg))
		return -EINVAL;
	return 0;
}

static int output_open_one(struct melody_output *o, const struct melody_output_ops *ops, const char *arg,
			   int log_level)
{
	int r;

	*o = (struct melody_output){ .ops = ops, .fd = -1, .open_log_level = log_level };
	r = ops->open(o, arg);
	if (r < 0) {
		melody_output_close(o);
		return r;
	}
	return 0;
}

int melody_output_open(struct melody_output *o, const char *spec)
{
	const struct melody_output_ops *ops;
	const char *arg;
	int r;

	if (strcmp(spec, "auto")) {
		ops = output_lookup(spec, &arg);
		if (!ops)
			return log_error_errno(-EINVAL, "Unknown output '%s'.", spec);
		r = output_open_one(o, ops, arg, LOG_ERR);
		if (r >= 0)
			log_info("Output: %s.", o->name);
		return r;
	}
	/* auto: the first that exists; the others' absence is no error. */
	r = output_open_one(o, &pcspkr_output, NULL, LOG_INFO);
	if (r < 0)
		r = output_open_one(o, &alsa_output, NULL, LOG_INFO);
	if (r < 0)
		r = output_open_one(o, &null_output, NULL, LOG_ERR);
	if (r >= 0)
		log_info("Output (auto): %s.", o->name);
	return r;
}

void melody_output_close(struct melody_output *o)
{
	if (o->ops && o->ops->close && (o->fd >= 0 || o->pcm))
		o->ops->close(o);
	if (o->fd >= 0)
		close(o->fd);
	free(o->name);
	*o = (struct melody_output){ .fd = -1 };
}
