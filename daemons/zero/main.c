/* SPDX-License-Identifier: MIT */
/* zerod: the Zero device (zero.c) as a daemon. */
#include "device.h"

extern const struct cusekit_device_ops zero_device;
CUSEKIT_MAIN(zero_device)
