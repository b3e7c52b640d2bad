/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cusekit/common.h>

#include "log.h"
#include "options.h"
#include "parse.h"

/* Where meson installs the default settings files. State lives where
 * systemd's StateDirectory= puts it, whatever the prefix. */
#define CONFIG_DIR CUSEKIT_SYSCONFDIR "/cusekit"
#define STATE_DIR "/var/lib/cusekit"

enum {
	ARG_TRANSPORT = 0x100,
	ARG_NAME,
	ARG_FUSE_DIR,
	ARG_STATE_DIR,
	ARG_CONFIG,
	ARG_MAX_OPENS_PER_USER,
	ARG_VERSION,
	ARG_DEVICE, /* device options: ARG_DEVICE + index */
};

static const struct option common_options[] = {
	{ "transport", required_argument, NULL, ARG_TRANSPORT },
	{ "name", required_argument, NULL, ARG_NAME },
	{ "fuse-dir", required_argument, NULL, ARG_FUSE_DIR },
	{ "state-dir", required_argument, NULL, ARG_STATE_DIR },
	{ "config", required_argument, NULL, ARG_CONFIG },
	{ "max-opens-per-user", required_argument, NULL, ARG_MAX_OPENS_PER_USER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, ARG_VERSION },
};

void cusekit_settings_done(struct cusekit_settings *s)
{
	free(s->name);
	free(s->fuse_dir);
	free(s->state_dir);
	free(s->config);
	*s = (struct cusekit_settings){};
}

static int set_string(char **target, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*target);
	*target = copy;
	return 0;
}

/* A node name becomes a path component under /dev/cusekit: keep it tame. */
static bool name_is_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(((struct cusekit_info *)NULL)->name) || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

static size_t device_option_count(const struct cusekit_device_ops *ops)
{
	size_t n = 0;

	while (ops->options && ops->options[n].name)
		n++;
	return n;
}

/* Apply one setting, from the command line (key = ARG_*) or a file. */
static int apply(int key, const char *value, const struct cusekit_device_ops *ops, void *userdata,
		 struct cusekit_settings *s)
{
	switch (key) {
	case ARG_TRANSPORT:
		if (!strcmp(value, "auto"))
			s->transport = CUSEKIT_TRANSPORT_AUTO;
		else if (!strcmp(value, "cuse"))
			s->transport = CUSEKIT_TRANSPORT_CUSE;
		else if (!strcmp(value, "fuse"))
			s->transport = CUSEKIT_TRANSPORT_FUSE;
		else
			return -EINVAL;
		return 0;
	case ARG_NAME:
		return name_is_valid(value) ? set_string(&s->name, value) : -EINVAL;
	case ARG_FUSE_DIR:
		return value[0] == '/' ? set_string(&s->fuse_dir, value) : -EINVAL;
	case ARG_STATE_DIR:
		return value[0] == '/' ? set_string(&s->state_dir, value) : -EINVAL;
	case ARG_CONFIG:
		return set_string(&s->config, value);
	case ARG_MAX_OPENS_PER_USER: {
		long long n;
		int r = cusekit_parse_integer(value, 1, 1 << 20, &n);

		if (r >= 0)
			s->max_opens_per_user = (unsigned)n;
		return r;
	}
	case 'v':
		s->log_level = LOG_DEBUG;
		return 0;
	default:
		return ops->options[key - ARG_DEVICE].parse(userdata, value);
	}
}

static int find_key(const char *name, const struct cusekit_device_ops *ops, bool *has_arg)
{
	for (size_t i = 0; i < ELEMENTSOF(common_options); i++)
		if (!strcmp(common_options[i].name, name)) {
			*has_arg = common_options[i].has_arg;
			/* These only make sense on a command line. */
			if (common_options[i].val == 'h' || common_options[i].val == ARG_VERSION ||
			    common_options[i].val == ARG_CONFIG)
				return -ENOENT;
			return common_options[i].val;
		}
	for (size_t i = 0; i < device_option_count(ops); i++)
		if (!strcmp(ops->options[i].name, name)) {
			*has_arg = ops->options[i].has_arg;
			return ARG_DEVICE + (int)i;
		}
	return -ENOENT;
}

static char *strip(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int cusekit_parse_config(FILE *f, const char *path, const struct cusekit_device_ops *ops, void *userdata,
			 struct cusekit_settings *s)
{
	_cleanup_free_ char *line = NULL;
	size_t allocated = 0;
	unsigned lineno = 0;

	while (getline(&line, &allocated, f) >= 0) {
		char *key, *value, *eq, *hash;
		bool has_arg;
		int k, r;

		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = strip(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		value = eq ? strip(eq + 1) : NULL;
		if (eq)
			*eq = '\0';
		key = strip(key);

		k = find_key(key, ops, &has_arg);
		if (k < 0) {
			fprintf(stderr, "%s:%u: unknown setting '%s'.\n", path, lineno, key);
			return -EINVAL;
		}
		if (has_arg != (value != NULL) || (value && !*value)) {
			fprintf(stderr, "%s:%u: '%s' %s.\n", path, lineno, key,
				has_arg ? "needs a value" : "takes no value");
			return -EINVAL;
		}
		r = apply(k, value ? value : "", ops, userdata, s);
		if (r < 0) {
			fprintf(stderr, "%s:%u: bad value for '%s': %s\n", path, lineno, key, strerror(-r));
			return r;
		}
	}
	return ferror(f) ? -EIO : 0;
}

static void help(const char *program, const struct cusekit_device_ops *ops)
{
	printf("%s [OPTIONS...]\n\n%s\n\n"
	       "      --transport=auto|cuse|fuse  how to make the node (default: auto)\n"
	       "      --name=NAME           node name: /dev/cusekit/NAME (default: %s)\n"
	       "      --fuse-dir=DIR        fuse transport: serve DIR/NAME (default: " CUSEKIT_FUSE_DIR ")\n"
	       "      --state-dir=DIR       where state is kept (default: $STATE_DIRECTORY or " STATE_DIR "/%s)\n"
	       "      --config=FILE         settings file (default: " CONFIG_DIR "/%s.conf if present)\n"
	       "      --max-opens-per-user=N  files one user but root may hold open (default: %u)\n"
	       "  -v, --verbose             log debug messages\n"
	       "  -h, --help                show this help\n"
	       "      --version             show the version\n",
	       program, ops->description, ops->name, ops->name, ops->name, CUSEKIT_MAX_OPENS_PER_USER);
	for (size_t i = 0; i < device_option_count(ops); i++)
		printf("      --%s%s%s\n", ops->options[i].name, ops->options[i].has_arg ? "=" : "",
		       ops->options[i].help);
	printf("\nEvery device option can also be set in the settings file as 'name = value'.\n");
}

static int defaults(const struct cusekit_device_ops *ops, struct cusekit_settings *s)
{
	const char *state = getenv("STATE_DIRECTORY");
	int r = 0;

	s->log_level = LOG_INFO;
	if (!s->max_opens_per_user)
		s->max_opens_per_user = CUSEKIT_MAX_OPENS_PER_USER;
	if (!s->name)
		r = set_string(&s->name, ops->name);
	if (r >= 0 && !s->fuse_dir)
		r = set_string(&s->fuse_dir, CUSEKIT_FUSE_DIR);
	if (r >= 0 && !s->state_dir) {
		/* systemd may list several directories, colon-separated: ours is the first. */
		if (state && state[0] == '/') {
			r = set_string(&s->state_dir, state);
			if (r >= 0)
				s->state_dir[strcspn(s->state_dir, ":")] = '\0';
		} else if (asprintf(&s->state_dir, STATE_DIR "/%s", ops->name) < 0)
			r = -ENOMEM;
	}
	return r;
}

static int parse_config_file(const struct cusekit_device_ops *ops, void *userdata, struct cusekit_settings *s)
{
	_cleanup_free_ char *path = NULL;
	const char *dir = getenv("CONFIGURATION_DIRECTORY");
	FILE *f;
	int r;

	if (s->config)
		path = strdup(s->config);
	else if (asprintf(&path, "%s/%s.conf", dir && dir[0] == '/' ? dir : CONFIG_DIR, ops->name) < 0)
		path = NULL;
	if (!path)
		return -ENOMEM;

	f = fopen(path, "re");
	if (!f) {
		/* The default file is optional; one asked for by name is not. */
		if (errno == ENOENT && !s->config)
			return 0;
		r = negative_errno();
		fprintf(stderr, "Failed to open %s: %s\n", path, strerror(-r));
		return r;
	}
	r = cusekit_parse_config(f, path, ops, userdata, s);
	fclose(f);
	return r;
}

int cusekit_parse_args(int argc, char *argv[], const struct cusekit_device_ops *ops, void *userdata,
		       struct cusekit_settings *s)
{
	size_t n_device = device_option_count(ops), n = ELEMENTSOF(common_options) + n_device;
	_cleanup_free_ struct option *longopts = calloc(n + 1, sizeof(struct option));
	_cleanup_free_ int *keys = calloc((size_t)argc + 1, sizeof(int));
	_cleanup_free_ char **values = calloc((size_t)argc + 1, sizeof(char *));
	size_t n_given = 0;
	int c, r;

	if (!longopts || !keys || !values)
		return -ENOMEM;
	memcpy(longopts, common_options, sizeof(common_options));
	for (size_t i = 0; i < n_device; i++)
		longopts[ELEMENTSOF(common_options) + i] = (struct option){
			ops->options[i].name, ops->options[i].has_arg ? required_argument : no_argument, NULL,
			ARG_DEVICE + (int)i,
		};

	r = defaults(ops, s);
	if (r < 0)
		return r;

	/* First pass: remember what was given, so that the configuration file
	 * (which --config names) is applied before the command line. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help(argv[0], ops);
			return 1;
		case ARG_VERSION:
			printf("%s (cusekit) %s\n", argv[0], CUSEKIT_VERSION);
			return 1;
		case '?':
			return -EINVAL;
		case ARG_CONFIG:
			r = set_string(&s->config, optarg);
			if (r < 0)
				return r;
			break;
		default:
			keys[n_given] = c;
			values[n_given++] = optarg;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'.\n", argv[0], argv[optind]);
		return -EINVAL;
	}

	r = parse_config_file(ops, userdata, s);
	if (r < 0)
		return r;

	for (size_t i = 0; i < n_given; i++) {
		r = apply(keys[i], values[i] ? values[i] : "", ops, userdata, s);
		if (r < 0) {
			const char *name = keys[i] == 'v' ? "verbose" : NULL;

			for (size_t j = 0; !name && j < n; j++)
				if (longopts[j].val == keys[i])
					name = longopts[j].name;
			fprintf(stderr, "%s: bad value '%s' for --%s: %s\n", argv[0], values[i] ? values[i] : "",
				name, strerror(-r));
			return r;
		}
	}
	return 0;
}
