/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "macro.h"
#include "rttime.h"

struct rlimit rttime_bounded(struct rlimit now, rlim_t bound_usec)
{
	/* RLIM_INFINITY is the largest rlim_t: MIN handles it. */
	return (struct rlimit){ .rlim_cur = MIN(now.rlim_cur, bound_usec), .rlim_max = MIN(now.rlim_max, bound_usec) };
}

int rttime_apply(pid_t pid, rlim_t bound_usec, struct rlimit *ret)
{
	struct rlimit now, bounded;

	if (prlimit(pid, RLIMIT_RTTIME, NULL, &now) < 0)
		return -errno;
	bounded = rttime_bounded(now, bound_usec);
	/* Only ever lowered, so no CAP_SYS_RESOURCE is needed for our own
	 * uid's processes; others' need it (prlimit(2)). */
	if ((bounded.rlim_cur != now.rlim_cur || bounded.rlim_max != now.rlim_max) &&
	    prlimit(pid, RLIMIT_RTTIME, &bounded, NULL) < 0)
		return -errno;
	if (ret)
		*ret = bounded;
	return 0;
}
