/* SPDX-License-Identifier: MIT */
/* kprotectd: the KProtect device (kprotectd.c) as a daemon. */
#include "device.h"

extern const struct cusekit_device_ops kprotect_device;
CUSEKIT_MAIN(kprotect_device)
