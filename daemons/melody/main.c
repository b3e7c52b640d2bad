/* SPDX-License-Identifier: MIT */
/* melodyd: the Melody device (melody.c) as a daemon. */
#include "device.h"

extern const struct cusekit_device_ops melody_device;
CUSEKIT_MAIN(melody_device)
