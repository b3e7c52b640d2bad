/* SPDX-License-Identifier: MIT */
/* A shared object no test program links: what the SysMon tests dlopen(). */
int sysmon_dlopen_probe(int x);
int sysmon_dlopen_probe(int x)
{
	return x + 1;
}
