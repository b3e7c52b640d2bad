/* SPDX-License-Identifier: MIT */
/* State files: round trip, and every kind of damage is refused, not trusted. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "state.h"
#include "../check-run.h"

static char dir[] = "/tmp/cusekit-unit-state-XXXXXX";
static char path[256];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/state", dir);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir, "/tmp/cusekit-unit-state-XXXXXX");
}

START_TEST(test_crc32_vector)
{
	/* The standard check value of CRC-32/ISO-HDLC. */
	ck_assert_uint_eq(cusekit_crc32("123456789", 9), 0xcbf43926u);
	ck_assert_uint_eq(cusekit_crc32("", 0), 0);
}
END_TEST

START_TEST(test_round_trip)
{
	const char payload[] = "counters and rules";
	_cleanup_free_ void *data = NULL;
	size_t size;

	ck_assert_int_eq(cusekit_state_save(path, 3, payload, sizeof(payload)), 0);
	ck_assert_int_eq(cusekit_state_load(path, 3, &data, &size), 0);
	ck_assert_uint_eq(size, sizeof(payload));
	ck_assert_mem_eq(data, payload, size);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_missing_is_enoent)
{
	void *data = NULL;
	size_t size;

	ck_assert_int_eq(cusekit_state_load(path, 1, &data, &size), -ENOENT);
	ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_other_version_refused)
{
	void *data = NULL;
	size_t size;

	ck_assert_int_eq(cusekit_state_save(path, 1, "x", 1), 0);
	ck_assert_int_eq(cusekit_state_load(path, 2, &data, &size), -EBADMSG);
}
END_TEST

/* Flip one byte anywhere, cut the file anywhere, or add a byte: refused. */
START_TEST(test_damage_refused)
{
	const char payload[] = "0123456789abcdef";
	_cleanup_free_ char *original = NULL;
	long length;
	FILE *f;

	ck_assert_int_eq(cusekit_state_save(path, 1, payload, sizeof(payload)), 0);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	length = ftell(f);
	rewind(f);
	original = malloc((size_t)length);
	ck_assert_int_eq(fread(original, 1, (size_t)length, f), length);
	fclose(f);

	for (long i = 0; i <= length; i++) {
		for (int kind = 0; kind < 3; kind++) {
			void *data = NULL;
			size_t size;

			f = fopen(path, "wb");
			if (kind == 0 && i < length) { /* flip */
				original[i] ^= 0x40;
				fwrite(original, 1, (size_t)length, f);
				original[i] ^= 0x40;
			} else if (kind == 1 && i < length) /* truncate */
				fwrite(original, 1, (size_t)i, f);
			else if (kind == 2 && i == length) { /* trailing garbage */
				fwrite(original, 1, (size_t)length, f);
				fputc('!', f);
			} else {
				fclose(f);
				continue;
			}
			fclose(f);
			ck_assert_msg(cusekit_state_load(path, 1, &data, &size) == -EBADMSG,
				      "damage kind %d at %ld accepted", kind, i);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_crc32_vector);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_missing_is_enoent);
	tcase_add_test(tc, test_other_version_refused);
	tcase_add_test(tc, test_damage_refused);
	suite_add_tcase(s, tc);
	return check_run(s);
}
