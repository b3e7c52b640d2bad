/* SPDX-License-Identifier: MIT */
/* Options: command line, settings file, and their order. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "options.h"
#include "check-run.h"

struct fake {
	long level;
	bool flag;
	int calls;
};

static int parse_level(void *userdata, const char *arg)
{
	struct fake *f = userdata;
	char *end;

	f->calls++;
	f->level = strtol(arg, &end, 10);
	return *end || f->level < 0 ? -EINVAL : 0;
}

static int parse_flag(void *userdata, const char *arg)
{
	((struct fake *)userdata)->flag = true;
	return 0;
}

static const struct cusekit_option fake_options[] = {
	{ "level", true, "N  a level", parse_level },
	{ "flag", false, "   a flag", parse_flag },
	{}
};

static const struct cusekit_device_ops fake_ops = {
	.name = "fake",
	.description = "A device for tests.",
	.options = fake_options,
};

static int parse(struct fake *f, struct cusekit_settings *s, const char *const *args)
{
	char *argv[16] = { "faked" };
	int argc = 1;

	for (; args && *args; args++)
		argv[argc++] = (char *)*args;
	unsetenv("STATE_DIRECTORY");
	return cusekit_parse_args(argc, argv, &fake_ops, f, s);
}

static FILE *config(const char *text)
{
	return fmemopen((void *)text, strlen(text), "r");
}

START_TEST(test_defaults)
{
	struct cusekit_settings s = {};
	struct fake f = {};
	const char *const args[] = { "--config=/dev/null", NULL };

	ck_assert_int_eq(parse(&f, &s, args), 0);
	ck_assert_int_eq(s.transport, CUSEKIT_TRANSPORT_AUTO);
	ck_assert_str_eq(s.name, "fake");
	ck_assert_str_eq(s.fuse_dir, "/run/cusekit");
	ck_assert_str_eq(s.state_dir, "/var/lib/cusekit/fake");
	ck_assert_int_eq(s.log_level, LOG_INFO);
	ck_assert_uint_eq(s.max_opens_per_user, CUSEKIT_MAX_OPENS_PER_USER);
	cusekit_settings_done(&s);
}
END_TEST

START_TEST(test_command_line)
{
	struct cusekit_settings s = {};
	struct fake f = {};
	const char *const args[] = { "--config=/dev/null", "--transport=fuse", "--name=fake-2", "--fuse-dir=/tmp/x",
				     "--state-dir=/tmp/y", "--level=7", "--flag", "-v", "--max-opens-per-user=5", NULL };

	ck_assert_int_eq(parse(&f, &s, args), 0);
	ck_assert_int_eq(s.transport, CUSEKIT_TRANSPORT_FUSE);
	ck_assert_str_eq(s.name, "fake-2");
	ck_assert_str_eq(s.fuse_dir, "/tmp/x");
	ck_assert_str_eq(s.state_dir, "/tmp/y");
	ck_assert_int_eq(f.level, 7);
	ck_assert(f.flag);
	ck_assert_int_eq(s.log_level, LOG_DEBUG);
	ck_assert_uint_eq(s.max_opens_per_user, 5);
	cusekit_settings_done(&s);
}
END_TEST

START_TEST(test_bad_values_refused)
{
	static const char *const bad[][3] = {
		{ "--transport=usb" }, { "--name=../etc" }, { "--name=" }, { "--name=a/b" },
		{ "--fuse-dir=relative" }, { "--level=x" }, { "--level=-1" }, { "--flag=1" },
		{ "--unknown" }, { "stray-argument" }, { "--max-opens-per-user=0" },
		{ "--max-opens-per-user=1048577" }, { "--max-opens-per-user=-1" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cusekit_settings s = {};
		struct fake f = {};
		const char *const args[] = { "--config=/dev/null", bad[i][0], NULL };

		ck_assert_msg(parse(&f, &s, args) < 0, "%s accepted", bad[i][0]);
		cusekit_settings_done(&s);
	}
}
END_TEST

START_TEST(test_help_and_version_stop)
{
	struct cusekit_settings s = {};
	struct fake f = {};
	const char *const help[] = { "--help", NULL }, *const version[] = { "--version", NULL };

	ck_assert_int_eq(parse(&f, &s, help), 1);
	cusekit_settings_done(&s);
	ck_assert_int_eq(parse(&f, &s, version), 1);
	cusekit_settings_done(&s);
}
END_TEST

START_TEST(test_config_file)
{
	struct cusekit_settings s = {};
	struct fake f = {};
	FILE *c = config("# a comment\n\n  level = 12   # trailing comment\nflag\ntransport=cuse\n");

	ck_assert_int_eq(cusekit_parse_config(c, "fake.conf", &fake_ops, &f, &s), 0);
	fclose(c);
	ck_assert_int_eq(f.level, 12);
	ck_assert(f.flag);
	ck_assert_int_eq(s.transport, CUSEKIT_TRANSPORT_CUSE);
	cusekit_settings_done(&s);
}
END_TEST

START_TEST(test_config_errors)
{
	static const char *const bad[] = {
		"nonsense = 1\n", "level\n", "level =\n", "flag = yes\n", "level = 1x\n", "help\n", "config = /x\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cusekit_settings s = {};
		struct fake f = {};
		FILE *c = config(bad[i]);

		ck_assert_msg(cusekit_parse_config(c, "fake.conf", &fake_ops, &f, &s) < 0, "'%s' accepted", bad[i]);
		fclose(c);
		cusekit_settings_done(&s);
	}
}
END_TEST

/* The file is read first; the command line overrides it. */
START_TEST(test_command_line_wins)
{
	char path[] = "/tmp/cusekit-unit-options-XXXXXX", arg[64];
	struct cusekit_settings s = {};
	struct fake f = {};
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "level = 3\n", 10), 10);
	close(fd);
	snprintf(arg, sizeof(arg), "--config=%s", path);
	const char *const args[] = { "--level=9", arg, NULL };

	ck_assert_int_eq(parse(&f, &s, args), 0);
	ck_assert_int_eq(f.level, 9);
	ck_assert_int_eq(f.calls, 2);
	unlink(path);
	cusekit_settings_done(&s);

	/* A settings file named on the command line must exist. */
	const char *const missing[] = { "--config=/nonexistent/fake.conf", NULL };
	ck_assert_int_lt(parse(&f, &s, missing), 0);
	cusekit_settings_done(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("options");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_command_line);
	tcase_add_test(tc, test_bad_values_refused);
	tcase_add_test(tc, test_help_and_version_stop);
	tcase_add_test(tc, test_config_file);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_command_line_wins);
	suite_add_tcase(s, tc);
	return check_run(s);
}
