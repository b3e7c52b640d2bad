/* SPDX-License-Identifier: MIT */
/*
 * The sysmon client against a running sysmond: text and JSON lines, JSON
 * that stays valid (parsed back with jansson) for argv that is not UTF-8,
 * Sysmon for Linux's XML events parsed back with libxml2 (EventIDs, Data
 * names and values), and the journal entries of --journal.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sysmon-test.h"

/* Runs the client with args (NULL-terminated) until it exits: once it holds
 * the device open (with its filter set), go is written to, which lets the
 * child the client waits for run. Returns the client's output. */
static char *run_client(const char *const args[], int go)
{
	char output[128], *out;
	const char *argv[16] = { build_path("clients/sysmon"), "--device", sysmond.node };
	size_t n = 3;
	pid_t client;
	int status, fd;
	struct stat st;

	for (; *args; args++)
		argv[n++] = *args;
	snprintf(output, sizeof(output), "%s/client-output", watch_dir);
	client = fork();
	ck_assert_int_ge(client, 0);
	if (client == 0) {
		fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* Once the client's open is done, events reach its queue (its filter
	 * keeps the child's). */
	daemon_wait_clients(&sysmond, 1);
	ck_assert_int_eq(write(go, "g", 1), 1);
	status = reap(client);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client status %d", status);
	fd = open(output, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	out = calloc(1, (size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(read(fd, out, (size_t)st.st_size), st.st_size);
	close(fd);
	return out;
}

/* A child that waits for a byte on the pipe, then execs argv (or exits
 * with code when argv is NULL). */
static pid_t child_on_go(int go[2], char *const argv[], int code)
{
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		if (argv) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, STDOUT_FILENO);
			execv(argv[0], argv);
		}
		_exit(code);
	}
	return pid;
}

START_TEST(test_client_text_and_json)
{
	char pid_arg[32], *out;
	int go[2];
	pid_t child;

	start_sysmon(NULL);
	for (int json = 0; json < 2; json++) {
		const char *args[] = { "-e", "exit", pid_arg, "--count=1", json ? "--json" : NULL, NULL };

		child = child_on_go(go, NULL, 5);
		snprintf(pid_arg, sizeof(pid_arg), "--pid=%d", (int)child);
		out = run_client(args, go[1]);
		ck_assert_int_eq(WEXITSTATUS(reap(child)), 5);
		close(go[0]);
		close(go[1]);
		snprintf(pid_arg, sizeof(pid_arg), "%d", (int)child);
		ck_assert_msg(strstr(out, pid_arg), "no pid %s in: %s", pid_arg, out);
		ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);   /* one line */
		if (json)
			ck_assert_msg(!strncmp(out, "{\"time\":\"", 9) && strstr(out, "\"type\":\"exit\"") &&
					      strstr(out, "\"exit_code\":5,\"signal\":0"),
				      "json: %s", out);
		else
			ck_assert_msg(strstr(out, " exit ") && strstr(out, "exit_code 5 signal 0"), "text: %s", out);
		free(out);
	}
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_client_json_invalid_utf8)
{
	char *const argv[] = { "/bin/echo", "ok \xc3\xa9", "bad \xff\xfe end", NULL };
	char pid_arg[32], *out;
	const char *args[] = { "-e", "exec", pid_arg, "--count=1", "--json", NULL };
	json_error_t error;
	json_t *j, *a;
	int go[2];
	pid_t child;

	start_sysmon(NULL);
	child = child_on_go(go, argv, 0);
	snprintf(pid_arg, sizeof(pid_arg), "--pid=%d", (int)child);
	out = run_client(args, go[1]);
	reap(child);
	j = json_loads(out, 0, &error);
	ck_assert_msg(j, "not JSON (%s): %s", error.text, out);
	a = json_object_get(j, "argv");
	ck_assert_uint_eq(json_array_size(a), 3);
	ck_assert_str_eq(json_string_value(json_array_get(a, 1)), "ok \xc3\xa9");
	ck_assert_str_eq(json_string_value(json_array_get(a, 2)), "bad \xef\xbf\xbd\xef\xbf\xbd end");
	a = json_object_get(j, "argv_hex");
	ck_assert_str_eq(json_string_value(json_array_get(a, 2)), "62616420fffe20656e64");
	json_decref(j);
	free(out);
	close(go[0]);
	close(go[1]);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

static char *xpath_string(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	char *s;

	ck_assert_ptr_nonnull(o);
	s = (char *)xmlXPathCastToString(o);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return s;
}

START_TEST(test_client_sysmon_xml)
{
	char *const argv[] = { "/bin/echo", "<tag> & \"quotes\"", "\x01", NULL };
	char pid_arg[32], image[PATH_MAX], *out, *line, *save = NULL, *guid[2] = {};
	const char *args[] = { "-e", "exec,exit", pid_arg, "--count=2", "--format=sysmon-xml", NULL };
	int go[2], events = 0;
	pid_t child;

	ck_assert_ptr_nonnull(realpath("/bin/echo", image));
	start_sysmon(NULL);
	child = child_on_go(go, argv, 0);
	snprintf(pid_arg, sizeof(pid_arg), "--pid=%d", (int)child);
	out = run_client(args, go[1]);
	reap(child);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), events++) {
		xmlDocPtr doc = xmlReadMemory(line, (int)strlen(line), "event.xml", NULL, XML_PARSE_NONET);
		char *id, *pid, *s;

		ck_assert_msg(doc, "not XML: %s", line);
		id = xpath_string(doc, "string(/Event/System/EventID)");
		pid = xpath_string(doc, "string(/Event/EventData/Data[@Name='ProcessId'])");
		snprintf(pid_arg, sizeof(pid_arg), "%d", (int)child);
		ck_assert_str_eq(pid, pid_arg);
		s = xpath_string(doc, "string(/Event/System/Provider/@Name)");
		ck_assert_str_eq(s, "Linux-Sysmon");
		xmlFree(s);
		guid[events] = xpath_string(doc, "string(/Event/EventData/Data[@Name='ProcessGuid'])");
		ck_assert_uint_eq(strlen(guid[events]), 38);
		if (events == 0) {
			ck_assert_str_eq(id, "1");   /* ProcessCreate */
			s = xpath_string(doc, "string(/Event/EventData/Data[@Name='Image'])");
			ck_assert_str_eq(s, image);
			xmlFree(s);
			s = xpath_string(doc, "string(/Event/EventData/Data[@Name='CommandLine'])");
			ck_assert_str_eq(s, "/bin/echo <tag> & \"quotes\" \xef\xbf\xbd");
			xmlFree(s);
			s = xpath_string(doc, "string(/Event/EventData/Data[@Name='User'])");
			ck_assert_str_eq(s, "root");
			xmlFree(s);
		} else
			ck_assert_str_eq(id, "5");   /* ProcessTerminate */
		xmlFree(id);
		xmlFree(pid);
		xmlFreeDoc(doc);
	}
	ck_assert_int_eq(events, 2);
	ck_assert_str_eq(guid[0], guid[1]);
	xmlFree(guid[0]);
	xmlFree(guid[1]);
	free(out);
	close(go[0]);
	close(go[1]);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* A child that waits for a byte on the pipe, then creates and removes
 * path and execs /bin/true. */
static pid_t file_child_on_go(int go[2], const char *path)
{
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		if (read(go[0], &c, 1) != 1 || (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
			_exit(1);
		close(fd);
		if (unlink(path) < 0)
			_exit(1);
		execl("/bin/true", "/bin/true", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The other Sysmon events: ImageLoad (7) with the mapping's address,
 * FileCreate (11) and FileDelete (23) with the file's name. */
START_TEST(test_client_sysmon_xml_images_and_files)
{
	char pid_arg[32], path[128], *out, *line, *save = NULL;
	const char *image_args[] = { "-e", "image", pid_arg, "--count=1", "--format=sysmon-xml", NULL };
	const char *file_args[] = { "-e", "file-create,file-delete", pid_arg, "--count=2", "--format=sysmon-xml", NULL };
	static const char *const file_ids[] = { "11", "23" };
	int go[2], events = 0, fd;
	pid_t child;
	bool addresses;

	start_sysmon(NULL);
	snprintf(path, sizeof(path), "%s/xml-file", watch_dir);
	fd = open_reader(0);
	addresses = get_status(fd).image_source == SYSMON_SOURCE_BPF;
	close(fd);
	daemon_wait_clients(&sysmond, 0);

	child = file_child_on_go(go, path);
	snprintf(pid_arg, sizeof(pid_arg), "--pid=%d", (int)child);
	out = run_client(image_args, go[1]);
	ck_assert_int_eq(WEXITSTATUS(reap(child)), 0);
	close(go[0]);
	close(go[1]);
	{
		xmlDocPtr doc = xmlReadMemory(out, (int)strlen(out), "event.xml", NULL, XML_PARSE_NONET);
		char *id, *loaded, *base;

		ck_assert_msg(doc, "not XML: %s", out);
		id = xpath_string(doc, "string(/Event/System/EventID)");
		loaded = xpath_string(doc, "string(/Event/EventData/Data[@Name='ImageLoaded'])");
		base = xpath_string(doc, "string(/Event/EventData/Data[@Name='ImageBase'])");
		ck_assert_str_eq(id, "7");   /* ImageLoad */
		ck_assert_msg(loaded[0] == '/', "ImageLoaded: '%s'", loaded);
		if (addresses)
			ck_assert_msg(!strncmp(base, "0x", 2) && strcmp(base, "0x0"), "ImageBase: '%s'", base);
		xmlFree(id);
		xmlFree(loaded);
		xmlFree(base);
		xmlFreeDoc(doc);
	}
	free(out);

	child = file_child_on_go(go, path);
	snprintf(pid_arg, sizeof(pid_arg), "--pid=%d", (int)child);
	out = run_client(file_args, go[1]);
	ck_assert_int_eq(WEXITSTATUS(reap(child)), 0);
	close(go[0]);
	close(go[1]);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), events++) {
		xmlDocPtr doc = xmlReadMemory(line, (int)strlen(line), "event.xml", NULL, XML_PARSE_NONET);
		char *id, *target;

		ck_assert_msg(doc, "not XML: %s", line);
		ck_assert_int_lt(events, 2);
		id = xpath_string(doc, "string(/Event/System/EventID)");
		target = xpath_string(doc, "string(/Event/EventData/Data[@Name='TargetFilename'])");
		ck_assert_str_eq(id, file_ids[events]);
		ck_assert_str_eq(target, path);
		xmlFree(id);
		xmlFree(target);
		xmlFreeDoc(doc);
	}
	ck_assert_int_eq(events, 2);
	free(out);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* The journal entry of pid's exit with code 8, from a journald: it writes
 * what it has queued before it syncs (journalctl --sync returns then). */
static bool journald_has(pid_t pid)
{
	char cmd[160];

	ck_assert_int_eq(system("journalctl --sync"), 0);
	snprintf(cmd, sizeof(cmd),
		 "journalctl -q -o export SYSMON_EVENT=exit SYSMON_PID=%d | grep -q '^SYSMON_EXIT_CODE=8$'", (int)pid);
	return system(cmd) == 0;
}

/* In journald's place on its socket: reads all that comes, as journald
 * does (the daemon's sends wait while the socket's queue is full), and
 * notes the exits with code 8 it sees, until the test's own marker. */
struct fake_journal {
	int sock;
	pthread_t thread;
	pid_t exits[64];
	unsigned n_exits;   /* written by the thread until it returns */
};

static void *fake_journal_main(void *arg)
{
	struct fake_journal *j = arg;
	static char buf[1 << 17];
	ssize_t n;

	while ((n = recv(j->sock, buf, sizeof(buf) - 1, 0)) > 0) {
		const char *pid;

		buf[n] = 0;
		if (strstr(buf, "FAKE_JOURNAL_MARKER=1\n"))
			break;
		if (strstr(buf, "SYSMON_EVENT=exit\n") && strstr(buf, "SYSMON_EXIT_CODE=8\n") &&
		    strstr(buf, "MESSAGE=exit pid ") && (pid = strstr(buf, "SYSMON_PID=")) && j->n_exits < 64)
			j->exits[j->n_exits++] = (pid_t)atoi(pid + strlen("SYSMON_PID="));
	}
	return NULL;
}

/* Whether the exit of pid was there: datagrams queue in order, so once the
 * marker sent now is read, so is everything sent before. */
static bool fake_journal_has(struct fake_journal *j, const struct sockaddr_un *addr, pid_t pid)
{
	static const char marker[] = "FAKE_JOURNAL_MARKER=1\n";
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sendto(fd, marker, strlen(marker), 0, (const struct sockaddr *)addr, sizeof(*addr)),
			 (ssize_t)strlen(marker));
	close(fd);
	ck_assert_int_eq(pthread_join(j->thread, NULL), 0);
	for (unsigned i = 0; i < j->n_exits; i++)
		if (j->exits[i] == pid)
			return true;
	return false;
}

static bool journald_listens(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool listens;

	ck_assert_int_ge(fd, 0);
	listens = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return listens;
}

/* --journal: each record also goes to the journal, before readers get it.
 * Where a journald runs, ask it; elsewhere (the sandbox, a bare VM) stand in
 * for it on its socket and look at what arrived. */
START_TEST(test_journal)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
	const char *args[] = { "--journal", NULL };
	_Alignas(8) unsigned char buf[256];
	struct fake_journal fake = { .sock = -1 };
	int fd;
	bool found;
	pid_t pid;

	if (!journald_listens(&addr)) {
		unlink(JOURNAL_SOCKET);   /* stale */
		ck_assert_int_eq(system("mkdir -p /run/systemd/journal"), 0);
		fake.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fake.sock, 0);
		ck_assert_int_eq(bind(fake.sock, (struct sockaddr *)&addr, sizeof(addr)), 0);
		ck_assert_int_eq(pthread_create(&fake.thread, NULL, fake_journal_main, &fake), 0);
	}
	daemon_start(&sysmond, "sysmon", args);
	fd = open_uid_reader(0, UID_A);
	pid = spawn_as(UID_A, 8);
	/* Delivered: the daemon sent the journal entry before. */
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	ck_assert_uint_eq(((struct sysmon_exit *)buf)->pid, pid);
	reap(pid);
	found = fake.sock >= 0 ? fake_journal_has(&fake, &addr, pid) : journald_has(pid);
	if (fake.sock >= 0) {
		close(fake.sock);
		unlink(JOURNAL_SOCKET);
		rmdir("/run/systemd/journal");
		rmdir("/run/systemd");   /* only if we made them: both fail when not empty */
	}
	ck_assert_msg(found, "no journal entry for the exit of %d", (int)pid);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysmon-client");
	TCase *tc = tcase_create("client");

	tcase_add_checked_fixture(tc, NULL, sysmon_teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_client_text_and_json);
	tcase_add_test(tc, test_client_json_invalid_utf8);
	tcase_add_test(tc, test_client_sysmon_xml);
	tcase_add_test(tc, test_client_sysmon_xml_images_and_files);
	tcase_add_test(tc, test_journal);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
