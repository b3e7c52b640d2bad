/* SPDX-License-Identifier: MIT */
/* State files: round trip, every kind of damage refused, not trusted; no
 * kind of file at the state path blocks or is trusted; mapped state survives
 * the death of its process. */
#include <check.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"
#include "state.h"
#include "check-run.h"

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
	ck_assert_int_eq(cusekit_state_load(path, 3, "test state", &data, &size), 0);
	ck_assert_uint_eq(size, sizeof(payload));
	ck_assert_mem_eq(data, payload, size);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_missing_is_enoent)
{
	void *data = NULL;
	size_t size;

	ck_assert_int_eq(cusekit_state_load(path, 1, "test state", &data, &size), -ENOENT);
	ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_other_version_refused)
{
	void *data = NULL;
	size_t size;

	ck_assert_int_eq(cusekit_state_save(path, 1, "x", 1), 0);
	ck_assert_int_eq(cusekit_state_load(path, 2, "test state", &data, &size), -EBADMSG);
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
			ck_assert_msg(cusekit_state_load(path, 1, "test state", &data, &size) == -EBADMSG,
				      "damage kind %d at %ld accepted", kind, i);
		}
	}
}
END_TEST


/* Whatever sits at the state path that is not a regular file is refused at
 * once: a FIFO must not block the daemon's start, a device must not be
 * opened at all. Saving then replaces it. */
START_TEST(test_odd_files_refused)
{
	char sub[300];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock;

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	ck_assert_int_eq(mkdir_p(sub, 0700), 0);
	for (int kind = 0; kind < 5; kind++) {
		void *data = NULL, *map = NULL;
		size_t size;

		unlink(path);
		rmdir(path);
		switch (kind) {
		case 0:
			ck_assert_int_eq(mkfifo(path, 0600), 0);
			break;
		case 1:
			ck_assert_int_eq(mkdir(path, 0700), 0);
			break;
		case 2:
			ck_assert_int_eq(symlink("/dev/zero", path), 0);
			break;
		case 3:
			ck_assert_int_eq(mknod(path, S_IFCHR | 0600, makedev(1, 5)), 0); /* a /dev/zero */
			break;
		case 4:
			sock = socket(AF_UNIX, SOCK_STREAM, 0);
			ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
			memcpy(sa.sun_path, path, strlen(path) + 1);
			ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
			close(sock);
			break;
		}
		ck_assert_int_lt(cusekit_state_load(path, 1, "test state", &data, &size), 0);
		ck_assert_int_ne(cusekit_state_load(path, 1, "test state", &data, &size), -ENOENT);
		ck_assert_ptr_null(data);
		if (kind == 1) {
			/* A directory cannot be replaced by a file: a clear error. */
			ck_assert_int_lt(cusekit_state_save(path, 1, "x", 1), 0);
			ck_assert_int_lt(cusekit_state_map(path, 1, "test state", 8, &map), 0);
			continue;
		}
		ck_assert_int_eq(cusekit_state_map(path, 1, "test state", 8, &map), 0);
		cusekit_state_unmap(map, 8);
		ck_assert_int_eq(cusekit_state_save(path, 1, "x", 1), 0);
		ck_assert_int_eq(cusekit_state_load(path, 1, "test state", &data, &size), 0);
		free(data);
	}
}
END_TEST

/* A FIFO planted at the temporary name must not block a save either. */
START_TEST(test_fifo_at_temporary_name)
{
	char tmp[300];
	void *data = NULL;
	size_t size;

	ck_assert_int_eq(cusekit_state_save(path, 1, "a", 1), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(mkfifo(tmp, 0600), 0);
	ck_assert_int_eq(cusekit_state_save(path, 1, "b", 1), 0);
	ck_assert_int_eq(cusekit_state_load(path, 1, "test state", &data, &size), 0);
	ck_assert_mem_eq(data, "b", 1);
	free(data);
}
END_TEST

/* Mapped state: what the process stored is there after it died without a
 * word (the page cache has it), and a damaged file starts fresh. */
START_TEST(test_mapped_survives_death)
{
	uint64_t *counters;
	void *map;
	pid_t pid;
	int status;
	FILE *f;

	ck_assert_int_eq(cusekit_state_map(path, 2, "test state", 16, &map), 0);
	counters = map;
	ck_assert_uint_eq(counters[0], 0);
	cusekit_state_unmap(map, 16);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (cusekit_state_map(path, 2, "test state", 16, &map) != 1)
			_exit(2);
		((uint64_t *)map)[0] = 1234567;
		((uint64_t *)map)[1] = 42;
		raise(SIGKILL);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));

	ck_assert_int_eq(cusekit_state_map(path, 2, "test state", 16, &map), 1);
	counters = map;
	ck_assert_uint_eq(counters[0], 1234567);
	ck_assert_uint_eq(counters[1], 42);
	ck_assert_int_eq(cusekit_state_sync(map, 16), 0);
	cusekit_state_unmap(map, 16);

	/* Another version, another size, a short file: fresh, zeroed. */
	ck_assert_int_eq(cusekit_state_map(path, 3, "test state", 16, &map), 0);
	ck_assert_uint_eq(((uint64_t *)map)[0], 0);
	cusekit_state_unmap(map, 16);
	ck_assert_int_eq(cusekit_state_map(path, 3, "test state", 24, &map), 0);
	cusekit_state_unmap(map, 24);
	ck_assert_int_eq(truncate(path, 30), 0);
	ck_assert_int_eq(cusekit_state_map(path, 3, "test state", 24, &map), 0);
	cusekit_state_unmap(map, 24);
	/* Saved state is not mapped state, nor the other way round. */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(cusekit_state_load(path, 3, "test state", &map, &(size_t){ 0 }), -EBADMSG);
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
	tcase_add_test(tc, test_odd_files_refused);
	tcase_add_test(tc, test_fifo_at_temporary_name);
	tcase_add_test(tc, test_mapped_survives_death);
	suite_add_tcase(s, tc);
	return check_run(s);
}
