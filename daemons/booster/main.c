/* SPDX-License-Identifier: MIT */
/* boosterd: the Booster device (booster.c) as a daemon. */
#include "device.h"

extern const struct cusekit_device_ops booster_device;
CUSEKIT_MAIN(booster_device)
