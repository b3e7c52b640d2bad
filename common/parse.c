/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "parse.h"

int cusekit_parse_integer(const char *arg, long long min, long long max, long long *ret)
{
	long long v;
	char *end;

	/* strtoll would take leading blanks and a '+'. */
	if (!(isdigit((unsigned char)arg[0]) || (arg[0] == '-' && isdigit((unsigned char)arg[1]))))
		return -EINVAL;
	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}
