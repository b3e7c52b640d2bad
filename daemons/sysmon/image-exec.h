/* SPDX-License-Identifier: MIT */
/*
 * IMAGE_LOAD where BPF cannot load: fanotify FAN_OPEN_EXEC on the file
 * system of / (a mount mark where a file-system mark is refused) gives the
 * files the kernel opens for execution (programs, interpreters), not shared
 * libraries; records carry no address or size (SYSMON_FLAG_NO_ADDRESS).
 */
#pragma once

#include <systemd/sd-event.h>

#include "source.h"

struct sm_image_exec;

int sm_image_exec_new(sd_event *e, struct sm_sink *sink, struct sm_image_exec **ret);
struct sm_image_exec *sm_image_exec_free(struct sm_image_exec *x);
