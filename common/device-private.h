/* SPDX-License-Identifier: MIT */
/* The framework's own view of a running device; devices see device.h only. */
#pragma once

#include "device.h"
#include "options.h"

struct transport;

struct cusekit_device {
	const struct cusekit_device_ops *ops;
	void *userdata;
	struct cusekit_settings settings;
	gid_t group;

	sd_event *event;
	sd_event_source *fuse_source;
	sd_event_source *save_timer;
	const struct transport *transport;
	struct fuse_session *session;
	struct fuse_buf buf;
	char *node_path;
	bool ready;
	bool stopping;

	struct list_node clients;
	uint32_t clients_open;
	uint64_t opens_total;
	uint64_t requests_total;
	uint64_t next_client_id;
};

/* The transport-independent request handlers both transports call. */
void device_open(struct cusekit_device *d, fuse_req_t req, struct fuse_file_info *fi);
void device_release(struct cusekit_device *d, fuse_req_t req, struct fuse_file_info *fi);
void device_read(struct cusekit_device *d, fuse_req_t req, size_t size, struct fuse_file_info *fi);
void device_write(struct cusekit_device *d, fuse_req_t req, const char *buf, size_t size,
		  struct fuse_file_info *fi);
void device_ioctl(struct cusekit_device *d, fuse_req_t req, unsigned int cmd, struct fuse_file_info *fi,
		  const void *in_buf, size_t in_bufsz, size_t out_bufsz);
void device_poll(struct cusekit_device *d, fuse_req_t req, struct fuse_file_info *fi,
		 struct fuse_pollhandle *ph);
/* The group the node is given: root where the device's group is missing. */
static inline gid_t device_node_gid(const struct cusekit_device *d)
{
	return d->group == CUSEKIT_NO_GROUP ? 0 : d->group;
}
/* The node exists: apply its owner and mode, tell systemd we are ready. */
void device_node_ready(struct cusekit_device *d);
/* Answer everything pending with error. */
void device_answer_all_pending(struct cusekit_device *d, int error);
/* At exit: answer what is pending (ENODEV) and release every client. */
void device_free_clients(struct cusekit_device *d);

/* One way of making the node exist. */
struct transport {
	const char *name;
	int (*open)(struct cusekit_device *d);   /* sets d->session, d->node_path */
	void (*close)(struct cusekit_device *d); /* the node disappears */
};

extern const struct transport transport_cuse;
/* The CUSE channel, checked to be the kernel's character device: fd or -errno. */
int cusekit_open_cuse(void);
extern const struct transport transport_fuse;
