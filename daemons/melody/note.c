/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>

#include "note.h"

int melody_note_check(const struct melody_note *n)
{
	if (n->frequency != 0 && (n->frequency < MELODY_FREQUENCY_MIN || n->frequency > MELODY_FREQUENCY_MAX))
		return -EINVAL;
	if (n->duration < MELODY_DURATION_MIN || n->duration > MELODY_DURATION_MAX)
		return -EINVAL;
	if (n->delay > MELODY_DELAY_MAX || n->repeat > MELODY_REPEAT_MAX)
		return -EINVAL;
	return 0;
}

int melody_notes_check(const struct melody_note *notes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (melody_note_check(&notes[i]) < 0)
			return -EINVAL;
	return 0;
}

unsigned melody_note_repeats(const struct melody_note *n)
{
	return n->repeat ? n->repeat : 1;
}

uint64_t melody_note_length_ms(const struct melody_note *n)
{
	uint64_t repeats = melody_note_repeats(n);

	return repeats * n->duration + (repeats - 1) * n->delay;
}

bool melody_note_segment(const struct melody_note *n, unsigned k, struct melody_segment *s)
{
	if (k / 2 >= melody_note_repeats(n) || (k % 2 && k / 2 + 1 >= melody_note_repeats(n)))
		return false;
	if (k % 2)
		*s = (struct melody_segment){ .frequency = 0, .duration_ms = n->delay };
	else
		*s = (struct melody_segment){ .frequency = n->frequency, .duration_ms = n->duration };
	return true;
}

void melody_synth(int16_t *buf, size_t count, unsigned hz, uint64_t first, unsigned rate)
{
	for (size_t i = 0; i < count; i++) {
		/* hz * index mod rate: the phase in 1/rate turns, exact. */
		uint64_t phase = (uint64_t)hz * (first + i) % rate;

		buf[i] = hz ? (int16_t)lrint(MELODY_SYNTH_AMPLITUDE * sin(2 * M_PI * (double)phase / rate)) : 0;
	}
}
