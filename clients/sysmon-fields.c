/* SPDX-License-Identifier: MIT */
/* libcusekit-sysmon: the fields of SysMon records by name. */
#include <string.h>

#include <cusekit/sysmon-fields.h>

#define ELEMENTS(x) (sizeof(x) / sizeof((x)[0]))

struct emit {
	void (*fn)(const struct sysmon_field *f, void *userdata);
	void *userdata;
};

static void uint_field(const struct emit *e, const char *name, const char *sysmon_name, uint64_t value)
{
	struct sysmon_field f = { name, sysmon_name, SYSMON_FIELD_UINT, value, NULL, 0 };

	e->fn(&f, e->userdata);
}

static void hex_field(const struct emit *e, const char *name, const char *sysmon_name, uint64_t value)
{
	struct sysmon_field f = { name, sysmon_name, SYSMON_FIELD_HEX, value, NULL, 0 };

	e->fn(&f, e->userdata);
}

static void string_field(const struct emit *e, const char *name, const char *sysmon_name,
			 const struct sysmon_header *h, uint16_t offset, uint16_t length)
{
	struct sysmon_field f = { name, sysmon_name, SYSMON_FIELD_STRING, 0, (const char *)h + offset, length };

	e->fn(&f, e->userdata);
}

static void process_fields(const struct emit *e, const char *prefix_name, const char *sysmon_guid,
			   const struct sysmon_process_id *id)
{
	char name[64];
	struct sysmon_field f = { name, sysmon_guid, SYSMON_FIELD_GUID, 0, (const char *)id->guid, 16 };

	strcpy(name, prefix_name);
	strcat(name, "_guid");
	e->fn(&f, e->userdata);
	strcpy(name, prefix_name);
	strcat(name, "_start_time");
	uint_field(e, name, NULL, id->start_time);
}

#define HAS(h, type, field) sysmon_has_field(h, type, field)

static void create_fields(const struct emit *e, const struct sysmon_create *c)
{
	uint_field(e, "pid", "ProcessId", c->pid);
	uint_field(e, "tid", "ThreadId", c->tid);
	uint_field(e, "ppid", "ParentProcessId", c->ppid);
	uint_field(e, "creator_tid", NULL, c->creator_tid);
	uint_field(e, "uid", "User", c->uid);
	if (HAS(&c->header, struct sysmon_create, parent)) {
		hex_field(e, "flags", NULL, c->flags);
		process_fields(e, "process", "ProcessGuid", &c->process);
		process_fields(e, "parent", "ParentProcessGuid", &c->parent);
	}
}

static void exec_fields(const struct emit *e, const struct sysmon_exec *x)
{
	const struct sysmon_header *h = &x->header;
	struct sysmon_field argv = { "argv", "CommandLine", SYSMON_FIELD_ARGV, 0,
				     (const char *)x + x->cmdline_offset, x->cmdline_length };

	uint_field(e, "pid", "ProcessId", x->pid);
	uint_field(e, "uid", "User", x->uid);
	string_field(e, "image", "Image", h, x->image_offset, x->image_length);
	e->fn(&argv, e->userdata);
	if (!HAS(h, struct sysmon_exec, parent))
		return;
	hex_field(e, "flags", NULL, x->flags);
	uint_field(e, "argc", NULL, x->argc);
	string_field(e, "cwd", "CurrentDirectory", h, x->cwd_offset, x->cwd_length);
	uint_field(e, "ppid", "ParentProcessId", x->ppid);
	uint_field(e, "euid", NULL, x->euid);
	uint_field(e, "gid", NULL, x->gid);
	uint_field(e, "egid", NULL, x->egid);
	uint_field(e, "loginuid", "LogonId", x->loginuid);
	uint_field(e, "audit_session", "TerminalSessionId", x->audit_session);
	uint_field(e, "sid", NULL, x->sid);
	process_fields(e, "process", "ProcessGuid", &x->process);
	process_fields(e, "parent", "ParentProcessGuid", &x->parent);
}

static void exit_fields(const struct emit *e, const struct sysmon_exit *x)
{
	uint_field(e, "pid", "ProcessId", x->pid);
	uint_field(e, "tid", NULL, x->tid);
	uint_field(e, "exit_code", NULL, x->exit_code);
	uint_field(e, "signal", NULL, x->signal);
	uint_field(e, "core_dumped", NULL, x->core_dumped);
	uint_field(e, "uid", "User", x->uid);
	if (HAS(&x->header, struct sysmon_exit, process)) {
		hex_field(e, "flags", NULL, x->flags);
		process_fields(e, "process", "ProcessGuid", &x->process);
	}
}

static void path_fields(const struct emit *e, const struct sysmon_path *p, const char *sysmon_name)
{
	uint_field(e, "pid", "ProcessId", p->pid);
	uint_field(e, "uid", "User", p->uid);
	string_field(e, "path", sysmon_name, &p->header, p->path_offset, p->path_length);
	if (HAS(&p->header, struct sysmon_path, process)) {
		hex_field(e, "flags", NULL, p->flags);
		process_fields(e, "process", "ProcessGuid", &p->process);
	}
	if (p->header.type != SYSMON_IMAGE_LOAD && HAS(&p->header, struct sysmon_path, kind))
		uint_field(e, "directory", NULL, !!(p->kind & SYSMON_PATH_DIRECTORY));
}

static void image_fields(const struct emit *e, const struct sysmon_image *i)
{
	path_fields(e, (const struct sysmon_path *)i, "ImageLoaded");
	if (HAS(&i->header, struct sysmon_image, offset)) {
		hex_field(e, "address", "ImageBase", i->address);
		uint_field(e, "size", "ImageSize", i->size);
		uint_field(e, "offset", NULL, i->offset);
	}
}

static void rename_fields(const struct emit *e, const struct sysmon_rename *r)
{
	uint_field(e, "pid", "ProcessId", r->pid);
	uint_field(e, "uid", "User", r->uid);
	string_field(e, "old_path", "SourceFilename", &r->header, r->old_offset, r->old_length);
	string_field(e, "path", "TargetFilename", &r->header, r->new_offset, r->new_length);
	hex_field(e, "flags", NULL, r->flags);
	uint_field(e, "directory", NULL, !!(r->kind & SYSMON_PATH_DIRECTORY));
	process_fields(e, "process", "ProcessGuid", &r->process);
}

/* The fields every later process event begins with. */
static void task_fields(const struct emit *e, uint32_t pid, uint32_t tid, uint32_t uid, uint32_t flags,
			const struct sysmon_process_id *id)
{
	uint_field(e, "pid", "ProcessId", pid);
	uint_field(e, "tid", "ThreadId", tid);
	uint_field(e, "uid", "User", uid);
	hex_field(e, "flags", NULL, flags);
	process_fields(e, "process", "ProcessGuid", id);
}

void sysmon_record_fields(const struct sysmon_header *h, void (*fn)(const struct sysmon_field *f, void *userdata),
			  void *userdata)
{
	const struct emit e = { fn, userdata };

	switch (h->type) {
	case SYSMON_PROCESS_CREATE:
	case SYSMON_THREAD_CREATE:
		create_fields(&e, (const void *)h);
		break;
	case SYSMON_PROCESS_EXEC:
		exec_fields(&e, (const void *)h);
		break;
	case SYSMON_PROCESS_EXIT:
	case SYSMON_THREAD_EXIT:
		exit_fields(&e, (const void *)h);
		break;
	case SYSMON_IMAGE_LOAD:
		image_fields(&e, (const void *)h);
		break;
	case SYSMON_FILE_WRITE:
	case SYSMON_FILE_CREATE:
	case SYSMON_FILE_DELETE:
		path_fields(&e, (const void *)h, "TargetFilename");
		break;
	case SYSMON_FILE_RENAME:
		rename_fields(&e, (const void *)h);
		break;
	case SYSMON_EVENTS_LOST: {
		const struct sysmon_lost *l = (const void *)h;

		uint_field(&e, "count", NULL, l->count);
		hex_field(&e, "reasons", NULL, l->reasons);
		uint_field(&e, "kernel_overruns", NULL, l->kernel_overruns);
		break;
	}
	case SYSMON_UID_CHANGE:
	case SYSMON_GID_CHANGE: {
		const struct sysmon_id_change *c = (const void *)h;

		task_fields(&e, c->pid, c->tid, c->uid, c->flags, &c->process);
		uint_field(&e, "real", NULL, c->real);
		uint_field(&e, "effective", NULL, c->effective);
		break;
	}
	case SYSMON_SESSION: {
		const struct sysmon_session *s = (const void *)h;

		task_fields(&e, s->pid, s->tid, s->uid, s->flags, &s->process);
		break;
	}
	case SYSMON_PTRACE: {
		const struct sysmon_ptrace *p = (const void *)h;

		task_fields(&e, p->pid, p->tid, p->uid, p->flags, &p->process);
		uint_field(&e, "tracer_pid", NULL, p->tracer_pid);
		uint_field(&e, "tracer_tid", NULL, p->tracer_tid);
		uint_field(&e, "attach", NULL, p->attach);
		break;
	}
	case SYSMON_COMM: {
		const struct sysmon_comm *c = (const void *)h;
		struct sysmon_field comm = { "comm", NULL, SYSMON_FIELD_STRING, 0, c->comm,
					     strnlen(c->comm, sizeof(c->comm)) };

		task_fields(&e, c->pid, c->tid, c->uid, c->flags, &c->process);
		fn(&comm, userdata);
		break;
	}
	case SYSMON_COREDUMP: {
		const struct sysmon_coredump *c = (const void *)h;

		task_fields(&e, c->pid, c->tid, c->uid, c->flags, &c->process);
		uint_field(&e, "ppid", "ParentProcessId", c->ppid);
		break;
	}
	default:
		break;
	}
}

static const struct {
	const char *name;
	unsigned event_id;
	const char *event_name;
} types[] = {
	[SYSMON_PROCESS_CREATE] = { "fork", 0, "ProcessFork" },
	[SYSMON_PROCESS_EXEC] = { "exec", 1, "ProcessCreate" },
	[SYSMON_PROCESS_EXIT] = { "exit", 5, "ProcessTerminate" },
	[SYSMON_THREAD_CREATE] = { "clone", 0, "ThreadCreate" },
	[SYSMON_THREAD_EXIT] = { "thread-exit", 0, "ThreadTerminate" },
	[SYSMON_IMAGE_LOAD] = { "image", 7, "ImageLoad" },
	[SYSMON_FILE_WRITE] = { "file-write", 11, "FileCreate" },
	[SYSMON_EVENTS_LOST] = { "lost", 0, "EventsLost" },
	[SYSMON_UID_CHANGE] = { "uid", 0, "UidChange" },
	[SYSMON_GID_CHANGE] = { "gid", 0, "GidChange" },
	[SYSMON_SESSION] = { "sid", 0, "SessionCreate" },
	[SYSMON_PTRACE] = { "ptrace", 0, "ProcessTrace" },
	[SYSMON_COMM] = { "comm", 0, "ProcessRename" },
	[SYSMON_COREDUMP] = { "core", 0, "CoreDump" },
	[SYSMON_FILE_CREATE] = { "file-create", 11, "FileCreate" },
	[SYSMON_FILE_DELETE] = { "file-delete", 23, "FileDelete" },
	[SYSMON_FILE_RENAME] = { "file-rename", 11, "FileCreate" },
};

const char *sysmon_type_name(uint16_t type)
{
	return type < ELEMENTS(types) ? types[type].name : NULL;
}

unsigned sysmon_event_id(uint16_t type)
{
	if (type < ELEMENTS(types) && types[type].event_id)
		return types[type].event_id;
	return 100u + type;
}

const char *sysmon_event_name(uint16_t type)
{
	return type < ELEMENTS(types) && types[type].event_name ? types[type].event_name : "Unknown";
}

/* The length of the valid UTF-8 sequence at s (n bytes there), 0 if none. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int sysmon_text_sanitize(const char *s, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	int replaced = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence(p + i, len - i);

		if (n == 0 || (n == 1 && ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') || p[i] == 0x7f))) {
			memcpy(out + o, "\xef\xbf\xbd", 3);   /* U+FFFD */
			o += 3;
			i++;
			replaced = 1;
			continue;
		}
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return replaced;
}
