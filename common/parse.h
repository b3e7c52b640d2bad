/* SPDX-License-Identifier: MIT */
/* Numbers in options and arguments, for daemons and clients alike. */
#pragma once

/* The one integer parser: decimal, an optional '-', no blanks or '+', within
 * [min, max]. 0, or -EINVAL (-ERANGE never escapes: out of range is
 * invalid). */
int cusekit_parse_integer(const char *arg, long long min, long long max, long long *ret);
