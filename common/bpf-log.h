/* SPDX-License-Identifier: MIT */
/* libbpf's messages through our log: its warnings as warnings, the rest
 * only when debugging. */
#pragma once

void cusekit_bpf_log_setup(void);
