/* SPDX-License-Identifier: MIT */
/* sysmond: the SysMon device (sysmon.c) as a daemon. */
#include "device.h"

extern const struct cusekit_device_ops sysmon_device;
CUSEKIT_MAIN(sysmon_device)
